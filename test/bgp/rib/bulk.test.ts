// Bulk work in the RIB (issue 13 C): a peer with a large table going down must cost time linear in
// the table and be done in bounded slices, with the same deltas as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocRib } from '../../../src/bgp/rib/loc-rib.js';
import type { Path, RibPeer } from '../../../src/bgp/rib/types.js';

function fakePeer(id: number): RibPeer {
  return {
    id, address: `192.0.2.${id}`, asn: 65000 + id, kind: 'ebgp', rrClient: false, routerId: '0.0.0.0', routerIdNum: 0,
    addressKey: String(id), received: 0, receivedByFamily: { ipv4: 0, ipv6: 0 }, bestCount: 0, loopsDropped: 0, nextHopsRejected: 0,
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

import { Rib } from '../../../src/bgp/rib/index.js';
import type { Change } from '../../../src/bgp/rib/loc-rib.js';
import { countingEncoder, seq } from './helpers.js';

const attrs = (nh: string, ...path: number[]) => ({ origin: 0 as const, asPath: seq(...path), nextHop: nh });
const v6attrs = (...nlri: string[]) => ({ origin: 0 as const, asPath: seq(65001), mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::11'], nlri } });
const keyOf = (i: number) => (0x64400000 + i) * 64 + 32; // 100.64.0.0/32 + i

/** A RIB whose scheduled turns the test runs by hand; peer a holds `n` /32s, b holds every 4th. */
function loaded(n: number, opts: { sliceBudget?: number; maxBatch?: number } = {}) {
  const queue: Array<() => void> = [];
  const rib = new Rib({
    localAsn: 64512, routerId: '192.0.2.1', encoder: countingEncoder(), schedule: (fn) => void queue.push(fn),
    sliceBudget: opts.sliceBudget ?? 2000, maxBatch: opts.maxBatch ?? 500, sliceMs: 1e9,
  });
  const a = rib.addPeer({ address: '192.0.2.11', asn: 65001 });
  const b = rib.addPeer({ address: '192.0.2.12', asn: 65002 });
  const keys = Array.from({ length: n }, (_, i) => keyOf(i));
  rib.applyUpdate(a, { type: 'update', withdrawn: [], nlri: [], nlriKeys: keys, attrs: attrs('192.0.2.11', 65001) });
  rib.applyUpdate(b, { type: 'update', withdrawn: [], nlri: [], nlriKeys: keys.filter((_, i) => i % 4 === 0), attrs: attrs('192.0.2.12', 65002, 65003) });
  rib.applyUpdate(a, { type: 'update', withdrawn: [], nlri: [], attrs: v6attrs('2001:db8:1::/48', '2001:db8:2::/48') });
  rib.flush();
  while (queue.length > 0) (queue.shift() as () => void)();
  const changes: Change[] = [];
  rib.onChanges = (ch) => changes.push(...ch);
  /** Runs scheduled turns until none is left (bounded); returns how many ran. */
  const drain = () => {
    let turns = 0;
    while (queue.length > 0 && turns < 10_000) {
      (queue.shift() as () => void)();
      turns++;
    }
    return turns;
  };
  return { rib, a, b, changes, drain };
}

const summary = (ch: Change[]) => ch.map((c) => `${c.prefix} ${c.before?.peer.address ?? '-'} ${c.after?.peer.address ?? '-'}`).sort();

test('a peer going down is removed over several turns, with the same deltas as a removal at once', () => {
  const sliced = loaded(20_000);
  sliced.rib.peerDown(sliced.a);
  assert.ok(sliced.rib.loc.dirtyCount <= 500 + 1, 'the first slice flushed in batches');
  const turns = sliced.drain();
  assert.ok(turns >= 5, `removed over ${turns} turns`);
  assert.equal(sliced.rib.busy, false);

  const atOnce = loaded(20_000);
  atOnce.rib.peerDown(atOnce.a);
  atOnce.rib.flush();
  assert.deepEqual(summary(sliced.changes), summary(atOnce.changes));
  assert.equal(sliced.changes.length, 20_002);
  assert.equal(sliced.rib.size.prefixes, 5000, 'b\'s prefixes stay');
  assert.equal(sliced.rib.size.attrSets, 1);
  assert.equal(sliced.a.received, 0);
  assert.equal(sliced.a.bestCount, 0);
});

test('while the removal is under way, a path of the peer that went down never wins', () => {
  const { rib, a, b, drain } = loaded(20_000);
  rib.peerDown(a);
  // b announces a prefix a still holds (gone, not yet reached): b's longer AS_PATH must win anyway.
  const late = keyOf(19_999);
  rib.applyUpdate(b, { type: 'update', withdrawn: [], nlri: [], nlriKeys: [late, keyOf(19_998)], attrs: attrs('192.0.2.12', 65002, 65003, 65004) });
  assert.ok(rib.busy, 'not reached yet');
  const row = rib.routes({ prefix: '100.64.78.31/32' }).find((r) => r.best);
  assert.equal(row?.peer, '192.0.2.12');
  drain();
  assert.equal(rib.size.prefixes, 5002);
  assert.equal(b.received, 5002);
});

test('a peer that comes back during its removal keeps what it announces again, and its counts start afresh', () => {
  const { rib, a, drain, changes } = loaded(20_000);
  rib.peerDown(a);
  assert.ok(rib.busy);
  // The same attributes as before: a new path object, which replaces the gone one where it is still there.
  const again = [keyOf(1), keyOf(2), keyOf(19_990), keyOf(19_991)];
  rib.applyUpdate(a, { type: 'update', withdrawn: [], nlri: [], nlriKeys: again, attrs: attrs('192.0.2.11', 65001) });
  rib.applyUpdate(a, { type: 'update', withdrawn: [], nlri: [], attrs: v6attrs('2001:db8:2::/48') });
  // And a withdrawal of a prefix it announced only in its previous session: nothing to count.
  rib.applyUpdate(a, { type: 'update', withdrawn: [], withdrawnKeys: [keyOf(5)], nlri: [], attrs: {} });
  drain();
  assert.equal(a.received, 5);
  assert.equal(a.receivedByFamily.ipv4, 4);
  assert.equal(a.receivedByFamily.ipv6, 1);
  assert.equal(rib.size.prefixes, 5000 + 4 + 1, 'b\'s 5000, the four IPv4 prefixes a announced again, 2001:db8:2::/48');
  for (const i of [1, 2, 19_990, 19_991]) assert.equal(rib.routes({ prefix: `100.64.${i >> 8}.${i & 255}/32` }).find((r) => r.best)?.peer, '192.0.2.11');
  assert.equal(rib.routes({ prefix: '2001:db8:1::/48' }).length, 0);
  assert.ok(changes.length > 0);
  assert.equal(rib.size.attrSets, 3, 'a\'s IPv4 and IPv6 sets, b\'s');
});
