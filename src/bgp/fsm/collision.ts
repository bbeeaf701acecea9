/**
 * Connection collision detection (RFC 4271 §6.8) and the admission of a new connection from a
 * configured peer, as pure decisions. First: when two TCP connections to one
 * peer both carry an OPEN exchange, which one is closed (and gets Cease / Connection Collision
 * Resolution, RFC 4486 subcode 7)?
 *
 * §6.8: compare the BGP Identifiers as 4-octet unsigned integers in host order; if ours is the lower,
 * close the connection WE initiated, else close the one the peer initiated. RFC 6286 §2.3 breaks a
 * tie of equal identifiers (allowed between ASes since RFC 6286) with the AS numbers: the speaker with
 * the larger AS keeps the connection it initiated.
 */
import { bgpIdToNumber } from './open.js';
import type { FsmState } from './types.js';

/** Which connection to close: the one we opened ('outbound') or the one the peer opened ('inbound'). */
export function collisionLoser(local: { routerId: string; asn: number }, remote: { routerId: string; asn: number }): 'outbound' | 'inbound' {
  const l = bgpIdToNumber(local.routerId);
  const r = bgpIdToNumber(remote.routerId);
  if (l !== r) return l < r ? 'outbound' : 'inbound';
  return local.asn < remote.asn ? 'outbound' : 'inbound';
}

/**
 * What the session does with a new TCP connection from a configured peer, decided from the FSM that
 * runs the peer's session now (the "primary"):
 *  - 'refuse': the session is stopped (Idle after ManualStop/AutomaticStop, or never started), or it
 *    is Established (CollisionDetectEstablishedState = FALSE: the newcomer is closed).
 *  - 'restart': Established with Graceful Restart negotiated (RFC 4724). A peer that can restart
 *    with its forwarding state kept calls again when it has restarted — possibly before we noticed
 *    that its old connection is dead (a reboot without FIN or RST leaves it to our hold timer). The
 *    old session ends as a TCP failure (its routes are kept stale) and the new connection is taken,
 *    as BIRD does for a peer whose graceful restart it can help.
 *  - 'take': the primary has no connection — Idle (idle hold or not: damping is for our own
 *    attempts) or Active — and runs this one (Event 17).
 *  - 'race': our own connection is under way (Connect) or carries our OPEN exchange (OpenSent,
 *    OpenConfirm): the newcomer runs as a second FSM and §6.8 decides when an OPEN arrives. A second
 *    connection the peer opened earlier and that is still racing is superseded by this one.
 *  - 'supersede': the primary runs a connection the PEER opened that is not Established yet. The peer
 *    opened another one, so it gave up on the first (it restarted, or that connection is a stray
 *    that never sent an OPEN): the newer connection stays and the older one is closed.
 * At most one connection of each direction is ever kept, so stray connections cannot use up a
 * peer's slots (a peer that opens N silent connections holds one, for inboundOpenHoldTime at most).
 */
export type IncomingVerdict = 'refuse' | 'take' | 'race' | 'supersede' | 'restart';

export function incomingVerdict(primary: Pick<FsmState, 'name' | 'autoRestart' | 'conn' | 'negotiated'>): IncomingVerdict {
  switch (primary.name) {
    case 'Idle':
      return primary.autoRestart ? 'take' : 'refuse';
    case 'Established':
      return primary.negotiated?.gracefulRestart ? 'restart' : 'refuse';
    case 'Active':
      if (!primary.conn) return 'take';
      return primary.conn.outbound ? 'race' : 'supersede';
    case 'Connect':
    case 'OpenSent':
    case 'OpenConfirm':
      // Connect without a connection: our SYN is in flight.
      return !primary.conn || primary.conn.outbound ? 'race' : 'supersede';
  }
}
