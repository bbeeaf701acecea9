// Attribute interning: equal attribute sets are stored once however many prefixes use them, and
// are freed when the last path using them goes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rib } from '../../../src/bgp/rib/index.js';
import { AttrStore, asPathLength } from '../../../src/bgp/rib/attrs.js';
import { decodeMessage, encodeUpdates } from '../../../src/bgp/wire/index.js';
import type { UpdateMessage } from '../../../src/bgp/wire/types.js';
import { CTX, countingEncoder } from './helpers.js';

test('100k routes with one attribute set store that set once', () => {
  const rib = new Rib({ localAsn: 64512, routerId: '192.0.2.1', encoder: countingEncoder(), schedule: () => {} });
  const peer = rib.addPeer({ address: '192.0.2.10', asn: 65001 });
  const attrs = { origin: 0 as const, asPath: [{ type: 2 as const, asns: [65001] }], nextHop: '192.0.2.10' };
  const all: string[] = [];
  for (let i = 0; i < 100_000; i++) all.push(`${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`);
  // As the session delivers them: many UPDATEs of ~800 prefixes, each decoded from real bytes.
  const frames = encodeUpdates({ family: 'ipv4', attrs: { origin: 0, asPath: attrs.asPath }, nextHops: ['192.0.2.10'], nlri: all, withdrawn: [] }, CTX);
  assert.ok(frames.length > 50, `${frames.length} UPDATEs`);
  for (const f of frames) {
    const d = decodeMessage(f, CTX);
    rib.applyUpdate(peer, d.message as UpdateMessage, d.rawAttributes);
  }
  rib.flush();
  assert.equal(rib.size.prefixes, 100_000);
  assert.equal(rib.size.attrSets, 1);
  const sets = new Set(rib.routes().map((r) => r.nextHop + r.asPath.join()));
  assert.equal(sets.size, 1);
});

test('an attribute set is freed when its last path is withdrawn or replaced', () => {
  const rib = new Rib({ localAsn: 64512, routerId: '192.0.2.1', encoder: countingEncoder(), schedule: () => {} });
  const peer = rib.addPeer({ address: '192.0.2.10', asn: 65001 });
  const base = { origin: 0 as const, asPath: [{ type: 2 as const, asns: [65001] }], nextHop: '192.0.2.10' };
  rib.applyUpdate(peer, { type: 'update', withdrawn: [], nlri: ['198.18.0.0/24', '198.18.1.0/24'], attrs: base });
  assert.equal(rib.size.attrSets, 1);
  rib.applyUpdate(peer, { type: 'update', withdrawn: [], nlri: ['198.18.0.0/24'], attrs: { ...base, med: 5 } });
  assert.equal(rib.size.attrSets, 2);
  rib.applyUpdate(peer, { type: 'update', withdrawn: ['198.18.1.0/24'], nlri: [], attrs: {} });
  assert.equal(rib.size.attrSets, 1, 'the first set has no path left');
  rib.peerDown(peer);
  assert.equal(rib.size.attrSets, 0);
});

test('sets differing only in next hop are different sets', () => {
  const s = new AttrStore(64512);
  const a = s.intern('ipv4', { origin: 0 }, ['192.0.2.1']);
  const b = s.intern('ipv4', { origin: 0 }, ['192.0.2.2']);
  const c = s.intern('ipv4', { origin: 0, nextHop: '192.0.2.9' }, ['192.0.2.1']);
  assert.notEqual(a, b);
  assert.equal(a, c, 'the NEXT_HOP attribute itself is not part of the set; nextHops are');
});

test('AS_PATH length counts a set as one and confederation segments as zero', () => {
  assert.equal(asPathLength([{ type: 2, asns: [1, 2, 3] }, { type: 1, asns: [4, 5] }, { type: 3, asns: [6, 7] }, { type: 4, asns: [8] }]), 4);
  assert.equal(asPathLength([]), 0);
});
