/**
 * The OPEN we send and the checks on the OPEN we receive (RFC 4271 §4.2, §6.2; RFC 6793 four-octet
 * AS; RFC 6286 BGP identifier; RFC 4760/5492 capabilities). Pure functions: the FSM calls them on
 * Event 19 and turns a failure into Event 22's NOTIFICATION.
 *
 * What burned others: comparing the configured peer AS with the 2-octet My AS field breaks every
 * 4-byte-AS peer (they send AS_TRANS there); the real AS is in the four-octet-as capability whenever
 * the peer sent it, whatever the 2-octet field says.
 */
import { afiOf, familyOfAfi, Safi, type Family } from '../../model/ip.js';
import { ErrorCode, OpenSubcode, type Capability, type NotificationMessage, type OpenMessage } from '../wire/types.js';
import type { Negotiated, PeerGracefulRestart } from '../session/types.js';
import type { ConnInfo, FsmConfig } from './types.js';

/** RFC 6793 §9: the 2-octet AS carried where a 4-octet AS does not fit. */
export const AS_TRANS = 23456;
export const BGP_VERSION = 4;

export function notification(code: number, subcode: number, data: Uint8Array = new Uint8Array(0)): NotificationMessage {
  return { type: 'notification', code, subcode, data };
}

/** Our OPEN: multiprotocol per configured family, route refresh, four-octet AS (always). */
export function buildOpen(cfg: FsmConfig): OpenMessage {
  const capabilities: Capability[] = cfg.families.map((f) => ({ kind: 'multiprotocol', afi: afiOf(f), safi: Safi.Unicast }));
  capabilities.push({ kind: 'route-refresh' }, { kind: 'four-octet-as', asn: cfg.localAsn });
  const gr = cfg.gracefulRestart;
  if (gr) {
    // RFC 4724 §3: restart time (12 bits), R bit, and each family with its F bit.
    capabilities.push({
      kind: 'graceful-restart',
      restarting: gr.restarting,
      notification: gr.notification === true,
      restartTime: Math.max(0, Math.min(4095, Math.round(gr.restartTime))),
      families: cfg.families.map((f) => ({ afi: afiOf(f), safi: Safi.Unicast, forwardingPreserved: gr.forwardingPreserved })),
    });
  }
  return {
    type: 'open',
    version: BGP_VERSION,
    // RFC 6793 §3: a speaker whose AS does not fit in two octets puts AS_TRANS in My Autonomous System.
    myAs: cfg.localAsn > 0xffff ? AS_TRANS : cfg.localAsn,
    holdTime: cfg.holdTime,
    bgpId: cfg.routerId,
    capabilities,
  };
}

function ipv4ToNumber(s: string): number {
  const p = s.split('.').map(Number);
  return p.length === 4 && p.every((x) => Number.isInteger(x) && x >= 0 && x <= 255)
    ? ((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3]
    : Number.NaN;
}
export { ipv4ToNumber as bgpIdToNumber };

/** The peer's AS: from the four-octet-as capability when present (RFC 6793 §4.1), else My AS. */
export function peerAsOf(open: OpenMessage): number {
  const cap = open.capabilities.find((c) => c.kind === 'four-octet-as');
  return cap && cap.kind === 'four-octet-as' ? cap.asn : open.myAs;
}

/** Families both sides announced; with no multiprotocol capability from a side, it speaks IPv4 unicast (RFC 4760 §8). */
export function negotiateFamilies(local: Family[], open: OpenMessage): Family[] {
  const mp = open.capabilities.filter((c): c is Extract<Capability, { kind: 'multiprotocol' }> => c.kind === 'multiprotocol');
  const peer = new Set<Family>();
  if (mp.length === 0) peer.add('ipv4');
  for (const c of mp) {
    const f = familyOfAfi(c.afi);
    if (f && c.safi === Safi.Unicast) peer.add(f);
  }
  return local.filter((f) => peer.has(f));
}

/**
 * RFC 4724 §3: Graceful Restart applies only when both OPENs carry the capability. Returns the peer's
 * side of it (restart time, R bit, the negotiated families it listed with their F bits).
 */
export function negotiateGracefulRestart(cfg: FsmConfig, open: OpenMessage, families: Family[]): PeerGracefulRestart | undefined {
  if (!cfg.gracefulRestart) return undefined;
  const cap = open.capabilities.find((c): c is Extract<Capability, { kind: 'graceful-restart' }> => c.kind === 'graceful-restart');
  if (!cap) return undefined;
  const listed: PeerGracefulRestart['families'] = [];
  for (const f of cap.families) {
    const family = familyOfAfi(f.afi);
    if (family && f.safi === Safi.Unicast && families.includes(family) && !listed.some((l) => l.family === family)) {
      listed.push({ family, forwardingPreserved: f.forwardingPreserved });
    }
  }
  return { restartTime: cap.restartTime, restarting: cap.restarting, families: listed, notification: cfg.gracefulRestart.notification === true && cap.notification };
}

export type OpenCheck = { ok: true; negotiated: Negotiated } | { ok: false; notification: NotificationMessage; reason: string };

/** Validates the peer's OPEN against our configuration and, if acceptable, computes what the session negotiated. */
export function validateOpen(cfg: FsmConfig, open: OpenMessage, conn: ConnInfo | undefined): OpenCheck {
  // RFC 4271 §6.2: unsupported version → subcode 1, data = the largest version we support (2 octets).
  if (open.version !== BGP_VERSION) {
    return { ok: false, reason: `unsupported BGP version ${open.version}`, notification: notification(ErrorCode.Open, OpenSubcode.UnsupportedVersionNumber, new Uint8Array([0, BGP_VERSION])) };
  }
  // RFC 4271 §6.2 Bad Peer AS; RFC 6793 §4.1 the AS is the capability's when the peer sent one.
  const peerAs = peerAsOf(open);
  if (peerAs !== cfg.peerAsn) {
    return { ok: false, reason: `peer AS ${peerAs} is not the configured ${cfg.peerAsn}`, notification: notification(ErrorCode.Open, OpenSubcode.BadPeerAs) };
  }
  // RFC 4271 §6.2: the Hold Time MUST be zero or at least three seconds.
  if (open.holdTime === 1 || open.holdTime === 2) {
    return { ok: false, reason: `unacceptable hold time ${open.holdTime}`, notification: notification(ErrorCode.Open, OpenSubcode.UnacceptableHoldTime) };
  }
  // RFC 6286 §2.2: the BGP Identifier is a non-zero 4-octet value; within one AS it must differ from ours.
  const id = ipv4ToNumber(open.bgpId);
  if (!(id > 0)) {
    return { ok: false, reason: `bad BGP identifier ${open.bgpId}`, notification: notification(ErrorCode.Open, OpenSubcode.BadBgpIdentifier) };
  }
  if (cfg.peerAsn === cfg.localAsn && id === ipv4ToNumber(cfg.routerId)) {
    return { ok: false, reason: `iBGP peer uses our BGP identifier ${open.bgpId}`, notification: notification(ErrorCode.Open, OpenSubcode.BadBgpIdentifier) };
  }
  // RFC 4760/5492: no family in common means no route could ever be exchanged; say which capability.
  const families = negotiateFamilies(cfg.families, open);
  if (families.length === 0) {
    return { ok: false, reason: 'no address family in common', notification: notification(ErrorCode.Open, OpenSubcode.UnsupportedCapability) };
  }
  // RFC 4271 §4.2/§10: the smaller of the two hold times; KEEPALIVE at one third of it.
  const holdTime = Math.min(cfg.holdTime, open.holdTime);
  const has = (k: Capability['kind']) => open.capabilities.some((c) => c.kind === k);
  const negotiated: Negotiated = {
    peerAsn: peerAs,
    peerRouterId: open.bgpId,
    holdTime,
    keepaliveTime: Math.min(Math.floor(holdTime / 3), cfg.keepaliveTime && cfg.keepaliveTime > 0 ? cfg.keepaliveTime : Infinity),
    families,
    // We always send four-octet-as, so the peer's capability alone decides (RFC 6793 §3).
    codec: { fourOctetAs: has('four-octet-as'), extendedMessage: false },
    routeRefresh: has('route-refresh'),
    // We do not announce enhanced route refresh (RFC 7313 §3 needs both sides).
    enhancedRouteRefresh: false,
    peerCapabilities: open.capabilities,
    localAddress: conn?.localAddress ?? '',
    remoteAddress: conn?.remoteAddress ?? '',
    localPort: conn?.localPort,
    remotePort: conn?.remotePort,
    outbound: conn?.outbound,
  };
  const gr = negotiateGracefulRestart(cfg, open, families);
  if (gr) negotiated.gracefulRestart = gr;
  return { ok: true, negotiated };
}
