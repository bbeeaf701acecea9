/**
 * IP addresses and prefixes as plain data, shared by every layer (BGP, dataplane, Kubernetes).
 *
 * A prefix travels through Petrel as its canonical CIDR string ("198.18.0.0/26", "2001:db8::/48"):
 * it is the key of every RIB and of the dataplane's desired state, it is what JSON shows, and it is
 * cheap to compare. Bytes are produced only where the wire or the kernel needs them.
 * Canonical means: host bits zero, IPv4 dotted quad, IPv6 in RFC 5952 form (lower case, longest run
 * of zero groups compressed, no leading zeros).
 */
import { PetrelError } from '../errors.js';

export type Family = 'ipv4' | 'ipv6';

/** Address Family Identifiers (IANA "Address Family Numbers") and SAFIs we speak. */
export const Afi = { IPv4: 1, IPv6: 2 } as const;
export const Safi = { Unicast: 1 } as const;

export function afiOf(family: Family): number {
  return family === 'ipv4' ? Afi.IPv4 : Afi.IPv6;
}
export function familyOfAfi(afi: number): Family | undefined {
  return afi === Afi.IPv4 ? 'ipv4' : afi === Afi.IPv6 ? 'ipv6' : undefined;
}

export class IpError extends PetrelError {
  constructor(message: string) {
    super('IP_ERR_INVALID', message);
  }
}

const V4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses a textual IPv4 or IPv6 address into 4 or 16 bytes. Throws IpError. */
export function parseIp(s: string): Uint8Array {
  const m = V4_RE.exec(s);
  if (m) {
    const out = new Uint8Array(4);
    for (let i = 0; i < 4; i++) {
      const part = m[i + 1];
      const v = Number(part);
      if (v > 255 || (part.length > 1 && part[0] === '0')) throw new IpError(`invalid IPv4 address: ${s}`);
      out[i] = v;
    }
    return out;
  }
  return parseIpv6(s);
}

function parseIpv6(s: string): Uint8Array {
  const bad = () => new IpError(`invalid IP address: ${s}`);
  if (!s.includes(':')) throw bad();
  const out = new Uint8Array(16);
  let text = s;
  // Embedded IPv4 tail (::ffff:198.51.100.1).
  let tail: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) !== -1) {
    const v4 = V4_RE.exec(text.slice(lastColon + 1));
    if (!v4) throw bad();
    tail = parseIp(text.slice(lastColon + 1));
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) throw bad();
  const head = halves[0] === '' ? [] : halves[0].split(':');
  const rest = halves.length === 2 ? (halves[1] === '' ? [] : halves[1].split(':')) : [];
  const groups = head.length + rest.length;
  if (halves.length === 1 ? groups !== 8 : groups > 7) throw bad();
  const put = (g: string, idx: number) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
    const v = parseInt(g, 16);
    out[idx * 2] = v >> 8;
    out[idx * 2 + 1] = v & 0xff;
  };
  head.forEach((g, i) => put(g, i));
  rest.forEach((g, i) => put(g, 8 - rest.length + i));
  if (tail) out.set(tail, 12);
  return out;
}

/** Formats 4 or 16 bytes as a canonical address. */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) throw new IpError(`an address has 4 or 16 bytes, not ${b.length}`);
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i] << 8) | b[i + 1]);
  // RFC 5952 §4.2: compress the longest run (first if tied) of two or more zero groups.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function isIpv4(s: string): boolean {
  return V4_RE.test(s);
}
export function familyOfIp(s: string): Family {
  return s.includes(':') ? 'ipv6' : 'ipv4';
}
/** Canonical text of an address ("2001:DB8:0::1" → "2001:db8::1"). */
export function canonicalIp(s: string): string {
  return formatIp(parseIp(s));
}

export interface Prefix {
  family: Family;
  /** 4 or 16 bytes, host bits zero. */
  addr: Uint8Array;
  len: number;
}

/** Parses "a.b.c.d/n" or "x::/n"; host bits must be zero unless `allowHostBits` (then they are cleared). */
export function parsePrefix(s: string, allowHostBits = false): Prefix {
  const slash = s.indexOf('/');
  if (slash < 0) throw new IpError(`invalid prefix (no /length): ${s}`);
  const addr = parseIp(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) throw new IpError(`invalid prefix length: ${s}`);
  const len = Number(lenText);
  if (len > addr.length * 8) throw new IpError(`prefix length too long: ${s}`);
  const masked = maskBytes(addr, len);
  if (!allowHostBits && !bytesEqual(masked, addr)) throw new IpError(`prefix has host bits set: ${s}`);
  return { family: addr.length === 4 ? 'ipv4' : 'ipv6', addr: masked, len };
}

export function formatPrefix(p: Prefix): string {
  return `${formatIp(p.addr)}/${p.len}`;
}

/** Canonical CIDR text; accepts host bits when `allowHostBits`. */
export function canonicalPrefix(s: string, allowHostBits = false): string {
  return formatPrefix(parsePrefix(s, allowHostBits));
}

export function maskBytes(addr: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(addr.length);
  const full = len >> 3;
  out.set(addr.subarray(0, full));
  if (len & 7 && full < addr.length) out[full] = addr[full] & (0xff << (8 - (len & 7)));
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when address `ip` (text) lies inside prefix `p` (text or parsed). */
export function prefixContains(p: string | Prefix, ip: string): boolean {
  const pp = typeof p === 'string' ? parsePrefix(p, true) : p;
  const a = parseIp(ip);
  if (a.length !== pp.addr.length) return false;
  return bytesEqual(maskBytes(a, pp.len), pp.addr);
}

export function familyOfPrefix(s: string): Family {
  return s.includes(':') ? 'ipv6' : 'ipv4';
}
