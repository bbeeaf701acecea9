// Bulk work in the RIB (issue 13 C): a peer with a large table going down must cost time linear in
// the table and be done in bounded slices, with the same deltas as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocRib } from '../../../src/bgp/rib/loc-rib.js';
import type { Path, RibPeer } from '../../../src/bgp/rib/types.js';

function fakePeer(id: number): RibPeer {
  return {
    id, address: `192.0.2.${id}`, asn: 65000 + id, kind: 'ebgp', rrClient: false, routerId: '0.0.0.0', routerIdNum: 0,
    addressKey: String(id), received: 0, receivedByFamily: { ipv4: 0, ipv6: 0 }, bestCount: 0, loopsDropped: 0,
  };
}

test('removing a large table in the main table\'s slot order keeps the dirty table\'s probe runs short', () => {
  // The dirty table once used the main table's hash: keys removed in main-table order arrive sorted
  // by home slot modulo the (smaller, growing) dirty table, pile into one cluster, and every insert
  // walks it — a 3M-prefix peer took 30 s to go down instead of 3 s.
  const loc = new LocRib();
  const peer = fakePeer(1);
  const path = { peer, attrs: { family: 'ipv4' }, refs: 0, lid: 0, gone: false } as unknown as Path;
  const n = 380_000; // 72% of the main table's 524,288 slots: the load at which it blew up
  const base = 0x64000000; // 100.0.0.0
  for (let i = 0; i < n; i++) loc.upsertKey((base + i) * 64 + 32, path);
  loc.flush(() => {});
  const keys: number[] = [];
  loc.forEachKey((k) => keys.push(k as number));
  let worst = 0;
  for (let i = 0; i < keys.length; i++) {
    loc.removeKey(keys[i], peer);
    if (i % 5000 === 0) worst = Math.max(worst, loc.dirtyMeanProbe);
  }
  assert.equal(loc.dirtyCount, n);
  assert.ok(worst < 10, `mean probe run in the dirty table: ${worst.toFixed(1)} slots`);
});
