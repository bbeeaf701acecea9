// A restarted agent with graceful restart (RFC 4724): its new RouteTable keeps the routes the
// previous process left in the kernel (retainOrphans) while BGP learns them again, writes nothing
// for those learned identically, and deletes only what was not learned once the hold is released.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable, type DesiredRoute } from '../../src/dataplane/route-table.js';
import { noopMetrics, silentLogger } from '../../src/dataplane/log.js';
import { FakeKernel } from './fake-kernel.js';

const gw = { gateway: '192.0.2.2', ifName: 'eth0', onlink: false };
const block = (i: number): DesiredRoute => ({ dst: `198.18.${i}.0/26`, cls: 'remote-direct', type: 'unicast', scope: 'universe', nexthops: [gw] });

function table(k: FakeKernel): RouteTable {
  return new RouteTable(k, { protocol: 97, table: 254, graceMs: 10_000, log: silentLogger, metrics: noopMetrics });
}

test('kept routes stay while retained, identical ones cost no write, and the release deletes exactly the rest', async () => {
  const k = new FakeKernel();
  k.addLink('eth0');
  const links = () => new Map([...k.links.values()].map((l) => [l.name, l.index]));
  // The previous process.
  const old = table(k);
  await old.resync();
  old.setClass('remote-direct', [block(1), block(2), block(3)]);
  await old.apply(links());
  assert.equal(k.routes.size, 3);

  // The new process: nothing learned yet.
  const rt = table(k);
  rt.retainOrphans = true;
  await rt.resync();
  rt.setClass('remote-direct', []);
  const ops0 = k.routeOps;
  let r = await rt.apply(links());
  assert.equal(r.deleted, 0);
  assert.equal(k.routeOps, ops0, 'nothing written');

  // BGP brings two of the three back, identical.
  rt.setClass('remote-direct', [block(1), block(2)]);
  r = await rt.apply(links());
  assert.equal(r.installed + r.updated + r.deleted, 0);
  assert.equal(k.routeOps, ops0, 'identical routes: no write');

  // End-of-RIB from every peer: the one not learned again goes.
  rt.retainOrphans = false;
  rt.markDirty();
  r = await rt.apply(links());
  assert.equal(r.deleted, 1);
  assert.equal(k.routeOps, ops0 + 1);
  assert.deepEqual([...k.routes.values()].map((x) => x.dst).sort(), [block(1).dst, block(2).dst]);
});
