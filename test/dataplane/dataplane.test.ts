// Unit tests of the dataplane against the in-memory kernel (fake-kernel.ts): each route class,
// diffs, ownership, grace period, per-route errors, tunnels, NAT, drift and the namespace guard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { createDataplane, type DataplaneMetrics, type DataplaneOptions } from '../../src/dataplane/index.js';
import { vtepMac } from '../../src/dataplane/names.js';
import { FakeKernel, fakeNft } from './fake-kernel.js';

const P = 97;

function setup(extra: Partial<DataplaneOptions> = {}) {
  const k = new FakeKernel();
  const eth0 = k.addLink('eth0', { mtu: 1500 });
  k.addrs.push({ index: eth0.index, address: '192.0.2.11', prefixLen: 24 });
  const nft = fakeNft();
  const counts = { repairs: [] as string[], errors: [] as string[], ipip: [] as boolean[], resyncs: [] as string[] };
  const metrics: DataplaneMetrics = {
    routes() {}, applyLatency() {},
    error: (c) => counts.errors.push(c), driftRepair: (k2) => counts.repairs.push(k2),
    resync: (r) => counts.resyncs.push(r), ipipUnsupported: (f) => counts.ipip.push(f),
  };
  const dp = createDataplane({ kernel: k, nft: nft.run, uplink: 'eth0', nodeAddress: '192.0.2.11', nodeName: 'node-a', protocol: P, graceMs: 50, debounceMs: 1, metrics, ...extra });
  return { k, dp, eth0, nft, counts };
}

const route = (k: FakeKernel, dst: string) => [...k.routes.values()].find((r) => r.dst === dst);

test('a local pod gets a scope-link /32 route to its host-side veth', async () => {
  const { k, dp } = setup();
  const veth = k.addLink('pet0123456789ab');
  dp.setLocalPods([{ prefix: '198.18.0.5/32', ifName: 'pet0123456789ab' }]);
  const rep = await dp.apply();
  assert.equal(rep.ok, true, JSON.stringify(rep));
  assert.deepEqual(route(k, '198.18.0.5/32'), { dst: '198.18.0.5/32', table: 254, protocol: P, type: 'unicast', scope: 253, nexthops: [{ ifindex: veth.index, onlink: false }] });
});

test('a remote block reached directly goes via the node on the uplink', async () => {
  const { k, dp, eth0 } = setup();
  dp.setRemoteBlocks([{ prefix: '198.18.1.0/26', node: 'node-b', nextHop: '192.0.2.12', mode: 'direct' }]);
  await dp.apply();
  assert.deepEqual(route(k, '198.18.1.0/26')?.nexthops, [{ gateway: '192.0.2.12', ifindex: eth0.index, onlink: false }]);
  assert.equal(route(k, '198.18.1.0/26')?.scope, 0);
});

test('a remote block through IPIP creates tunl0 with uplink MTU minus 20 and routes onlink via it', async () => {
  const { k, dp } = setup();
  dp.setTunnels({ ipip: { address: '198.18.0.1' } });
  dp.setRemoteBlocks([{ prefix: '198.18.2.0/26', node: 'node-c', nextHop: '203.0.113.13', mode: 'ipip' }]);
  const rep = await dp.apply();
  assert.equal(rep.ok, true, JSON.stringify(rep));
  const t = k.linkByName('tunl0');
  assert.equal(t?.mtu, 1480);
  assert.equal(t?.up, true);
  assert.deepEqual(k.addrs.filter((a) => a.index === t!.index), [{ index: t!.index, address: '198.18.0.1', prefixLen: 32 }]);
  assert.deepEqual(route(k, '198.18.2.0/26')?.nexthops, [{ gateway: '203.0.113.13', ifindex: t!.index, onlink: true }]);
  assert.equal(dp.status().ipip.supported, true);
});

test('a remote block through VXLAN routes via the remote VTEP onlink and programs its ARP and FDB entries', async () => {
  const { k, dp, eth0 } = setup();
  dp.setTunnels({ vxlan: { vni: 4096, address: '198.18.0.2' } });
  const vtep = { address: '198.18.3.1', mac: vtepMac('node-c') };
  dp.setRemoteBlocks([{ prefix: '198.18.3.0/26', node: 'node-c', nextHop: '203.0.113.13', mode: 'vxlan', vtep }]);
  const rep = await dp.apply();
  assert.equal(rep.ok, true, JSON.stringify(rep));
  const v = k.linkByName('vxlan.petrel')!;
  assert.equal(v.mtu, 1450);
  assert.equal(v.mac, vtepMac('node-a'));
  assert.deepEqual(v.vxlan, { vni: 4096, port: 4789, local: '192.0.2.11', link: eth0.index, learning: false });
  assert.deepEqual(route(k, '198.18.3.0/26')?.nexthops, [{ gateway: '198.18.3.1', ifindex: v.index, onlink: true }]);
  const neighs = k.neighs.filter((n) => n.ifindex === v.index).map((n) => `${n.family} ${n.dst} ${n.lladdr}`).sort();
  assert.deepEqual(neighs, [`bridge 203.0.113.13 ${vtep.mac}`, `inet 198.18.3.1 ${vtep.mac}`]);
});

test('VXLAN neighbours: a new block writes only its entries without dumping; echoes start no pass; a deletion behind our back is dumped and repaired', async () => {
  const { k, dp, counts } = setup();
  k.echoNeighs = true;
  await dp.start();
  try {
    dp.setTunnels({ vxlan: { vni: 4096, address: '198.18.0.2' } });
    const c = { address: '198.18.3.1', mac: vtepMac('node-c') };
    const d = { address: '198.18.4.1', mac: vtepMac('node-d') };
    const blockC = { prefix: '198.18.3.0/26', node: 'node-c', nextHop: '203.0.113.13', mode: 'vxlan' as const, vtep: c };
    dp.setRemoteBlocks([blockC]);
    assert.equal((await dp.apply()).ok, true);
    const v = k.linkByName('vxlan.petrel')!;
    const dumps = { ...k.dumps };
    const batches = k.batches.length;
    dp.setRemoteBlocks([blockC, { prefix: '198.18.4.0/26', node: 'node-d', nextHop: '203.0.113.14', mode: 'vxlan', vtep: d }]);
    assert.equal((await dp.apply()).ok, true);
    await new Promise((r) => setTimeout(r, 20)); // a pass the echoes would have scheduled (debounce 1 ms)
    assert.deepEqual(k.dumps, dumps, 'no address or neighbour dump for a change we made ourselves');
    const neighOps = k.batches.slice(batches).flat().filter((o) => o.op.startsWith('neigh'));
    assert.deepEqual(neighOps.map((o) => `${o.op} ${(o as { neigh: { family: string; dst: string } }).neigh.family} ${(o as { neigh: { dst: string } }).neigh.dst}`).sort(),
      ['neigh-set bridge 203.0.113.14', 'neigh-set inet 198.18.4.1']);
    // `ip neigh del` of one of ours: its event (no lladdr) makes the next pass dump and put it back.
    k.deleteNeigh(v.index, '198.18.3.1');
    const deadline = Date.now() + 5000;
    while (!k.neighs.some((n) => n.dst === '198.18.3.1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.ok(k.neighs.some((n) => n.dst === '198.18.3.1' && n.lladdr === c.mac), 'restored');
    assert.equal(k.dumps.neighs, dumps.neighs + 1);
    assert.deepEqual(counts.repairs.filter((x) => x === 'neigh'), ['neigh']);
  } finally {
    await dp.stop();
  }
});

test('each local block gets a blackhole route', async () => {
  const { k, dp } = setup();
  dp.setLocalBlocks([{ prefix: '198.18.0.0/26', natOutgoing: false }, { prefix: '2001:db8:1::/122', natOutgoing: false }]);
  await dp.apply();
  assert.equal(route(k, '198.18.0.0/26')?.type, 'blackhole');
  assert.deepEqual(route(k, '2001:db8:1::/122')?.nexthops, []);
});

test('several next hops for one block make one ECMP route', async () => {
  const { k, dp, eth0 } = setup();
  dp.setRemoteBlocks([
    { prefix: '198.18.4.0/26', node: 'node-b', nextHop: '192.0.2.13', mode: 'direct' },
    { prefix: '198.18.4.0/26', node: 'node-d', nextHop: '192.0.2.12', mode: 'direct' },
  ]);
  await dp.apply();
  assert.deepEqual(route(k, '198.18.4.0/26')?.nexthops, [
    { gateway: '192.0.2.12', ifindex: eth0.index, onlink: false },
    { gateway: '192.0.2.13', ifindex: eth0.index, onlink: false },
  ]);
});

test('a second apply sends nothing, and a change sends only the difference', async () => {
  const { k, dp } = setup();
  const blocks = Array.from({ length: 50 }, (_, i) => ({ prefix: `198.18.${i}.0/24`, node: 'n', nextHop: '192.0.2.12', mode: 'direct' as const }));
  dp.setRemoteBlocks(blocks);
  await dp.apply();
  const n = k.batches.length;
  await dp.apply();
  assert.equal(k.batches.length, n, 'no kernel write when nothing changed');
  dp.setRemoteBlocks([...blocks.slice(1), { prefix: '198.18.99.0/24', node: 'n', nextHop: '192.0.2.13', mode: 'direct' }]);
  const rep = await dp.apply();
  assert.deepEqual(k.batches.at(-1)!.map((o) => `${o.op} ${(o as { route: { dst: string } }).route.dst}`).sort(),
    ['route-create 198.18.99.0/24', 'route-delete 198.18.0.0/24']);
  assert.equal(rep.installed, 1);
  assert.equal(rep.deleted, 1);
});

test('routes of other protocols are never replaced or deleted, and a conflict is reported as ignore', async () => {
  const { k, dp, eth0 } = setup();
  k.addForeign({ dst: '198.18.5.0/26', table: 254, protocol: 12, type: 'unicast', scope: 0, nexthops: [{ gateway: '192.0.2.99', ifindex: eth0.index, onlink: false }] });
  k.addForeign({ dst: '203.0.113.0/24', table: 254, protocol: 4, type: 'unicast', scope: 0, nexthops: [{ gateway: '192.0.2.1', ifindex: eth0.index, onlink: false }] });
  k.addForeign({ dst: '198.18.6.0/26', table: 254, protocol: P, type: 'blackhole', scope: 0, nexthops: [] }); // stale one of ours
  dp.setRemoteBlocks([{ prefix: '198.18.5.0/26', node: 'b', nextHop: '192.0.2.12', mode: 'direct' }]);
  const rep = await dp.apply();
  assert.equal(route(k, '198.18.5.0/26')?.protocol, 12, 'the BIRD route stays');
  assert.equal(route(k, '198.18.5.0/26')?.nexthops[0].gateway, '192.0.2.99');
  assert.equal(route(k, '203.0.113.0/24')?.protocol, 4);
  assert.equal(route(k, '198.18.6.0/26'), undefined, 'our stale route is deleted');
  assert.deepEqual(rep.errors.map((e) => [e.dst, e.code]), [['198.18.5.0/26', 'DP_ERR_CONFLICT']]);
});

test('a pod route waits for its interface, is reported after the grace period, and is installed when the link appears', async () => {
  const { k, dp } = setup({ graceMs: 30 });
  await dp.start();
  dp.setLocalPods([{ prefix: '198.18.0.7/32', ifName: 'petlate00000000' }]);
  const first = await dp.apply();
  assert.deepEqual(first.pending, ['198.18.0.7/32']);
  assert.deepEqual(first.errors, []);
  await new Promise((r) => setTimeout(r, 40));
  const late = await dp.apply();
  assert.deepEqual(late.errors.map((e) => e.code), ['DP_ERR_NO_LINK']);
  const l = k.addLink('petlate00000000'); // emits the link event
  for (let i = 0; i < 100 && !route(k, '198.18.0.7/32'); i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(route(k, '198.18.0.7/32')?.nexthops, [{ ifindex: l.index, onlink: false }]);
  assert.deepEqual(dp.status().pending, []);
  await dp.stop();
});

test('a kernel error on one route is collected and the others are still installed, then retried', async () => {
  const { k, dp } = setup();
  k.failRoute.set('198.18.8.0/26', 22);
  dp.setRemoteBlocks(['198.18.7.0/26', '198.18.8.0/26', '198.18.9.0/26'].map((prefix) => ({ prefix, node: 'b', nextHop: '192.0.2.12', mode: 'direct' as const })));
  const rep = await dp.apply();
  assert.deepEqual(rep.errors.map((e) => [e.dst, e.code, e.errno]), [['198.18.8.0/26', 'NL_ERR_EINVAL', 22]]);
  assert.ok(route(k, '198.18.7.0/26') && route(k, '198.18.9.0/26'));
  const again = await dp.apply();
  assert.equal(again.ok, true);
  assert.ok(route(k, '198.18.8.0/26'));
});

test('a kernel without ipip gives a clear error, a status flag and a metric, and other routes still work', async () => {
  const { k, dp, counts } = setup();
  k.ipip = false;
  dp.setTunnels({ ipip: {} });
  dp.setRemoteBlocks([
    { prefix: '198.18.10.0/26', node: 'c', nextHop: '203.0.113.13', mode: 'ipip' },
    { prefix: '198.18.11.0/26', node: 'b', nextHop: '192.0.2.12', mode: 'direct' },
  ]);
  const rep = await dp.apply();
  assert.equal(rep.ok, false);
  assert.deepEqual(rep.issues.map((i) => i.code), ['DP_ERR_IPIP_UNSUPPORTED']);
  assert.deepEqual(rep.pending, ['198.18.10.0/26']);
  assert.ok(route(k, '198.18.11.0/26'));
  assert.equal(dp.status().ipip.supported, false);
  assert.deepEqual(counts.ipip, [true]);
});

test('a route deleted behind our back is restored on its event and counted as a repair', async () => {
  const { k, dp, counts } = setup();
  await dp.start();
  dp.setRemoteBlocks([{ prefix: '198.18.12.0/26', node: 'b', nextHop: '192.0.2.12', mode: 'direct' }]);
  await dp.apply();
  k.deleteRoute('198.18.12.0/26');
  for (let i = 0; i < 100 && !route(k, '198.18.12.0/26'); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(route(k, '198.18.12.0/26'));
  assert.deepEqual(counts.repairs, ['route']);
  assert.equal(dp.status().repairs.route, 1);
  await dp.stop();
});

test('a full resync finds a route changed without an event and corrects it', async () => {
  const { k, dp, eth0 } = setup();
  dp.setRemoteBlocks([{ prefix: '198.18.13.0/26', node: 'b', nextHop: '192.0.2.12', mode: 'direct' }]);
  await dp.start();
  k.routes.get('198.18.13.0/26')!.nexthops = [{ gateway: '192.0.2.66', ifindex: eth0.index, onlink: false }];
  (dp as unknown as { needResync: string }).needResync = 'periodic';
  const rep = await dp.apply();
  assert.equal(rep.updated, 1);
  assert.equal(route(k, '198.18.13.0/26')?.nexthops[0].gateway, '192.0.2.12');
  await dp.stop();
});

test('natOutgoing writes one petrel table masquerading pool sources to non-pool destinations, and restores it when flushed', async () => {
  const { dp, nft } = setup();
  dp.setNatPools([{ cidr: '198.18.0.0/16', natOutgoing: true }, { cidr: '100.64.0.0/16', natOutgoing: false }]);
  await dp.apply();
  const t = nft.tables.get('ip petrel')!;
  assert.match(t, /set all-pools \{[^}]*elements = \{ 100\.64\.0\.0\/16, 198\.18\.0\.0\/16 \}/);
  assert.match(t, /set nat-pools \{[^}]*elements = \{ 198\.18\.0\.0\/16 \}/);
  assert.match(t, /ip saddr @nat-pools ip daddr != @all-pools masquerade/);
  assert.equal(nft.tables.has('ip6 petrel'), false);
  nft.tables.delete('ip petrel');
  (dp as unknown as { nat: { markDirty(): void } }).nat.markDirty();
  const rep = await dp.apply();
  assert.equal(rep.repaired, 1);
  assert.ok(nft.tables.get('ip petrel'));
  dp.setNatPools([]);
  await dp.apply();
  assert.equal(nft.tables.has('ip petrel'), false);
});

test('without natOutgoing the periodic NAT check runs no nft once no table was found; an nftables event looks again', async () => {
  const { dp, nft } = setup();
  const calls: string[] = [];
  const run = nft.run;
  (dp as unknown as { nat: { nft: typeof run } }).nat.nft = async (args, input) => { calls.push(args.join(' ')); return run(args, input); };
  const nat = (dp as unknown as { nat: { markPeriodic(): void; markDirty(): void } }).nat;
  dp.setNatPools([{ cidr: '198.18.0.0/16', natOutgoing: false }]);
  await dp.apply();
  assert.deepEqual(calls, ['list table ip petrel', 'list table ip6 petrel']); // looked once: nothing there
  calls.length = 0;
  nat.markPeriodic();
  await dp.apply();
  assert.deepEqual(calls, [], 'the backstop has nothing to look for');
  (dp as unknown as { needResync: string }).needResync = 'periodic';
  await dp.apply();
  assert.deepEqual(calls, [], 'nor has the periodic resync');
  nft.tables.set('ip petrel', 'table ip petrel {\n}\n'); // someone creates our table: nftables says so
  nat.markDirty();
  await dp.apply();
  assert.deepEqual(calls, ['list table ip petrel', 'delete table ip petrel', 'list table ip6 petrel']);
  assert.equal(nft.tables.has('ip petrel'), false);
  // Wanted tables are still checked by the backstop (a flushed table is repaired).
  dp.setNatPools([{ cidr: '198.18.0.0/16', natOutgoing: true }]);
  await dp.apply();
  calls.length = 0;
  nat.markPeriodic();
  await dp.apply();
  assert.deepEqual(calls, ['list table ip petrel']);
  await dp.stop();
});

test('cleanup removes our routes, the VXLAN device and the NAT table but nothing else', async () => {
  const { k, dp, nft, eth0 } = setup();
  k.addForeign({ dst: '203.0.113.0/24', table: 254, protocol: 4, type: 'unicast', scope: 0, nexthops: [{ gateway: '192.0.2.1', ifindex: eth0.index, onlink: false }] });
  dp.setTunnels({ vxlan: { vni: 7 } });
  dp.setLocalBlocks([{ prefix: '198.18.0.0/26', natOutgoing: true }]);
  dp.setNatPools([{ cidr: '198.18.0.0/16', natOutgoing: true }]);
  await dp.apply();
  assert.ok(k.linkByName('vxlan.petrel'));
  const res = await dp.cleanup();
  assert.equal(res.routes, 1);
  assert.deepEqual(k.ours(P), []);
  assert.equal(k.linkByName('vxlan.petrel'), undefined);
  assert.equal(nft.tables.size, 0);
  assert.equal(route(k, '203.0.113.0/24')?.protocol, 4);
});

test('with PETREL_REQUIRE_NETNS the dataplane refuses an unnamed namespace that is the host\'s by the guard\'s rules, and closes its port', () => {
  // The process's own namespace, not named: refused whether PID 1's is unreadable (container: own
  // namespace refused) or readable and the same (the host's). Skipped where PID 1 is readable and
  // differs (a test runner inside a namespace): then the own namespace is rightly allowed.
  const self = statSync('/proc/self/ns/net').ino;
  let pid1: number | undefined;
  try { pid1 = statSync('/proc/1/ns/net').ino; } catch { pid1 = undefined; }
  const k = new FakeKernel();
  k.nsInode = pid1 ?? self;
  assert.throws(() => createDataplane({ kernel: k, requireNetns: true }), (e: Error & { code?: string }) => e.code === 'DP_ERR_ROOT_NETNS');
  assert.equal(k.closed, true);
  const other = new FakeKernel();
  assert.doesNotThrow(() => createDataplane({ kernel: other, requireNetns: true }));
});

test('a protocol number outside 5..255 is a configuration error', () => {
  assert.throws(() => createDataplane({ kernel: new FakeKernel(), protocol: 2 }), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID');
});

test('cleanup on a running dataplane stops it first, so nothing is put back afterwards', async () => {
  const { k, dp } = setup();
  dp.setLocalBlocks([{ prefix: '198.18.0.0/26', natOutgoing: false }]);
  await dp.start();
  assert.equal(k.ours(P).length, 1);
  await dp.cleanup();
  assert.equal(dp.status().running, false);
  k.events?.route('del', { dst: '198.18.0.0/26', table: 254, protocol: P, type: 'blackhole', scope: 0, nexthops: [] });
  k.events?.overflow();
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(k.ours(P), []);
});
