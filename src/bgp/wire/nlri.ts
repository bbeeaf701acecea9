/**
 * NLRI: the (length, prefix) lists of RFC 4271 §4.3 (Withdrawn Routes, NLRI) and RFC 4760 §5
 * (inside MP_REACH/MP_UNREACH), optionally preceded by an RFC 7911 path identifier.
 *
 * This is the decoder's hottest loop (a full table is ~1M of these), so it indexes the byte array
 * directly instead of going through Reader, allocates nothing per prefix except the prefix string
 * itself, and formats IPv6 through a module-level scratch array. Trailing bits past the prefix
 * length are ignored (RFC 4271 §4.3 says they are irrelevant) so the string is always canonical,
 * equal to model/ip.ts formatPrefix. A prefix longer than the family allows, or one that runs past
 * its field, makes the whole field unparseable: RFC 7606 §5.3 asks for a session reset.
 */
import { parsePrefix, type Family } from '../../model/ip.js';
import { BgpEncodeError, updateProblem } from './errors.js';
import type { Writer } from './writer.js';

const groups = new Uint16Array(8);

/** Canonical (RFC 5952) text of the first `nbytes` bytes of an IPv6 address at buf[p], rest zero. */
export function formatIpv6At(buf: Uint8Array, p: number, nbytes: number, lastMask = 0xff): string {
  for (let g = 0; g < 8; g++) {
    const i = g * 2;
    let hi = i < nbytes ? buf[p + i] : 0;
    let lo = i + 1 < nbytes ? buf[p + i + 1] : 0;
    if (i === nbytes - 1) hi &= lastMask;
    if (i + 1 === nbytes - 1) lo &= lastMask;
    groups[g] = (hi << 8) | lo;
  }
  // RFC 5952 §4.2: compress the longest run (the first if tied) of two or more zero groups.
  let bestStart = -1;
  let bestLen = 1;
  for (let g = 0; g < 8; ) {
    if (groups[g] !== 0) { g++; continue; }
    let j = g;
    while (j < 8 && groups[j] === 0) j++;
    if (j - g > bestLen) { bestStart = g; bestLen = j - g; }
    g = j;
  }
  let s = '';
  if (bestStart < 0) {
    for (let g = 0; g < 8; g++) s += (g ? ':' : '') + groups[g].toString(16);
    return s;
  }
  for (let g = 0; g < bestStart; g++) s += (g ? ':' : '') + groups[g].toString(16);
  s += '::';
  for (let g = bestStart + bestLen; g < 8; g++) s += (g > bestStart + bestLen ? ':' : '') + groups[g].toString(16);
  return s;
}

/**
 * Decodes the prefixes in buf[start, end) and pushes their canonical strings onto `out` (and
 * path ids onto `pathIds` when add-path is in effect) — or, for IPv4 with `keys`, their numeric
 * keys (address × 64 + length) onto `keys`. Throws BgpError (session reset,
 * RFC 7606 §5.3) on a malformed field; `kind` names the UPDATE_ERRORS row to use.
 */
export function decodePrefixes(
  buf: Uint8Array,
  start: number,
  end: number,
  family: Family,
  out: string[],
  pathIds?: number[],
  kind: 'badNlri' | 'mpReach' | 'mpUnreach' = 'badNlri',
  keys?: number[],
): void {
  const max = family === 'ipv4' ? 32 : 128;
  let p = start;
  while (p < end) {
    if (pathIds) {
      if (p + 4 > end) throw fail(kind, 'path identifier overruns the NLRI field');
      pathIds.push(buf[p] * 0x1000000 + ((buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]));
      p += 4;
      if (p >= end) throw fail(kind, 'path identifier without a prefix');
    }
    const len = buf[p++];
    if (len > max) throw fail(kind, `prefix length ${len} exceeds ${max}`);
    const n = (len + 7) >> 3;
    if (p + n > end) throw fail(kind, `prefix /${len} overruns the NLRI field`);
    const lastMask = len & 7 ? (0xff << (8 - (len & 7))) & 0xff : 0xff;
    if (max === 32) {
      let a = 0, b = 0, c = 0, d = 0;
      if (n > 0) a = buf[p];
      if (n > 1) b = buf[p + 1];
      if (n > 2) c = buf[p + 2];
      if (n > 3) d = buf[p + 3];
      switch (n) {
        case 1: a &= lastMask; break;
        case 2: b &= lastMask; break;
        case 3: c &= lastMask; break;
        case 4: d &= lastMask; break;
      }
      if (keys) keys.push((((a << 24) >>> 0) + ((b << 16) | (c << 8) | d)) * 64 + len);
      else out.push(`${a}.${b}.${c}.${d}/${len}`);
    } else {
      out.push(`${formatIpv6At(buf, p, n, lastMask)}/${len}`);
    }
    p += n;
  }
}

function fail(kind: 'badNlri' | 'mpReach' | 'mpUnreach', detail: string): never {
  updateProblem(kind, 0, detail);
  throw new Error('unreachable: updateProblem throws for session-reset rules');
}

/** Prefix length of a canonical prefix string (the part after '/'); -1 when absent. */
function lengthOf(prefix: string): number {
  const slash = prefix.lastIndexOf('/');
  if (slash < 0) return -1;
  let v = 0;
  for (let i = slash + 1; i < prefix.length; i++) {
    const c = prefix.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return slash + 1 < prefix.length ? v : -1;
}

/** Bytes one prefix takes on the wire (without a path id). */
export function prefixWireLength(prefix: string): number {
  const len = lengthOf(prefix);
  if (len < 0) throw new BgpEncodeError(`not a prefix: ${prefix}`);
  return 1 + ((len + 7) >> 3);
}

export function prefixesWireLength(prefixes: readonly string[], withPathIds: boolean): number {
  let n = 0;
  for (let i = 0; i < prefixes.length; i++) n += prefixWireLength(prefixes[i]);
  return withPathIds ? n + 4 * prefixes.length : n;
}

/** Parses a dotted quad at s[0, stop) into `into` (4 bytes); false when it is not one. */
function parseV4Into(s: string, stop: number, into: number[]): boolean {
  let part = 0;
  let v = 0;
  let digits = 0;
  for (let i = 0; i < stop; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 2) return false;
      into[part++] = v;
      v = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      if (++digits > 3 || v > 255) return false;
    } else return false;
  }
  if (digits === 0 || part !== 3) return false;
  into[3] = v;
  return true;
}
const v4 = [0, 0, 0, 0];

const v6 = new Uint8Array(16);
const v6groups = new Uint16Array(8);
/**
 * Parses hex-group IPv6 text at s[0, stop) into `v6` (no embedded IPv4 tail: those go the slow way).
 * False when the text is not such an address.
 */
function parseV6Into(s: string, stop: number): boolean {
  let n = 0; // groups before '::'
  let gap = -1; // index in v6groups where '::' sits
  let v = 0;
  let digits = 0;
  for (let i = 0; i < stop; i++) {
    const c = s.charCodeAt(i);
    if (c === 58) {
      if (i + 1 < stop && s.charCodeAt(i + 1) === 58) {
        if (gap >= 0) return false;
        if (digits) { if (n >= 8) return false; v6groups[n++] = v; }
        else if (i !== 0) return false;
        gap = n;
        i++;
        v = 0;
        digits = 0;
        continue;
      }
      if (!digits || n >= 8) return false;
      v6groups[n++] = v;
      v = 0;
      digits = 0;
      continue;
    }
    const h = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (h < 0 || ++digits > 4) return false;
    v = (v << 4) | h;
  }
  if (digits) { if (n >= 8) return false; v6groups[n++] = v; }
  else if (gap !== n) return false; // trailing ':' without '::'
  if (gap < 0 ? n !== 8 : n > 7) return false;
  v6.fill(0);
  const tail = gap < 0 ? 0 : n - gap;
  for (let g = 0; g < n; g++) {
    const at = gap >= 0 && g >= gap ? 8 - tail + (g - gap) : g;
    v6[at * 2] = v6groups[g] >> 8;
    v6[at * 2 + 1] = v6groups[g] & 0xff;
  }
  return true;
}

/** Writes one prefix (length byte + significant bytes) for `family`; host bits are cleared. */
export function writePrefix(w: Writer, prefix: string, family: Family): void {
  const slash = prefix.lastIndexOf('/');
  const len = lengthOf(prefix);
  const n = (len + 7) >> 3;
  if (family === 'ipv4' && len >= 0 && len <= 32 && parseV4Into(prefix, slash, v4)) {
    w.u8(len);
    for (let i = 0; i < n; i++) w.u8(i === n - 1 && len & 7 ? v4[i] & (0xff << (8 - (len & 7))) : v4[i]);
    return;
  }
  if (family === 'ipv6' && len >= 0 && len <= 128 && parseV6Into(prefix, slash)) {
    w.u8(len);
    for (let i = 0; i < n; i++) w.u8(i === n - 1 && len & 7 ? v6[i] & (0xff << (8 - (len & 7))) : v6[i]);
    return;
  }
  let p;
  try {
    p = parsePrefix(prefix, true);
  } catch {
    throw new BgpEncodeError(`not a prefix: ${prefix}`);
  }
  if (p.family !== family) throw new BgpEncodeError(`${prefix} is not an ${family} prefix`);
  w.u8(p.len);
  w.bytes(p.addr.subarray(0, n));
}

/**
 * IPv4 prefixes as numbers: address × 64 + length (exact in a double). The RIB keeps IPv4 prefixes
 * this way (rib/prefix-table.ts), so handing them to the encoder as numbers saves formatting a
 * string per prefix and parsing it back (a third of a reflector's encoding time at 1M prefixes).
 */
export function v4KeyWireLength(key: number): number {
  return 1 + (((key % 64) + 7) >> 3);
}

/** Writes one IPv4 prefix given as address × 64 + length; host bits are cleared. */
export function writeV4Key(w: Writer, key: number): void {
  const len = key % 64;
  if (!(len <= 32 && key >= 0 && key < 0x4000000000)) throw new BgpEncodeError(`not an IPv4 prefix key: ${key}`);
  const addr = (key - len) / 64;
  const n = (len + 7) >> 3;
  w.u8(len);
  for (let i = 0; i < n; i++) {
    const b = (addr >>> (24 - 8 * i)) & 0xff;
    w.u8(i === n - 1 && len & 7 ? b & (0xff << (8 - (len & 7))) : b);
  }
}

export function writePrefixes(w: Writer, prefixes: readonly string[], family: Family, pathIds?: readonly number[]): void {
  for (let i = 0; i < prefixes.length; i++) {
    if (pathIds) w.u32(pathIds[i] ?? 0);
    writePrefix(w, prefixes[i], family);
  }
}
