// The Loc-RIB's deltas: one change per prefix per flush, coalescing, replacement, peer down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rib } from '../../../src/bgp/rib/index.js';
import { countingEncoder, seq } from './helpers.js';

function setup() {
  const rib = new Rib({ localAsn: 64512, routerId: '192.0.2.1', encoder: countingEncoder(), schedule: () => {} });
  const a = rib.addPeer({ address: '192.0.2.11', asn: 65001 });
  const b = rib.addPeer({ address: '192.0.2.12', asn: 65002 });
  return { rib, a, b };
}
const attrs = (nh: string, ...path: number[]) => ({ origin: 0 as const, asPath: seq(...path), nextHop: nh });

test('a new prefix gives one change with no before', () => {
  const { rib, a } = setup();
  rib.applyUpdate(a, { type: 'update', withdrawn: [], nlri: ['198.18.0.0/24'], attrs: attrs('192.0.2.11', 65001) });
  const ch = rib.flush();
  assert.equal(ch.length, 1);
  assert.equal(ch[0].before, undefined);
  assert.equal(ch[0].after?.peer, a);
});

test('a better path replacing the best gives one change from the old to the new', () => {
  const { rib, a, b } = setup();
  rib.applyUpdate(a, { type: 'update', withdrawn: [], nlri: ['198.18.0.0/24'], attrs: attrs('192.0.2.11', 65001, 65003) });
  rib.flush();
  rib.applyUpdate(b, { type: 'update', withdrawn: [], nlri: ['198.18.0.0/24'], attrs: attrs('192.0.2.12', 65002) });
  const ch = rib.flush();
  assert.equal(ch.length, 1);
  assert.equal(ch[0].before?.peer, a);
  assert.equal(ch[0].after?.peer, b);
});

test('a worse second path changes nothing', () => {
  const { rib, a, b } = setup();
  rib.applyUpdate(a, { type: 'update', withdrawn: [], nlri: ['198.18.0.0/24'], attrs: attrs('192.0.2.11', 65001) });
  rib.flush();
  rib.applyUpdate(b, { type: 'update', withdrawn: [], nlri: ['198.18.0.0/24'], attrs: attrs('192.0.2.12', 65002, 65003) });
  assert.deepEqual(rib.flush(), []);
  assert.equal(rib.routes().length, 2);
});

test('many changes to one prefix between flushes come out as one change', () => {
  const { rib, a, b } = setup();
  rib.applyUpdate(a, { type: 'update', withdrawn: [], nlri: ['198.18.0.0/24'], attrs: attrs('192.0.2.11', 65001) });
  rib.flush();
  rib.applyUpdate(b, { type: 'update', withdrawn: [], nlri: ['198.18.0.0/24'], attrs: attrs('192.0.2.12', 65002) });
  rib.applyUpdate(a, { type: 'update', withdrawn: ['198.18.0.0/24'], nlri: [], attrs: {} });
  rib.applyUpdate(b, { type: 'update', withdrawn: ['198.18.0.0/24'], nlri: [], attrs: {} });
  rib.applyUpdate(b, { type: 'update', withdrawn: [], nlri: ['198.18.0.0/24'], attrs: attrs('192.0.2.12', 65002, 65009) });
  const ch = rib.flush();
  assert.equal(ch.length, 1);
  assert.equal(ch[0].before?.peer, a);
  assert.equal(ch[0].after?.peer, b);
});

test('re-announcing identical attributes changes nothing', () => {
  const { rib, a } = setup();
  rib.applyUpdate(a, { type: 'update', withdrawn: [], nlri: ['198.18.0.0/24'], attrs: attrs('192.0.2.11', 65001) });
  rib.flush();
  rib.applyUpdate(a, { type: 'update', withdrawn: [], nlri: ['198.18.0.0/24'], attrs: attrs('192.0.2.11', 65001) });
  assert.deepEqual(rib.flush(), []);
  assert.equal(a.received, 1);
});

test('peer down removes its paths and the next best takes over', () => {
  const { rib, a, b } = setup();
  rib.applyUpdate(a, { type: 'update', withdrawn: [], nlri: ['198.18.0.0/24', '198.18.1.0/24'], attrs: attrs('192.0.2.11', 65001) });
  rib.applyUpdate(b, { type: 'update', withdrawn: [], nlri: ['198.18.0.0/24'], attrs: attrs('192.0.2.12', 65002, 65003) });
  rib.flush();
  rib.peerDown(a);
  const ch = rib.flush();
  assert.equal(ch.length, 2);
  const byPrefix = new Map(ch.map((c) => [c.prefix, c]));
  assert.equal(byPrefix.get('198.18.0.0/24')?.after?.peer, b);
  assert.equal(byPrefix.get('198.18.1.0/24')?.after, undefined);
  assert.equal(rib.size.prefixes, 1);
});

test('local routes are diffed: only added, changed and removed prefixes change', () => {
  const { rib } = setup();
  rib.setLocalRoutes([{ prefix: '203.0.113.0/24' }, { prefix: '2001:db8:1::/48' }]);
  assert.equal(rib.flush().length, 2);
  rib.setLocalRoutes([{ prefix: '203.0.113.0/24' }, { prefix: '2001:db8:2::/48', communities: [1] }]);
  const ch = rib.flush().map((c) => `${c.prefix}:${c.before ? 'b' : ''}${c.after ? 'a' : ''}`).sort();
  assert.deepEqual(ch, ['2001:db8:1::/48:b', '2001:db8:2::/48:a']);
  rib.setLocalRoutes([{ prefix: '203.0.113.0/24' }, { prefix: '2001:db8:2::/48', communities: [2] }]);
  assert.equal(rib.flush().length, 1);
});

test('the flush runs once per scheduled turn however many UPDATEs arrive', async () => {
  const rib = new Rib({ localAsn: 64512, routerId: '192.0.2.1', encoder: countingEncoder() });
  const a = rib.addPeer({ address: '192.0.2.11', asn: 65001 });
  let calls = 0;
  rib.onChanges = (ch) => {
    calls++;
    assert.equal(ch.length, 50);
  };
  for (let i = 0; i < 50; i++) rib.applyUpdate(a, { type: 'update', withdrawn: [], nlri: [`198.18.${i}.0/24`], attrs: attrs('192.0.2.11', 65001) });
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.equal(calls, 1);
  assert.equal(rib.flushes, 1);
});

test('a burst larger than maxBatch is flushed in bounded batches while it arrives', () => {
  let scheduled = 0;
  const rib = new Rib({ localAsn: 64512, routerId: '192.0.2.1', encoder: countingEncoder(), schedule: () => void scheduled++, maxBatch: 100 });
  const a = rib.addPeer({ address: '192.0.2.11', asn: 65001 });
  const sizes: number[] = [];
  rib.onChanges = (ch) => sizes.push(ch.length);
  for (let i = 0; i < 25; i++) {
    const nlri = Array.from({ length: 10 }, (_, j) => `198.18.${i}.${j * 16}/28`);
    rib.applyUpdate(a, { type: 'update', withdrawn: [], nlri, attrs: attrs('192.0.2.11', 65001) });
  }
  assert.deepEqual(sizes, [100, 100], 'two synchronous flushes of 100 while 250 prefixes arrived');
  rib.flush();
  assert.deepEqual(sizes, [100, 100, 50]);
  assert.equal(rib.size.prefixes, 250);
});

test('a peer that goes down without paths does not touch the Loc-RIB', () => {
  const { rib, a, b } = setup();
  rib.applyUpdate(a, { type: 'update', withdrawn: [], nlri: ['198.18.0.0/24'], attrs: attrs('192.0.2.11', 65001) });
  rib.flush();
  let scanned = 0;
  const orig = rib.loc.removePeer.bind(rib.loc);
  rib.loc.removePeer = (peer, cb) => {
    scanned++;
    orig(peer, cb);
  };
  rib.peerDown(b);
  assert.equal(scanned, 0);
  rib.peerDown(a);
  assert.equal(scanned, 1);
  assert.equal(rib.flush().length, 1);
});

test('random announcements and withdrawals from three peers leave the Loc-RIB equal to a simple model', async () => {
  const fc = (await import('fast-check')).default;
  const prefixes = ['198.18.0.0/24', '198.18.0.1/32', '198.18.1.0/24', '2001:db8:1::/48', '198.18.0.0/16', '0.0.0.0/0'];
  const op = fc.tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom(...prefixes), fc.integer({ min: 0, max: 3 }));
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const rib = new Rib({ localAsn: 64512, routerId: '192.0.2.1', encoder: countingEncoder(), schedule: () => {} });
      const peers = [1, 2, 3].map((i) => rib.addPeer({ address: `192.0.2.1${i}`, asn: 65000 + i }));
      const model = new Map<string, number>(); // `${peer}|${prefix}` → path length (0 = withdrawn)
      let step = 0;
      for (const [pi, prefix, len] of ops) {
        const peer = peers[pi];
        const v6 = prefix.includes(':');
        if (len === 0) {
          rib.applyUpdate(peer, v6
            ? { type: 'update', withdrawn: [], nlri: [], attrs: { mpUnreach: { afi: 2, safi: 1, withdrawn: [prefix] } } }
            : { type: 'update', withdrawn: [prefix], nlri: [], attrs: {} });
          model.delete(`${pi}|${prefix}`);
        } else {
          const path = seq(...Array.from({ length: len }, () => 65001 + pi));
          rib.applyUpdate(peer, v6
            ? { type: 'update', withdrawn: [], nlri: [], attrs: { origin: 0, asPath: path, mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::1'], nlri: [prefix] } } }
            : { type: 'update', withdrawn: [], nlri: [prefix], attrs: attrs(`192.0.2.1${pi + 1}`, ...path[0].asns) });
          model.set(`${pi}|${prefix}`, len);
        }
        if (++step % 3 === 0) rib.flush(); // changes both within and across flushes
      }
      rib.flush();
      for (const prefix of prefixes) {
        const held = [...model].filter(([k]) => k.endsWith(`|${prefix}`));
        const rows = rib.routes({ prefix });
        assert.equal(rows.length, held.length, prefix);
        if (held.length === 0) continue;
        // Shortest AS_PATH wins; ties go to the lowest peer address, here the lowest peer index.
        const best = held.map(([k, l]) => ({ pi: Number(k.split('|')[0]), l })).sort((x, y) => x.l - y.l || x.pi - y.pi)[0];
        const bestRow = rows.find((r) => r.best);
        assert.equal(bestRow?.peer, `192.0.2.1${best.pi + 1}`, prefix);
      }
      assert.equal(rib.size.prefixes, new Set([...model.keys()].map((k) => k.split('|')[1])).size);
    }),
    { numRuns: 100 },
  );
});
