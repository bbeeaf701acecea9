/**
 * BGP Graceful Restart (RFC 4724), the decisions, kept apart from sockets and timers so they can be
 * tested as plain functions; speaker.ts runs the timers and calls the RIB.
 *
 * Both roles:
 * - Restarting speaker (§4.1): we advertise the capability with our restart time, the R bit while
 *   this process is a restart whose forwarding state survived, and each family with the F bit. A
 *   graceful stop closes Established sessions without a NOTIFICATION, or with Cease / Administrative
 *   Reset when the N bit was negotiated (fsm.ts manualStop).
 * - Receiving speaker, or helper (§4.2): when a session whose OPENs both carried the capability
 *   ends by a TCP failure or hold-timer expiry (or a NOTIFICATION, with the N bit), the peer's paths of the families it listed stay in
 *   the RIB, marked stale, still selected and still exported (nothing is withdrawn anywhere), for
 *   the restart time it advertised. When it comes back, families it no longer lists or lists
 *   without the F bit lose their stale paths at once; the others keep them until that family's
 *   End-of-RIB from the peer (bounded by the stale-path timer), when whatever was not re-announced
 *   is removed. Paths re-announced unchanged are the same interned path, so no change at all
 *   leaves the RIB for them.
 *
 * RFC 8538 (the N bit, advertised with the capability): when both sides set it, a NOTIFICATION
 * sent or received other than Cease / Hard Reset is handled like a TCP failure (routes kept stale);
 * our operator stops (peer removed, Cease on shutdown without graceful restart) are sent as Hard
 * Reset so the peer drops our routes, and a graceful stop sends Cease / Administrative Reset.
 * RFC 9494 long-lived GR is not implemented.
 */
import type { Family } from '../model/ip.js';
import { CeaseSubcode, ErrorCode, type NotificationMessage } from './wire/types.js';
import type { Negotiated, SessionDown } from './session/types.js';

export interface GracefulRestartOptions {
  /** Advertise the capability and act as helper (default true where configured). */
  enabled: boolean;
  /** Seconds we ask peers to keep our routes while we restart (RFC 4724 §3: 12 bits; default 120). */
  restartTime?: number;
  /**
   * R bit: this process is a restart that kept forwarding state. Set on the OPENs we send until
   * every peer has been through its first session (or `restartTime` has passed), then cleared.
   */
  restarting?: boolean;
  /** F bit for every family we list (default true: the dataplane keeps kernel routes across restarts). */
  forwardingPreserved?: boolean;
  /** N bit, RFC 8538 (default true). */
  notification?: boolean;
  /**
   * Upper bound, seconds, on keeping stale paths after the peer came back without sending
   * End-of-RIB (BIRD's and GoBGP's stale timer; default 300).
   */
  staleTime?: number;
}

export const GR_DEFAULTS = { restartTime: 120, staleTime: 300 } as const;

/** Down reasons that are a restart of the peer, not a decision to stop talking (RFC 4724 §4.2). */
const RESTART_CODES = new Set(['BGP_TCP_CLOSED', 'BGP_HOLD_TIMER_EXPIRED']);
/** Our own decisions to stop (operator, configuration, collision): never a restart of the peer. */
const STOP_CODES = new Set(['BGP_ADMIN_STOP', 'BGP_AUTOMATIC_STOP', 'BGP_GRACEFUL_STOP', 'BGP_COLLISION']);

export function isHardReset(n: NotificationMessage | undefined): boolean {
  return n !== undefined && n.code === ErrorCode.Cease && n.subcode === CeaseSubcode.HardReset;
}

/** True when the session's end is one graceful restart covers (RFC 4724 §4.2; RFC 8538 §4 with the N bit). */
export function endsGracefully(reason: SessionDown, nBit: boolean): boolean {
  if (!reason.wasEstablished) return false;
  if (RESTART_CODES.has(reason.code)) return !isHardReset(reason.notificationSent);
  if (!nBit || STOP_CODES.has(reason.code)) return false;
  // RFC 8538 §4: any NOTIFICATION either way, except Hard Reset.
  const n = reason.notificationReceived ?? reason.notificationSent;
  return n !== undefined && !isHardReset(reason.notificationReceived) && !isHardReset(reason.notificationSent);
}

/**
 * Which of the peer's families to keep (stale) after its session went down for `reason`; empty =
 * keep nothing. `negotiated` is what the session that just ended had agreed.
 */
export function familiesToRetain(opts: GracefulRestartOptions | undefined, negotiated: Negotiated | undefined, reason: SessionDown): Family[] {
  if (!opts?.enabled || !negotiated?.gracefulRestart) return [];
  if (!endsGracefully(reason, negotiated.gracefulRestart.notification)) return [];
  // A restart time of zero leaves no time to come back: nothing to wait for.
  if (negotiated.gracefulRestart.restartTime === 0) return [];
  return negotiated.gracefulRestart.families.map((f) => f.family).filter((f) => negotiated.families.includes(f));
}

/**
 * On re-establishment: the stale families whose paths must go at once (RFC 4724 §4.2) — all of them
 * when the new OPEN had no Graceful Restart capability, else those it no longer lists or lists
 * without the F bit. The rest wait for their End-of-RIB.
 */
export function familiesToFlushOnReturn(stale: readonly Family[], negotiated: Negotiated): Family[] {
  const gr = negotiated.gracefulRestart;
  if (!gr) return [...stale];
  return stale.filter((f) => !gr.families.some((g) => g.family === f && g.forwardingPreserved) || !negotiated.families.includes(f));
}
