// Kernel test in network namespaces: natOutgoing seen from outside, drift repaired from events
// (route deleted, nft table flushed, VXLAN device deleted, neighbour deleted), and an outside burst
// of 100k routes while the dataplane watches. Waits are bounded; the time each repair took is
// printed (diagnostic), never asserted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isRoot } from '../../src/lab/netns.js';
import { createDataplane } from '../../src/dataplane/index.js';
import { buildLab, crossSubnet, ourRoutes, remoteBlocksFor, udpListener, waitUntil, type DpLab, type LabNode } from './kernel-lab.js';

const skip = isRoot() ? false : 'kernel tests need root (network namespaces)';
let L: DpLab;
let n1: LabNode, n2: LabNode, n3: LabNode;
let want1: string[];

async function timed(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const t0 = performance.now();
  await waitUntil(what, check, 5000, 10);
  console.log(`# ${what}: ${(performance.now() - t0).toFixed(0)} ms`);
}

before(async () => {
  if (skip) return;
  // Long periodic timers: repairs below must come from netlink events, not from a resync.
  L = buildLab('ptdpd', { resyncIntervalMs: 600_000, natCheckIntervalMs: 600_000 });
  [n1, n2, n3] = L.nodes;
  for (const n of L.nodes) {
    n.dp.setTunnels({ vxlan: { vni: 4096, address: n.vtep } });
    n.dp.setLocalPods([{ prefix: `${n.pod.ip}/32`, ifName: n.pod.ifName }]);
    n.dp.setLocalBlocks([{ prefix: n.block, natOutgoing: true }]);
    n.dp.setRemoteBlocks(remoteBlocksFor(n, L.nodes, crossSubnet));
    n.dp.setNatPools([{ cidr: '198.18.0.0/16', natOutgoing: true }, { cidr: '100.64.0.0/16', natOutgoing: false }]);
    const rep = await n.dp.start();
    assert.equal(rep.ok, true, `${n.name}: ${JSON.stringify(rep)}`);
  }
  want1 = ourRoutes(L.lab, n1.ns);
});

after(async () => {
  if (L) await L.destroy();
});

test('a pod reaching a host outside the pools is seen with its node address; pod-to-pod keeps the pod address', { skip }, async () => {
  const ext = udpListener(L.lab, L.ext, '198.51.100.50', 9999);
  const inPod = udpListener(L.lab, n3.pod.ns, n3.pod.ip, 9999);
  await waitUntil('listeners', () => ext.output().includes('READY') && inPod.output().includes('READY'), 10000, 50);
  await waitUntil('a datagram from pod1 at ext', () => {
    L.lab.tryExec(n1.pod.ns, 'bash', ['-c', 'echo hello > /dev/udp/198.51.100.50/9999']);
    return ext.output().includes('FROM');
  }, 8000, 200);
  assert.match(ext.output(), /FROM 192\.0\.2\.11 hello/);
  assert.doesNotMatch(ext.output(), /FROM 198\.18\./);
  await waitUntil('a datagram from pod1 at pod3', () => {
    L.lab.tryExec(n1.pod.ns, 'bash', ['-c', `echo hello > /dev/udp/${n3.pod.ip}/9999`]);
    return inPod.output().includes('FROM');
  }, 8000, 200);
  assert.match(inPod.output(), /FROM 198\.18\.1\.2 hello/);
  const table = L.lab.exec(n1.ns, 'nft', ['list', 'table', 'ip', 'petrel']);
  assert.match(table, /ip saddr @nat-pools ip daddr != @all-pools masquerade/);
});

test('a route deleted with ip route del is restored and counted', { skip }, async () => {
  const before = n1.dp.status().repairs.route;
  L.lab.ip(n1.ns, 'route', 'del', n2.block);
  await timed('route restored', () => ourRoutes(L.lab, n1.ns).join() === want1.join());
  await waitUntil('the repair counted', () => n1.dp.status().repairs.route === before + 1, 5000, 10);
});

test('a flushed or deleted nft table is restored and counted', { skip }, async () => {
  const good = L.lab.exec(n1.ns, 'nft', ['list', 'table', 'ip', 'petrel']);
  L.lab.exec(n1.ns, 'nft', ['flush', 'table', 'ip', 'petrel']);
  await timed('nft table restored after flush', () => L.lab.tryExec(n1.ns, 'nft', ['list', 'table', 'ip', 'petrel']).stdout === good);
  await waitUntil('the repair counted', () => n1.dp.status().repairs.nft === 1, 5000, 10);
  L.lab.exec(n1.ns, 'nft', ['delete', 'table', 'ip', 'petrel']);
  await timed('nft table restored after delete', () => L.lab.tryExec(n1.ns, 'nft', ['list', 'table', 'ip', 'petrel']).stdout === good);
  await waitUntil('the second repair counted', () => n1.dp.status().repairs.nft === 2, 5000, 10);
});

test('a deleted VXLAN device comes back with its routes and neighbours, and pods reach each other again', { skip }, async () => {
  L.lab.ip(n1.ns, 'link', 'del', 'vxlan.petrel');
  await timed('vxlan device and routes restored', () => ourRoutes(L.lab, n1.ns).join() === want1.join());
  await waitUntil('neighbour restored', () => L.lab.ip(n1.ns, 'neigh', 'show', 'dev', 'vxlan.petrel').includes('198.18.3.1 lladdr'), 5000, 20);
  assert.ok(n1.dp.status().repairs.link >= 1);
  L.lab.ip(n1.ns, 'addr', 'flush', 'dev', 'vxlan.petrel');
  await timed('VTEP address restored after ip addr flush', () => L.lab.ip(n1.ns, 'addr', 'show', 'dev', 'vxlan.petrel').includes('inet 198.18.1.1/32'));
  L.lab.ip(n1.ns, 'neigh', 'del', '198.18.3.1', 'dev', 'vxlan.petrel');
  await timed('neighbour restored after ip neigh del', () => L.lab.ip(n1.ns, 'neigh', 'show', 'dev', 'vxlan.petrel').includes('198.18.3.1 lladdr'));
  await waitUntil('p1 → p3 through the new device', () => L.net.ping(n1.pod.ns, n3.pod.ip), 8000, 100);
});

test('an outside burst of 100k routes added with ip -batch leaves the dataplane running and correct', { skip }, async () => {
  const N = 100_000;
  let add = '';
  for (let i = 0; i < N; i++) add += `route add 100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32 via 192.0.2.254 proto static\n`;
  const resyncsBefore = n1.dp.status().resyncs;
  // A second instance with its own protocol (98) and a tiny event buffer: the burst overflows it,
  // and it must resynchronise rather than stop or lose track.
  const small = createDataplane({ netns: n1.ns, protocol: 98, vxlanDevice: 'vxlan.p98', natTable: 'petrel98', monitorRcvbuf: 64 * 1024, debounceMs: 5, resyncIntervalMs: 600_000 });
  small.setLocalBlocks([{ prefix: '198.18.200.0/26', natOutgoing: false }]);
  try {
  assert.equal((await small.start()).ok, true);
  L.lab.exec(n1.ns, 'ip', ['-batch', '-'], add);
  // While the burst is digested, one of our routes is deleted: it must still come back.
  L.lab.ip(n1.ns, 'route', 'del', n3.block);
  await timed('route restored after the burst', () => ourRoutes(L.lab, n1.ns).join() === want1.join());
  const st = n1.dp.status();
  assert.equal(st.running, true);
  console.log(`# resyncs during burst: ${st.resyncs - resyncsBefore}`);
  const count = Number(L.lab.exec(n1.ns, 'bash', ['-c', 'ip route show proto static | wc -l']).trim());
  assert.ok(count >= N, `the outside routes are all there (${count})`);
  const rep = await n1.dp.apply();
  assert.equal(rep.ok, true, JSON.stringify(rep));
  assert.equal(rep.installed + rep.updated + rep.deleted, 0);
  await waitUntil('p1 → p2 after the burst', () => L.net.ping(n1.pod.ns, n2.pod.ip), 8000, 100);
  await waitUntil('the small-buffer instance resynchronised after the overflow', () => small.status().resyncs >= 2, 10000, 20);
  L.lab.ip(n1.ns, 'route', 'del', '198.18.200.0/26');
  await waitUntil('its route restored', () => ourRoutes(L.lab, n1.ns, 98).join() === '198.18.200.0/26 blackhole global @', 5000, 10);
  assert.equal(small.status().running, true);
  } finally {
    await small.stop();
  }
});

test('stop leaves the routes in place; cleanup removes everything Petrel owns and nothing else', { skip }, async () => {
  const before = ourRoutes(L.lab, n2.ns);
  await n2.dp.stop();
  assert.deepEqual(ourRoutes(L.lab, n2.ns), before, 'stop() leaves every route in place (graceful restart relies on it)');
  assert.equal(before.length, 4);
  const others = L.lab.ip(n2.ns, 'route', 'show', 'table', 'all').split('\n').filter((l) => !l.includes('proto 97') && !/vxlan\.petrel|198\.18\.2\.1 /.test(l)).join('\n');
  const res = await n2.dp.cleanup();
  assert.equal(res.routes, 4);
  assert.deepEqual(ourRoutes(L.lab, n2.ns), []);
  assert.equal(L.lab.tryExec(n2.ns, 'ip', ['link', 'show', 'vxlan.petrel']).status !== 0, true);
  assert.notEqual(L.lab.tryExec(n2.ns, 'nft', ['list', 'table', 'ip', 'petrel']).status, 0);
  assert.equal(L.lab.ip(n2.ns, 'route', 'show', 'table', 'all').split('\n').filter((l) => !/vxlan\.petrel|198\.18\.2\.1 /.test(l)).join('\n'), others);
});
