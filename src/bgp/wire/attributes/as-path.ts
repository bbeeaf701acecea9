/**
 * AS_PATH and AS4_PATH (RFC 4271 §4.3, RFC 6793, confederation segments RFC 5065), and the RFC 6793
 * §4.2.3 merge of AS_PATH with AS4_PATH that a RIB calls for routes from 2-octet-AS peers.
 *
 * The width of AS numbers in AS_PATH depends on the session (ctx.fourOctetAs); AS4_PATH is always
 * 4 octets. Towards a 2-octet peer, ASNs above 65535 become AS_TRANS (23456) and the encoder adds
 * the AS4_PATH itself when the caller did not (RFC 6793 §4.2.2). Towards a 4-octet peer, AS4_PATH
 * and AS4_AGGREGATOR are never sent (RFC 6793 §3).
 */
import { AsPathSegmentType, type AsPathSegment } from '../types.js';
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';
import { readU32 } from './descriptor.js';

export const AS_TRANS = 23456;

/** Decodes segments from r; returns the problem text when malformed (RFC 7606 §7.2 rules). */
export function decodeSegments(r: Reader, width: 2 | 4, out: AsPathSegment[]): string | undefined {
  const b = r.buf;
  let p = r.pos;
  const end = r.end;
  while (p < end) {
    // RFC 7606 §7.2: a single octet left cannot hold a segment header.
    if (end - p < 2) return 'AS_PATH segment header truncated';
    const type = b[p];
    const count = b[p + 1];
    p += 2;
    if (type < AsPathSegmentType.AsSet || type > AsPathSegmentType.ConfedSet) return `unknown AS_PATH segment type ${type}`;
    // RFC 7606 §7.2: a segment length of zero is malformed.
    if (count === 0) return 'empty AS_PATH segment';
    if (p + count * width > end) return 'AS_PATH segment overruns the attribute';
    const asns = new Array<number>(count);
    let zero = false;
    if (width === 4) for (let i = 0; i < count; i++, p += 4) zero ||= (asns[i] = readU32(b, p)) === 0;
    else for (let i = 0; i < count; i++, p += 2) zero ||= (asns[i] = (b[p] << 8) | b[p + 1]) === 0;
    // RFC 7607 §2: AS 0 in a path makes the attribute malformed.
    if (zero) return 'AS 0 in the path';
    out.push({ type: type as AsPathSegment['type'], asns });
  }
  r.pos = p;
  return undefined;
}

export function segmentsLength(segs: readonly AsPathSegment[], width: 2 | 4): number {
  let n = 0;
  for (const s of segs) {
    // A segment holds at most 255 ASNs; longer ones are split on encoding.
    const pieces = Math.max(1, Math.ceil(s.asns.length / 255));
    n += 2 * pieces + width * s.asns.length;
  }
  return n;
}

export function writeSegments(w: Writer, segs: readonly AsPathSegment[], width: 2 | 4): void {
  for (const s of segs) {
    for (let start = 0; start < s.asns.length || start === 0; start += 255) {
      const piece = s.asns.slice(start, start + 255);
      w.u8(s.type);
      w.u8(piece.length);
      for (const asn of piece) {
        if (width === 4) w.u32(asn);
        else w.u16(asn > 0xffff ? AS_TRANS : asn);
      }
      if (s.asns.length === 0) break;
    }
  }
}

export function needsAs4(segs: readonly AsPathSegment[] | undefined): boolean {
  return !!segs && segs.some((s) => s.asns.some((a) => a > 0xffff));
}

/** The AS4_PATH a NEW speaker sends next to AS_PATH: confederation segments left out (RFC 6793 §3). */
export function as4PathOf(segs: readonly AsPathSegment[]): AsPathSegment[] {
  return segs.filter((s) => s.type === AsPathSegmentType.AsSet || s.type === AsPathSegmentType.AsSequence);
}

/** Number of ASes an AS_PATH counts for in path length (RFC 4271 §9.1.2.2: a set counts 1, confed 0). */
export function pathLength(segs: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segs) {
    if (s.type === AsPathSegmentType.AsSequence) n += s.asns.length;
    else if (s.type === AsPathSegmentType.AsSet) n += 1;
  }
  return n;
}

/**
 * RFC 6793 §4.2.3: rebuilds the real path from AS_PATH (with AS_TRANS) and AS4_PATH received from a
 * 2-octet peer. When AS_PATH is shorter than AS4_PATH the AS4_PATH is ignored; otherwise the leading
 * (len(AS_PATH) - len(AS4_PATH)) ASes of AS_PATH are kept and AS4_PATH appended.
 */
export function mergeAs4Path(asPath: readonly AsPathSegment[], as4Path: readonly AsPathSegment[] | undefined): AsPathSegment[] {
  const copy = (s: readonly AsPathSegment[]) => s.map((x) => ({ type: x.type, asns: x.asns.slice() }));
  if (!as4Path || as4Path.length === 0) return copy(asPath);
  const len = pathLength(asPath);
  const len4 = pathLength(as4Path);
  if (len < len4) return copy(asPath);
  let keep = len - len4;
  const out: AsPathSegment[] = [];
  for (const s of asPath) {
    if (s.type === AsPathSegmentType.ConfedSequence || s.type === AsPathSegmentType.ConfedSet) {
      out.push({ type: s.type, asns: s.asns.slice() });
      continue;
    }
    if (keep <= 0) break;
    if (s.type === AsPathSegmentType.AsSet) {
      out.push({ type: s.type, asns: s.asns.slice() });
      keep -= 1;
    } else {
      const take = Math.min(keep, s.asns.length);
      out.push({ type: s.type, asns: s.asns.slice(0, take) });
      keep -= take;
    }
  }
  for (const s of as4Path) out.push({ type: s.type, asns: s.asns.slice() });
  // Adjacent sequences that the cut left side by side are joined.
  const merged: AsPathSegment[] = [];
  for (const s of out) {
    const last = merged[merged.length - 1];
    if (last && last.type === AsPathSegmentType.AsSequence && s.type === AsPathSegmentType.AsSequence && last.asns.length + s.asns.length <= 255) {
      last.asns.push(...s.asns);
    } else merged.push(s);
  }
  return merged;
}

export function formatAsPath(segs: readonly AsPathSegment[]): string {
  return segs
    .map((s) => {
      const body = s.asns.join(' ');
      switch (s.type) {
        case AsPathSegmentType.AsSet: return `{${body}}`;
        case AsPathSegmentType.ConfedSequence: return `(${body})`;
        case AsPathSegmentType.ConfedSet: return `({${body}})`;
        default: return body;
      }
    })
    .join(' ');
}
