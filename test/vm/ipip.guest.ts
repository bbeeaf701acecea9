// IPIP end to end — runs inside the microVM (Debian's full kernel; started by test/vm/ipip.test.ts
// through run.sh and guest-ipip.sh), because this machine's kernel has no ipip module.
// The same three-node lab as test/dataplane/kernel-routes.test.ts, with IPIP across subnets:
// n1↔n2 direct, n1/n2↔n3 through tunl0. Not named *.test.ts: the host's runner must not run it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildLab, ourRoutes, remoteBlocksFor, waitUntil, type DpLab, type LabNode } from '../dataplane/kernel-lab.js';
import type { ReachMode } from '../../src/model/routes.js';

// Everything runs ~13× slower under emulation: generous bounds, never asserted as durations.
const WAIT = 30_000;
let L: DpLab;
const ipipCross = (a: LabNode, b: LabNode): ReachMode => (a.address.startsWith('192.0.2.') === b.address.startsWith('192.0.2.') ? 'direct' : 'ipip');

function expected(self: LabNode, all: LabNode[]): string[] {
  const rows = [`${self.block} blackhole global @`, `${self.pod.ip} unicast link @${self.pod.ifName}`];
  for (const o of all) {
    if (o === self) continue;
    rows.push(ipipCross(self, o) === 'ipip' ? `${o.block} unicast global ${o.address}@tunl0:onlink` : `${o.block} unicast global ${o.address}@eth0`);
  }
  return rows.sort();
}

function tunl0(l: DpLab, ns: string): { mtu: number; up: boolean; addrs: string[]; rx: number } {
  const j = JSON.parse(l.lab.ip(ns, '-j', '-s', 'addr', 'show', 'dev', 'tunl0'))[0];
  return { mtu: j.mtu, up: (j.flags as string[]).includes('UP'), addrs: (j.addr_info as Array<{ local: string; prefixlen: number }>).map((a) => `${a.local}/${a.prefixlen}`), rx: Number(j.stats64?.rx?.packets ?? 0) };
}

before(async () => {
  L = buildLab('ptvm', { resyncIntervalMs: 600_000 });
  for (const n of L.nodes) {
    n.dp.setTunnels({ ipip: { address: n.vtep } });
    n.dp.setLocalPods([{ prefix: `${n.pod.ip}/32`, ifName: n.pod.ifName }]);
    n.dp.setLocalBlocks([{ prefix: n.block, natOutgoing: false }]);
    n.dp.setRemoteBlocks(remoteBlocksFor(n, L.nodes, ipipCross));
  }
});

after(async () => {
  if (L) await L.destroy();
});

test('each node brings up tunl0 (uplink MTU − 20, its tunnel address) and installs its IPIP routes onlink', async () => {
  for (const n of L.nodes) {
    const rep = await n.dp.start();
    assert.equal(rep.ok, true, `${n.name}: ${JSON.stringify(rep)}`);
    assert.equal(n.dp.status().ipip.supported, true);
    const t = tunl0(L, n.ns);
    assert.equal(t.mtu, 1480);
    assert.equal(t.up, true);
    assert.deepEqual(t.addrs, [`${n.vtep}/32`]);
    assert.deepEqual(ourRoutes(L.lab, n.ns), expected(n, L.nodes), n.name);
  }
});

test('pods reach each other through IPIP across subnets and directly within one', async () => {
  const [n1, n2, n3] = L.nodes;
  const rx0 = tunl0(L, n3.ns).rx;
  await waitUntil('p1 → p3 through IPIP', () => L.net.ping(n1.pod.ns, n3.pod.ip, 3), WAIT, 500);
  await waitUntil('p3 → p2 through IPIP', () => L.net.ping(n3.pod.ns, n2.pod.ip, 3), WAIT, 500);
  assert.ok(tunl0(L, n3.ns).rx > rx0, 'n3 received encapsulated packets on tunl0');
  await waitUntil('p1 → p2 directly', () => L.net.ping(n1.pod.ns, n2.pod.ip, 3), WAIT, 500);
});

test('an IPIP route deleted, tunl0 set down, or its address removed behind our back is restored', async () => {
  const n1 = L.nodes[0];
  const want = expected(n1, L.nodes).join();
  L.lab.ip(n1.ns, 'route', 'del', L.nodes[2].block);
  await waitUntil('route restored', () => ourRoutes(L.lab, n1.ns).join() === want, WAIT, 200);
  // Down also makes the kernel drop every route through tunl0 (silently, for IPv4).
  L.lab.ip(n1.ns, 'link', 'set', 'tunl0', 'down');
  await waitUntil('tunl0 up with its routes again', () => tunl0(L, n1.ns).up && ourRoutes(L.lab, n1.ns).join() === want, WAIT, 200);
  L.lab.ip(n1.ns, 'addr', 'flush', 'dev', 'tunl0');
  await waitUntil('address restored', () => tunl0(L, n1.ns).addrs.join() === `${n1.vtep}/32`, WAIT, 200);
  const st = n1.dp.status();
  assert.ok(st.repairs.route >= 1 && st.repairs.link >= 1, JSON.stringify(st.repairs));
  await waitUntil('p1 → p3 through IPIP again', () => L.net.ping(n1.pod.ns, L.nodes[2].pod.ip, 3), WAIT, 500);
});

test('switching a block from IPIP to direct via the router and dropping IPIP removes what is no longer wanted', async () => {
  const n3 = L.nodes[2];
  n3.dp.setTunnels({});
  n3.dp.setRemoteBlocks(L.nodes.filter((o) => o !== n3).map((o) => ({ prefix: o.block, node: o.name, nextHop: '198.51.100.254', mode: 'direct' as const })));
  const rep = await n3.dp.apply();
  assert.equal(rep.ok, true, JSON.stringify(rep));
  const t = tunl0(L, n3.ns);
  assert.equal(t.up, false);
  assert.deepEqual(t.addrs, []);
  assert.ok(ourRoutes(L.lab, n3.ns).every((r) => !r.includes('tunl0')));
  const res = await n3.dp.cleanup();
  assert.equal(res.routes, 4);
  assert.deepEqual(ourRoutes(L.lab, n3.ns), []);
});
