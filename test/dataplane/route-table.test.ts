// The route table's incremental passes against the in-memory kernel: a pass looks only at what
// changed (counted: destinations examined and route requests the kernel received), ECMP merging in
// the table, removal and re-adding of a destination before a pass, link changes, resync.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable, type DesiredRoute } from '../../src/dataplane/route-table.js';
import { noopMetrics, silentLogger } from '../../src/dataplane/log.js';
import { FakeKernel } from './fake-kernel.js';

const P = 97;

function setup() {
  const k = new FakeKernel();
  const eth0 = k.addLink('eth0');
  const rt = new RouteTable(k, { protocol: P, table: 254, graceMs: 10_000, log: silentLogger, metrics: noopMetrics });
  const links = () => new Map([...k.links.values()].map((l) => [l.name, l.index]));
  return { k, rt, eth0, links };
}

const gw = { gateway: '192.0.2.2', ifName: 'eth0', onlink: false };
const block = (i: number, nh = gw): DesiredRoute => ({ dst: `198.18.${i >> 2}.${(i & 3) * 64}/26`, cls: 'remote-direct', type: 'unicast', scope: 'universe', nexthops: [nh] });
const blocks = (n: number) => Array.from({ length: n }, (_, i) => block(i));

test('after a full install, a pass with one changed route looks at that route only and sends one request', async () => {
  const { k, rt, links } = setup();
  await rt.resync();
  rt.setClass('remote-direct', blocks(500));
  const first = await rt.apply(links());
  assert.equal(first.installed, 500);
  assert.equal(k.routeOps, 500);
  const other = { gateway: '192.0.2.3', ifName: 'eth0', onlink: false };
  const next = blocks(500);
  next[17] = block(17, other);
  rt.setClass('remote-direct', next);
  const res = await rt.apply(links());
  assert.equal(rt.lastExamined, 1);
  assert.equal(k.routeOps, 501);
  assert.equal(res.updated, 1);
  assert.equal(k.batches.at(-1)?.[0].op, 'route-replace');
  assert.equal([...k.routes.values()].find((r) => r.dst === block(17).dst)?.nexthops[0].gateway, '192.0.2.3');
});

test('a pass with nothing changed looks at nothing and sends nothing, even when the same set is given again', async () => {
  const { k, rt, links } = setup();
  await rt.resync();
  rt.setClass('remote-direct', blocks(200));
  await rt.apply(links());
  const batches = k.batches.length;
  const again = await rt.apply(links());
  assert.equal(rt.lastExamined, 0);
  rt.setClass('remote-direct', blocks(200)); // equal, new objects
  await rt.apply(links());
  assert.equal(rt.lastExamined, 0);
  assert.equal(k.batches.length, batches);
  assert.equal(again.installed + again.updated + again.deleted, 0);
  assert.equal(rt.countsByClass()['remote-direct'], 200);
});

test('removing one route deletes exactly that route; removing and re-adding it before a pass sends nothing', async () => {
  const { k, rt, links } = setup();
  await rt.resync();
  rt.setClass('remote-direct', blocks(100));
  await rt.apply(links());
  rt.setClass('remote-direct', blocks(99));
  const del = await rt.apply(links());
  assert.equal(del.deleted, 1);
  assert.equal(rt.lastExamined, 1);
  assert.equal(k.ours(P).length, 99);
  assert.equal(rt.countsByClass()['remote-direct'], 99);
  const before = k.routeOps;
  rt.setClass('remote-direct', blocks(98));
  rt.setClass('remote-direct', blocks(99));
  const res = await rt.apply(links());
  assert.equal(k.routeOps, before);
  assert.equal(res.deleted + res.installed, 0);
  assert.equal(k.ours(P).length, 99);
});

test('remote blocks sharing a destination become one ECMP route with both next hops, in one request', async () => {
  const { k, rt, links } = setup();
  await rt.resync();
  const other = { gateway: '192.0.2.3', ifName: 'eth0', onlink: false };
  rt.setClasses(new Map([['remote-direct', [block(1), block(1, other), block(1)]]]));
  const res = await rt.apply(links());
  assert.equal(res.installed, 1);
  assert.deepEqual(k.ours(P)[0].nexthops.map((n) => n.gateway), ['192.0.2.2', '192.0.2.3']);
  // The same ECMP set again is unchanged; dropping one next hop is one replace.
  rt.setClasses(new Map([['remote-direct', [block(1), block(1, other)]]]));
  await rt.apply(links());
  assert.equal(rt.lastExamined, 0);
  rt.setClasses(new Map([['remote-direct', [block(1, other)]]]));
  const r2 = await rt.apply(links());
  assert.equal(r2.updated, 1);
  assert.deepEqual(k.ours(P)[0].nexthops.map((n) => n.gateway), ['192.0.2.3']);
});

test('a destination claimed by a local block and a pod route goes to the later class only', async () => {
  const { k, rt, links } = setup();
  k.addLink('pet0');
  await rt.resync();
  const pod: DesiredRoute = { dst: '198.18.0.2/32', cls: 'local-pod', type: 'unicast', scope: 'link', nexthops: [{ ifName: 'pet0', onlink: false }] };
  const hole: DesiredRoute = { dst: '198.18.0.2/32', cls: 'local-block', type: 'blackhole', scope: 'universe', nexthops: [] };
  rt.setClasses(new Map([['local-pod', [pod]], ['local-block', [hole]]]));
  await rt.apply(links());
  assert.equal(k.ours(P)[0].type, 'blackhole');
  assert.deepEqual(rt.countsByClass()['local-block'], 1);
  assert.deepEqual(rt.countsByClass()['local-pod'], 0);
});

test('a new interface resolves only the pending routes; a vanished one re-examines only the routes through it', async () => {
  const { k, rt, links } = setup();
  await rt.resync();
  const podRoute = (i: number): DesiredRoute => ({ dst: `198.18.9.${i}/32`, cls: 'local-pod', type: 'unicast', scope: 'link', nexthops: [{ ifName: `pet${i}`, onlink: false }] });
  k.addLink('pet1');
  rt.setClasses(new Map([['remote-direct', blocks(300)], ['local-pod', [podRoute(1), podRoute(2)]]]));
  const first = await rt.apply(links());
  assert.equal(first.installed, 301);
  assert.deepEqual(first.pending, ['198.18.9.2/32']);
  k.addLink('pet2');
  const second = await rt.apply(links());
  assert.equal(second.installed, 1);
  assert.equal(rt.lastExamined, 1);
  assert.deepEqual(second.pending, []);
  k.removeLink('pet1');
  rt.linkGone('pet1', [...k.links.values()].length + 100); // the dataplane calls this; index no longer used
  const third = await rt.apply(links());
  assert.equal(rt.lastExamined, 1);
  assert.deepEqual(third.pending, ['198.18.9.1/32']);
  assert.equal(k.ours(P).length, 301);
});

test('after a resync the next pass compares everything and repairs a route deleted behind our back', async () => {
  const { k, rt, links } = setup();
  await rt.resync();
  rt.setClass('remote-direct', blocks(50));
  await rt.apply(links());
  k.deleteRoute(block(3).dst, 254, false); // no event: only the resync sees it
  const quiet = await rt.apply(links());
  assert.equal(quiet.installed, 0);
  await rt.resync();
  const res = await rt.apply(links());
  assert.equal(rt.lastExamined, 50);
  assert.equal(res.installed, 1);
  assert.equal(res.repaired, 1);
  assert.equal(rt.repairs, 1);
});

test('a route event that disagrees with the desired route makes the next pass put back that route only', async () => {
  const { k, rt, links, eth0 } = setup();
  await rt.resync();
  rt.setClass('remote-direct', blocks(50));
  await rt.apply(links());
  const ok = { dst: block(5).dst, table: 254, protocol: P, type: 'unicast' as const, scope: 0, nexthops: [{ gateway: '192.0.2.2', ifindex: eth0.index, onlink: false }] };
  rt.onRouteEvent('new', ok); // our own write echoed back changes nothing
  await rt.apply(links());
  assert.equal(rt.lastExamined, 0);
  const wrong = { ...ok, nexthops: [{ gateway: '192.0.2.9', ifindex: eth0.index, onlink: false }] };
  k.addForeign(wrong);
  rt.onRouteEvent('new', wrong);
  const res = await rt.apply(links());
  assert.equal(rt.lastExamined, 1);
  assert.equal(res.updated, 1);
  assert.equal(k.ours(P).find((r) => r.dst === block(5).dst)?.nexthops[0].gateway, '192.0.2.2');
});

test('a failed write is retried in the next pass, alone', async () => {
  const { k, rt, links } = setup();
  await rt.resync();
  k.failRoute.set(block(7).dst, 12); // ENOMEM once
  rt.setClass('remote-direct', blocks(40));
  const res = await rt.apply(links());
  assert.equal(res.installed, 39);
  assert.deepEqual(res.errors.map((e) => [e.dst, e.errno]), [[block(7).dst, 12]]);
  const again = await rt.apply(links());
  assert.equal(rt.lastExamined, 1);
  assert.equal(again.installed, 1);
  assert.deepEqual(again.errors, []);
  assert.equal(rt.countsByClass()['remote-direct'], 40);
});
