// Issue 13 E: next hops a route cannot use (RFC 4271 §5.1.3/§6.3, RFC 7606 §7.3) — 0.0.0.0,
// multicast, class E, ::, ff00::/8, and the receiving speaker's own address — are treated as
// withdrawals of the peer's path for those prefixes, counted per peer; usable ones are taken.
// UPDATEs go through the real decoder from bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rib } from '../../../src/bgp/rib/index.js';
import { nextHopProblem } from '../../../src/bgp/rib/next-hop.js';
import { decodeMessage, encodeUpdates, type UpdateMessage } from '../../../src/bgp/wire/index.js';
import { CTX, Recorder, countingEncoder } from './helpers.js';

function setup() {
  const rib = new Rib({ localAsn: 64512, routerId: '192.0.2.1', encoder: countingEncoder(), schedule: () => {} });
  const p = rib.addPeer({ address: '192.0.2.11', asn: 65001 });
  const rec = new Recorder({ ipv4: '192.0.2.1', ipv6: ['2001:db8::1'] });
  rib.peerUp(p, '192.0.2.11', { ...rec.out, ownAddresses: ['192.0.2.1'] });
  rib.flush();
  return { rib, p };
}

function fromBytes(bytes: Uint8Array): UpdateMessage {
  return decodeMessage(bytes, CTX).message as UpdateMessage;
}

/** An UPDATE (RFC 4271 §4.3) announcing 198.18.0.0/24 from AS 65001 with NEXT_HOP `nh` (dotted quad). */
function v4Update(nh: string): Uint8Array {
  const hex = [
    'ff'.repeat(16), '002f', '02', // marker, length 47, UPDATE
    '0000', // no withdrawn routes
    '0014', // 20 bytes of attributes
    '400101' + '00', // ORIGIN IGP
    '400206' + '0201' + '0000fde9', // AS_PATH: AS_SEQUENCE of one 4-octet AS, 65001
    '400304' + nh.split('.').map((x) => Number(x).toString(16).padStart(2, '0')).join(''), // NEXT_HOP
    '18' + 'c61200', // NLRI 198.18.0.0/24
  ].join('');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

const v6Update = (nh: string) => encodeUpdates({ family: 'ipv6', attrs: { origin: 0, asPath: [{ type: 2, asns: [65001] }] }, nextHops: [nh], nlri: ['2001:db8:5::/48'], withdrawn: [] }, CTX)[0];

const best = (rib: Rib, prefix: string) => rib.routes({ prefix }).find((r) => r.best);

test('an IPv4 route whose NEXT_HOP is not a host address is not used, and withdraws the peer\'s previous path', () => {
  for (const nh of ['0.0.0.0', '224.0.0.1', '239.255.255.255', '240.0.0.1', '255.255.255.255']) {
    const { rib, p } = setup();
    rib.applyUpdate(p, fromBytes(v4Update('192.0.2.11')));
    rib.flush();
    assert.equal(best(rib, '198.18.0.0/24')?.nextHop, '192.0.2.11');
    const u = fromBytes(v4Update(nh));
    assert.equal(u.attrs.nextHop, nh, 'the codec decodes it (a semantic check, not a syntax error)');
    rib.applyUpdate(p, u);
    const ch = rib.flush();
    assert.equal(best(rib, '198.18.0.0/24'), undefined, `${nh}: not used`);
    assert.deepEqual(ch.map((c) => [c.prefix, c.before?.peer.address, c.after]), [['198.18.0.0/24', '192.0.2.11', undefined]], `${nh}: treat-as-withdraw`);
    assert.equal(p.nextHopsRejected, 1);
    assert.equal(p.received, 0);
  }
});

test('a route whose next hop is the receiving speaker\'s own address is not used; the peer\'s own address is fine', () => {
  const { rib, p } = setup();
  rib.applyUpdate(p, fromBytes(v4Update('192.0.2.1')));
  rib.flush();
  assert.equal(best(rib, '198.18.0.0/24'), undefined);
  assert.equal(p.nextHopsRejected, 1);
  rib.applyUpdate(p, fromBytes(v4Update('192.0.2.11')));
  rib.flush();
  assert.equal(best(rib, '198.18.0.0/24')?.nextHop, '192.0.2.11');
  rib.applyUpdate(p, fromBytes(v4Update('198.51.100.7')));
  rib.flush();
  assert.equal(best(rib, '198.18.0.0/24')?.nextHop, '198.51.100.7', 'a third-party next hop is used');
  assert.equal(p.nextHopsRejected, 1);
});

test('an IPv6 route whose MP_REACH next hop is :: or multicast, or our own, is not used', () => {
  for (const nh of ['::', 'ff02::1', '2001:db8::1']) {
    const { rib, p } = setup();
    rib.applyUpdate(p, fromBytes(v6Update(nh)));
    rib.flush();
    assert.equal(best(rib, '2001:db8:5::/48'), undefined, nh);
    assert.equal(p.nextHopsRejected, 1, nh);
  }
  const { rib, p } = setup();
  rib.applyUpdate(p, fromBytes(v6Update('2001:db8::11')));
  rib.flush();
  assert.equal(best(rib, '2001:db8:5::/48')?.nextHop, '2001:db8::11');
  assert.equal(p.nextHopsRejected, 0);
});

test('nextHopProblem names what is wrong, and allows host addresses including loopback', () => {
  assert.match(String(nextHopProblem('0.1.2.3')), /unspecified/);
  assert.match(String(nextHopProblem('230.1.1.1')), /multicast/);
  assert.match(String(nextHopProblem('250.1.1.1')), /reserved/);
  assert.match(String(nextHopProblem('ff05::2')), /multicast/);
  for (const ok of ['192.0.2.1', '127.0.0.1', '223.255.255.254', '2001:db8::1', 'fe80::1', '::1']) assert.equal(nextHopProblem(ok), undefined, ok);
});
