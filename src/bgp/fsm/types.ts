/**
 * Types of the pure BGP finite state machine (RFC 4271 §8): its configuration, its state, the events
 * that drive it and the actions it asks its driver (src/bgp/session) to perform.
 *
 * One FsmState describes ONE TCP connection attempt to a peer, as RFC 4271 §8 says ("there is one FSM
 * per BGP connection"): while two connections to the same peer race (§6.8 collision), the session runs
 * two of them side by side and discards the loser. Timers are not run here: starting and stopping them
 * are actions, and their expiry comes back as an event.
 *
 * Event names are the RFC's, with the RFC's number beside each. Two are derived rather than sent in:
 * Event 20 (BGPOpen with the DelayOpenTimer running) is Event 19 arriving while `delayOpenRunning`, and
 * Events 4–7 (the passive / damped starts) are Events 1 and 3 with the session attributes
 * PassiveTcpEstablishment and DampPeerOscillations of §8.1.1, which we keep in the state.
 * Three events are Petrel extensions without an RFC number: RouteRefreshMsg (RFC 2918 messages must
 * not look "unexpected" in Established), StableTimer_Expires (resets the idle-hold back-off after a
 * session stayed up long enough; RFC 4271 leaves the damping algorithm to the implementation) and
 * InternalError (a bug of ours hit while handling this connection: it costs this session a reset,
 * never the process).
 */
import type { Family } from '../../model/ip.js';
import type { AttributeProblem, BgpMessage, NotificationMessage, OpenMessage, RouteRefreshMessage, UpdateMessage } from '../wire/types.js';
import type { Negotiated, SessionDown, SessionStateName } from '../session/types.js';

export interface FsmConfig {
  localAsn: number;
  peerAsn: number;
  routerId: string;
  /** Proposed hold time in seconds (0 = no keepalives and no hold timer). */
  holdTime: number;
  /** Seconds between KEEPALIVEs when lower than a third of the negotiated hold time. */
  keepaliveTime?: number;
  /** Seconds (RFC 4271 §10 suggests 120). */
  connectRetryTime: number;
  families: Family[];
  /** PassiveTcpEstablishment (§8.1.1): never connect, only accept. */
  passive: boolean;
  /** DelayOpen (§8.1.1): seconds to wait for the peer's OPEN before sending ours; 0 = off. */
  delayOpenTime: number;
  /**
   * DampPeerOscillations (§8.1.1): the idle hold in seconds before the first automatic reconnect after
   * a failure (the session jitters it to 50–100 %); it doubles with each further failure.
   */
  idleHoldTime: number;
  /**
   * Upper bound of the idle-hold back-off, seconds, for failures after TCP came up. Also how long
   * Established must last to reset it. Refused connects back off up to connectRetryTime only.
   */
  idleHoldMaxTime: number;
  /**
   * RFC 4724 Graceful Restart capability to put in our OPEN; absent = not advertised (no GR either way).
   * `restarting` is the R bit; `forwardingPreserved` the F bit for every family we list;
   * `notification` the N bit of RFC 8538.
   */
  gracefulRestart?: { restartTime: number; restarting: boolean; forwardingPreserved: boolean; notification?: boolean };
}

export const FSM_DEFAULTS = {
  holdTime: 90,
  connectRetryTime: 120,
  delayOpenTime: 0,
  /** After a peer's restart the first reconnect comes within a second (jittered); then it backs off. */
  idleHoldTime: 1,
  idleHoldMaxTime: 120,
  /** RFC 4271 §8.2.2: "a large value" for the HoldTimer while waiting for the peer's OPEN; 4 minutes suggested. */
  largeHoldTime: 240,
  /**
   * The HoldTimer while waiting for the OPEN on a connection the PEER opened, seconds. A speaker that
   * connects sends its OPEN at once (or, with DelayOpen, as soon as ours arrives — and ours goes out
   * on accept), so a connection silent this long is a stray one: it must not hold the peer's slot
   * (and, as the peer's FSM, our own reconnects) for the four minutes of largeHoldTime.
   */
  inboundOpenHoldTime: 10,
} as const;

/** Both ends of one TCP connection, and who opened it (needed by collision detection, §6.8). */
export interface ConnInfo {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** true when we initiated the connection (active open). */
  outbound: boolean;
}

export type TimerName = 'ConnectRetry' | 'Hold' | 'Keepalive' | 'DelayOpen' | 'IdleHold' | 'Stable';

export interface FsmState {
  readonly cfg: FsmConfig;
  readonly name: SessionStateName;
  /** §8.1.1 ConnectRetryCounter. */
  readonly connectRetryCounter: number;
  /** Attributes set by the start event (Events 1, 3–7). */
  readonly passive: boolean;
  readonly damp: boolean;
  /** false after ManualStop/AutomaticStop: Idle stays Idle until the next start event. */
  readonly autoRestart: boolean;
  /** true while an IdleHoldTimer runs: start events are ignored until it expires (§8.1.1 DampPeerOscillations). */
  readonly idleHolding: boolean;
  /** The next idle hold, milliseconds. */
  readonly idleHoldMs: number;
  readonly delayOpenRunning: boolean;
  readonly conn?: ConnInfo;
  readonly negotiated?: Negotiated;
  /** Times this FSM left Established. */
  readonly flaps: number;
}

export type FsmEvent =
  | { kind: 'ManualStart' } // Event 1
  | { kind: 'ManualStop'; subcode?: number; message?: string; graceful?: boolean } // Event 2 (graceful: RFC 4724 restart, no NOTIFICATION)
  | { kind: 'AutomaticStart' } // Event 3
  | { kind: 'ManualStart_with_PassiveTcpEstablishment' } // Event 4
  | { kind: 'AutomaticStart_with_PassiveTcpEstablishment' } // Event 5
  | { kind: 'AutomaticStart_with_DampPeerOscillations' } // Event 6
  | { kind: 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment' } // Event 7
  | { kind: 'AutomaticStop'; subcode?: number; message?: string; data?: Uint8Array } // Event 8 (data: e.g. RFC 4486 §4 maximum-prefix data)
  | { kind: 'ConnectRetryTimer_Expires' } // Event 9
  | { kind: 'HoldTimer_Expires' } // Event 10
  | { kind: 'KeepaliveTimer_Expires' } // Event 11
  | { kind: 'DelayOpenTimer_Expires' } // Event 12
  | { kind: 'IdleHoldTimer_Expires' } // Event 13
  | { kind: 'TcpConnection_Valid' } // Event 14
  | { kind: 'Tcp_CR_Invalid' } // Event 15
  | { kind: 'Tcp_CR_Acked'; conn: ConnInfo } // Event 16
  | { kind: 'TcpConnectionConfirmed'; conn: ConnInfo } // Event 17
  | { kind: 'TcpConnectionFails'; reason?: string } // Event 18
  | { kind: 'BGPOpen'; open: OpenMessage } // Event 19 (Event 20 when the DelayOpenTimer runs)
  | { kind: 'BGPHeaderErr'; notification: NotificationMessage } // Event 21
  | { kind: 'BGPOpenMsgErr'; notification: NotificationMessage } // Event 22
  | { kind: 'OpenCollisionDump' } // Event 23
  | { kind: 'NotifMsgVerErr'; notification: NotificationMessage } // Event 24
  | { kind: 'NotifMsg'; notification: NotificationMessage } // Event 25
  | { kind: 'KeepAliveMsg' } // Event 26
  | { kind: 'UpdateMsg'; update: UpdateMessage; problems: AttributeProblem[]; rawAttributes?: Uint8Array } // Event 27
  | { kind: 'UpdateMsgErr'; notification: NotificationMessage } // Event 28
  | { kind: 'RouteRefreshMsg'; message: RouteRefreshMessage } // Petrel extension (RFC 2918)
  | { kind: 'StableTimer_Expires' } // Petrel extension (damping reset)
  | { kind: 'InternalError'; message: string }; // Petrel extension (a bug of ours: reset this session)

export type FsmEventKind = FsmEvent['kind'];

/** RFC 4271 §8.1 event numbers (0 for Petrel's extensions), for logs and metrics. */
export const EVENT_NUMBER: Record<FsmEventKind, number> = {
  ManualStart: 1,
  ManualStop: 2,
  AutomaticStart: 3,
  ManualStart_with_PassiveTcpEstablishment: 4,
  AutomaticStart_with_PassiveTcpEstablishment: 5,
  AutomaticStart_with_DampPeerOscillations: 6,
  AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment: 7,
  AutomaticStop: 8,
  ConnectRetryTimer_Expires: 9,
  HoldTimer_Expires: 10,
  KeepaliveTimer_Expires: 11,
  DelayOpenTimer_Expires: 12,
  IdleHoldTimer_Expires: 13,
  TcpConnection_Valid: 14,
  Tcp_CR_Invalid: 15,
  Tcp_CR_Acked: 16,
  TcpConnectionConfirmed: 17,
  TcpConnectionFails: 18,
  BGPOpen: 19,
  BGPHeaderErr: 21,
  BGPOpenMsgErr: 22,
  OpenCollisionDump: 23,
  NotifMsgVerErr: 24,
  NotifMsg: 25,
  KeepAliveMsg: 26,
  UpdateMsg: 27,
  UpdateMsgErr: 28,
  RouteRefreshMsg: 0,
  StableTimer_Expires: 0,
  InternalError: 0,
};

export type FsmAction =
  /** Initiate an outbound TCP connection (answered by Tcp_CR_Acked or TcpConnectionFails). */
  | { kind: 'connect' }
  /** Drop the TCP connection, after flushing what was sent. */
  | { kind: 'disconnect' }
  | { kind: 'send'; message: BgpMessage }
  | { kind: 'startTimer'; timer: TimerName; ms: number }
  | { kind: 'stopTimer'; timer: TimerName }
  | { kind: 'established'; negotiated: Negotiated }
  | { kind: 'update'; update: UpdateMessage; problems: AttributeProblem[]; rawAttributes?: Uint8Array }
  | { kind: 'routeRefresh'; message: RouteRefreshMessage }
  /** The FSM entered Idle from another state. */
  | { kind: 'down'; reason: SessionDown; wasEstablished: boolean };

export interface StepResult {
  state: FsmState;
  actions: FsmAction[];
}

/** The event each timer raises when it expires (RFC 4271 §8.1.3 Events 9–13, and the stability timer). */
export const TIMER_EXPIRED: Readonly<Record<TimerName, FsmEvent>> = {
  ConnectRetry: { kind: 'ConnectRetryTimer_Expires' },
  Hold: { kind: 'HoldTimer_Expires' },
  Keepalive: { kind: 'KeepaliveTimer_Expires' },
  DelayOpen: { kind: 'DelayOpenTimer_Expires' },
  IdleHold: { kind: 'IdleHoldTimer_Expires' },
  Stable: { kind: 'StableTimer_Expires' },
};
