// Kernel test in network namespaces: three nodes (two L2-adjacent, one behind a router), a pod on
// each; every node's Dataplane programs its own namespace over netlink. Pods reach each other
// directly (same subnet) and through VXLAN (other subnet); after each desired change the kernel
// holds exactly the desired routes; routes of other protocols stay untouched throughout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isRoot } from '../../src/lab/netns.js';
import { vtepMac } from '../../src/dataplane/index.js';
import { buildLab, crossSubnet, ourRoutes, allRoutes, remoteBlocksFor, waitUntil, type DpLab, type LabNode } from './kernel-lab.js';

const skip = isRoot() ? false : 'kernel tests need root (network namespaces)';
let L: DpLab;
let foreignBefore: Map<string, string>;

function foreign(l: DpLab, n: LabNode): string {
  // ECMP routes print their next hops on continuation lines: join them to their route first.
  return allRoutes(l.lab, n.ns).replace(/\n\s+nexthop/g, ' nexthop').split('\n').filter((line) => !line.includes('proto 97') && !line.includes('proto kernel') && !line.startsWith('fe80::') && !line.startsWith('multicast') && !line.includes('table local')).join('\n');
}

function expected(self: LabNode, all: LabNode[], mode = crossSubnet): string[] {
  const rows = [`${self.block} blackhole global @`, `${self.pod.ip} unicast link @${self.pod.ifName}`];
  for (const o of all) {
    if (o === self) continue;
    const m = mode(self, o);
    rows.push(m === 'vxlan' ? `${o.block} unicast global ${o.vtep}@vxlan.petrel:onlink` : `${o.block} unicast global ${o.address}@eth0`);
  }
  return rows.sort();
}

before(async () => {
  if (skip) return;
  L = buildLab('ptdpr');
  for (const n of L.nodes) {
    // Routes another router owns (BIRD's protocol 12, a static one): they must never change.
    L.lab.ip(n.ns, 'route', 'add', '100.64.1.0/24', 'via', n.address.startsWith('192') ? '192.0.2.254' : '198.51.100.254', 'proto', '12');
    L.lab.ip(n.ns, 'route', 'add', '100.64.2.0/24', 'via', n.address.startsWith('192') ? '192.0.2.254' : '198.51.100.254', 'proto', 'static');
  }
  foreignBefore = new Map(L.nodes.map((n) => [n.name, foreign(L, n)]));
});

after(async () => {
  if (L) await L.destroy();
});

test('pods ping each other directly on one subnet and through VXLAN across subnets', { skip }, async () => {
  for (const n of L.nodes) {
    n.dp.setTunnels({ vxlan: { vni: 4096, address: n.vtep } });
    n.dp.setLocalPods([{ prefix: `${n.pod.ip}/32`, ifName: n.pod.ifName }]);
    n.dp.setLocalBlocks([{ prefix: n.block, natOutgoing: false }]);
    n.dp.setRemoteBlocks(remoteBlocksFor(n, L.nodes, crossSubnet));
    const rep = await n.dp.start();
    assert.equal(rep.ok, true, `${n.name}: ${JSON.stringify(rep)}`);
  }
  for (const n of L.nodes) assert.deepEqual(ourRoutes(L.lab, n.ns), expected(n, L.nodes), n.name);
  const [n1, n2, n3] = L.nodes;
  const link = JSON.parse(L.lab.ip(n1.ns, '-j', '-d', 'link', 'show', 'vxlan.petrel'))[0];
  assert.equal(link.mtu, 1450);
  assert.equal(link.address, vtepMac('n1'));
  assert.equal(link.linkinfo.info_data.id, 4096);
  assert.equal(link.linkinfo.info_data.port, 4789);
  assert.ok(L.lab.ip(n1.ns, 'neigh', 'show', 'dev', 'vxlan.petrel').includes(`198.18.3.1 lladdr ${vtepMac('n3')} PERMANENT`));
  assert.ok(L.lab.exec(n1.ns, 'bridge', ['fdb', 'show', 'dev', 'vxlan.petrel']).includes(`${vtepMac('n3')} dst 198.51.100.13 self permanent`));
  await waitUntil('p1 → p2 (direct)', () => L.net.ping(n1.pod.ns, n2.pod.ip), 8000, 100);
  await waitUntil('p1 → p3 (VXLAN)', () => L.net.ping(n1.pod.ns, n3.pod.ip), 8000, 100);
  await waitUntil('p3 → p2 (VXLAN)', () => L.net.ping(n3.pod.ns, n2.pod.ip), 8000, 100);
  // The direct path really is direct: p1 → p2 does not cross the VXLAN device.
  const rx = () => Number(JSON.parse(L.lab.ip(n2.ns, '-j', '-s', 'link', 'show', 'vxlan.petrel'))[0].stats64.rx.packets);
  const before2 = rx();
  assert.ok(L.net.ping(n1.pod.ns, n2.pod.ip));
  assert.equal(rx(), before2);
});

test('after each desired change the kernel holds exactly the desired routes', { skip }, async () => {
  const [n1, n2, n3] = L.nodes;
  // ECMP: two next hops for one extra block on n1.
  n1.dp.setRemoteBlocks([...remoteBlocksFor(n1, L.nodes, crossSubnet),
    { prefix: '198.18.9.0/26', node: 'n2', nextHop: n2.address, mode: 'direct' },
    { prefix: '198.18.9.0/26', node: 'x', nextHop: '192.0.2.254', mode: 'direct' }]);
  assert.equal((await n1.dp.apply()).ok, true);
  assert.deepEqual(ourRoutes(L.lab, n1.ns), [...expected(n1, L.nodes), '198.18.9.0/26 unicast global 192.0.2.12@eth0,192.0.2.254@eth0'].sort());
  // n3 switches its path to n1 from VXLAN to "direct" via the router (a next hop change: update).
  // A pass already running (started by the kernel's events of the test before) would take the
  // change and report it itself: let it finish first, so this one's report is the change's.
  await n3.dp.apply();
  n3.dp.setRemoteBlocks(remoteBlocksFor(n3, L.nodes, crossSubnet).map((r) => r.node === 'n1' ? { prefix: r.prefix, node: 'n1', nextHop: '198.51.100.254', mode: 'direct' as const } : r));
  const rep = await n3.dp.apply();
  assert.equal(rep.updated, 1);
  assert.ok(ourRoutes(L.lab, n3.ns).includes(`${n1.block} unicast global 198.51.100.254@eth0`));
  // Withdrawals: the extra block and a pod go away.
  await n1.dp.apply();
  n1.dp.setRemoteBlocks(remoteBlocksFor(n1, L.nodes, crossSubnet));
  n1.dp.setLocalPods([]);
  const rep2 = await n1.dp.apply();
  assert.equal(rep2.deleted, 2);
  assert.deepEqual(ourRoutes(L.lab, n1.ns), expected(n1, L.nodes).filter((r) => !r.startsWith(n1.pod.ip)));
  // And back.
  n1.dp.setLocalPods([{ prefix: `${n1.pod.ip}/32`, ifName: n1.pod.ifName }]);
  n3.dp.setRemoteBlocks(remoteBlocksFor(n3, L.nodes, crossSubnet));
  await n1.dp.apply();
  await n3.dp.apply();
  for (const n of L.nodes) assert.deepEqual(ourRoutes(L.lab, n.ns), expected(n, L.nodes), n.name);
  await waitUntil('p3 → p1 again (VXLAN)', () => L.net.ping(n3.pod.ns, n1.pod.ip), 8000, 100);
});

test('a pod route waits for a veth that does not exist yet and is installed when it appears', { skip }, async () => {
  const n2 = L.nodes[1];
  const lateIf = 'petlate0000001';
  n2.dp.setLocalPods([{ prefix: `${n2.pod.ip}/32`, ifName: n2.pod.ifName }, { prefix: '198.18.2.9/32', ifName: lateIf }]);
  const rep = await n2.dp.apply();
  assert.deepEqual(rep.pending, ['198.18.2.9/32']);
  L.net.addPod({ namespace: 'default', name: 'late', node: 'n2', ip: '198.18.2.9', hostIfName: lateIf });
  await waitUntil('the late pod route', () => ourRoutes(L.lab, n2.ns).includes(`198.18.2.9 unicast link @${lateIf}`));
  await waitUntil('p1 → late pod', () => L.net.ping(L.nodes[0].pod.ns, '198.18.2.9'), 8000, 100);
});

test('IPv6: a /128 pod route, a blackhole block and an ECMP remote block are installed and withdrawn', { skip }, async () => {
  const [n1, n2] = L.nodes;
  L.lab.addr(n1.ns, 'eth0', '2001:db8:a::11/64');
  L.lab.addr(n2.ns, 'eth0', '2001:db8:a::12/64');
  L.lab.addr(n2.ns, 'eth0', '2001:db8:a::13/64');
  const v6 = () => (JSON.parse(L.lab.ip(n1.ns, '-6', '-j', 'route', 'show', 'proto', '97') || '[]') as Array<Record<string, unknown>>)
    .map((r) => `${r.dst} ${r.type ?? 'unicast'} ${((r.nexthops as Array<Record<string, unknown>> | undefined) ?? [r]).map((h) => `${h.gateway ?? ''}@${h.dev ?? ''}`).sort().join(',')}`).sort();
  n1.dp.setLocalPods([{ prefix: `${n1.pod.ip}/32`, ifName: n1.pod.ifName }, { prefix: '2001:db8:1::2/128', ifName: n1.pod.ifName }]);
  n1.dp.setLocalBlocks([{ prefix: n1.block, natOutgoing: false }, { prefix: '2001:db8:1::/122', natOutgoing: false }]);
  n1.dp.setRemoteBlocks([...remoteBlocksFor(n1, L.nodes, crossSubnet),
    { prefix: '2001:db8:2::/122', node: 'n2', nextHop: '2001:db8:a::12', mode: 'direct' },
    { prefix: '2001:db8:2::/122', node: 'n2b', nextHop: '2001:db8:a::13', mode: 'direct' }]);
  const rep = await n1.dp.apply();
  assert.equal(rep.ok, true, JSON.stringify(rep));
  assert.deepEqual(v6(), ['2001:db8:1::/122 blackhole @lo', `2001:db8:1::2 unicast @${n1.pod.ifName}`, '2001:db8:2::/122 unicast 2001:db8:a::12@eth0,2001:db8:a::13@eth0'].sort());
  await new Promise((r) => setTimeout(r, 200)); // let our own route events come back first
  const again = await n1.dp.apply();
  assert.equal(again.installed + again.updated + again.deleted, 0, 'a second pass finds the IPv6 routes as wanted (ECMP read back from the kernel)');
  n1.dp.setLocalPods([{ prefix: `${n1.pod.ip}/32`, ifName: n1.pod.ifName }]);
  n1.dp.setLocalBlocks([{ prefix: n1.block, natOutgoing: false }]);
  n1.dp.setRemoteBlocks(remoteBlocksFor(n1, L.nodes, crossSubnet));
  const back = await n1.dp.apply();
  assert.equal(back.deleted, 3);
  assert.deepEqual(v6(), []);
  assert.deepEqual(ourRoutes(L.lab, n1.ns), expected(n1, L.nodes));
});

test('a desired block that another protocol already routes is reported as a conflict and left alone', { skip }, async () => {
  const n1 = L.nodes[0];
  n1.dp.setRemoteBlocks([...remoteBlocksFor(n1, L.nodes, crossSubnet), { prefix: '100.64.1.0/24', node: 'n2', nextHop: '192.0.2.12', mode: 'direct' }]);
  const rep = await n1.dp.apply();
  assert.deepEqual(rep.errors.map((e) => [e.dst, e.code, e.errno]), [['100.64.1.0/24', 'DP_ERR_CONFLICT', 17]]);
  assert.match(L.lab.ip(n1.ns, 'route', 'show', '100.64.1.0/24'), /via 192\.0\.2\.254 dev eth0 proto bird/);
  n1.dp.setRemoteBlocks(remoteBlocksFor(n1, L.nodes, crossSubnet));
  assert.equal((await n1.dp.apply()).ok, true);
});

test('routes of other protocols are untouched by all of the above', { skip }, () => {
  for (const n of L.nodes) assert.equal(foreign(L, n), foreignBefore.get(n.name), n.name);
});
