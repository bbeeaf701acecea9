// Adj-RIB-Out and update groups: peers sharing an export policy share one encoding (counted through
// the encoder, never timed); equal attributes pack many prefixes per UPDATE; withdrawals and
// End-of-RIB; peers that differ in what they must be sent are kept in different groups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rib } from '../../../src/bgp/rib/index.js';
import { Recorder, countingEncoder } from './helpers.js';

const ME = { localAsn: 64512, routerId: '192.0.2.1', clusterId: '192.0.2.1' };

function prefixes(n: number, base = 0): string[] {
  return Array.from({ length: n }, (_, i) => `198.18.${(base + i) >> 8}.${(base + i) & 255}/32`);
}

test('reflecting to N clients costs one encoding, and every client gets the same bytes', () => {
  const enc = countingEncoder();
  const rib = new Rib({ ...ME, encoder: enc, schedule: () => {} });
  const src = rib.addPeer({ address: '192.0.2.10', asn: 64512, rrClient: true });
  rib.peerUp(src, '203.0.113.10', new Recorder().out);
  const recs: Recorder[] = [];
  for (let i = 0; i < 20; i++) {
    const p = rib.addPeer({ address: `192.0.2.${20 + i}`, asn: 64512, rrClient: true });
    const r = new Recorder();
    rib.peerUp(p, `203.0.113.${20 + i}`, r.out);
    recs.push(r);
  }
  rib.flush();
  assert.equal(rib.out.groups.size, 1, 'one update group for 21 clients');
  for (const r of recs) r.clear();
  const before = enc.calls.encodeUpdates;
  rib.applyUpdate(src, { type: 'update', withdrawn: [], nlri: prefixes(1000), attrs: { origin: 0, asPath: [], nextHop: '192.0.2.10', localPref: 100 } });
  rib.flush();
  assert.equal(enc.calls.encodeUpdates - before, 1, 'one encodeUpdates call for 20 receivers');
  const first = recs[0].frames;
  assert.ok(first.length >= 1 && first.length < 10, `1000 /32s with one attribute set pack into few UPDATEs (got ${first.length})`);
  for (const r of recs) {
    assert.equal(r.frames.length, first.length);
    r.frames.forEach((f, i) => assert.equal(f, first[i], 'the very same frame object'));
    assert.equal(r.announced().length, 1000);
  }
});

test('the initial dump of peers coming up in the same flush is encoded once, then End-of-RIB per family', () => {
  const enc = countingEncoder();
  const rib = new Rib({ ...ME, encoder: enc, schedule: () => {} });
  rib.setLocalRoutes(prefixes(300).map((prefix) => ({ prefix })));
  rib.flush();
  const recs: Recorder[] = [];
  for (let i = 0; i < 5; i++) {
    const p = rib.addPeer({ address: `192.0.2.${20 + i}`, asn: 64512 });
    const r = new Recorder();
    rib.peerUp(p, `203.0.113.${20 + i}`, r.out);
    recs.push(r);
  }
  const before = enc.calls.encodeUpdates;
  rib.flush();
  assert.equal(enc.calls.encodeUpdates - before, 1);
  for (const r of recs) {
    assert.equal(r.announced().length, 300);
    assert.equal(r.endOfRibs(), 2, 'End-of-RIB for IPv4 and IPv6');
    const last = r.updates().slice(-2);
    assert.ok(last.every((u) => u.nlri.length === 0 && u.withdrawn.length === 0), 'End-of-RIB comes after the routes');
  }
  assert.equal(rib.advertised(rib.peerList()[0]), 300);
});

test('a peer joining an existing group gets the full table; the members are not sent it again', () => {
  const rib = new Rib({ ...ME, encoder: countingEncoder(), schedule: () => {} });
  rib.setLocalRoutes(prefixes(50).map((prefix) => ({ prefix })));
  const a = rib.addPeer({ address: '192.0.2.20', asn: 64512 });
  const ra = new Recorder();
  rib.peerUp(a, '203.0.113.20', ra.out);
  rib.flush();
  ra.clear();
  const b = rib.addPeer({ address: '192.0.2.21', asn: 64512 });
  const rb = new Recorder();
  rib.peerUp(b, '203.0.113.21', rb.out);
  rib.flush();
  assert.equal(rb.announced().length, 50);
  assert.equal(ra.frames.length, 0);
  assert.equal(rib.out.groups.size, 1);
});

test('withdrawals are packed and sent to the group; a withdrawn IPv6 prefix goes in MP_UNREACH', () => {
  const rib = new Rib({ ...ME, encoder: countingEncoder(), schedule: () => {} });
  const src = rib.addPeer({ address: '192.0.2.10', asn: 65001 });
  rib.peerUp(src, '203.0.113.10', new Recorder().out);
  const p = rib.addPeer({ address: '192.0.2.20', asn: 64512 });
  const r = new Recorder();
  rib.peerUp(p, '203.0.113.20', r.out);
  rib.flush();
  const v6 = ['2001:db8:10::/48', '2001:db8:11::/48'];
  rib.applyUpdate(src, { type: 'update', withdrawn: [], nlri: prefixes(100), attrs: { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '192.0.2.10' } });
  rib.applyUpdate(src, { type: 'update', withdrawn: [], nlri: [], attrs: { origin: 0, asPath: [{ type: 2, asns: [65001] }], mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::10'], nlri: v6 } } });
  rib.flush();
  r.clear();
  rib.applyUpdate(src, { type: 'update', withdrawn: prefixes(100), nlri: [], attrs: { mpUnreach: { afi: 2, safi: 1, withdrawn: v6 } } });
  rib.flush();
  assert.deepEqual(r.withdrawn().sort(), [...prefixes(100), ...v6].sort());
  assert.equal(r.frames.length, 2, 'one UPDATE per family');
  assert.equal(rib.routes().length, 0);
});

test('a prefix announced and withdrawn before the flush is never sent', () => {
  const rib = new Rib({ ...ME, encoder: countingEncoder(), schedule: () => {} });
  const src = rib.addPeer({ address: '192.0.2.10', asn: 65001 });
  rib.peerUp(src, '203.0.113.10', new Recorder().out);
  const p = rib.addPeer({ address: '192.0.2.20', asn: 64512 });
  const r = new Recorder();
  rib.peerUp(p, '203.0.113.20', r.out);
  rib.flush();
  r.clear();
  rib.applyUpdate(src, { type: 'update', withdrawn: [], nlri: ['198.18.0.0/24'], attrs: { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '192.0.2.10' } });
  rib.applyUpdate(src, { type: 'update', withdrawn: ['198.18.0.0/24'], nlri: [], attrs: {} });
  assert.deepEqual(rib.flush(), []);
  assert.equal(r.frames.length, 0);
});

test('peers that need different bytes are in different groups: kind, neighbour AS, families, next hop self', () => {
  const rib = new Rib({ ...ME, encoder: countingEncoder(), schedule: () => {} });
  const up = (address: string, asn: number, rrClient: boolean, rec: Recorder) => {
    const p = rib.addPeer({ address, asn, rrClient });
    rib.peerUp(p, '203.0.113.1', rec.out);
  };
  up('192.0.2.20', 64512, true, new Recorder());
  up('192.0.2.21', 64512, true, new Recorder()); // same as above
  up('192.0.2.22', 64512, false, new Recorder());
  up('192.0.2.23', 65001, false, new Recorder());
  up('192.0.2.24', 65002, false, new Recorder());
  up('192.0.2.25', 64512, true, new Recorder(undefined, ['ipv4']));
  up('192.0.2.26', 64512, true, new Recorder({ ipv4: '198.51.100.1', ipv6: ['2001:db8::1'] }));
  rib.flush();
  assert.equal(rib.out.groups.size, 6);
});

test('a peer going down withdraws its routes from the others and leaves its group', () => {
  const rib = new Rib({ ...ME, encoder: countingEncoder(), schedule: () => {} });
  const src = rib.addPeer({ address: '192.0.2.10', asn: 64512, rrClient: true });
  rib.peerUp(src, '203.0.113.10', new Recorder().out);
  const p = rib.addPeer({ address: '192.0.2.20', asn: 64512, rrClient: true });
  const r = new Recorder();
  rib.peerUp(p, '203.0.113.20', r.out);
  rib.flush();
  rib.applyUpdate(src, { type: 'update', withdrawn: [], nlri: prefixes(10), attrs: { origin: 0, asPath: [], nextHop: '192.0.2.10', localPref: 100 } });
  rib.flush();
  assert.equal(rib.advertised(p), 10);
  assert.equal(src.received, 10);
  r.clear();
  rib.peerDown(src);
  rib.flush();
  assert.deepEqual(r.withdrawn().sort(), prefixes(10).sort());
  assert.equal(src.received, 0);
  assert.equal(rib.advertised(p), 0);
  assert.equal(rib.out.groups.size, 1);
});

test('ROUTE-REFRESH resends the whole table and End-of-RIB to that peer only', () => {
  const rib = new Rib({ ...ME, encoder: countingEncoder(), schedule: () => {} });
  rib.setLocalRoutes(prefixes(20).map((prefix) => ({ prefix })));
  const a = rib.addPeer({ address: '192.0.2.20', asn: 64512 });
  const b = rib.addPeer({ address: '192.0.2.21', asn: 64512 });
  const ra = new Recorder();
  const rb = new Recorder();
  rib.peerUp(a, '203.0.113.20', ra.out);
  rib.peerUp(b, '203.0.113.21', rb.out);
  rib.flush();
  ra.clear();
  rb.clear();
  rib.refresh(a);
  rib.flush();
  assert.equal(ra.announced().length, 20);
  assert.equal(ra.endOfRibs(), 2);
  assert.equal(rb.frames.length, 0);
});
