/**
 * One test per RFC 4271 §8.2.2 transition, on a fake clock (no sleeps). Each test drives the pure FSM
 * into a state through the RFC's own events, fires one event (or lets a timer run out by advancing the
 * clock) and checks the next state and the actions the RFC requires.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FSM_DEFAULTS, type FsmAction, type FsmEvent } from '../../../src/bgp/fsm/index.js';
import type { NotificationMessage } from '../../../src/bgp/wire/types.js';
import { CONN, Driver, peerOpen } from './driver.js';

const notif = (code: number, subcode: number): NotificationMessage => ({ type: 'notification', code, subcode, data: new Uint8Array(0) });
const UPDATE: FsmEvent = { kind: 'UpdateMsg', update: { type: 'update', withdrawn: [], attrs: {}, nlri: [] }, problems: [] };

function sentNotification(actions: FsmAction[]): NotificationMessage | undefined {
  for (const a of actions) if (a.kind === 'send' && a.message.type === 'notification') return a.message;
  return undefined;
}
function downOf(actions: FsmAction[]) {
  const d = actions.find((a) => a.kind === 'down');
  return d && d.kind === 'down' ? d : undefined;
}

// ---------------------------------------------------------------- Idle

test('Idle: ManualStart starts the ConnectRetryTimer, opens a connection and moves to Connect', () => {
  const d = new Driver().fire({ kind: 'ManualStart' });
  assert.equal(d.state.name, 'Connect');
  assert.deepEqual(d.kinds(), ['startTimer:ConnectRetry', 'connect']);
  assert.equal(d.state.connectRetryCounter, 0);
});

test('Idle: ManualStart of a passive peer moves to Active and never connects', () => {
  const d = new Driver({ passive: true }).fire({ kind: 'ManualStart' });
  assert.equal(d.state.name, 'Active');
  assert.deepEqual(d.kinds(), ['startTimer:ConnectRetry']);
});

test('Idle: ManualStart_with_PassiveTcpEstablishment (Event 4) moves to Active without connecting', () => {
  const d = new Driver().fire({ kind: 'ManualStart_with_PassiveTcpEstablishment' });
  assert.equal(d.state.name, 'Active');
  assert.equal(d.state.passive, true);
  assert.ok(!d.kinds().includes('connect'));
});

test('Idle: AutomaticStart (Event 3) connects and moves to Connect', () => {
  const d = new Driver().fire({ kind: 'AutomaticStart' });
  assert.equal(d.state.name, 'Connect');
  assert.ok(d.kinds().includes('connect'));
});

test('Idle: AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment (Event 7) moves to Active', () => {
  const d = new Driver().fire({ kind: 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment' });
  assert.equal(d.state.name, 'Active');
  assert.equal(d.state.damp, true);
});

test('Idle: automatic starts are ignored while the IdleHoldTimer runs after a failure', () => {
  const d = new Driver().toConnect().fire({ kind: 'TcpConnectionFails' });
  assert.equal(d.state.name, 'Idle');
  assert.ok(d.running('IdleHold'));
  d.take();
  d.fire({ kind: 'AutomaticStart' });
  assert.equal(d.state.name, 'Idle');
  assert.deepEqual(d.take(), []);
});

test('Idle: the IdleHoldTimer expiring (Event 13) restarts the session', () => {
  const d = new Driver().toConnect().fire({ kind: 'TcpConnectionFails' });
  d.take();
  d.clock.advance(5_000);
  assert.equal(d.state.name, 'Connect');
  assert.ok(d.kinds().includes('connect'));
});

test('Idle: ManualStart overrides a running idle hold', () => {
  const d = new Driver().toConnect().fire({ kind: 'TcpConnectionFails' });
  d.take();
  d.fire({ kind: 'ManualStart' });
  assert.equal(d.state.name, 'Connect');
  assert.ok(!d.running('IdleHold'));
});

test('Idle: ManualStop cancels a pending automatic restart', () => {
  const d = new Driver().toConnect().fire({ kind: 'TcpConnectionFails' });
  d.fire({ kind: 'ManualStop' });
  assert.ok(!d.running('IdleHold'));
  d.clock.advance(600_000);
  assert.equal(d.state.name, 'Idle');
});

const INBOUND = { ...CONN, localPort: 179, remotePort: 40002, outbound: false };

test('Idle: an incoming connection is refused before the session was started', () => {
  const d = new Driver().fire({ kind: 'TcpConnectionConfirmed', conn: INBOUND });
  assert.equal(d.state.name, 'Idle');
  assert.deepEqual(d.kinds(), ['disconnect']);
});

test('Idle: an incoming connection is refused after ManualStop (administratively down)', () => {
  const d = new Driver().toEstablished().fire({ kind: 'ManualStop' });
  d.take();
  d.fire({ kind: 'TcpConnectionConfirmed', conn: INBOUND });
  assert.equal(d.state.name, 'Idle');
  assert.deepEqual(d.kinds(), ['disconnect']);
});

test('Idle: an incoming connection is refused after AutomaticStop', () => {
  const d = new Driver().toEstablished().fire({ kind: 'AutomaticStop', subcode: 1 });
  d.take();
  d.fire({ kind: 'TcpConnectionConfirmed', conn: INBOUND });
  assert.equal(d.state.name, 'Idle');
  assert.deepEqual(d.kinds(), ['disconnect']);
});

test('Idle: an incoming connection while the IdleHoldTimer runs is taken at once: hold stopped, OPEN sent, OpenSent', () => {
  // Deviation from RFC 4271 §8.2.2 Idle (docs/rfc-compliance.md): damping throttles our own attempts only.
  const d = new Driver().toEstablished().fire({ kind: 'NotifMsg', notification: notif(6, 4) });
  assert.ok(d.running('IdleHold'));
  d.take();
  d.fire({ kind: 'TcpConnectionConfirmed', conn: INBOUND });
  assert.equal(d.state.name, 'OpenSent');
  assert.equal(d.state.idleHolding, false);
  assert.deepEqual(d.state.conn, INBOUND);
  assert.deepEqual(d.kinds(), ['stopTimer:IdleHold', 'stopTimer:ConnectRetry', 'send:open', 'startTimer:Hold']);
  assert.ok(!d.running('IdleHold'));
  // The peer's OPEN and KEEPALIVE then establish the session on that connection.
  d.fire({ kind: 'BGPOpen', open: peerOpen() }).fire({ kind: 'KeepAliveMsg' });
  assert.equal(d.state.name, 'Established');
});

test('Idle: with DelayOpen an incoming connection taken in Idle waits in Active for the peer\'s OPEN', () => {
  const d = new Driver({ delayOpenTime: 5 }).toConnect().fire({ kind: 'TcpConnectionFails' });
  d.take();
  d.fire({ kind: 'TcpConnectionConfirmed', conn: INBOUND });
  assert.equal(d.state.name, 'Active');
  assert.equal(d.state.delayOpenRunning, true);
  assert.ok(d.running('DelayOpen') && !d.running('IdleHold'));
  d.fire({ kind: 'BGPOpen', open: peerOpen() });
  assert.equal(d.state.name, 'OpenConfirm');
});

test('Idle: a late outbound connection (Event 16) is still dropped', () => {
  const d = new Driver().toConnect().fire({ kind: 'TcpConnectionFails' });
  d.take();
  d.fire({ kind: 'Tcp_CR_Acked', conn: CONN });
  assert.equal(d.state.name, 'Idle');
  assert.deepEqual(d.kinds(), ['disconnect']);
  assert.ok(d.running('IdleHold'));
});

test('Idle: a connection the peer opened waits 10 s for its OPEN, not the four-minute large hold time', () => {
  const d = new Driver().toConnect().fire({ kind: 'TcpConnectionFails' });
  d.take();
  d.fire({ kind: 'TcpConnectionConfirmed', conn: INBOUND });
  const a = d.take();
  assert.ok(a.some((x) => x.kind === 'startTimer' && x.timer === 'Hold' && x.ms === FSM_DEFAULTS.inboundOpenHoldTime * 1000));
  d.clock.advance(10_000);
  assert.equal(d.state.name, 'Idle');
  assert.deepEqual(sentNotification(d.take()), notif(4, 0));
});

test('Idle: timer, message and error events change nothing', () => {
  const events: FsmEvent[] = [
    { kind: 'ConnectRetryTimer_Expires' }, { kind: 'HoldTimer_Expires' }, { kind: 'KeepaliveTimer_Expires' },
    { kind: 'DelayOpenTimer_Expires' }, { kind: 'Tcp_CR_Invalid' }, { kind: 'TcpConnectionFails' },
    { kind: 'BGPOpen', open: peerOpen() }, { kind: 'BGPHeaderErr', notification: notif(1, 2) },
    { kind: 'BGPOpenMsgErr', notification: notif(2, 4) }, { kind: 'OpenCollisionDump' },
    { kind: 'NotifMsgVerErr', notification: notif(2, 1) }, { kind: 'NotifMsg', notification: notif(6, 2) },
    { kind: 'KeepAliveMsg' }, UPDATE, { kind: 'UpdateMsgErr', notification: notif(3, 1) },
  ];
  for (const e of events) {
    const d = new Driver();
    const before = d.state;
    d.fire(e);
    assert.equal(d.state, before, e.kind);
    assert.deepEqual(d.take(), [], e.kind);
  }
});

// ---------------------------------------------------------------- Connect

test('Connect: Tcp_CR_Acked sends OPEN, sets the HoldTimer to four minutes and moves to OpenSent', () => {
  const d = new Driver().toConnect().fire({ kind: 'Tcp_CR_Acked', conn: CONN });
  assert.equal(d.state.name, 'OpenSent');
  const a = d.take();
  const open = a.find((x) => x.kind === 'send');
  assert.ok(open && open.kind === 'send' && open.message.type === 'open');
  assert.deepEqual(a.find((x) => x.kind === 'startTimer'), { kind: 'startTimer', timer: 'Hold', ms: 240_000 });
  assert.ok(a.some((x) => x.kind === 'stopTimer' && x.timer === 'ConnectRetry'));
});

test('Connect: the ConnectRetryTimer expiring drops the attempt and connects again', () => {
  const d = new Driver().toConnect();
  d.clock.advance(120_000);
  assert.equal(d.state.name, 'Connect');
  assert.deepEqual(d.kinds(), ['disconnect', 'stopTimer:DelayOpen', 'startTimer:ConnectRetry', 'connect']);
});

test('Connect: TcpConnectionFails goes to Idle and arms the idle hold', () => {
  const d = new Driver().toConnect().fire({ kind: 'TcpConnectionFails', reason: 'ECONNREFUSED' });
  assert.equal(d.state.name, 'Idle');
  const a = d.take();
  assert.equal(downOf(a)?.reason.code, 'BGP_TCP_CONNECT_FAILED');
  assert.ok(a.some((x) => x.kind === 'startTimer' && x.timer === 'IdleHold' && x.ms === 5_000));
});

test('Connect: ManualStop goes to Idle, zeroes the ConnectRetryCounter and does not restart', () => {
  const d = new Driver().toConnect().fire({ kind: 'ManualStop' });
  assert.equal(d.state.name, 'Idle');
  assert.equal(d.state.connectRetryCounter, 0);
  const a = d.take();
  assert.equal(sentNotification(a), undefined);
  assert.ok(!a.some((x) => x.kind === 'startTimer'));
});

test('Connect: start events are ignored', () => {
  const d = new Driver().toConnect().fire({ kind: 'ManualStart' }).fire({ kind: 'AutomaticStart' });
  assert.equal(d.state.name, 'Connect');
  assert.deepEqual(d.take(), []);
});

test('Connect: with DelayOpen, TCP coming up starts the DelayOpenTimer instead of sending OPEN', () => {
  const d = new Driver({ delayOpenTime: 5 }).toConnect().fire({ kind: 'Tcp_CR_Acked', conn: CONN });
  assert.equal(d.state.name, 'Connect');
  assert.equal(d.state.delayOpenRunning, true);
  assert.deepEqual(d.kinds(), ['stopTimer:ConnectRetry', 'startTimer:DelayOpen']);
});

test('Connect: the DelayOpenTimer expiring (Event 12) sends OPEN and moves to OpenSent', () => {
  const d = new Driver({ delayOpenTime: 5 }).toConnect().fire({ kind: 'Tcp_CR_Acked', conn: CONN });
  d.take();
  d.clock.advance(5_000);
  assert.equal(d.state.name, 'OpenSent');
  assert.ok(d.kinds().includes('send:open'));
});

test('Connect: an OPEN while the DelayOpenTimer runs (Event 20) is answered with OPEN and KEEPALIVE and moves to OpenConfirm', () => {
  const d = new Driver({ delayOpenTime: 5 }).toConnect().fire({ kind: 'Tcp_CR_Acked', conn: CONN });
  d.take();
  d.fire({ kind: 'BGPOpen', open: peerOpen() });
  assert.equal(d.state.name, 'OpenConfirm');
  const k = d.kinds();
  assert.ok(k.indexOf('send:open') >= 0 && k.indexOf('send:open') < k.indexOf('send:keepalive'));
  assert.ok(!d.running('DelayOpen'));
});

test('Connect: TcpConnectionFails while the DelayOpenTimer runs moves to Active', () => {
  const d = new Driver({ delayOpenTime: 5 }).toConnect().fire({ kind: 'Tcp_CR_Acked', conn: CONN });
  d.fire({ kind: 'TcpConnectionFails' });
  assert.equal(d.state.name, 'Active');
  assert.ok(d.running('ConnectRetry'));
  assert.ok(!d.running('DelayOpen'));
});

test('Connect: an unexpected KEEPALIVE drops the connection, counts a retry and goes to Idle without a NOTIFICATION', () => {
  const d = new Driver().toConnect().fire({ kind: 'KeepAliveMsg' });
  assert.equal(d.state.name, 'Idle');
  assert.equal(d.state.connectRetryCounter, 1);
  assert.equal(sentNotification(d.take()), undefined);
});

test('Connect: a header error is reported with its NOTIFICATION before going to Idle', () => {
  const d = new Driver().toConnect().fire({ kind: 'BGPHeaderErr', notification: notif(1, 1) });
  assert.equal(d.state.name, 'Idle');
  assert.deepEqual(sentNotification(d.take()), notif(1, 1));
});

// ---------------------------------------------------------------- Active

test('Active: the ConnectRetryTimer expiring connects and moves to Connect', () => {
  // An active peer reaches Active when TCP fails while the DelayOpenTimer runs.
  const d = new Driver({ delayOpenTime: 5 }).toConnect().fire({ kind: 'Tcp_CR_Acked', conn: CONN }).fire({ kind: 'TcpConnectionFails' });
  assert.equal(d.state.name, 'Active');
  d.take();
  d.clock.advance(120_000);
  assert.equal(d.state.name, 'Connect');
  assert.ok(d.kinds().includes('connect'));
});

test('Active: AutomaticStart_with_PassiveTcpEstablishment (Event 5) waits in Active', () => {
  const d = new Driver().fire({ kind: 'AutomaticStart_with_PassiveTcpEstablishment' });
  assert.equal(d.state.name, 'Active');
  assert.deepEqual(d.kinds(), ['startTimer:ConnectRetry']);
});

test('Active: a passive peer stays in Active when the ConnectRetryTimer expires', () => {
  const d = new Driver({ passive: true }).fire({ kind: 'ManualStart' });
  d.take();
  d.clock.advance(120_000);
  assert.equal(d.state.name, 'Active');
  assert.deepEqual(d.kinds(), ['startTimer:ConnectRetry']);
});

test('Active: TcpConnectionConfirmed sends OPEN, waits 10 s for the peer\'s OPEN and moves to OpenSent', () => {
  const d = new Driver({ passive: true }).fire({ kind: 'ManualStart' });
  d.take();
  d.fire({ kind: 'TcpConnectionConfirmed', conn: { ...CONN, outbound: false } });
  assert.equal(d.state.name, 'OpenSent');
  const a = d.take();
  assert.ok(a.some((x) => x.kind === 'send' && x.message.type === 'open'));
  assert.ok(a.some((x) => x.kind === 'startTimer' && x.timer === 'Hold' && x.ms === 10_000));
});

test('Connect: an incoming connection (Event 17) sends OPEN and moves to OpenSent with the short hold', () => {
  // The session runs it as a second FSM beside our attempt (fsm/collision.ts incomingVerdict).
  const d = new Driver().toConnect().fire({ kind: 'TcpConnectionConfirmed', conn: { ...CONN, outbound: false } });
  assert.equal(d.state.name, 'OpenSent');
  assert.ok(d.take().some((x) => x.kind === 'startTimer' && x.timer === 'Hold' && x.ms === 10_000));
});

test('OpenSent, OpenConfirm, Established: an incoming connection changes nothing in this FSM (the session races or refuses it)', () => {
  for (const to of ['toOpenSent', 'toOpenConfirm', 'toEstablished'] as const) {
    const d = new Driver()[to]();
    const before = d.state;
    d.fire({ kind: 'TcpConnectionConfirmed', conn: { ...CONN, outbound: false } });
    assert.equal(d.state, before, to);
    assert.deepEqual(d.take(), [], to);
  }
});

test('Active: TcpConnectionFails counts a retry and goes to Idle', () => {
  const d = new Driver({ passive: true }).fire({ kind: 'ManualStart' }).fire({ kind: 'TcpConnectionFails' });
  assert.equal(d.state.name, 'Idle');
  assert.equal(d.state.connectRetryCounter, 1);
});

test('Active: ManualStop while the DelayOpenTimer runs sends a Cease', () => {
  const d = new Driver({ passive: true, delayOpenTime: 5 }).fire({ kind: 'ManualStart' });
  d.fire({ kind: 'TcpConnectionConfirmed', conn: CONN });
  d.take();
  d.fire({ kind: 'ManualStop', subcode: 2, message: 'bye' });
  assert.equal(d.state.name, 'Idle');
  assert.deepEqual(sentNotification(d.take()), { ...notif(6, 2), shutdownMessage: 'bye' });
});

// ---------------------------------------------------------------- OpenSent

test('OpenSent: a valid OPEN is answered with KEEPALIVE, negotiates the smaller hold time and moves to OpenConfirm', () => {
  const d = new Driver().toOpenSent().fire({ kind: 'BGPOpen', open: peerOpen({ holdTime: 30 }) });
  assert.equal(d.state.name, 'OpenConfirm');
  assert.equal(d.state.negotiated?.holdTime, 30);
  assert.equal(d.state.negotiated?.keepaliveTime, 10);
  const a = d.take();
  assert.ok(a.some((x) => x.kind === 'send' && x.message.type === 'keepalive'));
  assert.ok(a.some((x) => x.kind === 'startTimer' && x.timer === 'Hold' && x.ms === 30_000));
  assert.ok(a.some((x) => x.kind === 'startTimer' && x.timer === 'Keepalive' && x.ms === 10_000));
});

test('OpenSent: the four-minute HoldTimer expiring sends Hold Timer Expired and goes to Idle', () => {
  const d = new Driver().toOpenSent();
  d.clock.advance(239_999);
  assert.equal(d.state.name, 'OpenSent');
  d.clock.advance(1);
  assert.equal(d.state.name, 'Idle');
  assert.deepEqual(sentNotification(d.take()), notif(4, 0));
});

test('OpenSent: TcpConnectionFails closes, restarts the ConnectRetryTimer and moves to Active', () => {
  const d = new Driver().toOpenSent().fire({ kind: 'TcpConnectionFails' });
  assert.equal(d.state.name, 'Active');
  assert.ok(d.running('ConnectRetry'));
  assert.ok(!d.running('Hold'));
});

test('OpenSent: an OPEN from the wrong AS is answered with NOTIFICATION 2/2 (Bad Peer AS)', () => {
  const d = new Driver().toOpenSent().fire({ kind: 'BGPOpen', open: peerOpen({ myAs: 65099, capabilities: [{ kind: 'four-octet-as', asn: 65099 }] }) });
  assert.equal(d.state.name, 'Idle');
  const a = d.take();
  assert.deepEqual(sentNotification(a), notif(2, 2));
  assert.equal(downOf(a)?.reason.code, 'BGP_OPEN_ERROR');
});

test('OpenSent: a malformed OPEN (Event 22) is answered with its NOTIFICATION', () => {
  const d = new Driver().toOpenSent().fire({ kind: 'BGPOpenMsgErr', notification: notif(2, 4) });
  assert.equal(d.state.name, 'Idle');
  assert.deepEqual(sentNotification(d.take()), notif(2, 4));
});

test('OpenSent: ManualStop sends Cease with the RFC 8203 shutdown message and does not restart', () => {
  const d = new Driver().toOpenSent().fire({ kind: 'ManualStop', message: 'maintenance' });
  assert.equal(d.state.name, 'Idle');
  const a = d.take();
  assert.deepEqual(sentNotification(a), { ...notif(6, 2), shutdownMessage: 'maintenance' });
  assert.ok(!a.some((x) => x.kind === 'startTimer'));
  assert.equal(d.state.autoRestart, false);
});

test('OpenSent: AutomaticStop sends Cease, counts a retry and does not restart', () => {
  const d = new Driver().toOpenSent().fire({ kind: 'AutomaticStop', subcode: 1 });
  assert.equal(d.state.name, 'Idle');
  assert.equal(d.state.connectRetryCounter, 1);
  const a = d.take();
  assert.deepEqual(sentNotification(a), notif(6, 1));
  assert.ok(!a.some((x) => x.kind === 'startTimer'));
});

test('OpenSent: OpenCollisionDump (Event 23) sends Cease / Connection Collision Resolution', () => {
  const d = new Driver().toOpenSent().fire({ kind: 'OpenCollisionDump' });
  assert.equal(d.state.name, 'Idle');
  const a = d.take();
  assert.deepEqual(sentNotification(a), notif(6, 7));
  assert.equal(downOf(a)?.reason.code, 'BGP_COLLISION');
});

test('OpenSent: a KEEPALIVE before the OPEN is an FSM error with RFC 6608 subcode 1', () => {
  const d = new Driver().toOpenSent().fire({ kind: 'KeepAliveMsg' });
  assert.equal(d.state.name, 'Idle');
  assert.deepEqual(sentNotification(d.take()), notif(5, 1));
});

test('OpenSent: a NOTIFICATION is answered with the FSM error of RFC 6608 and goes to Idle', () => {
  const d = new Driver().toOpenSent().fire({ kind: 'NotifMsg', notification: notif(6, 5) });
  assert.equal(d.state.name, 'Idle');
  const a = d.take();
  assert.deepEqual(sentNotification(a), notif(5, 1));
  assert.deepEqual(downOf(a)?.reason.notificationReceived, notif(6, 5));
});

test('OpenSent: a version-error NOTIFICATION (Event 24) goes to Idle without a reply', () => {
  const d = new Driver().toOpenSent().fire({ kind: 'NotifMsgVerErr', notification: notif(2, 1) });
  assert.equal(d.state.name, 'Idle');
  assert.equal(sentNotification(d.take()), undefined);
});

// ---------------------------------------------------------------- OpenConfirm

test('OpenConfirm: a KEEPALIVE establishes the session, restarts the HoldTimer and reports what was negotiated', () => {
  const d = new Driver().toOpenConfirm().fire({ kind: 'KeepAliveMsg' });
  assert.equal(d.state.name, 'Established');
  const a = d.take();
  const est = a.find((x) => x.kind === 'established');
  assert.ok(est && est.kind === 'established');
  assert.deepEqual(est.negotiated.families, ['ipv4', 'ipv6']);
  assert.equal(est.negotiated.remoteAddress, '192.0.2.2');
  assert.ok(a.some((x) => x.kind === 'startTimer' && x.timer === 'Hold' && x.ms === 30_000));
});

test('OpenConfirm: the KeepaliveTimer expiring sends a KEEPALIVE and restarts the timer', () => {
  const d = new Driver().toOpenConfirm();
  d.clock.advance(10_000);
  assert.equal(d.state.name, 'OpenConfirm');
  assert.deepEqual(d.kinds(), ['send:keepalive', 'startTimer:Keepalive']);
});

test('OpenConfirm: the HoldTimer expiring sends Hold Timer Expired', () => {
  const d = new Driver().toOpenConfirm();
  d.clock.advance(30_000);
  assert.equal(d.state.name, 'Idle');
  assert.deepEqual(sentNotification(d.take()), notif(4, 0));
});

test('OpenConfirm: a NOTIFICATION goes to Idle without a reply', () => {
  const d = new Driver().toOpenConfirm().fire({ kind: 'NotifMsg', notification: notif(6, 2) });
  assert.equal(d.state.name, 'Idle');
  const a = d.take();
  assert.equal(sentNotification(a), undefined);
  assert.equal(downOf(a)?.reason.code, 'BGP_NOTIFICATION_RECEIVED');
});

test('OpenConfirm: TcpConnectionFails goes to Idle and counts a retry', () => {
  const d = new Driver().toOpenConfirm().fire({ kind: 'TcpConnectionFails' });
  assert.equal(d.state.name, 'Idle');
  assert.equal(d.state.connectRetryCounter, 1);
});

test('OpenConfirm: an UPDATE before the KEEPALIVE is an FSM error with RFC 6608 subcode 2', () => {
  const d = new Driver().toOpenConfirm().fire(UPDATE);
  assert.equal(d.state.name, 'Idle');
  assert.deepEqual(sentNotification(d.take()), notif(5, 2));
});

test('OpenConfirm: a second OPEN on the same connection is an FSM error with subcode 2', () => {
  const d = new Driver().toOpenConfirm().fire({ kind: 'BGPOpen', open: peerOpen() });
  assert.equal(d.state.name, 'Idle');
  assert.deepEqual(sentNotification(d.take()), notif(5, 2));
});

test('OpenConfirm: OpenCollisionDump sends Cease / Connection Collision Resolution', () => {
  const d = new Driver().toOpenConfirm().fire({ kind: 'OpenCollisionDump' });
  assert.deepEqual(sentNotification(d.take()), notif(6, 7));
});

test('OpenConfirm: ManualStop sends Cease and does not restart', () => {
  const d = new Driver().toOpenConfirm().fire({ kind: 'ManualStop' });
  assert.equal(d.state.name, 'Idle');
  assert.deepEqual(sentNotification(d.take()), notif(6, 2));
});

test('OpenConfirm: a hold time of zero runs neither KeepaliveTimer nor HoldTimer', () => {
  const d = new Driver().toOpenConfirm(peerOpen({ holdTime: 0 }));
  assert.equal(d.state.negotiated?.holdTime, 0);
  assert.ok(!d.running('Hold') && !d.running('Keepalive'));
  d.fire({ kind: 'KeepAliveMsg' });
  assert.equal(d.state.name, 'Established');
  d.clock.advance(3_600_000);
  assert.equal(d.state.name, 'Established');
});

// ---------------------------------------------------------------- Established

test('Established: the KeepaliveTimer sends a KEEPALIVE every third of the hold time', () => {
  const d = new Driver().toEstablished();
  d.clock.advance(10_000);
  assert.deepEqual(d.sent(), [{ type: 'keepalive' }]);
  d.clock.advance(10_000);
  assert.deepEqual(d.sent(), [{ type: 'keepalive' }]);
});

test('Established: a KEEPALIVE restarts the HoldTimer', () => {
  const d = new Driver().toEstablished();
  d.clock.advance(29_000);
  d.fire({ kind: 'KeepAliveMsg' });
  d.clock.advance(29_000);
  assert.equal(d.state.name, 'Established');
});

test('Established: an UPDATE is delivered and restarts the HoldTimer', () => {
  const d = new Driver().toEstablished();
  d.clock.advance(29_000);
  d.take();
  d.fire(UPDATE);
  assert.ok(d.take().some((x) => x.kind === 'update'));
  d.clock.advance(29_000);
  assert.equal(d.state.name, 'Established');
});

test('Established: the HoldTimer expiring sends Hold Timer Expired and counts a flap', () => {
  const d = new Driver().toEstablished();
  d.clock.advance(30_000);
  assert.equal(d.state.name, 'Idle');
  assert.equal(d.state.flaps, 1);
  const a = d.take();
  assert.deepEqual(sentNotification(a), notif(4, 0));
  const down = downOf(a);
  assert.equal(down?.reason.code, 'BGP_HOLD_TIMER_EXPIRED');
  assert.equal(down?.wasEstablished, true);
});

test('Established: a malformed UPDATE (Event 28) is answered with its NOTIFICATION', () => {
  const d = new Driver().toEstablished().fire({ kind: 'UpdateMsgErr', notification: notif(3, 11) });
  assert.equal(d.state.name, 'Idle');
  assert.deepEqual(sentNotification(d.take()), notif(3, 11));
});

test('Established: an OPEN is an FSM error with RFC 6608 subcode 3', () => {
  const d = new Driver().toEstablished().fire({ kind: 'BGPOpen', open: peerOpen() });
  assert.equal(d.state.name, 'Idle');
  assert.deepEqual(sentNotification(d.take()), notif(5, 3));
});

test('Established: a NOTIFICATION from the peer goes to Idle without a reply', () => {
  const d = new Driver().toEstablished().fire({ kind: 'NotifMsg', notification: notif(6, 4) });
  assert.equal(d.state.name, 'Idle');
  assert.equal(sentNotification(d.take()), undefined);
});

test('Established: TcpConnectionFails goes to Idle and arms the idle hold', () => {
  const d = new Driver().toEstablished().fire({ kind: 'TcpConnectionFails' });
  assert.equal(d.state.name, 'Idle');
  assert.ok(d.running('IdleHold'));
});

test('Established: ManualStop sends Cease with the shutdown message, zeroes the counter and stays down', () => {
  const d = new Driver().toEstablished().fire({ kind: 'ManualStop', subcode: 4, message: 'reset' });
  assert.equal(d.state.name, 'Idle');
  assert.equal(d.state.connectRetryCounter, 0);
  assert.deepEqual(sentNotification(d.take()), { ...notif(6, 4), shutdownMessage: 'reset' });
  d.clock.advance(600_000);
  assert.equal(d.state.name, 'Idle');
});

test('Established: a ROUTE-REFRESH is delivered', () => {
  const d = new Driver().toEstablished().fire({ kind: 'RouteRefreshMsg', message: { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 } });
  assert.equal(d.state.name, 'Established');
  assert.ok(d.take().some((x) => x.kind === 'routeRefresh'));
});

test('Established: a header error is answered with the Message Header Error NOTIFICATION', () => {
  const d = new Driver().toEstablished().fire({ kind: 'BGPHeaderErr', notification: notif(1, 2) });
  assert.deepEqual(sentNotification(d.take()), notif(1, 2));
});

// ---------------------------------------------------------------- damping

/** One oscillation: TCP up, then an OPEN from the wrong AS sends us back to Idle. */
function failAfterOpen(d: Driver): void {
  d.fire({ kind: 'Tcp_CR_Acked', conn: CONN }).fire({ kind: 'BGPOpen', open: peerOpen({ myAs: 65099, capabilities: [] }) });
}

function idleHoldOf(d: Driver): number {
  const a = d.take().find((x) => x.kind === 'startTimer' && x.timer === 'IdleHold');
  return a && a.kind === 'startTimer' ? a.ms : -1;
}

test('Damping: the idle hold doubles with each failure after TCP came up and stops at the maximum', () => {
  const d = new Driver().toConnect();
  const holds: number[] = [];
  for (let i = 0; i < 7; i++) {
    d.take();
    failAfterOpen(d);
    holds.push(idleHoldOf(d));
    d.clock.advance(holds[i]);
    assert.equal(d.state.name, 'Connect');
  }
  assert.deepEqual(holds, [5_000, 10_000, 20_000, 40_000, 80_000, 120_000, 120_000]);
});

test('Damping: refused connections back off too, but only up to the connect retry time', () => {
  const d = new Driver({ idleHoldTime: 1, connectRetryTime: 30 }).toConnect();
  const holds: number[] = [];
  for (let i = 0; i < 7; i++) {
    d.take();
    d.fire({ kind: 'TcpConnectionFails', reason: 'ECONNREFUSED' });
    holds.push(idleHoldOf(d));
    d.clock.advance(holds[i]);
    assert.equal(d.state.name, 'Connect');
  }
  assert.deepEqual(holds, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
});

test('Damping: a refused connection never shortens a longer back-off built by oscillations', () => {
  const d = new Driver({ connectRetryTime: 5 }).toConnect();
  failAfterOpen(d);
  assert.equal(idleHoldOf(d), 5_000);
  d.clock.advance(5_000);
  d.take();
  d.fire({ kind: 'TcpConnectionFails', reason: 'ECONNREFUSED' });
  assert.equal(idleHoldOf(d), 10_000);
  d.clock.advance(10_000);
  d.fire({ kind: 'TcpConnectionFails', reason: 'ECONNREFUSED' });
  assert.equal(idleHoldOf(d), 10_000);
});

// ---------------------------------------------------------------- reconnecting after a peer's restart

/** A Driver with the shipped defaults for the back-off, Established and up long enough to be stable. */
function stableSession(): Driver {
  const d = new Driver({ idleHoldTime: FSM_DEFAULTS.idleHoldTime, idleHoldMaxTime: FSM_DEFAULTS.idleHoldMaxTime, connectRetryTime: 30 }).toEstablished(peerOpen({ holdTime: 0 }));
  d.clock.advance(FSM_DEFAULTS.idleHoldMaxTime * 1000);
  d.take();
  return d;
}

for (const [what, ev] of [
  ['a Cease from the peer', { kind: 'NotifMsg', notification: notif(6, 4) }],
  ['a TCP reset', { kind: 'TcpConnectionFails', reason: 'ECONNRESET' }],
  ['a close without NOTIFICATION (its graceful restart)', { kind: 'TcpConnectionFails', reason: 'TCP connection closed' }],
] as Array<[string, FsmEvent]>) {
  test(`Reconnect: after ${what} the first attempt comes within 1 s, then the attempts back off`, () => {
    const d = stableSession();
    d.fire(ev);
    assert.equal(d.state.name, 'Idle');
    const first = idleHoldOf(d);
    assert.equal(first, 1_000); // the session jitters it to 0.5–1 s
    d.clock.advance(first);
    assert.equal(d.state.name, 'Connect');
    // The restarting peer is not listening yet: each refusal doubles the wait (to the connect retry time).
    const holds: number[] = [];
    for (let i = 0; i < 3; i++) {
      d.take();
      d.fire({ kind: 'TcpConnectionFails', reason: 'ECONNREFUSED' });
      holds.push(idleHoldOf(d));
      d.clock.advance(holds[i]);
    }
    assert.deepEqual(holds, [2_000, 4_000, 8_000]);
  });
}

test('Reconnect: a session that was Established long enough starts the back-off from 1 s again', () => {
  const d = stableSession();
  d.fire({ kind: 'TcpConnectionFails' });
  d.clock.advance(idleHoldOf(d));
  for (let i = 0; i < 3; i++) {
    d.fire({ kind: 'TcpConnectionFails', reason: 'ECONNREFUSED' });
    d.clock.advance(idleHoldOf(d));
  }
  assert.equal(d.state.idleHoldMs, 16_000);
  d.fire({ kind: 'Tcp_CR_Acked', conn: CONN }).fire({ kind: 'BGPOpen', open: peerOpen({ holdTime: 0 }) }).fire({ kind: 'KeepAliveMsg' });
  d.clock.advance(120_000);
  d.take();
  d.fire({ kind: 'NotifMsg', notification: notif(6, 2) });
  assert.equal(idleHoldOf(d), 1_000);
});

// ---------------------------------------------------------------- InternalError (Petrel extension)

test('InternalError in Established sends Cease / Administrative Reset, goes to Idle and restarts after the idle hold', () => {
  const d = new Driver().toEstablished().fire({ kind: 'InternalError', message: 'listener bug' });
  assert.equal(d.state.name, 'Idle');
  const a = d.take();
  const n = sentNotification(a);
  assert.equal(n?.code, 6);
  assert.equal(n?.subcode, 4);
  assert.equal(downOf(a)?.reason.code, 'BGP_INTERNAL_ERROR');
  assert.equal(downOf(a)?.wasEstablished, true);
  d.clock.advance(5_000);
  assert.equal(d.state.name, 'Connect');
});

test('InternalError in Connect drops the attempt without a NOTIFICATION; in Idle it changes nothing', () => {
  const d = new Driver().toConnect().fire({ kind: 'InternalError', message: 'bug' });
  assert.equal(d.state.name, 'Idle');
  assert.equal(sentNotification(d.take()), undefined);
  const before = d.state;
  d.fire({ kind: 'InternalError', message: 'bug' });
  assert.equal(d.state, before);
  assert.deepEqual(d.take(), []);
});

test('Damping: a session that stays Established long enough resets the back-off', () => {
  const d = new Driver().toConnect();
  for (let i = 0; i < 3; i++) {
    failAfterOpen(d);
    d.clock.advance(d.clock.nextIn() ?? 0);
  }
  assert.equal(d.state.idleHoldMs, 40_000);
  d.fire({ kind: 'Tcp_CR_Acked', conn: CONN }).fire({ kind: 'BGPOpen', open: peerOpen({ holdTime: 0 }) }).fire({ kind: 'KeepAliveMsg' });
  d.clock.advance(120_000);
  assert.equal(d.state.name, 'Established');
  assert.equal(d.state.idleHoldMs, 5_000);
});

test('Damping: a session that flaps before the stable time keeps the longer back-off', () => {
  const d = new Driver().toConnect();
  failAfterOpen(d);
  d.clock.advance(5_000);
  d.fire({ kind: 'Tcp_CR_Acked', conn: CONN }).fire({ kind: 'BGPOpen', open: peerOpen({ holdTime: 0 }) }).fire({ kind: 'KeepAliveMsg' });
  d.clock.advance(60_000);
  d.take();
  d.fire({ kind: 'TcpConnectionFails' });
  assert.equal(idleHoldOf(d), 10_000);
});
