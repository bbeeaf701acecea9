/**
 * The contract between the session layer (sockets, timers, the FSM driver) and the speaker/RIB.
 * A Session owns one peer's TCP connection(s) and runs the pure FSM (bgp/fsm) with an injected clock;
 * it hands decoded UPDATEs up and takes encoded bytes down. It knows nothing of RIBs.
 * (Initial contract: the session implementer may extend it; keep it additive.)
 */
import type { Family } from '../../model/ip.js';
import type { AttributeProblem, Capability, CodecContext, NotificationMessage, UpdateMessage } from '../wire/types.js';

/** Time source for every timer in bgp/: real in production, fake in tests (no sleeps). */
export interface Clock {
  now(): number; // ms
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface SessionConfig {
  peerAddress: string;
  peerPort: number; // default 179
  peerAsn: number;
  localAsn: number;
  routerId: string;
  localAddress?: string; // bind for active connections
  localPort?: number;
  passive: boolean; // accept only, never connect
  holdTime: number; // proposed; 0 = no keepalives/hold timer
  connectRetryTime: number; // seconds, default 120 (tests lower it)
  families: Family[];
  /**
   * TCP-MD5 (RFC 2385) key (1..80 bytes of UTF-8), if configured: our connections are signed; the
   * BgpListener needs the same key (setPassword) for the peer's connections to be accepted.
   */
  password?: string;
  /** RFC 4724 Graceful Restart capability to advertise (absent = none); see FsmConfig.gracefulRestart. */
  gracefulRestart?: { restartTime: number; restarting: boolean; forwardingPreserved: boolean; notification?: boolean };
  /** DelayOpen (RFC 4271 §8.1.1), seconds; 0/absent = send OPEN as soon as TCP is up. */
  delayOpenTime?: number;
  /** Seconds between KEEPALIVEs; default and upper bound one third of the negotiated hold time. */
  keepaliveTime?: number;
  /** DampPeerOscillations: first idle hold after a failure (s, default 5), doubling up to idleHoldMaxTime (s, default 120). */
  idleHoldTime?: number;
  idleHoldMaxTime?: number;
  /**
   * Hand UPDATEs up with IPv4 prefixes as numbers (UpdateMessage withdrawnKeys/nlriKeys, see
   * CodecContext.ipv4PrefixKeys) instead of text. The Speaker sets it: its RIB keys IPv4 by number.
   */
  ipv4PrefixKeys?: boolean;
}

/** What OPEN exchange settled on. */
export interface Negotiated {
  peerAsn: number;
  peerRouterId: string;
  holdTime: number;
  keepaliveTime: number;
  families: Family[]; // both sides announced multiprotocol for it (or implicit IPv4 when neither sent MP)
  codec: CodecContext;
  routeRefresh: boolean;
  enhancedRouteRefresh: boolean;
  peerCapabilities: Capability[];
  localAddress: string; // our end of the TCP connection (next-hop-self uses it)
  remoteAddress: string;
  localPort?: number;
  remotePort?: number;
  /** true when we opened the surviving connection (after §6.8 collision resolution). */
  outbound?: boolean;
  /**
   * Set when both OPENs carried the Graceful Restart capability (RFC 4724 §3): what the peer said in
   * its own (restart time, R bit, and the families it preserves state for, with their F bits).
   */
  gracefulRestart?: PeerGracefulRestart;
}

/** The peer's Graceful Restart capability as the session negotiated it. */
export interface PeerGracefulRestart {
  /** Seconds the peer asks us to keep its routes after the session ends (12 bits). */
  restartTime: number;
  /** R bit: the peer has restarted. */
  restarting: boolean;
  /** Families (of those negotiated) the peer listed, and whether it kept forwarding state for each (F bit). */
  families: Array<{ family: Family; forwardingPreserved: boolean }>;
  /** RFC 8538: both sides set the N bit — graceful restart applies to NOTIFICATIONs other than Hard Reset too. */
  notification: boolean;
}

export type SessionStateName = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export interface SessionDown {
  /** Stable reason code, e.g. BGP_HOLD_TIMER_EXPIRED, BGP_NOTIFICATION_RECEIVED, BGP_TCP_CLOSED. */
  code: string;
  message: string;
  notificationSent?: NotificationMessage;
  notificationReceived?: NotificationMessage;
  /** true when the session was Established before going down (a flap). */
  wasEstablished?: boolean;
}

export interface SessionEventMap {
  state: [from: SessionStateName, to: SessionStateName];
  established: [negotiated: Negotiated];
  /** A decoded UPDATE; `problems` are RFC 7606 outcomes already applied (treat-as-withdraw moved NLRI to withdrawn). */
  update: [update: UpdateMessage, problems: AttributeProblem[], rawAttributes?: Uint8Array];
  routeRefresh: [afi: number, safi: number, subtype: number];
  down: [reason: SessionDown];
  /** The socket accepts writes again after send() returned false. */
  drain: [];
}

export type { Logger } from '../../model/log.js';

/**
 * What one Session reports for metrics (one instance per session; src/metrics adapts it to
 * Prometheus — its SessionMetricsSink satisfies this structurally). Counts default to 1.
 */
export interface SessionMetrics {
  stateChanged(from: SessionStateName, to: SessionStateName): void;
  updateReceived(count?: number): void;
  updateSent(count?: number): void;
  notificationReceived(code: number, subcode: number): void;
  notificationSent(code: number, subcode: number): void;
  /** An RFC 7606 outcome: 'treat-as-withdraw' | 'attribute-discard' | 'session-reset'. */
  attributeProblem(action: string): void;
  /** Every message by type: 'open' | 'update' | 'notification' | 'keepalive' | 'route-refresh'. */
  messageReceived?(type: string): void;
  messageSent?(type: string): void;
  /** The session left Established. */
  flap?(): void;
  /** Something of ours threw while handling this session; it was reset (never the process). */
  internalError?(): void;
}

export const noopSessionMetrics: SessionMetrics = {
  stateChanged() {},
  updateReceived() {},
  updateSent() {},
  notificationReceived() {},
  notificationSent() {},
  attributeProblem() {},
};

export interface SessionStats {
  updatesIn: number;
  updatesOut: number;
  notificationsIn: number;
  notificationsOut: number;
  flaps: number;
  /** Exceptions caught while handling this session (each reset it); see Session.fault. */
  internalErrors: number;
}
