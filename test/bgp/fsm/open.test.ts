/**
 * OPEN building and validation (RFC 4271 §6.2, RFC 6793, RFC 6286, RFC 4760): each check, both sides
 * of its boundary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AS_TRANS, buildOpen, negotiateFamilies, validateOpen } from '../../../src/bgp/fsm/index.js';
import { CFG, CONN, peerOpen } from './driver.js';

function rejected(r: ReturnType<typeof validateOpen>): [number, number] | undefined {
  return r.ok ? undefined : [r.notification.code, r.notification.subcode];
}

test('our OPEN carries AS_TRANS in the 2-octet field and the real AS in four-octet-as when the AS exceeds 65535', () => {
  const o = buildOpen({ ...CFG, localAsn: 4_200_000_001 });
  assert.equal(o.myAs, AS_TRANS);
  assert.deepEqual(o.capabilities.find((c) => c.kind === 'four-octet-as'), { kind: 'four-octet-as', asn: 4_200_000_001 });
});

test('our OPEN announces multiprotocol for each configured family, route refresh, and our hold time and identifier', () => {
  const o = buildOpen({ ...CFG, families: ['ipv6'], holdTime: 9 });
  assert.equal(o.myAs, 65001);
  assert.equal(o.holdTime, 9);
  assert.equal(o.bgpId, '192.0.2.1');
  assert.deepEqual(o.capabilities.filter((c) => c.kind === 'multiprotocol'), [{ kind: 'multiprotocol', afi: 2, safi: 1 }]);
  assert.ok(o.capabilities.some((c) => c.kind === 'route-refresh'));
});

test('a version other than 4 is rejected with subcode 1 and our version in the data', () => {
  const r = validateOpen(CFG, peerOpen({ version: 3 }), CONN);
  assert.deepEqual(rejected(r), [2, 1]);
  assert.deepEqual(!r.ok && [...r.notification.data], [0, 4]);
});

test('a peer AS in the 2-octet field that differs from the configured one is Bad Peer AS', () => {
  assert.deepEqual(rejected(validateOpen(CFG, peerOpen({ myAs: 65003, capabilities: [] }), CONN)), [2, 2]);
});

test('a peer without four-octet-as is accepted by its 2-octet AS', () => {
  const r = validateOpen(CFG, peerOpen({ capabilities: [] }), CONN);
  assert.ok(r.ok);
  assert.equal(r.negotiated.codec.fourOctetAs, false);
  assert.deepEqual(r.negotiated.families, ['ipv4']);
});

test('a 4-byte AS peer sending AS_TRANS is identified by its four-octet-as capability', () => {
  const cfg = { ...CFG, peerAsn: 4_200_000_002 };
  const r = validateOpen(cfg, peerOpen({ myAs: AS_TRANS, capabilities: [{ kind: 'four-octet-as', asn: 4_200_000_002 }] }), CONN);
  assert.ok(r.ok);
  assert.equal(r.negotiated.peerAsn, 4_200_000_002);
  assert.equal(r.negotiated.codec.fourOctetAs, true);
});

test('a four-octet-as capability naming another AS is Bad Peer AS even when the 2-octet field matches', () => {
  assert.deepEqual(rejected(validateOpen(CFG, peerOpen({ myAs: 65002, capabilities: [{ kind: 'four-octet-as', asn: 65009 }] }), CONN)), [2, 2]);
});

test('hold times of 1 and 2 seconds are unacceptable; 0 and 3 are accepted', () => {
  assert.deepEqual(rejected(validateOpen(CFG, peerOpen({ holdTime: 1 }), CONN)), [2, 6]);
  assert.deepEqual(rejected(validateOpen(CFG, peerOpen({ holdTime: 2 }), CONN)), [2, 6]);
  const z = validateOpen(CFG, peerOpen({ holdTime: 0 }), CONN);
  assert.ok(z.ok && z.negotiated.holdTime === 0 && z.negotiated.keepaliveTime === 0);
  const t = validateOpen(CFG, peerOpen({ holdTime: 3 }), CONN);
  assert.ok(t.ok && t.negotiated.holdTime === 3 && t.negotiated.keepaliveTime === 1);
});

test('the negotiated hold time is the smaller of the two', () => {
  const r = validateOpen({ ...CFG, holdTime: 9 }, peerOpen({ holdTime: 180 }), CONN);
  assert.ok(r.ok && r.negotiated.holdTime === 9 && r.negotiated.keepaliveTime === 3);
});

test('a zero BGP identifier is Bad BGP Identifier', () => {
  assert.deepEqual(rejected(validateOpen(CFG, peerOpen({ bgpId: '0.0.0.0' }), CONN)), [2, 3]);
});

test('an iBGP peer using our BGP identifier is rejected, an eBGP peer may (RFC 6286)', () => {
  const ibgp = { ...CFG, peerAsn: 65001 };
  const same = peerOpen({ myAs: 65001, bgpId: '192.0.2.1', capabilities: [{ kind: 'four-octet-as', asn: 65001 }] });
  assert.deepEqual(rejected(validateOpen(ibgp, same, CONN)), [2, 3]);
  assert.ok(validateOpen(CFG, peerOpen({ bgpId: '192.0.2.1' }), CONN).ok);
});

test('families are the intersection of both sides; no multiprotocol capability means IPv4 only', () => {
  assert.deepEqual(negotiateFamilies(['ipv4', 'ipv6'], peerOpen({ capabilities: [{ kind: 'multiprotocol', afi: 2, safi: 1 }] })), ['ipv6']);
  assert.deepEqual(negotiateFamilies(['ipv4', 'ipv6'], peerOpen({ capabilities: [] })), ['ipv4']);
  assert.deepEqual(negotiateFamilies(['ipv6'], peerOpen({ capabilities: [{ kind: 'multiprotocol', afi: 2, safi: 128 }] })), []);
});

test('no family in common is rejected with Unsupported Capability', () => {
  assert.deepEqual(rejected(validateOpen({ ...CFG, families: ['ipv6'] }, peerOpen({ capabilities: [] }), CONN)), [2, 7]);
});

test('route refresh is negotiated only when the peer announces it', () => {
  const r = validateOpen(CFG, peerOpen({ capabilities: [{ kind: 'four-octet-as', asn: 65002 }] }), CONN);
  assert.ok(r.ok && r.negotiated.routeRefresh === false);
  const r2 = validateOpen(CFG, peerOpen(), CONN);
  assert.ok(r2.ok && r2.negotiated.routeRefresh === true);
});
