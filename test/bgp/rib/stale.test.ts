// Stale paths across a peer's graceful restart (RFC 4724 §4.2), as the RIB sees them: kept and still
// best while the peer is away, no change for what it re-announces identically, exactly the
// removals the sweep makes, and nothing sent to other peers for paths that did not change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rib } from '../../../src/bgp/rib/index.js';
import type { UpdateMessage } from '../../../src/bgp/wire/types.js';
import { Recorder, countingEncoder, seq } from './helpers.js';

function setup() {
  const rib = new Rib({ localAsn: 64512, routerId: '192.0.2.1', encoder: countingEncoder(), schedule: () => {} });
  const a = rib.addPeer({ address: '192.0.2.11', asn: 65001 });
  const other = rib.addPeer({ address: '192.0.2.12', asn: 65002 });
  return { rib, a, other };
}
const v4 = (nlri: string[], nh = '192.0.2.11', ...path: number[]): UpdateMessage =>
  ({ type: 'update', withdrawn: [], nlri, attrs: { origin: 0, asPath: seq(...(path.length ? path : [65001])), nextHop: nh } });
const v6 = (nlri: string[]): UpdateMessage =>
  ({ type: 'update', withdrawn: [], nlri: [], attrs: { origin: 0, asPath: seq(65001), mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::11'], nlri } } });
const summary = (ch: ReturnType<Rib['flush']>) => ch.map((c) => `${c.prefix} ${c.before ? 'had' : '-'} ${c.after ? 'has' : '-'}`).sort();

test('a peer down with retain keeps its paths as stale: same best paths, no change', () => {
  const { rib, a } = setup();
  rib.applyUpdate(a, v4(['198.18.0.0/24', '198.18.1.0/24']));
  rib.applyUpdate(a, v6(['2001:db8:1::/48']));
  rib.flush();
  rib.peerDown(a, ['ipv4', 'ipv6']);
  assert.deepEqual(rib.flush(), []);
  assert.equal(rib.staleCount(a), 3);
  assert.equal(a.received, 3);
  assert.equal(rib.best('198.18.0.0/24')?.peer, '192.0.2.11');
});

test('families not retained lose their paths at once', () => {
  const { rib, a } = setup();
  rib.applyUpdate(a, v4(['198.18.0.0/24']));
  rib.applyUpdate(a, v6(['2001:db8:1::/48']));
  rib.flush();
  rib.peerDown(a, ['ipv4']);
  assert.deepEqual(summary(rib.flush()), ['2001:db8:1::/48 had -']);
  assert.equal(rib.staleCount(a), 1);
  assert.deepEqual(a.receivedByFamily, { ipv4: 1, ipv6: 0 });
});

test('re-announced identical paths leave the stale set without any change; the sweep removes exactly the rest', () => {
  const { rib, a } = setup();
  rib.applyUpdate(a, v4(['198.18.0.0/24', '198.18.1.0/24', '198.18.2.0/24']));
  rib.flush();
  rib.peerDown(a, ['ipv4', 'ipv6']);
  rib.flush();
  rib.peerUp(a, '192.0.2.11', new Recorder().out);
  rib.applyUpdate(a, v4(['198.18.0.0/24', '198.18.1.0/24']));
  assert.deepEqual(rib.flush(), [], 'identical re-announcement: no delta');
  assert.equal(rib.staleCount(a), 1);
  assert.equal(rib.sweepStale(a, 'ipv4'), 1);
  assert.deepEqual(summary(rib.flush()), ['198.18.2.0/24 had -']);
  assert.equal(rib.staleCount(a), 0);
  assert.equal(a.stale, undefined);
  assert.equal(a.received, 2);
});

test('a re-announcement with new attributes is a real change and is no longer stale', () => {
  const { rib, a } = setup();
  rib.applyUpdate(a, v4(['198.18.0.0/24']));
  rib.flush();
  rib.peerDown(a, ['ipv4']);
  rib.applyUpdate(a, v4(['198.18.0.0/24'], '192.0.2.99'));
  const ch = rib.flush();
  assert.equal(ch.length, 1);
  assert.equal(ch[0].after?.attrs.nextHops[0], '192.0.2.99');
  assert.equal(rib.staleCount(a), 0);
  assert.equal(rib.sweepStale(a), 0);
  assert.deepEqual(rib.flush(), []);
});

test('an explicit withdrawal of a stale prefix removes it once; the sweep does not count it again', () => {
  const { rib, a } = setup();
  rib.applyUpdate(a, v4(['198.18.0.0/24', '198.18.1.0/24']));
  rib.flush();
  rib.peerDown(a, ['ipv4']);
  rib.applyUpdate(a, { type: 'update', withdrawn: ['198.18.0.0/24'], nlri: [], attrs: {} as UpdateMessage['attrs'] });
  assert.deepEqual(summary(rib.flush()), ['198.18.0.0/24 had -']);
  assert.equal(rib.staleCount(a), 1);
  assert.equal(rib.sweepStale(a), 1);
  assert.deepEqual(summary(rib.flush()), ['198.18.1.0/24 had -']);
  assert.equal(a.received, 0);
});

test('a stale path that loses to another peer\'s path stays in the RIB but changes nothing when swept', () => {
  const { rib, a, other } = setup();
  rib.applyUpdate(other, v4(['198.18.0.0/24'], '192.0.2.12'));
  rib.applyUpdate(a, v4(['198.18.0.0/24'], '192.0.2.11', 65001, 65003));
  rib.flush();
  rib.peerDown(a, ['ipv4']);
  rib.sweepStale(a);
  assert.deepEqual(rib.flush(), []);
  assert.equal(rib.best('198.18.0.0/24')?.peer, '192.0.2.12');
});

test('a stale best path is swept in favour of the other peer\'s path: one change', () => {
  const { rib, a, other } = setup();
  rib.applyUpdate(a, v4(['198.18.0.0/24']));
  rib.applyUpdate(other, v4(['198.18.0.0/24'], '192.0.2.12', 65002, 65003));
  rib.flush();
  rib.peerDown(a, ['ipv4']);
  assert.deepEqual(rib.flush(), []);
  rib.sweepStale(a);
  const ch = rib.flush();
  assert.equal(ch.length, 1);
  assert.equal(ch[0].before?.peer, a);
  assert.equal(ch[0].after?.peer, other);
});

test('a second restart while paths are stale keeps the old stale paths and adds the new ones', () => {
  const { rib, a } = setup();
  rib.applyUpdate(a, v4(['198.18.0.0/24', '198.18.1.0/24']));
  rib.flush();
  rib.peerDown(a, ['ipv4']);
  rib.peerUp(a, '192.0.2.11', new Recorder().out);
  rib.applyUpdate(a, v4(['198.18.0.0/24', '198.18.5.0/24']));
  assert.deepEqual(summary(rib.flush()), ['198.18.5.0/24 - has']);
  assert.equal(rib.staleCount(a), 1);
  rib.peerDown(a, ['ipv4']);
  assert.deepEqual(rib.flush(), []);
  assert.equal(rib.staleCount(a), 3);
  rib.sweepStale(a);
  assert.deepEqual(summary(rib.flush()), ['198.18.0.0/24 had -', '198.18.1.0/24 had -', '198.18.5.0/24 had -']);
});

test('an ordinary peer down drops stale paths with the rest', () => {
  const { rib, a } = setup();
  rib.applyUpdate(a, v4(['198.18.0.0/24']));
  rib.flush();
  rib.peerDown(a, ['ipv4']);
  rib.peerDown(a);
  assert.deepEqual(summary(rib.flush()), ['198.18.0.0/24 had -']);
  assert.equal(a.stale, undefined);
});

test('other peers are sent nothing while a peer restarts and re-announces the same paths', () => {
  const { rib, a, other } = setup();
  const rec = new Recorder();
  rib.peerUp(other, '192.0.2.12', rec.out);
  rib.applyUpdate(a, v4(['198.18.0.0/24', '198.18.1.0/24']));
  rib.flush();
  assert.equal(rec.announced().length, 2);
  rec.clear();
  rib.peerDown(a, ['ipv4']);
  rib.flush();
  rib.peerUp(a, '192.0.2.11', new Recorder().out);
  rib.applyUpdate(a, v4(['198.18.0.0/24']));
  rib.flush();
  assert.equal(rec.frames.length, 0, 'no UPDATE to the other peer for kept or re-announced paths');
  rib.sweepStale(a, 'ipv4');
  rib.flush();
  assert.deepEqual(rec.withdrawn(), ['198.18.1.0/24']);
  assert.equal(rec.announced().length, 0);
});
