/**
 * Every captured message: decodes cleanly, round-trips (length = encodingLength, decode(encode(x)) = x,
 * encoding at an offset), and re-encodes to the daemon's bytes — exactly for OPEN, KEEPALIVE,
 * NOTIFICATION and ROUTE-REFRESH; for UPDATEs, the same attributes, values and NLRI (daemons differ in
 * attribute order and in the Partial/Extended Length bits, which carry no meaning here).
 * Facts the daemons were configured with are checked against the decoded values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage, encodeMessageInto, encodingLength, isEndOfRib, type BgpMessage, type UpdateMessage } from '../../../src/bgp/wire/index.js';
import { attributeSet, hex, loadFixtures, toHex } from './helpers.js';

const fixtures = loadFixtures();
const decoded = fixtures.map((f) => ({ f, d: decodeMessage(hex(f.hex), f.ctx) }));

test('There are fixtures from BIRD, GoBGP and FRR, each naming its source', () => {
  for (const file of ['bird.json', 'gobgp.json', 'frr.json']) assert.ok(fixtures.filter((f) => f.file === file).length >= 10, file);
  for (const f of fixtures) {
    assert.match(f.source, /^(BIRD 2\.0\.12|GoBGP 3\.10\.0|FRR 8\.4\.4)/);
    assert.ok(f.session.includes('→'));
  }
});

test('Every captured message decodes without RFC 7606 problems', () => {
  for (const { f, d } of decoded) assert.deepEqual(d.problems, [], f.name);
});

test('Every captured message round-trips: length = encodingLength, decode(encode(x)) = x, encode at an offset works', () => {
  for (const { f, d } of decoded) {
    const bytes = encodeMessage(d.message, f.ctx);
    assert.equal(bytes.length, encodingLength(d.message, f.ctx), f.name);
    assert.deepEqual(decodeMessage(bytes, f.ctx).message, d.message, f.name);
    const big = new Uint8Array(bytes.length + 10).fill(0xaa);
    assert.equal(encodeMessageInto(d.message, f.ctx, big, 7), bytes.length);
    assert.equal(toHex(big.subarray(7, 7 + bytes.length)), toHex(bytes), f.name);
    assert.equal(big[6], 0xaa);
    assert.equal(big[7 + bytes.length], 0xaa);
  }
});

test('Captured OPEN, KEEPALIVE, NOTIFICATION and ROUTE-REFRESH messages re-encode byte for byte', () => {
  let n = 0;
  for (const { f, d } of decoded) {
    if (d.message.type === 'update') continue;
    assert.equal(toHex(encodeMessage(d.message, f.ctx)), f.hex, f.name);
    n++;
  }
  assert.ok(n >= 15, `${n}`);
});

test('Captured UPDATEs re-encode to the same attributes, values and NLRI', () => {
  let exact = 0;
  const updates = decoded.filter(({ d }) => d.message.type === 'update');
  for (const { f, d } of updates) {
    const ours = encodeMessage(d.message, f.ctx);
    assert.deepEqual(attributeSet(ours), attributeSet(hex(f.hex)), f.name);
    if (toHex(ours) === f.hex) exact++;
  }
  assert.ok(updates.length >= 40);
  assert.ok(exact > 0);
});

function find(file: string, pred: (m: BgpMessage, name: string) => boolean): BgpMessage[] {
  return decoded.filter(({ f, d }) => f.file === file && pred(d.message, f.name)).map(({ d }) => d.message);
}

test('Each daemon OPEN carries what it was configured with: both families, 4-octet AS, route refresh', () => {
  for (const [file, asn, id] of [['bird.json', 64501, '198.51.100.1'], ['gobgp.json', 64501, '198.51.100.2'], ['frr.json', 64503, '198.51.100.3']] as const) {
    const opens = find(file, (m, name) => m.type === 'open' && name.includes('over IPv4'));
    assert.ok(opens.length > 0, file);
    for (const o of opens) {
      if (o.type !== 'open') continue;
      assert.equal(o.myAs, asn);
      assert.equal(o.bgpId, id);
      assert.equal(o.holdTime, 9);
      const kinds = o.capabilities.map((c) => c.kind);
      for (const k of ['four-octet-as', 'route-refresh', 'graceful-restart', 'add-path'] as const) assert.ok(kinds.includes(k), `${file} ${k}`);
      const mp = o.capabilities.filter((c) => c.kind === 'multiprotocol').map((c) => c.kind === 'multiprotocol' && c.afi);
      assert.deepEqual(mp.sort(), [1, 2]);
      assert.deepEqual(o.capabilities.find((c) => c.kind === 'four-octet-as'), { kind: 'four-octet-as', asn });
    }
  }
});

test('BIRD exported its routes with the communities, large and extended communities and MED of its filter', () => {
  const ups = find('bird.json', (m, name) => m.type === 'update' && name.includes('bird to frr over IPv4') && m.nlri.includes('203.0.113.0/24')) as UpdateMessage[];
  assert.ok(ups.length > 0);
  for (const u of ups) {
    assert.equal(u.attrs.med, 50);
    assert.ok(u.attrs.communities?.includes(64501 * 65536 + 100));
    assert.deepEqual(u.attrs.largeCommunities, [[64501, 1, 2]]);
    assert.deepEqual(u.attrs.extendedCommunities?.map(toHex), ['0002fbf500000007']);
  }
});

test('BIRD sent IPv6 with a global and a link-local next hop, and iBGP routes with LOCAL_PREF 100', () => {
  const v6 = find('bird.json', (m) => m.type === 'update' && (m.attrs.mpReach?.nextHops.length ?? 0) === 2) as UpdateMessage[];
  assert.ok(v6.length > 0);
  for (const u of v6) assert.match(u.attrs.mpReach!.nextHops[1], /^fe80:/);
  const ibgp = find('bird.json', (m, name) => m.type === 'update' && name.includes('bird to gobgp') && m.nlri.length > 0) as UpdateMessage[];
  for (const u of ibgp) assert.equal(u.attrs.localPref, 100);
  assert.ok(ibgp.length > 0);
});

test('Withdrawals of both families and End-of-RIB of both families were captured from every daemon', () => {
  for (const file of ['bird.json', 'gobgp.json', 'frr.json']) {
    const ups = find(file, (m) => m.type === 'update') as UpdateMessage[];
    assert.ok(ups.some((u) => u.withdrawn.length > 0), `${file} IPv4 withdrawal`);
    assert.ok(ups.some((u) => (u.attrs.mpUnreach?.withdrawn.length ?? 0) > 0), `${file} IPv6 withdrawal`);
    assert.ok(ups.some((u) => isEndOfRib(u) !== undefined), `${file} End-of-RIB`);
  }
});

test('Shutdown communications from BIRD, GoBGP and FRR decode to the configured text', () => {
  const texts = decoded.flatMap(({ d }) => (d.message.type === 'notification' && d.message.shutdownMessage ? [d.message.shutdownMessage] : []));
  assert.deepEqual(texts.sort(), ['FRR going down for capture', 'GoBGP capture: planned shutdown', 'maintenance window: BIRD capture for Petrel']);
});

test('GoBGP sent add-path ids to BIRD for IPv4 (BIRD: add paths rx)', () => {
  const ups = find('gobgp.json', (m, name) => m.type === 'update' && name.includes('gobgp to bird') && m.nlri.length > 0) as UpdateMessage[];
  assert.ok(ups.length > 0);
  for (const u of ups) assert.equal(u.nlriPathIds?.length, u.nlri.length);
});

test('ROUTE-REFRESH from BIRD and FRR, and BIRD\'s RFC 7313 BoRR/EoRR answer, were captured', () => {
  const rr = (file: string) => find(file, (m) => m.type === 'route-refresh').map((m) => (m.type === 'route-refresh' ? `${m.afi}/${m.safi}/${m.subtype}` : ''));
  assert.ok(rr('frr.json').includes('2/1/0'));
  assert.ok(rr('bird.json').includes('1/1/0'));
  assert.ok(rr('bird.json').includes('2/1/1') && rr('bird.json').includes('2/1/2'), rr('bird.json').join(' '));
});
