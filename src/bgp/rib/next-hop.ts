/**
 * Next hops a route must not use (RFC 4271 §5.1.3, §6.3; RFC 4760 §3 for IPv6). §6.3 asks for "a
 * valid IP host address" (syntactic) that is not the receiving speaker's own address (semantic),
 * and says such a route is ignored without a NOTIFICATION; RFC 7606 §7.3 makes a malformed NEXT_HOP
 * treat-as-withdraw. rib.ts therefore handles every prefix of such an UPDATE as a withdrawal of the
 * peer's previous path for it (a route that is "ignored" must not leave an older one in use), and
 * counts them per peer (`nextHopsRejected`).
 *
 * Not a host address: IPv4 0.0.0.0/8 ("this network", RFC 1122 §3.2.1.3), 224.0.0.0/4 (multicast),
 * 240.0.0.0/4 and 255.255.255.255 (reserved, limited broadcast); IPv6 :: (unspecified) and ff00::/8
 * (multicast). Loopback is allowed: tests and single-host labs peer over it.
 */
import { parseIp } from '../../model/ip.js';

/** Why `nh` cannot be a next hop, or undefined when it can. */
export function nextHopProblem(nh: string): string | undefined {
  let b: Uint8Array;
  try {
    b = parseIp(nh);
  } catch {
    return 'not an IP address';
  }
  if (b.length === 4) {
    if (b[0] === 0) return 'unspecified address (0.0.0.0/8)';
    if (b[0] >= 224 && b[0] < 240) return 'multicast address';
    if (b[0] >= 240) return 'reserved address (240.0.0.0/4)';
    return undefined;
  }
  if (b.every((x) => x === 0)) return 'unspecified address (::)';
  if (b[0] === 0xff) return 'multicast address';
  return undefined;
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped form. */
export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.') || ip.startsWith('::ffff:7f');
}
