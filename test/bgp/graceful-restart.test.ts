// Graceful Restart (RFC 4724) end to end between two in-process Speakers over loopback TCP. The
// helper (A) runs on a fake clock, so its restart and stale timers move only when the test says;
// the restarting side (B) is stopped gracefully and started again on the same port. Every wait on
// the network is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Speaker, type SpeakerOptions } from '../../src/bgp/speaker.js';
import type { RouteDelta } from '../../src/bgp/rib/index.js';
import { familiesToFlushOnReturn, familiesToRetain } from '../../src/bgp/graceful-restart.js';
import type { Negotiated, SessionDown } from '../../src/bgp/session/types.js';
import { waitFor } from '../../src/lab/netns.js';
import { FakeClock } from '../helpers/fake-clock.js';

const FAST = { holdTime: 9, connectRetryTime: 1, idleHoldTime: 1, idleHoldMaxTime: 2 } satisfies Partial<SpeakerOptions>;
const GR_ON = { enabled: true, restartTime: 5, staleTime: 30 };
const PREFIXES = ['198.18.0.0/24', '198.18.1.0/24', '198.18.2.0/24'];

function negotiated(gr?: Negotiated['gracefulRestart']): Negotiated {
  return {
    peerAsn: 65001, peerRouterId: '192.0.2.2', holdTime: 90, keepaliveTime: 30, families: ['ipv4', 'ipv6'],
    codec: { fourOctetAs: true, extendedMessage: false }, routeRefresh: true, enhancedRouteRefresh: false,
    peerCapabilities: [], localAddress: '192.0.2.1', remoteAddress: '192.0.2.2', ...(gr ? { gracefulRestart: gr } : {}),
  };
}
const GR_BOTH = { restartTime: 60, restarting: false, notification: false, families: [{ family: 'ipv4' as const, forwardingPreserved: true }, { family: 'ipv6' as const, forwardingPreserved: false }] };
const GR_N = { ...GR_BOTH, notification: true };
const notif = (code: number, subcode: number) => ({ type: 'notification' as const, code, subcode, data: new Uint8Array(0) });
const down = (code: string, wasEstablished = true): SessionDown => ({ code, message: code, wasEstablished });

/** Starts B, points A at it, starts A, and waits until A has B's three prefixes. */
async function learnFromB(a: Speaker, b: Speaker): Promise<void> {
  await b.start();
  a.setPeers([{ address: '127.0.0.1', port: b.listenPort, asn: 65001, families: ['ipv4'] }]);
  await a.start();
  await waitFor('A to learn B\'s prefixes', () => a.routes().length === 3, 15_000, 20);
}

test('helper: TCP loss and hold-timer expiry keep the families the peer listed; NOTIFICATIONs, stops and never-established sessions keep nothing', () => {
  const on = { enabled: true };
  assert.deepEqual(familiesToRetain(on, negotiated(GR_BOTH), down('BGP_TCP_CLOSED')), ['ipv4', 'ipv6']);
  assert.deepEqual(familiesToRetain(on, negotiated(GR_BOTH), down('BGP_HOLD_TIMER_EXPIRED')), ['ipv4', 'ipv6']);
  assert.deepEqual(familiesToRetain(on, negotiated(GR_BOTH), down('BGP_NOTIFICATION_RECEIVED')), []);
  assert.deepEqual(familiesToRetain(on, negotiated(GR_BOTH), down('BGP_ADMIN_STOP')), []);
  assert.deepEqual(familiesToRetain(on, negotiated(GR_BOTH), down('BGP_TCP_CLOSED', false)), []);
  assert.deepEqual(familiesToRetain({ enabled: false }, negotiated(GR_BOTH), down('BGP_TCP_CLOSED')), []);
  assert.deepEqual(familiesToRetain(on, negotiated(), down('BGP_TCP_CLOSED')), [], 'GR not negotiated');
  assert.deepEqual(familiesToRetain(on, negotiated({ ...GR_BOTH, restartTime: 0 }), down('BGP_TCP_CLOSED')), [], 'restart time 0');
  assert.deepEqual(familiesToRetain(on, negotiated({ ...GR_BOTH, families: [GR_BOTH.families[1]] }), down('BGP_TCP_CLOSED')), ['ipv6']);
});

test('helper with the N bit (RFC 8538): NOTIFICATIONs either way keep the routes, except Hard Reset and our own stops', () => {
  const on = { enabled: true };
  const got = (r: SessionDown) => familiesToRetain(on, negotiated(GR_N), r);
  assert.deepEqual(got({ ...down('BGP_NOTIFICATION_RECEIVED'), notificationReceived: notif(6, 4) }), ['ipv4', 'ipv6'], 'Cease / Administrative Reset received');
  assert.deepEqual(got({ ...down('BGP_UPDATE_ERROR'), notificationSent: notif(3, 1) }), ['ipv4', 'ipv6'], 'UPDATE error sent');
  assert.deepEqual(got({ ...down('BGP_HOLD_TIMER_EXPIRED'), notificationSent: notif(4, 0) }), ['ipv4', 'ipv6']);
  assert.deepEqual(got({ ...down('BGP_NOTIFICATION_RECEIVED'), notificationReceived: notif(6, 9) }), [], 'Hard Reset received');
  assert.deepEqual(got({ ...down('BGP_ADMIN_STOP'), notificationSent: notif(6, 9) }), [], 'our stop');
  assert.deepEqual(got(down('BGP_TCP_CLOSED')), ['ipv4', 'ipv6']);
  // Without the N bit the same NOTIFICATIONs end it the ordinary way.
  assert.deepEqual(familiesToRetain(on, negotiated(GR_BOTH), { ...down('BGP_NOTIFICATION_RECEIVED'), notificationReceived: notif(6, 4) }), []);
  assert.deepEqual(familiesToRetain(on, negotiated(GR_BOTH), { ...down('BGP_UPDATE_ERROR'), notificationSent: notif(3, 1) }), []);
});

test('helper: on return, families no longer listed or listed without F lose their stale paths at once', () => {
  assert.deepEqual(familiesToFlushOnReturn(['ipv4', 'ipv6'], negotiated(GR_BOTH)), ['ipv6'], 'ipv6 without F');
  assert.deepEqual(familiesToFlushOnReturn(['ipv4', 'ipv6'], negotiated()), ['ipv4', 'ipv6'], 'no capability at all');
  assert.deepEqual(familiesToFlushOnReturn(['ipv4'], negotiated({ ...GR_BOTH, families: [] })), ['ipv4'], 'family not listed');
  assert.deepEqual(familiesToFlushOnReturn(['ipv4'], negotiated(GR_BOTH)), []);
});

function speakerB(port: number, prefixes: string[], restarting: boolean, notification = true): Speaker {
  const b = new Speaker({ asn: 65001, routerId: '192.0.2.2', listen: { address: '127.0.0.1', port }, ...FAST, gracefulRestart: { ...GR_ON, restarting, notification } });
  b.setPeers([{ address: '127.0.0.1', asn: 64512, passive: true, families: ['ipv4'] }]);
  b.setLocalRoutes(prefixes.map((prefix) => ({ prefix })));
  return b;
}

test('helper end to end: a peer that restarts gracefully keeps its routes stale, comes back with one fewer, and after its End-of-RIB exactly that one is withdrawn; one that never returns loses all at the restart time', async () => {
  const clock = new FakeClock();
  const a = new Speaker({ asn: 64512, routerId: '192.0.2.1', ...FAST, gracefulRestart: { enabled: true, restartTime: 120, staleTime: 30 } }, { clock });
  const deltas: RouteDelta[] = [];
  a.on('bestChanged', (d) => deltas.push(...d));
  let b = speakerB(0, PREFIXES, false);
  const started: Speaker[] = [b];
  try {
    await b.start();
    const port = b.listenPort as number;
    a.setPeers([{ address: '127.0.0.1', port, asn: 65001, families: ['ipv4'] }]);
    await a.start();
    const learned = () => a.routes().filter((r) => r.best).map((r) => r.prefix).sort();
    await waitFor('A to learn B\'s three prefixes', () => learned().length === 3, 15_000, 20);
    assert.equal(a.status().peers[0].gracefulRestart.negotiated, true);
    assert.equal(a.status().peers[0].gracefulRestart.peerRestartTime, 5);
    deltas.length = 0;

    // B goes away without a NOTIFICATION (SIGTERM with graceful restart on).
    await b.stop('restart', { graceful: true });
    await waitFor('A to see the session drop', () => a.status().peers[0].state !== 'Established', 10_000, 20);
    const st = a.status().peers[0];
    assert.equal(st.gracefulRestart.phase, 'restarting');
    assert.equal(st.gracefulRestart.stalePaths, 3);
    assert.equal(st.gracefulRestart.secondsLeft, 5);
    assert.match(st.info, /Graceful restart: 3 stale paths, 5 s left/);
    assert.deepEqual(learned(), PREFIXES, 'still there while B restarts');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(deltas.length, 0, 'no change reported while B restarts');

    // B is back (R bit set) with one prefix fewer; A reconnects after its idle hold.
    b = speakerB(port, PREFIXES.slice(0, 2), true);
    started.push(b);
    await b.start();
    clock.advance(1_000);
    await waitFor('A to be Established again', () => a.status().peers[0].state === 'Established', 15_000, 20);
    await waitFor('the stale prefix to go after End-of-RIB', () => learned().length === 2, 15_000, 20);
    assert.deepEqual(learned(), PREFIXES.slice(0, 2));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(deltas.map((d) => `${d.prefix} ${d.before ? 'had' : '-'} ${d.after ? 'has' : '-'}`), ['198.18.2.0/24 had -'],
      'exactly one delta: the prefix B no longer announces; none for the two it re-announced');
    assert.equal(a.status().peers[0].gracefulRestart.phase, 'none');
    assert.equal(a.status().peers[0].gracefulRestart.stalePaths, 0);
    deltas.length = 0;

    // B goes away again and never returns: at its restart time (5 s) everything goes.
    await b.stop('gone', { graceful: true });
    await waitFor('A to see the session drop again', () => a.status().peers[0].gracefulRestart.phase === 'restarting', 10_000, 20);
    clock.advance(4_000);
    assert.equal(learned().length, 2, 'kept before the restart time');
    clock.advance(1_100);
    await waitFor('the stale prefixes to be withdrawn', () => learned().length === 0 && deltas.length === 2, 5_000, 20);
    assert.deepEqual(deltas.map((d) => d.prefix).sort(), PREFIXES.slice(0, 2));
    assert.ok(deltas.every((d) => d.before && !d.after));
    assert.equal(a.status().peers[0].gracefulRestart.stalePaths, 0);
  } finally {
    await a.stop();
    for (const s of started) await s.stop().catch(() => {});
  }
});

test('an ordinary stop of a GR-capable peer (a Hard Reset with the N bit) withdraws its routes at once', async () => {
  const clock = new FakeClock();
  const a = new Speaker({ asn: 64512, routerId: '192.0.2.1', ...FAST, gracefulRestart: { enabled: true } }, { clock });
  const b = speakerB(0, PREFIXES, false);
  try {
    await learnFromB(a, b);
    await b.stop('maintenance');
    await waitFor('A to drop B\'s prefixes', () => a.routes().length === 0, 10_000, 20);
    assert.equal(a.status().peers[0].gracefulRestart.stalePaths, 0);
    assert.match(a.status().peers[0].info, /NOTIFICATION received 6\/9 BGP_ERR_HARD_RESET \(for 6\/2 /);
  } finally {
    await a.stop();
    await b.stop().catch(() => {});
  }
});

test('initialSync: emitted once, when every peer has sent End-of-RIB (after its routes)', async () => {
  const a = new Speaker({ asn: 64512, routerId: '192.0.2.1', ...FAST, gracefulRestart: { enabled: true, restartTime: 60, restarting: true } });
  const b = speakerB(0, PREFIXES, false);
  const reasons: string[] = [];
  a.on('initialSync', (r) => reasons.push(r));
  try {
    await b.start();
    a.setPeers([{ address: '127.0.0.1', port: b.listenPort, asn: 65001, families: ['ipv4'] }]);
    await a.start();
    await waitFor('initial sync', () => reasons.length > 0, 15_000, 20);
    assert.deepEqual(reasons, ['end-of-rib']);
    assert.equal(a.routes().length, 3, 'the routes came before the End-of-RIB');
    assert.equal(a.initiallySynced, true);
  } finally {
    await a.stop();
    await b.stop().catch(() => {});
  }
});

test('initialSync: with a peer that never comes up it fires at the restart time', async () => {
  const clock = new FakeClock();
  const a = new Speaker({ asn: 64512, routerId: '192.0.2.1', ...FAST, gracefulRestart: { enabled: true, restartTime: 7 } }, { clock });
  const reasons: string[] = [];
  a.on('initialSync', (r) => reasons.push(r));
  try {
    a.setPeers([{ address: '127.0.0.1', port: 9, asn: 65001, families: ['ipv4'], passive: true }]);
    await a.start();
    clock.advance(6_900);
    assert.deepEqual(reasons, []);
    clock.advance(200);
    assert.deepEqual(reasons, ['timeout']);
  } finally {
    await a.stop();
  }
});

test('helper: failed reconnection attempts while the peer restarts keep its stale paths until the restart time', async () => {
  const clock = new FakeClock();
  const a = new Speaker({ asn: 64512, routerId: '192.0.2.1', ...FAST, gracefulRestart: { enabled: true } }, { clock });
  const b = speakerB(0, PREFIXES, false);
  try {
    await learnFromB(a, b);
    await b.stop('restart', { graceful: true });
    await waitFor('A to hold them stale', () => a.status().peers[0].gracefulRestart.phase === 'restarting', 10_000, 20);
    // Nobody listens any more: each idle hold ends in a refused connection.
    for (let i = 0; i < 3; i++) {
      clock.advance(1_000);
      await waitFor('the attempt to fail', () => a.status().peers[0].state === 'Idle', 5_000, 10);
    }
    assert.equal(a.routes().length, 3);
    assert.equal(a.status().peers[0].gracefulRestart.stalePaths, 3);
    clock.advance(3_000);
    await waitFor('removal at the restart time', () => a.routes().length === 0, 5_000, 10);
  } finally {
    await a.stop();
    await b.stop().catch(() => {});
  }
});

for (const nBit of [true, false]) {
  test(`a graceful stop ${nBit ? 'with the N bit sends Cease / Administrative Reset' : 'without the N bit closes silently'}, and the helper keeps the routes`, async () => {
    const clock = new FakeClock();
    const a = new Speaker({ asn: 64512, routerId: '192.0.2.1', ...FAST, gracefulRestart: { enabled: true } }, { clock });
    const b = speakerB(0, PREFIXES, false, nBit);
    try {
      await learnFromB(a, b);
      await b.stop('upgrade', { graceful: true });
      await waitFor('A to hold them stale', () => a.status().peers[0].gracefulRestart.phase === 'restarting', 10_000, 20);
      assert.equal(a.routes().length, 3);
      const info = a.status().peers[0].info;
      if (nBit) assert.match(info, /NOTIFICATION received 6\/4 .*"upgrade"/);
      else assert.doesNotMatch(info, /NOTIFICATION/);
    } finally {
      await a.stop();
      await b.stop().catch(() => {});
    }
  });
}
