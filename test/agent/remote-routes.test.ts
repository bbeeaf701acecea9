import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RemoteRouteTable, remoteRoutes } from '../../src/agent/remote-routes.js';
import type { RemoteBlockRoute } from '../../src/model/topology.js';

const n2: RemoteBlockRoute = { prefix: '198.18.2.0/26', node: 'n2', nextHop: '192.0.2.12', mode: 'direct', pool: 'p' };
const n3: RemoteBlockRoute = { prefix: '198.18.3.0/26', node: 'n3', nextHop: '198.51.100.13', mode: 'vxlan', vtep: { mac: '66:00:00:00:00:03', address: '198.18.3.0' }, pool: 'p' };
const topo = { remoteBlocks: [n2, n3], localBlocks: [{ prefix: '198.18.1.0/26', natOutgoing: false }] };
const subnets = ['192.0.2.0/24'];

test('a block learned from its owner takes the topology route (direct or VXLAN)', () => {
  const r = remoteRoutes([
    { prefix: '198.18.3.0/26', nextHop: '198.51.100.13', local: false },
    { prefix: '198.18.2.0/26', nextHop: '192.0.2.12', local: false },
  ], topo, subnets);
  assert.deepEqual(r.routes, [n2, n3]);
  assert.deepEqual(r.ignored, []);
});

test('a block that BGP does not carry is not installed, even though Kubernetes knows it', () => {
  const r = remoteRoutes([{ prefix: '198.18.2.0/26', nextHop: '192.0.2.12', local: false }], topo, subnets);
  assert.deepEqual(r.routes.map((x) => x.prefix), ['198.18.2.0/26']);
});

test('locally originated routes and our own blocks are never remote routes', () => {
  const r = remoteRoutes([
    { prefix: '198.18.1.0/26', nextHop: '', local: true },
    { prefix: '198.18.1.0/26', nextHop: '192.0.2.12', local: false },
  ], topo, subnets);
  assert.deepEqual(r.routes, []);
  assert.equal(r.ignored[0].reason, 'this node owns the block');
});

test('a foreign prefix goes direct via an on-link next hop, and is ignored when the next hop is off-link', () => {
  const r = remoteRoutes([
    { prefix: '203.0.113.0/24', nextHop: '192.0.2.1', local: false },
    { prefix: '100.64.0.0/16', nextHop: '198.51.100.99', local: false },
  ], topo, subnets);
  assert.deepEqual(r.routes, [{ prefix: '203.0.113.0/24', node: '', nextHop: '192.0.2.1', mode: 'direct' }]);
  assert.equal(r.ignored.length, 1);
  assert.equal(r.ignored[0].prefix, '100.64.0.0/16');
});

test('a block learned with a next hop other than its owner is treated as a foreign prefix', () => {
  const r = remoteRoutes([{ prefix: '198.18.3.0/26', nextHop: '192.0.2.50', local: false }], topo, subnets);
  assert.deepEqual(r.routes, [{ prefix: '198.18.3.0/26', node: '', nextHop: '192.0.2.50', mode: 'direct' }]);
});

test('ECMP: every next hop of a multipath best route becomes a route of the same prefix', () => {
  const r = remoteRoutes([{ prefix: '203.0.113.0/24', nextHop: '192.0.2.1', nextHops: ['192.0.2.1', '192.0.2.2'], local: false }], topo, subnets);
  assert.deepEqual(r.routes.map((x) => x.nextHop), ['192.0.2.1', '192.0.2.2']);
});

test('the local subnets are read only when a learned prefix is not a known block, and then once', () => {
  let reads = 0;
  const lazy = () => { reads++; return subnets; };
  const known = remoteRoutes([
    { prefix: '198.18.2.0/26', nextHop: '192.0.2.12', local: false },
    { prefix: '198.18.3.0/26', nextHop: '198.51.100.13', local: false },
  ], topo, lazy);
  assert.equal(reads, 0);
  assert.deepEqual(known.routes, [n2, n3]);
  const foreign = remoteRoutes([
    { prefix: '203.0.113.0/24', nextHop: '192.0.2.1', local: false },
    { prefix: '198.18.2.0/26', nextHop: '192.0.2.12', local: false },
    { prefix: '100.64.0.0/24', nextHop: '198.51.100.99', local: false },
  ], topo, lazy);
  assert.equal(reads, 1);
  assert.deepEqual(foreign.routes.map((r) => `${r.prefix} ${r.nextHop}`), ['198.18.2.0/26 192.0.2.12', '203.0.113.0/24 192.0.2.1']);
  assert.deepEqual(foreign.ignored.map((i) => i.prefix), ['100.64.0.0/24']);
});

/** The whole-set computation the table replaced, kept here as the reference it must agree with. */
function reference(learned: Map<string, { prefix: string; nextHop: string; nextHops?: string[]; local: boolean }>, t: { remoteBlocks: RemoteBlockRoute[]; localBlocks: Array<{ prefix: string }> }, onLink: string[]) {
  const routes: RemoteBlockRoute[] = [];
  const ignored: Array<{ prefix: string; reason: string }> = [];
  const local = new Set(t.localBlocks.map((b) => b.prefix));
  for (const r of learned.values()) {
    if (r.local) continue;
    if (local.has(r.prefix)) { ignored.push({ prefix: r.prefix, reason: 'this node owns the block' }); continue; }
    const hops = r.nextHops?.length ? r.nextHops : [r.nextHop];
    let added = 0;
    for (const hop of hops) {
      const owner = t.remoteBlocks.find((b) => b.prefix === r.prefix && b.nextHop === hop);
      if (owner) { routes.push(owner); added++; } else if (onLink.some((s) => s === '192.0.2.0/24' && hop.startsWith('192.0.2.'))) { routes.push({ prefix: r.prefix, node: '', nextHop: hop, mode: 'direct' }); added++; }
    }
    if (!added) ignored.push({ prefix: r.prefix, reason: `next hop ${hops.join(',') || '(none)'} is neither the block owner nor on a local subnet` });
  }
  routes.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : a.nextHop < b.nextHop ? -1 : a.nextHop > b.nextHop ? 1 : 0));
  ignored.sort((a, b) => (a.prefix < b.prefix ? -1 : 1));
  return { routes, ignored };
}

test('the incremental table agrees with the whole-set computation over random best-path and topology changes', () => {
  let seed = 12345; // mulberry32: every bit of the state mixes, unlike a bare LCG's low bits
  const rnd = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  const prefixes = Array.from({ length: 12 }, (_, i) => `198.18.${i}.0/26`);
  const hops = ['192.0.2.11', '192.0.2.12', '198.51.100.13', '198.51.100.14', ''];
  const blockOf = (i: number, variant: number): RemoteBlockRoute => (variant % 2
    ? { prefix: prefixes[i], node: `n${i}`, nextHop: hops[i % 4], mode: 'vxlan', vtep: { mac: `66:00:00:00:00:0${variant}`, address: `198.18.${i}.0` }, pool: 'p' }
    : { prefix: prefixes[i], node: `n${i}`, nextHop: hops[i % 4], mode: 'direct', pool: 'p' });
  for (let run = 0; run < 40; run++) {
    const table = new RemoteRouteTable(subnets);
    const learned = new Map<string, { prefix: string; nextHop: string; nextHops?: string[]; local: boolean }>();
    let blocks = new Map<number, RemoteBlockRoute>();
    let topoNow = { remoteBlocks: [] as RemoteBlockRoute[], localBlocks: [] as Array<{ prefix: string; natOutgoing: boolean }> };
    table.setTopology(topoNow); // before any topology the table works nothing out (tested below)
    let last = table.current;
    for (let step = 0; step < 60; step++) {
      let changed: boolean;
      if (rnd(3) === 0) {
        // A new topology: some blocks appear, go, change mode or VTEP; unchanged ones keep their object.
        const next = new Map(blocks);
        for (let k = 0; k < 1 + rnd(3); k++) {
          const i = rnd(prefixes.length);
          if (rnd(4) === 0) next.delete(i);
          else next.set(i, rnd(2) ? blockOf(i, rnd(4)) : { ...blockOf(i, rnd(4)) });
        }
        blocks = next;
        const own = rnd(5) === 0 ? [{ prefix: prefixes[rnd(prefixes.length)], natOutgoing: false }] : topoNow.localBlocks;
        topoNow = { remoteBlocks: [...blocks.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : 1)), localBlocks: own };
        changed = table.setTopology(topoNow);
      } else {
        const deltas = [];
        for (let k = 0; k < 1 + rnd(3); k++) {
          const prefix = rnd(6) === 0 ? '203.0.113.0/24' : prefixes[rnd(prefixes.length)];
          if (rnd(4) === 0) { learned.delete(prefix); deltas.push({ prefix }); continue; }
          const h = hops[rnd(hops.length)];
          const r = { prefix, nextHop: h, local: rnd(10) === 0, ...(rnd(5) === 0 ? { nextHops: [h, hops[rnd(4)]].filter((x, j, a) => a.indexOf(x) === j) } : {}) };
          learned.set(prefix, r);
          deltas.push({ prefix, after: r });
        }
        changed = table.learn(deltas);
      }
      const now = table.current;
      const want = reference(learned, topoNow, subnets);
      assert.deepEqual(now.routes, want.routes, `run ${run} step ${step}`);
      assert.deepEqual(now.ignored, want.ignored, `run ${run} step ${step}`);
      // "changed" is exact: a new list exactly when the routes or the ignored set differ.
      assert.equal(changed, JSON.stringify(now) !== JSON.stringify(last), `run ${run} step ${step}`);
      assert.equal(now === last, !changed);
      last = now;
    }
  }
});

test('the table hands back the same list while nothing changes, and recomputes only what a delta touches', () => {
  let reads = 0;
  const table = new RemoteRouteTable(() => { reads++; return subnets; });
  assert.equal(table.learn([
    { prefix: n2.prefix, after: { prefix: n2.prefix, nextHop: n2.nextHop, local: false } },
    { prefix: '100.64.0.0/24', after: { prefix: '100.64.0.0/24', nextHop: '192.0.2.7', local: false } },
  ]), false); // no topology yet: nothing is worked out
  assert.equal(reads, 0);
  assert.equal(table.setTopology(topo), true);
  assert.equal(reads, 1);
  assert.deepEqual(table.current.routes, [{ prefix: '100.64.0.0/24', node: '', nextHop: '192.0.2.7', mode: 'direct' }, n2]);
  table.learn([{ prefix: '100.64.0.0/24' }]);
  reads = 0;
  const first = table.current;
  assert.deepEqual(first.routes, [n2]);
  assert.equal(table.setTopology({ ...topo }), false); // same lists: nothing to do
  assert.equal(table.setTopology({ remoteBlocks: [{ ...n2 }, { ...n3 }], localBlocks: topo.localBlocks }), false); // equal copies
  assert.equal(table.current, first);
  assert.equal(reads, 0);
  assert.equal(table.learn([{ prefix: '203.0.113.0/24', after: { prefix: '203.0.113.0/24', nextHop: '192.0.2.1', local: false } }]), true);
  assert.equal(reads, 1);
  table.setTopology({ ...topo });
  assert.equal(reads, 2, 'a foreign prefix is re-checked against the host subnets on every topology');
  assert.equal(table.clearLearned(), true);
  assert.deepEqual(table.current, { routes: [], ignored: [] });
});
