// Route reflection (RFC 4456) and iBGP/eBGP export rules, one test per rule, through the whole RIB:
// UPDATEs in, the frames each established peer is sent decoded with the real codec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rib, type RibPeer } from '../../../src/bgp/rib/index.js';
import type { PathAttributes } from '../../../src/bgp/wire/types.js';
import { Recorder, countingEncoder, seq } from './helpers.js';

const ME = { localAsn: 64512, routerId: '192.0.2.1' };

function setup(opts: { clusterId?: string } = { clusterId: '192.0.2.100' }) {
  const rib = new Rib({ ...ME, ...opts, encoder: countingEncoder(), schedule: () => {} });
  const peers: Record<string, { peer: RibPeer; rec: Recorder }> = {};
  const add = (name: string, address: string, asn: number, rrClient: boolean, routerId: string) => {
    const peer = rib.addPeer({ address, asn, rrClient });
    const rec = new Recorder();
    rib.peerUp(peer, routerId, rec.out);
    peers[name] = { peer, rec };
  };
  add('c1', '192.0.2.11', 64512, true, '203.0.113.11');
  add('c2', '192.0.2.12', 64512, true, '203.0.113.12');
  add('n1', '192.0.2.21', 64512, false, '203.0.113.21');
  add('n2', '192.0.2.22', 64512, false, '203.0.113.22');
  add('e1', '192.0.2.31', 65001, false, '203.0.113.31');
  rib.flush(); // initial dumps (empty) and End-of-RIBs
  for (const p of Object.values(peers)) p.rec.clear();
  const announce = (name: string, prefix: string, attrs: PathAttributes) => {
    rib.applyUpdate(peers[name].peer, { type: 'update', withdrawn: [], nlri: [prefix], attrs: { origin: 0, asPath: [], localPref: 100, ...attrs } });
    rib.flush();
  };
  const got = (name: string) => peers[name].rec.announced();
  return { rib, peers, announce, got };
}

test('a route from a client is reflected to the other clients and to non-clients, not back to its sender', () => {
  const t = setup();
  t.announce('c1', '198.18.1.0/24', { nextHop: '192.0.2.11' });
  assert.deepEqual(t.got('c2').map((x) => x.prefix), ['198.18.1.0/24']);
  assert.deepEqual(t.got('n1').map((x) => x.prefix), ['198.18.1.0/24']);
  assert.deepEqual(t.got('n2').map((x) => x.prefix), ['198.18.1.0/24']);
  assert.deepEqual(t.got('c1'), []);
});

test('a route from a non-client is reflected to clients only (iBGP split horizon toward non-clients)', () => {
  const t = setup();
  t.announce('n1', '198.18.2.0/24', { nextHop: '192.0.2.21' });
  assert.deepEqual(t.got('c1').map((x) => x.prefix), ['198.18.2.0/24']);
  assert.deepEqual(t.got('c2').map((x) => x.prefix), ['198.18.2.0/24']);
  assert.deepEqual(t.got('n2'), []);
  assert.deepEqual(t.got('n1'), []);
});

test('without a cluster id, iBGP routes are not sent to iBGP peers at all', () => {
  const t = setup({});
  t.announce('c1', '198.18.3.0/24', { nextHop: '192.0.2.11' });
  for (const n of ['c2', 'n1', 'n2']) assert.deepEqual(t.got(n), [], n);
  assert.deepEqual(t.got('e1').map((x) => x.prefix), ['198.18.3.0/24']);
});

test('a route from an eBGP peer goes to every iBGP peer with next hop self and LOCAL_PREF 100', () => {
  const t = setup();
  t.announce('e1', '198.18.4.0/24', { nextHop: '192.0.2.31', asPath: seq(65001), localPref: 999 });
  for (const n of ['c1', 'c2', 'n1', 'n2']) {
    const [r] = t.got(n);
    assert.equal(r.prefix, '198.18.4.0/24', n);
    assert.equal(r.u.attrs.nextHop, '192.0.2.1', `${n}: next hop self`);
    assert.equal(r.u.attrs.localPref, 100);
    assert.deepEqual(r.u.attrs.asPath, seq(65001));
    assert.equal(r.u.attrs.originatorId, undefined);
    assert.equal(r.u.attrs.clusterList, undefined);
  }
  assert.deepEqual(t.got('e1'), []);
});

test('a reflected route keeps its next hop and attributes and gains ORIGINATOR_ID and CLUSTER_LIST', () => {
  const t = setup();
  t.announce('c1', '198.18.5.0/24', { nextHop: '192.0.2.99', asPath: seq(65010), med: 7, communities: [0xfde80001] });
  const [r] = t.got('c2');
  assert.equal(r.u.attrs.nextHop, '192.0.2.99');
  assert.deepEqual(r.u.attrs.asPath, seq(65010));
  assert.equal(r.u.attrs.med, 7);
  assert.equal(r.u.attrs.localPref, 100);
  assert.deepEqual(r.u.attrs.communities, [0xfde80001]);
  assert.equal(r.u.attrs.originatorId, '203.0.113.11', "ORIGINATOR_ID = the client's router id");
  assert.deepEqual(r.u.attrs.clusterList, ['192.0.2.100']);
});

test('an existing ORIGINATOR_ID is kept and our cluster id is prepended to the CLUSTER_LIST', () => {
  const t = setup();
  t.announce('c1', '198.18.6.0/24', { nextHop: '192.0.2.99', originatorId: '203.0.113.77', clusterList: ['192.0.2.200'] });
  const [r] = t.got('n1');
  assert.equal(r.u.attrs.originatorId, '203.0.113.77');
  assert.deepEqual(r.u.attrs.clusterList, ['192.0.2.100', '192.0.2.200']);
});

test('a route whose ORIGINATOR_ID is our router id is dropped', () => {
  const t = setup();
  t.announce('c1', '198.18.7.0/24', { nextHop: '192.0.2.99', originatorId: '192.0.2.1' });
  assert.equal(t.rib.routes().length, 0);
  assert.equal(t.peers.c1.peer.loopsDropped, 1);
  assert.deepEqual(t.got('c2'), []);
});

test('a route whose CLUSTER_LIST holds our cluster id is dropped', () => {
  const t = setup();
  t.announce('n1', '198.18.8.0/24', { nextHop: '192.0.2.99', originatorId: '203.0.113.5', clusterList: ['192.0.2.7', '192.0.2.100'] });
  assert.equal(t.rib.routes().length, 0);
  assert.equal(t.peers.n1.peer.loopsDropped, 1);
});

test('a route with our own AS in its AS_PATH is dropped, and replaces (withdraws) an earlier path', () => {
  const t = setup();
  t.announce('e1', '198.18.9.0/24', { nextHop: '192.0.2.31', asPath: seq(65001) });
  assert.equal(t.rib.routes().length, 1);
  t.announce('e1', '198.18.9.0/24', { nextHop: '192.0.2.31', asPath: seq(65001, 64512, 65002) });
  assert.equal(t.rib.routes().length, 0);
  assert.deepEqual(t.peers.c1.rec.withdrawn(), ['198.18.9.0/24']);
});

test('to an eBGP peer: our AS prepended, next hop self, no LOCAL_PREF, ORIGINATOR_ID or CLUSTER_LIST', () => {
  const t = setup();
  t.announce('c1', '198.18.10.0/24', { nextHop: '192.0.2.99', asPath: seq(65010), localPref: 300, med: 5, originatorId: '203.0.113.77', clusterList: ['192.0.2.200'] });
  const [r] = t.got('e1');
  assert.deepEqual(r.u.attrs.asPath, seq(64512, 65010));
  assert.equal(r.u.attrs.nextHop, '192.0.2.1');
  assert.equal(r.u.attrs.localPref, undefined);
  assert.equal(r.u.attrs.originatorId, undefined);
  assert.equal(r.u.attrs.clusterList, undefined);
  assert.equal(r.u.attrs.med, 5, 'a MED learned inside our AS may be sent to a neighbouring AS');
});

test('a MED learned from one neighbouring AS is not passed to another (RFC 4271 §5.1.4)', () => {
  const t = setup();
  const e2 = t.rib.addPeer({ address: '192.0.2.32', asn: 65002 });
  const rec = new Recorder();
  t.rib.peerUp(e2, '203.0.113.32', rec.out);
  t.rib.flush();
  rec.clear();
  t.announce('e1', '198.18.11.0/24', { nextHop: '192.0.2.31', asPath: seq(65001), med: 40 });
  const [r] = rec.announced();
  assert.deepEqual(r.u.attrs.asPath, seq(64512, 65001));
  assert.equal(r.u.attrs.med, undefined);
});

test('originated routes go to every peer with next hop self; to iBGP with an empty AS_PATH', () => {
  const t = setup();
  t.rib.setLocalRoutes([{ prefix: '203.0.113.0/24' }, { prefix: '2001:db8:1::/48' }]);
  t.rib.flush();
  for (const n of ['c1', 'c2', 'n1', 'n2']) {
    const got = t.got(n);
    assert.deepEqual(got.map((x) => x.prefix).sort(), ['2001:db8:1::/48', '203.0.113.0/24'], n);
    const v4 = got.find((x) => x.prefix === '203.0.113.0/24')!;
    assert.equal(v4.u.attrs.nextHop, '192.0.2.1');
    assert.deepEqual(v4.u.attrs.asPath, []);
    assert.equal(v4.u.attrs.origin, 0);
    const v6 = got.find((x) => x.prefix === '2001:db8:1::/48')!;
    assert.deepEqual(v6.u.attrs.mpReach?.nextHops, ['2001:db8::1']);
  }
  const e = t.got('e1').find((x) => x.prefix === '203.0.113.0/24')!;
  assert.deepEqual(e.u.attrs.asPath, seq(64512));
});

test('when the best path moves to a client, that client is sent a withdrawal of the path it had been sent', () => {
  const t = setup();
  t.announce('n1', '198.18.12.0/24', { nextHop: '192.0.2.21', localPref: 100 });
  assert.deepEqual(t.got('c1').map((x) => x.prefix), ['198.18.12.0/24']);
  t.peers.c1.rec.clear();
  t.peers.c2.rec.clear();
  t.announce('c1', '198.18.12.0/24', { nextHop: '192.0.2.11', localPref: 200 });
  assert.deepEqual(t.peers.c1.rec.withdrawn(), ['198.18.12.0/24']);
  assert.deepEqual(t.got('c1'), []);
  assert.equal(t.got('c2')[0].u.attrs.originatorId, '203.0.113.11');
});

test('unknown optional transitive attributes pass on with Partial set; unknown non-transitive ones do not', () => {
  const t = setup();
  const transitive = { flags: 0xc0, code: 99, value: Uint8Array.of(1, 2, 3) };
  const nonTransitive = { flags: 0x80, code: 98, value: Uint8Array.of(4) };
  t.announce('c1', '198.18.13.0/24', { nextHop: '192.0.2.99', unknown: [transitive, nonTransitive] });
  for (const n of ['c2', 'e1']) {
    const [r] = t.got(n);
    assert.deepEqual(r.u.attrs.unknown?.map((u) => [u.code, u.flags & 0xe0, [...u.value]]), [[99, 0xe0, [1, 2, 3]]], n);
  }
});

test('AS4_PATH from a 2-octet peer is merged into the AS path used for loop detection and export (RFC 6793 §4.2.3)', () => {
  const t = setup();
  t.announce('e1', '198.18.14.0/24', { nextHop: '192.0.2.31', asPath: seq(65001, 23456), as4Path: seq(4200000001) });
  const row = t.rib.routes({ prefix: '198.18.14.0/24' })[0];
  assert.deepEqual(row.asPath, [65001, 4200000001]);
  const [r] = t.got('c1');
  assert.deepEqual(r.u.attrs.asPath, seq(65001, 4200000001));
  const rib = new Rib({ localAsn: 4200000001, routerId: '192.0.2.1', encoder: countingEncoder(), schedule: () => {} });
  const p = rib.addPeer({ address: '192.0.2.31', asn: 65001 });
  rib.applyUpdate(p, { type: 'update', withdrawn: [], nlri: ['198.18.15.0/24'], attrs: { origin: 0, nextHop: '192.0.2.31', asPath: seq(65001, 23456), as4Path: seq(4200000001) } });
  assert.equal(rib.routes().length, 0, 'our own 4-octet AS, hidden behind AS_TRANS, is a loop');
  assert.equal(p.loopsDropped, 1);
});
