// One test per best-path tie-breaker (RFC 4271 §9.1.2.2, RFC 4456 §9), each through the RIB: two
// peers announce the same prefix, differing only in the attribute under test (and in what the
// rules after it would decide the other way, so the rule under test must be the one that decides).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rib } from '../../../src/bgp/rib/index.js';
import type { PathAttributes } from '../../../src/bgp/wire/types.js';
import { countingEncoder, seq } from './helpers.js';

const P = '198.18.0.0/24';

function rib() {
  return new Rib({ localAsn: 64512, routerId: '192.0.2.1', encoder: countingEncoder(), schedule: () => {} });
}

function announce(r: Rib, peer: ReturnType<Rib['addPeer']>, attrs: PathAttributes) {
  r.applyUpdate(peer, { type: 'update', withdrawn: [], nlri: [P], attrs: { origin: 0, asPath: [], ...attrs } });
}

/** The best row for P and its reason. */
function best(r: Rib): { peer: string; reason: string } {
  r.flush();
  const rows = r.routes({ prefix: P });
  const b = rows.find((x) => x.best);
  assert.ok(b, 'a best path exists');
  assert.equal(rows.filter((x) => x.best).length, 1);
  return { peer: b.peer, reason: b.reason };
}

test('a single path is best because it is the only path', () => {
  const r = rib();
  const a = r.addPeer({ address: '192.0.2.11', asn: 64512 });
  announce(r, a, { nextHop: '192.0.2.11' });
  assert.deepEqual(best(r), { peer: '192.0.2.11', reason: 'only path' });
});

test('a locally originated route wins over a learned one with a higher LOCAL_PREF', () => {
  const r = rib();
  const a = r.addPeer({ address: '192.0.2.11', asn: 64512 });
  announce(r, a, { nextHop: '192.0.2.11', localPref: 500 });
  r.setLocalRoutes([{ prefix: P }]);
  assert.deepEqual(best(r), { peer: 'local', reason: 'locally originated' });
});

test('the highest LOCAL_PREF wins over a shorter AS_PATH', () => {
  const r = rib();
  const a = r.addPeer({ address: '192.0.2.11', asn: 64512 });
  const b = r.addPeer({ address: '192.0.2.12', asn: 64512 });
  announce(r, a, { nextHop: '192.0.2.11', localPref: 100 });
  announce(r, b, { nextHop: '192.0.2.12', localPref: 200, asPath: seq(65001, 65002) });
  assert.deepEqual(best(r), { peer: '192.0.2.12', reason: 'higher LOCAL_PREF' });
});

test('LOCAL_PREF received from an eBGP peer is ignored (RFC 4271 §5.1.5)', () => {
  const r = rib();
  const a = r.addPeer({ address: '192.0.2.11', asn: 65001 });
  const b = r.addPeer({ address: '192.0.2.12', asn: 64512 });
  announce(r, a, { nextHop: '192.0.2.11', localPref: 900, asPath: seq(65001) });
  announce(r, b, { nextHop: '192.0.2.12', localPref: 150, asPath: seq(65001, 65002) });
  assert.deepEqual(best(r), { peer: '192.0.2.12', reason: 'higher LOCAL_PREF' });
});

test('the shortest AS_PATH wins, an AS_SET counting as one AS', () => {
  const r = rib();
  const a = r.addPeer({ address: '192.0.2.11', asn: 64512 });
  const b = r.addPeer({ address: '192.0.2.12', asn: 64512 });
  // a: sequence of 2 + a set of 3 = length 3; b: sequence of 4.
  announce(r, a, { nextHop: '192.0.2.11', asPath: [...seq(65001, 65002), { type: 1, asns: [65010, 65011, 65012] }] });
  announce(r, b, { nextHop: '192.0.2.12', asPath: seq(65001, 65002, 65003, 65004) });
  assert.deepEqual(best(r), { peer: '192.0.2.11', reason: 'shorter AS_PATH' });
});

test('confederation segments do not count in the AS_PATH length (RFC 5065 §5.3)', () => {
  const r = rib();
  const a = r.addPeer({ address: '192.0.2.11', asn: 64512 });
  const b = r.addPeer({ address: '192.0.2.12', asn: 64512 });
  announce(r, a, { nextHop: '192.0.2.11', asPath: [{ type: 3, asns: [65100, 65101, 65102] }, ...seq(65001)] });
  announce(r, b, { nextHop: '192.0.2.12', asPath: seq(65001, 65002) });
  assert.deepEqual(best(r), { peer: '192.0.2.11', reason: 'shorter AS_PATH' });
});

test('the lowest ORIGIN wins (IGP before EGP before INCOMPLETE)', () => {
  const r = rib();
  const a = r.addPeer({ address: '192.0.2.11', asn: 64512 });
  const b = r.addPeer({ address: '192.0.2.12', asn: 64512 });
  announce(r, a, { nextHop: '192.0.2.11', origin: 2 });
  announce(r, b, { nextHop: '192.0.2.12', origin: 1 });
  assert.deepEqual(best(r), { peer: '192.0.2.12', reason: 'lower ORIGIN' });
});

test('the lowest MED wins between paths from the same neighbouring AS', () => {
  const r = rib();
  const a = r.addPeer({ address: '192.0.2.11', asn: 64512 });
  const b = r.addPeer({ address: '192.0.2.12', asn: 64512 });
  announce(r, a, { nextHop: '192.0.2.11', asPath: seq(65001, 65009), med: 50 });
  announce(r, b, { nextHop: '192.0.2.12', asPath: seq(65001, 65008), med: 20 });
  assert.deepEqual(best(r), { peer: '192.0.2.12', reason: 'lower MED' });
});

test('MED is not compared between paths from different neighbouring ASes', () => {
  const r = rib();
  const a = r.addPeer({ address: '192.0.2.11', asn: 64512 });
  const b = r.addPeer({ address: '192.0.2.12', asn: 64512 });
  // b has the lower MED but comes from another AS: the decision falls to the router id (a's is lower).
  announce(r, a, { nextHop: '192.0.2.11', asPath: seq(65001), med: 50 });
  announce(r, b, { nextHop: '192.0.2.12', asPath: seq(65002), med: 20 });
  assert.deepEqual(best(r), { peer: '192.0.2.11', reason: 'lower peer address' });
});

test('a missing MED counts as 0, the best value (RFC 4271 §9.1.2.2 (c))', () => {
  const r = rib();
  const a = r.addPeer({ address: '192.0.2.11', asn: 64512 });
  const b = r.addPeer({ address: '192.0.2.12', asn: 64512 });
  announce(r, a, { nextHop: '192.0.2.11', asPath: seq(65001), med: 1 });
  announce(r, b, { nextHop: '192.0.2.12', asPath: seq(65001) });
  assert.deepEqual(best(r), { peer: '192.0.2.12', reason: 'lower MED' });
});

test('an eBGP path wins over an iBGP path', () => {
  const r = rib();
  const a = r.addPeer({ address: '192.0.2.11', asn: 64512 });
  const b = r.addPeer({ address: '192.0.2.12', asn: 65001 });
  announce(r, a, { nextHop: '192.0.2.11', asPath: seq(65001) });
  announce(r, b, { nextHop: '192.0.2.12', asPath: seq(65001) });
  assert.deepEqual(best(r), { peer: '192.0.2.12', reason: 'eBGP over iBGP' });
});

test('the lowest router id wins, ORIGINATOR_ID standing in for it when present (RFC 4456 §9)', () => {
  const r = rib();
  const a = r.addPeer({ address: '192.0.2.11', asn: 64512 });
  const b = r.addPeer({ address: '192.0.2.12', asn: 64512 });
  r.peerUp(a, '203.0.113.1', outState());
  r.peerUp(b, '203.0.113.2', outState());
  // a's router id is lower, but its path carries ORIGINATOR_ID 203.0.113.9, higher than b's id.
  announce(r, a, { nextHop: '192.0.2.11', originatorId: '203.0.113.9' });
  announce(r, b, { nextHop: '192.0.2.12' });
  assert.deepEqual(best(r), { peer: '192.0.2.12', reason: 'lower router id' });
});

test('the shortest CLUSTER_LIST wins', () => {
  const r = rib();
  const a = r.addPeer({ address: '192.0.2.11', asn: 64512 });
  const b = r.addPeer({ address: '192.0.2.12', asn: 64512 });
  announce(r, a, { nextHop: '192.0.2.11', originatorId: '203.0.113.5', clusterList: ['198.51.100.1', '198.51.100.2'] });
  announce(r, b, { nextHop: '192.0.2.12', originatorId: '203.0.113.5', clusterList: ['198.51.100.3'] });
  assert.deepEqual(best(r), { peer: '192.0.2.12', reason: 'shorter CLUSTER_LIST' });
});

test('the lowest peer address decides last, IPv4 and IPv6 compared by their bytes', () => {
  const r = rib();
  const a = r.addPeer({ address: '192.0.2.20', asn: 64512 });
  const b = r.addPeer({ address: '192.0.2.3', asn: 64512 }); // lower as bytes, higher as text
  r.peerUp(a, '203.0.113.7', outState());
  r.peerUp(b, '203.0.113.7', outState());
  announce(r, a, { nextHop: '192.0.2.20' });
  announce(r, b, { nextHop: '192.0.2.3' });
  assert.deepEqual(best(r), { peer: '192.0.2.3', reason: 'lower peer address' });
});

test('a path that loses says which rule beat it', () => {
  const r = rib();
  const a = r.addPeer({ address: '192.0.2.11', asn: 64512 });
  const b = r.addPeer({ address: '192.0.2.12', asn: 64512 });
  announce(r, a, { nextHop: '192.0.2.11', localPref: 50 });
  announce(r, b, { nextHop: '192.0.2.12', localPref: 60 });
  r.flush();
  const lost = r.routes({ prefix: P }).find((x) => !x.best);
  assert.equal(lost?.peer, '192.0.2.11');
  assert.equal(lost?.reason, 'lost: higher LOCAL_PREF');
});

function outState() {
  return {
    families: ['ipv4' as const],
    codec: { fourOctetAs: true, extendedMessage: false },
    nextHopSelf: { ipv4: '192.0.2.1' },
    send: () => {},
  };
}
