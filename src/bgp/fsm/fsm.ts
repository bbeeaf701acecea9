/**
 * RFC 4271 §8.2.2 as one pure function: `step(state, event) -> { state, actions }`.
 *
 * Each of the six states is one `switch` over every event kind, written in the order of the RFC's
 * text for that state, so a reader can hold the two side by side. Nothing here touches a socket or a
 * clock: "start the HoldTimer" is an action the session performs, and its expiry comes back as
 * Event 10. That is what lets test/bgp/fsm walk every transition on a fake clock without sleeping.
 *
 * Choices the RFC leaves open (§8.1.1 optional attributes), as Petrel sets them:
 *  - SendNOTIFICATIONwithoutOPEN = TRUE: header/OPEN errors are reported even before our OPEN went out.
 *  - DampPeerOscillations, for OUR connection attempts only: every fall back to Idle that was not an
 *    operator stop arms the IdleHoldTimer; automatic start events are ignored while it runs; Event 13
 *    restarts. The first hold after a session that was stable is idleHoldTime (1 s by default, which
 *    the session jitters to 50–100 %), so a peer that restarted is called back within a second. Each
 *    further failure doubles it: up to idleHoldMaxTime (120 s) for failures after TCP came up
 *    (OpenSent, OpenConfirm, Established), up to connectRetryTime for refused or failed connects (a
 *    peer that is simply not there is tried at the RFC's connect-retry pace, never slower). The
 *    back-off returns to its first value after the session stayed Established for idleHoldMaxTime.
 *  - Deviation from §8.2.2 Idle ("refuses all incoming BGP connections"): a connection the peer opens
 *    is taken in Idle too — while the IdleHoldTimer runs as well — unless the session was stopped
 *    (ManualStop/AutomaticStop, or never started). Damping throttles our own reconnects; it must not
 *    turn away a peer that came back and calls us (BIRD, FRR and GoBGP take it too).
 *  - A connection the peer opened waits inboundOpenHoldTime (10 s), not the four minutes of
 *    largeHoldTime, for the peer's OPEN: a stray silent connection cannot hold the peer's slot.
 *  - CollisionDetectEstablishedState = FALSE: the session closes a new connection to an Established peer.
 *  - InternalError (Petrel's own event): a bug hit while handling this connection resets it — with
 *    Cease / Administrative Reset once our OPEN went out — and restarts after the idle hold.
 *  - A passive peer (PassiveTcpEstablishment) never connects: in Active, ConnectRetryTimer expiry only
 *    restarts the timer instead of moving to Connect (the RFC text would connect).
 *  - BGPHeaderErr (Event 21) in Established sends the Message Header Error of §6.1, not the FSM error
 *    that §8.2.2's catch-all would send: the peer learns what was wrong with its bytes.
 * An event the RFC does not expect in OpenSent, OpenConfirm or Established sends the FSM Error
 * NOTIFICATION with the RFC 6608 subcode of that state.
 */
import { CeaseSubcode, ErrorCode, FsmSubcode, type NotificationMessage } from '../wire/types.js';
import { encodeShutdownData } from '../wire/notification.js';
import type { SessionDown } from '../session/types.js';
import { buildOpen, notification, validateOpen } from './open.js';
import { FSM_DEFAULTS, type FsmAction, type FsmConfig, type FsmEvent, type FsmState, type StepResult, type TimerName } from './types.js';

const KEEPALIVE = { type: 'keepalive' } as const;
const ALL_TIMERS: TimerName[] = ['ConnectRetry', 'Hold', 'Keepalive', 'DelayOpen', 'Stable'];

export function initialState(cfg: FsmConfig): FsmState {
  return {
    cfg,
    name: 'Idle',
    connectRetryCounter: 0,
    passive: cfg.passive,
    damp: true,
    autoRestart: false,
    idleHolding: false,
    idleHoldMs: cfg.idleHoldTime * 1000,
    delayOpenRunning: false,
    flaps: 0,
  };
}

const start = (t: TimerName, ms: number): FsmAction => ({ kind: 'startTimer', timer: t, ms });
const stop = (t: TimerName): FsmAction => ({ kind: 'stopTimer', timer: t });
const send = (message: NotificationMessage | typeof KEEPALIVE | ReturnType<typeof buildOpen>): FsmAction => ({ kind: 'send', message });
const same = (s: FsmState): StepResult => ({ state: s, actions: [] });

function cease(subcode: number | undefined, message?: string): NotificationMessage {
  const n = notification(ErrorCode.Cease, subcode ?? CeaseSubcode.AdministrativeShutdown);
  return message !== undefined ? { ...n, shutdownMessage: message } : n;
}
const fsmError = (subcode: number) => notification(ErrorCode.Fsm, subcode);
const holdExpired = () => notification(ErrorCode.HoldTimerExpired, 0);

interface IdleOpts {
  notify?: NotificationMessage;
  counter: 'zero' | 'inc' | 'keep';
  restart: boolean;
  down: SessionDown;
}

/** Every way into Idle: optional NOTIFICATION, all timers stopped, TCP dropped, then maybe the idle hold. */
function toIdle(s: FsmState, o: IdleOpts): StepResult {
  const actions: FsmAction[] = [];
  if (o.notify) actions.push(send(o.notify));
  for (const t of ALL_TIMERS) actions.push(stop(t));
  actions.push({ kind: 'disconnect' });
  const wasEstablished = s.name === 'Established';
  actions.push({ kind: 'down', reason: { ...o.down, notificationSent: o.notify ?? o.down.notificationSent, wasEstablished }, wasEstablished });
  let idleHoldMs = s.idleHoldMs;
  let idleHolding = false;
  if (o.restart) {
    actions.push(start('IdleHold', idleHoldMs));
    idleHolding = true;
    // The next hold doubles. A session that oscillated (failed after TCP came up) backs off up to
    // idleHoldMaxTime; a connect that was refused or lost in Connect/Active only up to the connect
    // retry time, so a peer that is down is retried at the RFC's pace and found soon after it is back.
    const oscillated = s.name !== 'Connect' && s.name !== 'Active';
    const cap = oscillated ? s.cfg.idleHoldMaxTime * 1000 : Math.min(s.cfg.idleHoldMaxTime, s.cfg.connectRetryTime) * 1000;
    if (s.damp) idleHoldMs = Math.max(idleHoldMs, Math.min(idleHoldMs * 2, cap));
  }
  const counter = o.counter === 'zero' ? 0 : o.counter === 'inc' ? s.connectRetryCounter + 1 : s.connectRetryCounter;
  return {
    state: {
      ...s,
      name: 'Idle',
      connectRetryCounter: counter,
      autoRestart: o.restart,
      idleHolding,
      idleHoldMs,
      delayOpenRunning: false,
      conn: undefined,
      negotiated: undefined,
      flaps: s.flaps + (wasEstablished ? 1 : 0),
    },
    actions,
  };
}

function down(code: string, message: string, extra?: Partial<SessionDown>): SessionDown {
  return { code, message, ...extra };
}

/** Events 1 and 3–7 in Idle: begin connecting (or listening, for a passive peer). */
function begin(s: FsmState, passive: boolean, damp: boolean, manual: boolean): StepResult {
  const cr = s.cfg.connectRetryTime * 1000;
  const actions: FsmAction[] = [];
  if (s.idleHolding) actions.push(stop('IdleHold'));
  actions.push(start('ConnectRetry', cr));
  if (!passive) actions.push({ kind: 'connect' });
  return {
    state: {
      ...s,
      name: passive ? 'Active' : 'Connect',
      connectRetryCounter: 0,
      passive,
      damp,
      autoRestart: true,
      idleHolding: false,
      idleHoldMs: manual ? s.cfg.idleHoldTime * 1000 : s.idleHoldMs,
      delayOpenRunning: false,
    },
    actions,
  };
}

/**
 * The HoldTimer while we wait for the peer's OPEN (OpenSent): §8.2.2's large value (4 minutes) on a
 * connection we opened; a few seconds on one the peer opened (see inboundOpenHoldTime).
 */
function openSentHoldMs(conn: FsmState['conn']): number {
  return (conn && !conn.outbound ? FSM_DEFAULTS.inboundOpenHoldTime : FSM_DEFAULTS.largeHoldTime) * 1000;
}

/** TCP is up (Events 16/17 in Connect or Active): send OPEN now, or wait DelayOpenTime for the peer's. */
function tcpUp(s: FsmState, conn: NonNullable<FsmState['conn']>): StepResult {
  if (s.cfg.delayOpenTime > 0) {
    return { state: { ...s, conn, delayOpenRunning: true }, actions: [stop('ConnectRetry'), start('DelayOpen', s.cfg.delayOpenTime * 1000)] };
  }
  return {
    state: { ...s, name: 'OpenSent', conn, delayOpenRunning: false },
    actions: [stop('ConnectRetry'), send(buildOpen(s.cfg)), start('Hold', openSentHoldMs(conn))],
  };
}

/** DelayOpenTimer expired in Connect or Active (Event 12): our OPEN goes out. */
function delayOpenExpired(s: FsmState): StepResult {
  return {
    state: { ...s, name: 'OpenSent', delayOpenRunning: false },
    actions: [stop('ConnectRetry'), stop('DelayOpen'), send(buildOpen(s.cfg)), start('Hold', openSentHoldMs(s.conn))],
  };
}

/**
 * Event 17 in Idle (Petrel's deviation from §8.2.2, see the header): a started session takes the
 * peer's connection at once, idle hold or not, as Active would. A stopped one refuses it.
 */
function acceptInIdle(s: FsmState, conn: NonNullable<FsmState['conn']>): StepResult {
  if (!s.autoRestart) return { state: s, actions: [{ kind: 'disconnect' }] };
  const r = tcpUp({ ...s, name: 'Active', idleHolding: false, delayOpenRunning: false }, conn);
  return { state: r.state, actions: s.idleHolding ? [stop('IdleHold'), ...r.actions] : r.actions };
}

/** InternalError (Petrel extension): this connection is reset, with a Cease once our OPEN went out. */
function internalError(s: FsmState, message: string, notify: boolean): StepResult {
  return toIdle(s, {
    notify: notify ? cease(CeaseSubcode.AdministrativeReset, 'internal error, session reset') : undefined,
    counter: 'inc',
    restart: true,
    down: down('BGP_INTERNAL_ERROR', `internal error: ${message}`),
  });
}

/** A valid OPEN (Event 19 in OpenSent, Event 20 in Connect/Active) → OpenConfirm; an invalid one → Event 22. */
function openReceived(s: FsmState, e: Extract<FsmEvent, { kind: 'BGPOpen' }>, sendOurOpen: boolean): StepResult {
  const check = validateOpen(s.cfg, e.open, s.conn);
  if (!check.ok) {
    return toIdle(s, { notify: check.notification, counter: 'inc', restart: true, down: down('BGP_OPEN_ERROR', check.reason) });
  }
  const n = check.negotiated;
  const actions: FsmAction[] = [stop('ConnectRetry'), stop('DelayOpen')];
  if (sendOurOpen) actions.push(send(buildOpen(s.cfg)));
  actions.push(send(KEEPALIVE));
  if (n.holdTime > 0) {
    actions.push(start('Keepalive', n.keepaliveTime * 1000), start('Hold', n.holdTime * 1000));
  } else {
    actions.push(stop('Keepalive'), stop('Hold'));
  }
  return { state: { ...s, name: 'OpenConfirm', delayOpenRunning: false, negotiated: n }, actions };
}

function idle(s: FsmState, e: FsmEvent): StepResult {
  switch (e.kind) {
    case 'ManualStart': // Event 1: the operator overrides any idle hold.
      return begin(s, s.cfg.passive, s.damp, true);
    case 'ManualStart_with_PassiveTcpEstablishment': // Event 4
      return begin(s, true, s.damp, true);
    case 'AutomaticStart': // Event 3
    case 'AutomaticStart_with_PassiveTcpEstablishment': // Event 5
    case 'AutomaticStart_with_DampPeerOscillations': // Event 6
    case 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment': // Event 7
      // §8.1.1 DampPeerOscillations: automatic starts wait for the IdleHoldTimer.
      if (s.idleHolding) return same(s);
      return begin(s, s.cfg.passive || e.kind.includes('Passive'), s.damp || e.kind.includes('Damp'), false);
    case 'IdleHoldTimer_Expires': // Event 13: the damped automatic restart.
      if (!s.idleHolding || !s.autoRestart) return same({ ...s, idleHolding: false });
      return begin({ ...s, idleHolding: false }, s.passive, s.damp, false);
    case 'TcpConnection_Valid': // Event 14
    case 'Tcp_CR_Acked': // Event 16: a late outbound connect is dropped.
      return { state: s, actions: [{ kind: 'disconnect' }] };
    case 'TcpConnectionConfirmed': // Event 17: taken unless stopped (deviation from §8.2.2, see the header).
      return acceptInIdle(s, e.conn);
    case 'ManualStop': // Event 2: ignored in Idle, but it cancels any pending automatic restart.
    case 'AutomaticStop': // Event 8
      return { state: { ...s, autoRestart: false, idleHolding: false }, actions: s.idleHolding ? [stop('IdleHold')] : [] };
    case 'ConnectRetryTimer_Expires': // Events 9–12, 15, 18–28: no change in Idle.
    case 'HoldTimer_Expires':
    case 'KeepaliveTimer_Expires':
    case 'DelayOpenTimer_Expires':
    case 'Tcp_CR_Invalid':
    case 'TcpConnectionFails':
    case 'BGPOpen':
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
    case 'OpenCollisionDump':
    case 'NotifMsgVerErr':
    case 'NotifMsg':
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
    case 'StableTimer_Expires':
    case 'InternalError':
      return same(s);
  }
}

/** Connect and Active differ only in a few events, so they share one switch (RFC text of each noted). */
function connectOrActive(s: FsmState, e: FsmEvent): StepResult {
  const inConnect = s.name === 'Connect';
  switch (e.kind) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_DampPeerOscillations':
    case 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment':
      return same(s); // Events 1, 3–7 are ignored.
    case 'ManualStop': // Event 2; in Active with the DelayOpenTimer running a Cease goes out (SendNOTIFICATIONwithoutOPEN).
      return toIdle(s, {
        notify: !inConnect && s.delayOpenRunning ? cease(e.subcode, e.message) : undefined,
        counter: 'zero',
        restart: false,
        down: down('BGP_ADMIN_STOP', e.message ?? 'stopped by the operator'),
      });
    case 'ConnectRetryTimer_Expires': // Event 9
      if (inConnect) {
        return { state: { ...s, delayOpenRunning: false }, actions: [{ kind: 'disconnect' }, stop('DelayOpen'), start('ConnectRetry', s.cfg.connectRetryTime * 1000), { kind: 'connect' }] };
      }
      if (s.passive) return { state: s, actions: [start('ConnectRetry', s.cfg.connectRetryTime * 1000)] };
      return { state: { ...s, name: 'Connect' }, actions: [start('ConnectRetry', s.cfg.connectRetryTime * 1000), { kind: 'connect' }] };
    case 'DelayOpenTimer_Expires': // Event 12
      return s.delayOpenRunning ? delayOpenExpired(s) : same(s);
    case 'TcpConnection_Valid': // Event 14
    case 'Tcp_CR_Invalid': // Event 15
      return same(s);
    case 'Tcp_CR_Acked': // Event 16
    case 'TcpConnectionConfirmed': // Event 17
      return tcpUp(s, e.conn);
    case 'TcpConnectionFails': // Event 18
      if (s.delayOpenRunning) {
        return { state: { ...s, name: 'Active', delayOpenRunning: false, conn: undefined }, actions: [start('ConnectRetry', s.cfg.connectRetryTime * 1000), stop('DelayOpen'), { kind: 'disconnect' }] };
      }
      return toIdle(s, { counter: inConnect ? 'keep' : 'inc', restart: true, down: down(inConnect ? 'BGP_TCP_CONNECT_FAILED' : 'BGP_TCP_CLOSED', e.reason ?? 'TCP connection failed') });
    case 'BGPOpen': // Event 20 when the DelayOpenTimer runs; otherwise an unexpected Event 19.
      if (s.delayOpenRunning) return openReceived(s, e, true);
      return toIdle(s, { counter: 'inc', restart: true, down: down('BGP_FSM_ERROR', `OPEN received in ${s.name} before the TCP connection was confirmed`) });
    case 'BGPHeaderErr': // Event 21
    case 'BGPOpenMsgErr': // Event 22
      return toIdle(s, { notify: e.notification, counter: 'inc', restart: true, down: down(e.kind === 'BGPHeaderErr' ? 'BGP_HEADER_ERROR' : 'BGP_OPEN_ERROR', `error in ${s.name}`) });
    case 'NotifMsgVerErr': // Event 24
      return toIdle(s, { counter: s.delayOpenRunning ? 'keep' : 'inc', restart: true, down: down('BGP_NOTIFICATION_RECEIVED', 'version error from the peer', { notificationReceived: e.notification }) });
    case 'StableTimer_Expires':
      return same(s);
    case 'InternalError': // with the DelayOpenTimer running no OPEN went out yet: no NOTIFICATION
      return internalError(s, e.message, false);
    case 'AutomaticStop': // Event 8 and the other unexpected events: drop, count, Idle.
    case 'HoldTimer_Expires':
    case 'KeepaliveTimer_Expires':
    case 'IdleHoldTimer_Expires':
    case 'OpenCollisionDump':
    case 'NotifMsg':
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
      return toIdle(s, {
        counter: 'inc',
        restart: e.kind !== 'AutomaticStop',
        down: e.kind === 'NotifMsg'
          ? down('BGP_NOTIFICATION_RECEIVED', 'NOTIFICATION received', { notificationReceived: e.notification })
          : down(e.kind === 'AutomaticStop' ? 'BGP_AUTOMATIC_STOP' : 'BGP_FSM_ERROR', `${e.kind} in ${s.name}`),
      });
  }
}

// Helpers for the three states after TCP is up (OpenSent, OpenConfirm, Established), where the RFC
// handles these events the same way.
function manualStop(s: FsmState, e: { subcode?: number; message?: string; graceful?: boolean }): StepResult {
  const gr = s.name === 'Established' ? s.negotiated?.gracefulRestart : undefined;
  if (e.graceful && gr) {
    // RFC 4724 §4.1: a speaker about to restart with its forwarding state kept just closes the TCP
    // connection (a Cease would tell the peer to drop our routes at once); with RFC 8538's N bit a
    // Cease other than Hard Reset keeps them too, and says why.
    const message = e.message ?? 'stopped for a graceful restart (RFC 4724)';
    return toIdle(s, {
      ...(gr.notification ? { notify: cease(CeaseSubcode.AdministrativeReset, message) } : {}),
      counter: 'zero', restart: false, down: down('BGP_GRACEFUL_STOP', message),
    });
  }
  // Event 2: Cease (RFC 4486 subcode, RFC 8203 message), ConnectRetryCounter to zero, no restart.
  // With the N bit, wrapped in a Hard Reset (RFC 8538 §3, §5): the peer must not keep our routes.
  return toIdle(s, { notify: hardResetIfN(gr, cease(e.subcode, e.message)), counter: 'zero', restart: false, down: down('BGP_ADMIN_STOP', e.message ?? 'stopped by the operator') });
}
function automaticStop(s: FsmState, e: { subcode?: number; message?: string; data?: Uint8Array }): StepResult {
  // Event 8
  const gr = s.name === 'Established' ? s.negotiated?.gracefulRestart : undefined;
  const n = e.data ? notification(ErrorCode.Cease, e.subcode ?? CeaseSubcode.AdministrativeShutdown, e.data) : cease(e.subcode, e.message);
  return toIdle(s, { notify: hardResetIfN(gr, n), counter: 'inc', restart: false, down: down('BGP_AUTOMATIC_STOP', e.message ?? 'stopped automatically') });
}
/**
 * RFC 8538 §3: Cease / Hard Reset whose data is the NOTIFICATION it stands for (code, subcode,
 * data) — when the N bit was negotiated; otherwise `n` itself.
 */
function hardResetIfN(gr: { notification: boolean } | undefined, n: NotificationMessage): NotificationMessage {
  if (!gr?.notification) return n;
  const inner = n.data.length > 0 || n.shutdownMessage === undefined ? n.data : encodeShutdownData(n.shutdownMessage);
  const data = new Uint8Array(2 + inner.length);
  data[0] = n.code;
  data[1] = n.subcode;
  data.set(inner, 2);
  return notification(ErrorCode.Cease, CeaseSubcode.HardReset, data);
}
function holdTimerExpired(s: FsmState): StepResult {
  // Event 10: NOTIFICATION Hold Timer Expired (§6.5).
  return toIdle(s, { notify: holdExpired(), counter: 'inc', restart: true, down: down('BGP_HOLD_TIMER_EXPIRED', `no message from the peer within the hold time in ${s.name}`) });
}
function collisionDump(s: FsmState): StepResult {
  // Event 23: Cease / Connection Collision Resolution (RFC 4486 subcode 7).
  return toIdle(s, { notify: cease(CeaseSubcode.ConnectionCollisionResolution), counter: 'inc', restart: true, down: down('BGP_COLLISION', 'connection dropped by collision resolution (RFC 4271 §6.8)') });
}
function notifVerErr(s: FsmState, n: NotificationMessage): StepResult {
  // Event 24
  return toIdle(s, { counter: s.name === 'OpenSent' ? 'keep' : 'inc', restart: true, down: down('BGP_NOTIFICATION_RECEIVED', 'version error from the peer', { notificationReceived: n }) });
}
function withNotify(s: FsmState, n: NotificationMessage, code: string, message: string): StepResult {
  // Events 21, 22, 28: the error's own NOTIFICATION goes out.
  return toIdle(s, { notify: n, counter: 'inc', restart: true, down: down(code, message) });
}
function peerGone(s: FsmState, e: { kind: 'TcpConnectionFails'; reason?: string } | { kind: 'NotifMsg'; notification: NotificationMessage }): StepResult {
  // Events 18 and 25 in OpenConfirm/Established: nothing to send, the peer is gone or going.
  return toIdle(s, {
    counter: 'inc',
    restart: true,
    down: e.kind === 'NotifMsg'
      ? down('BGP_NOTIFICATION_RECEIVED', 'NOTIFICATION received', { notificationReceived: e.notification })
      : down('BGP_TCP_CLOSED', e.reason ?? 'TCP connection closed'),
  });
}

function unexpected(s: FsmState, e: FsmEvent, subcode: number): StepResult {
  // RFC 4271 §8.2.2 "any other event" + RFC 6608 §4: FSM Error with the subcode naming our state.
  return toIdle(s, {
    notify: fsmError(subcode),
    counter: 'inc',
    restart: true,
    down: e.kind === 'NotifMsg'
      ? down('BGP_NOTIFICATION_RECEIVED', `NOTIFICATION received in ${s.name}`, { notificationReceived: e.notification })
      : down('BGP_FSM_ERROR', `unexpected ${e.kind} in ${s.name}`),
  });
}

function openSent(s: FsmState, e: FsmEvent): StepResult {
  const sub = FsmSubcode.UnexpectedInOpenSent;
  switch (e.kind) {
    case 'ManualStart': // Events 1, 3–7 are ignored.
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_DampPeerOscillations':
    case 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment':
      return same(s);
    case 'ManualStop': // Event 2
      return manualStop(s, e);
    case 'AutomaticStop': // Event 8
      return automaticStop(s, e);
    case 'HoldTimer_Expires': // Event 10
      return holdTimerExpired(s);
    case 'TcpConnection_Valid': // Events 14–17: a second connection is tracked by collision detection (§6.8).
    case 'Tcp_CR_Invalid':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return same(s);
    case 'TcpConnectionFails': // Event 18: back to Active, listening, with a fresh ConnectRetryTimer.
      return { state: { ...s, name: 'Active', conn: undefined }, actions: [{ kind: 'disconnect' }, stop('Hold'), start('ConnectRetry', s.cfg.connectRetryTime * 1000)] };
    case 'BGPOpen': // Event 19
      return openReceived(s, e, false);
    case 'BGPHeaderErr': // Event 21
      return withNotify(s, e.notification, 'BGP_HEADER_ERROR', 'bad message header');
    case 'BGPOpenMsgErr': // Event 22
      return withNotify(s, e.notification, 'BGP_OPEN_ERROR', 'malformed OPEN');
    case 'OpenCollisionDump': // Event 23
      return collisionDump(s);
    case 'NotifMsgVerErr': // Event 24
      return notifVerErr(s, e.notification);
    case 'StableTimer_Expires':
      return same(s);
    case 'InternalError':
      return internalError(s, e.message, true);
    case 'ConnectRetryTimer_Expires': // Events 9, 11–13, 20, 25–28
    case 'KeepaliveTimer_Expires':
    case 'DelayOpenTimer_Expires':
    case 'IdleHoldTimer_Expires':
    case 'NotifMsg':
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
      return unexpected(s, e, sub);
  }
}

function openConfirm(s: FsmState, e: FsmEvent): StepResult {
  const sub = FsmSubcode.UnexpectedInOpenConfirm;
  switch (e.kind) {
    case 'ManualStart': // Events 1, 3–7 are ignored.
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_DampPeerOscillations':
    case 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment':
      return same(s);
    case 'ManualStop': // Event 2
      return manualStop(s, e);
    case 'AutomaticStop': // Event 8
      return automaticStop(s, e);
    case 'HoldTimer_Expires': // Event 10
      return holdTimerExpired(s);
    case 'KeepaliveTimer_Expires': // Event 11
      return { state: s, actions: [send(KEEPALIVE), start('Keepalive', (s.negotiated?.keepaliveTime ?? 0) * 1000)] };
    case 'TcpConnection_Valid': // Events 14–17: tracked by collision detection (§6.8).
    case 'Tcp_CR_Invalid':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return same(s);
    case 'TcpConnectionFails': // Event 18
    case 'NotifMsg': // Event 25
      return peerGone(s, e);
    case 'BGPHeaderErr': // Event 21
      return withNotify(s, e.notification, 'BGP_HEADER_ERROR', 'bad message header');
    case 'BGPOpenMsgErr': // Event 22
      return withNotify(s, e.notification, 'BGP_OPEN_ERROR', 'malformed OPEN');
    case 'OpenCollisionDump': // Event 23
      return collisionDump(s);
    case 'NotifMsgVerErr': // Event 24
      return notifVerErr(s, e.notification);
    case 'KeepAliveMsg': { // Event 26: Established.
      const n = s.negotiated!;
      const actions: FsmAction[] = [];
      if (n.holdTime > 0) actions.push(start('Hold', n.holdTime * 1000));
      actions.push(start('Stable', s.cfg.idleHoldMaxTime * 1000), { kind: 'established', negotiated: n });
      return { state: { ...s, name: 'Established' }, actions };
    }
    case 'StableTimer_Expires':
      return same(s);
    case 'InternalError':
      return internalError(s, e.message, true);
    case 'BGPOpen': // a second OPEN on this connection (a colliding one belongs to another FSM, §6.8)
    case 'ConnectRetryTimer_Expires': // Events 9, 12–13, 20, 27–28
    case 'DelayOpenTimer_Expires':
    case 'IdleHoldTimer_Expires':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
      return unexpected(s, e, sub);
  }
}

function established(s: FsmState, e: FsmEvent): StepResult {
  const sub = FsmSubcode.UnexpectedInEstablished;
  const hold = (s.negotiated?.holdTime ?? 0) * 1000;
  const restartHold: FsmAction[] = hold > 0 ? [start('Hold', hold)] : [];
  switch (e.kind) {
    case 'ManualStart': // Events 1, 3–7 are ignored.
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_DampPeerOscillations':
    case 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment':
      return same(s);
    case 'ManualStop': // Event 2
      return manualStop(s, e);
    case 'AutomaticStop': // Event 8
      return automaticStop(s, e);
    case 'HoldTimer_Expires': // Event 10
      return holdTimerExpired(s);
    case 'KeepaliveTimer_Expires': // Event 11
      return { state: s, actions: [send(KEEPALIVE), start('Keepalive', (s.negotiated?.keepaliveTime ?? 0) * 1000)] };
    case 'TcpConnection_Valid': // Events 14–17: the session closes the newcomer (CollisionDetectEstablishedState off).
    case 'Tcp_CR_Invalid':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return same(s);
    case 'TcpConnectionFails': // Event 18
    case 'NotifMsg': // Event 25
      return peerGone(s, e);
    case 'BGPHeaderErr': // Event 21 (§6.1's NOTIFICATION; see the header comment)
      return withNotify(s, e.notification, 'BGP_HEADER_ERROR', 'bad message header');
    case 'OpenCollisionDump': // Event 23
      return collisionDump(s);
    case 'NotifMsgVerErr': // Event 24
      return notifVerErr(s, e.notification);
    case 'KeepAliveMsg': // Event 26
      return { state: s, actions: restartHold };
    case 'UpdateMsg': // Event 27
      return { state: s, actions: [...restartHold, { kind: 'update', update: e.update, problems: e.problems, rawAttributes: e.rawAttributes }] };
    case 'UpdateMsgErr': // Event 28
      return withNotify(s, e.notification, 'BGP_UPDATE_ERROR', 'malformed UPDATE');
    case 'RouteRefreshMsg': // RFC 2918 §4: valid once Established.
      return { state: s, actions: [...restartHold, { kind: 'routeRefresh', message: e.message }] };
    case 'StableTimer_Expires': // Up long enough: the next failure starts the back-off from its first value.
      return same({ ...s, idleHoldMs: s.cfg.idleHoldTime * 1000 });
    case 'InternalError':
      return internalError(s, e.message, true);
    case 'ConnectRetryTimer_Expires': // Events 9, 12–13, 19/20, 22
    case 'DelayOpenTimer_Expires':
    case 'IdleHoldTimer_Expires':
    case 'BGPOpen':
    case 'BGPOpenMsgErr':
      return unexpected(s, e, sub);
  }
}

/** Feeds one event to one connection's FSM. Pure: same inputs, same outputs. */
export function step(s: FsmState, e: FsmEvent): StepResult {
  switch (s.name) {
    case 'Idle':
      return idle(s, e);
    case 'Connect':
    case 'Active':
      return connectOrActive(s, e);
    case 'OpenSent':
      return openSent(s, e);
    case 'OpenConfirm':
      return openConfirm(s, e);
    case 'Established':
      return established(s, e);
  }
}

