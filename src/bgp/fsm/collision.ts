/**
 * Connection collision detection (RFC 4271 §6.8), as a pure decision: when two TCP connections to one
 * peer both carry an OPEN exchange, which one is closed (and gets Cease / Connection Collision
 * Resolution, RFC 4486 subcode 7)?
 *
 * §6.8: compare the BGP Identifiers as 4-octet unsigned integers in host order; if ours is the lower,
 * close the connection WE initiated, else close the one the peer initiated. RFC 6286 §2.3 breaks a
 * tie of equal identifiers (allowed between ASes since RFC 6286) with the AS numbers: the speaker with
 * the larger AS keeps the connection it initiated.
 */
import { bgpIdToNumber } from './open.js';

/** Which connection to close: the one we opened ('outbound') or the one the peer opened ('inbound'). */
export function collisionLoser(local: { routerId: string; asn: number }, remote: { routerId: string; asn: number }): 'outbound' | 'inbound' {
  const l = bgpIdToNumber(local.routerId);
  const r = bgpIdToNumber(remote.routerId);
  if (l !== r) return l < r ? 'outbound' : 'inbound';
  return local.asn < remote.asn ? 'outbound' : 'inbound';
}
