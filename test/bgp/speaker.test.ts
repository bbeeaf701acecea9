// The Speaker end to end, in-process, over real TCP on loopback: sessions come up, routes flow both
// ways (IPv4 and IPv6 in one session), status()/routes() tell the truth, withdrawals and shutdown
// propagate, and a route reflector reflects with ORIGINATOR_ID and CLUSTER_LIST.
// Timers are lowered (connect retry / idle hold 1 s); every wait is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Speaker, type SpeakerOptions } from '../../src/bgp/speaker.js';
import type { RouteDelta } from '../../src/bgp/rib/index.js';
import { waitFor } from '../../src/lab/netns.js';

const FAST = { holdTime: 9, connectRetryTime: 1, idleHoldTime: 1, idleHoldMaxTime: 2 } satisfies Partial<SpeakerOptions>;

function route(s: Speaker, prefix: string) {
  return s.routes({ prefix }).find((r) => r.best);
}

test('two eBGP speakers exchange IPv4 and IPv6 routes, withdraw them, and see the shutdown', async () => {
  const b = new Speaker({ asn: 65001, routerId: '192.0.2.2', listen: { address: '127.0.0.1', port: 0 }, ...FAST });
  const a = new Speaker({ asn: 64512, routerId: '192.0.2.1', ...FAST });
  const aDeltas: RouteDelta[] = [];
  const bDeltas: RouteDelta[] = [];
  a.on('bestChanged', (d) => aDeltas.push(...d));
  b.on('bestChanged', (d) => bDeltas.push(...d));
  try {
    b.setPeers([{ address: '127.0.0.1', asn: 64512, passive: true }]);
    b.setLocalRoutes([{ prefix: '198.51.100.0/24' }, { prefix: '2001:db8:2::/48', communities: [(65001 << 16) | 7] }]);
    await b.start();
    a.setPeers([{ address: '127.0.0.1', port: b.listenPort, asn: 65001, ipv6NextHop: '2001:db8::1' }]);
    a.setLocalRoutes([{ prefix: '203.0.113.0/24' }, { prefix: '2001:db8:1::/48' }]);
    await a.start();

    await waitFor('A to learn both of B\'s routes', () => route(a, '198.51.100.0/24') && route(a, '2001:db8:2::/48'), 15_000, 50);
    await waitFor('B to learn both of A\'s routes', () => route(b, '203.0.113.0/24') && route(b, '2001:db8:1::/48'), 15_000, 50);
    const v4 = route(a, '198.51.100.0/24')!;
    assert.equal(v4.nextHop, '127.0.0.1', 'eBGP: next hop self (B\'s end of the connection)');
    assert.deepEqual(v4.asPath, [65001]);
    assert.equal(v4.peer, '127.0.0.1');
    assert.equal(v4.reason, 'only path');
    const v6 = route(a, '2001:db8:2::/48')!;
    assert.equal(v6.nextHop, '::ffff:7f00:1', 'IPv6 over an IPv4 session: the IPv4-mapped next hop');
    assert.deepEqual(v6.communities, ['65001:7']);
    assert.equal(route(b, '2001:db8:1::/48')!.nextHop, '2001:db8::1', 'the configured ipv6NextHop');
    assert.deepEqual(route(b, '203.0.113.0/24')!.asPath, [64512]);

    const st = a.status();
    assert.equal(st.asn, 64512);
    assert.equal(st.peers.length, 1);
    assert.equal(st.peers[0].state, 'Established');
    assert.equal(st.peers[0].info, 'Established');
    assert.equal(st.peers[0].type, 'eBGP');
    assert.equal(st.peers[0].received, 2);
    await waitFor('advertised count', () => a.status().peers[0].advertised === 2, 5_000, 50);
    assert.equal(st.peers[0].routerId, '192.0.2.2');
    assert.ok(st.peers[0].since && !Number.isNaN(Date.parse(st.peers[0].since)));
    assert.ok(aDeltas.some((d) => d.prefix === '198.51.100.0/24' && d.after?.nextHop === '127.0.0.1' && !d.before));

    // A withdraws one prefix: B's Loc-RIB loses it and B reports the delta.
    a.setLocalRoutes([{ prefix: '203.0.113.0/24' }]);
    await waitFor('B to drop 2001:db8:1::/48', () => !route(b, '2001:db8:1::/48'), 10_000, 50);
    assert.ok(bDeltas.some((d) => d.prefix === '2001:db8:1::/48' && d.before && !d.after));
    assert.ok(route(b, '203.0.113.0/24'));

    // A shuts down: B hears a Cease, removes A's routes and says why.
    await a.stop('maintenance window');
    await waitFor('B to drop A\'s routes', () => !route(b, '203.0.113.0/24'), 10_000, 50);
    const bp = b.status().peers[0];
    assert.notEqual(bp.state, 'Established');
    assert.match(bp.info, /maintenance window|Cease|shutdown/i);
    assert.deepEqual(b.routes().map((r) => r.prefix).sort(), ['198.51.100.0/24', '2001:db8:2::/48']);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('a route reflector reflects a client\'s routes to another client with ORIGINATOR_ID and CLUSTER_LIST, next hop unchanged', async () => {
  // Clients listen (one on 127.0.0.1, one on ::1, so the RR tells them apart by address); the RR connects.
  const c1 = new Speaker({ asn: 64512, routerId: '192.0.2.11', listen: { address: '127.0.0.1', port: 0 }, ...FAST });
  const c2 = new Speaker({ asn: 64512, routerId: '192.0.2.12', listen: { address: '::1', port: 0 }, ...FAST });
  const rr = new Speaker({ asn: 64512, routerId: '192.0.2.100', clusterId: '198.51.100.100', ...FAST });
  try {
    c1.setPeers([{ address: '127.0.0.1', asn: 64512, passive: true }]);
    c2.setPeers([{ address: '::1', asn: 64512, passive: true }]);
    c1.setLocalRoutes([{ prefix: '198.18.1.0/26' }, { prefix: '2001:db8:11::/64' }]);
    c2.setLocalRoutes([{ prefix: '198.18.2.0/26' }]);
    await c1.start();
    await c2.start();
    rr.setPeers([
      { address: '127.0.0.1', port: c1.listenPort, asn: 64512, rrClient: true },
      { address: '::1', port: c2.listenPort, asn: 64512, rrClient: true, ipv4NextHop: '192.0.2.100' },
    ]);
    await rr.start();
    await waitFor('c2 to learn c1\'s routes through the RR', () => route(c2, '198.18.1.0/26') && route(c2, '2001:db8:11::/64'), 15_000, 50);
    await waitFor('c1 to learn c2\'s route through the RR', () => route(c1, '198.18.2.0/26'), 15_000, 50);
    const r = route(c2, '198.18.1.0/26')!;
    assert.equal(r.originatorId, '192.0.2.11', 'ORIGINATOR_ID = the originating client\'s router id');
    assert.deepEqual(r.clusterList, ['198.51.100.100']);
    assert.equal(r.nextHop, '127.0.0.1', 'next hop unchanged: c1\'s own next hop self');
    assert.deepEqual(r.asPath, []);
    assert.equal(r.localPref, 100);
    assert.equal(route(c2, '2001:db8:11::/64')!.nextHop, '::ffff:7f00:1');
    const back = route(c1, '198.18.2.0/26')!;
    assert.equal(back.originatorId, '192.0.2.12');
    assert.equal(back.nextHop, '192.0.2.12', 'c2 talks IPv6 to the RR: its IPv4 next hop self falls back to its router id');
    const st = rr.status();
    assert.equal(st.clusterId, '198.51.100.100');
    assert.deepEqual(st.peers.map((p) => p.type), ['iBGP rr-client', 'iBGP rr-client']);
    assert.equal(st.rib.updateGroups, 2, 'an IPv4-session client and an IPv6-session client need different next-hop-self bytes');
  } finally {
    await rr.stop();
    await c1.stop();
    await c2.stop();
  }
});
