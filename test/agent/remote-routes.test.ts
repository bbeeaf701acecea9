import { test } from 'node:test';
import assert from 'node:assert/strict';
import { remoteRoutes } from '../../src/agent/remote-routes.js';
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
