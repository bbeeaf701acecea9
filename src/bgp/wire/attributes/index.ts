/**
 * The path attribute table and the loops that decode and encode a Path Attributes field.
 *
 * Decoding walks the attribute headers (RFC 4271 §4.3), checks flags and duplicates, hands each value
 * to its descriptor, and turns every failure into an RFC 7606 outcome through errors.ts
 * (UPDATE_ERRORS): attribute-discard drops the attribute, treat-as-withdraw is reported to the UPDATE
 * decoder (which withdraws the NLRI), session-reset throws. It also returns `raw`: the bytes of the
 * attributes that survived, minus MP_REACH/MP_UNREACH and unknown non-transitive attributes, with the
 * Partial bit set on unknown transitive ones (RFC 4271 §5) — ready to intern and to pass on. When
 * nothing had to be removed or changed, `raw` is a view of the message (no copy).
 *
 * Encoding writes MP_REACH_NLRI and MP_UNREACH_NLRI first (as BIRD and FRR do; GoBGP puts them last),
 * then the rest in ascending type code. The Extended Length bit is used when a value exceeds 255
 * bytes, and always for MP attributes (as BIRD does). Neither the received order nor the received
 * Extended Length/Partial bits of known attributes are kept: captured UPDATEs re-encode to the same
 * attributes and NLRI, not always the same bytes (what burned us: GoBGP sets Extended Length on a
 * 6-byte AS_PATH; BIRD sets Partial on communities it passes on).
 */
import { strongerAction, updateProblem } from '../errors.js';
import { Reader } from '../reader.js';
import { AttrFlag, AttrType, ErrorCode, UpdateSubcode, type AttributeProblem, type CodecContext, type ErrorAction, type PathAttributes, type UnknownAttribute } from '../types.js';
import type { Writer } from '../writer.js';
import { as4PathOf, needsAs4 } from './as-path.js';
import { aggregator, as4Aggregator, as4Path, asPath, atomicAggregate, localPref, med, nextHop, origin } from './basic.js';
import { clusterList, communities, extendedCommunities, largeCommunities, originatorId } from './communities.js';
import type { AttrDescriptor } from './descriptor.js';
import { mpReach, mpUnreach, UNSUPPORTED_FAMILY } from './multiprotocol.js';

/** Every attribute we understand, in ascending code order. */
export const ATTRIBUTES: readonly AttrDescriptor[] = [
  origin, asPath, nextHop, med, localPref, atomicAggregate, aggregator, communities, originatorId, clusterList,
  mpReach, mpUnreach, extendedCommunities, as4Path, as4Aggregator, largeCommunities,
];
const BY_CODE: Array<AttrDescriptor | undefined> = new Array(256);
for (const d of ATTRIBUTES) BY_CODE[d.code] = d;

export function attributeDescriptor(code: number): AttrDescriptor | undefined {
  return BY_CODE[code];
}

export interface DecodedAttributes {
  attrs: PathAttributes;
  problems: AttributeProblem[];
  /** The strongest non-fatal action among problems (treat-as-withdraw applies to the whole UPDATE). */
  action: ErrorAction | undefined;
  raw: Uint8Array | undefined;
}

const OT_MASK = AttrFlag.Optional | AttrFlag.Transitive;

/** Decodes the attributes in buf[start, end). Throws BgpError for session-reset errors. */
export function decodeAttributes(buf: Uint8Array, start: number, end: number, ctx: CodecContext): DecodedAttributes {
  const attrs: PathAttributes = {};
  const problems: AttributeProblem[] = [];
  let action: ErrorAction | undefined;
  const note = (p: AttributeProblem) => {
    problems.push(p);
    action = strongerAction(action, p.action);
  };
  let seenLow = 0; // codes 0..31
  let seenHigh: Set<number> | undefined;
  // Kept spans for `raw`: [start, end, start, end...]; `fix` lists flag offsets needing Partial.
  const spans: number[] = [];
  let fix: number[] | undefined;
  const r = new Reader(buf, start, end, ErrorCode.Update, UpdateSubcode.AttributeLengthError);
  let p = start;
  while (p < end) {
    const flags = buf[p];
    const ext = (flags & AttrFlag.ExtendedLength) !== 0;
    const hdr = ext ? 4 : 3;
    // RFC 7606 §4: too few bytes for a header, or a length past the field → treat-as-withdraw,
    // and nothing after it can be parsed.
    if (end - p < hdr) {
      note(updateProblem('attributeOverrun', p + 1 < end ? buf[p + 1] : 0, 'attribute header truncated'));
      break;
    }
    const code = buf[p + 1];
    const len = ext ? (buf[p + 2] << 8) | buf[p + 3] : buf[p + 2];
    const vStart = p + hdr;
    const vEnd = vStart + len;
    if (vEnd > end) {
      note(updateProblem('attributeOverrun', code, `attribute ${code} length ${len} overruns the attributes field`));
      break;
    }
    const attrStart = p;
    p = vEnd;
    // RFC 7606 §3: duplicates.
    let dup: boolean;
    if (code < 32) {
      dup = (seenLow & (1 << code)) !== 0;
      seenLow |= 1 << code;
    } else {
      seenHigh ??= new Set();
      dup = seenHigh.has(code);
      seenHigh.add(code);
    }
    if (dup) {
      if (code === AttrType.MpReachNlri || code === AttrType.MpUnreachNlri) updateProblem('duplicateMp', code, `attribute ${code} appears twice`);
      note(updateProblem('duplicate', code, `attribute ${code} appears twice; later copies discarded`));
      continue;
    }
    const d = BY_CODE[code];
    if (!d) {
      // RFC 4271 §6.3: an unrecognized well-known attribute is an error; RFC 4271 §9: unrecognized
      // optional ones are kept (transitive: passed on with Partial set; non-transitive: not passed on).
      if ((flags & AttrFlag.Optional) === 0) {
        updateProblem('unrecognizedWellKnown', code, `unrecognized well-known attribute ${code}`, buf.slice(attrStart, vEnd));
      }
      // The Extended Length bit is a wire detail, recomputed on encoding: not kept.
      (attrs.unknown ??= []).push({ flags: flags & ~AttrFlag.ExtendedLength, code, value: buf.slice(vStart, vEnd) });
      if (flags & AttrFlag.Transitive) {
        spans.push(attrStart, vEnd);
        if (!(flags & AttrFlag.Partial)) (fix ??= []).push(attrStart);
      }
      continue;
    }
    let ok = true;
    if ((flags & OT_MASK) !== d.flags) {
      // RFC 7606 §3: wrong Optional/Transitive bits → treat-as-withdraw.
      note(updateProblem('badFlags', code, `attribute ${d.name} has flags 0x${flags.toString(16)}`, buf.slice(attrStart, vEnd)));
      ok = false;
    }
    let bad: string | undefined;
    r.reset(vStart, vEnd);
    try {
      bad = d.decode(r, attrs, ctx);
    } catch (e) {
      // Only MP attributes throw on purpose (session reset); a short read elsewhere is malformed.
      if (d.code === AttrType.MpReachNlri || d.code === AttrType.MpUnreachNlri) throw e;
      bad = `${d.name} truncated`;
    }
    if (bad === UNSUPPORTED_FAMILY) {
      note(updateProblem('mpUnsupportedFamily', code, `${d.name} for an AFI/SAFI we do not speak`));
      continue;
    }
    if (bad !== undefined) {
      note(updateProblem(d.error, code, `${d.name}: ${bad}`, buf.slice(attrStart, vEnd)));
      continue;
    }
    if (ok && code !== AttrType.MpReachNlri && code !== AttrType.MpUnreachNlri) spans.push(attrStart, vEnd);
  }
  // Unknown attributes are kept in type-code order, the order they are encoded in.
  if (attrs.unknown && attrs.unknown.length > 1) attrs.unknown.sort((x, y) => x.code - y.code);
  let raw: Uint8Array | undefined;
  if (action !== 'treat-as-withdraw') raw = rawOf(buf, spans, fix);
  return { attrs, problems, action, raw };
}

function rawOf(buf: Uint8Array, spans: number[], fix: number[] | undefined): Uint8Array {
  // Join touching spans.
  let n = 0;
  for (let i = 0; i < spans.length; i += 2) {
    if (n > 0 && spans[n - 1] === spans[i]) spans[n - 1] = spans[i + 1];
    else { spans[n++] = spans[i]; spans[n++] = spans[i + 1]; }
  }
  if (n === 0) return new Uint8Array(0);
  if (n === 2 && !fix) return buf.subarray(spans[0], spans[1]);
  let total = 0;
  for (let i = 0; i < n; i += 2) total += spans[i + 1] - spans[i];
  const out = new Uint8Array(total);
  let o = 0;
  for (let i = 0; i < n; i += 2) {
    const s = spans[i], e = spans[i + 1];
    out.set(buf.subarray(s, e), o);
    if (fix) for (const f of fix) if (f >= s && f < e) out[o + f - s] |= AttrFlag.Partial;
    o += e - s;
  }
  return out;
}

/** Attributes as they go to the wire for this session (RFC 6793 §4.2.2 AS4_PATH handling). */
function forWire(a: PathAttributes, ctx: CodecContext): PathAttributes {
  if (ctx.fourOctetAs) {
    if (a.as4Path === undefined && a.as4Aggregator === undefined) return a;
    return { ...a, as4Path: undefined, as4Aggregator: undefined };
  }
  const addPath = a.as4Path === undefined && needsAs4(a.asPath);
  const addAgg = a.as4Aggregator === undefined && a.aggregator !== undefined && a.aggregator.asn > 0xffff;
  if (!addPath && !addAgg) return a;
  const out = { ...a };
  if (addPath) out.as4Path = as4PathOf(a.asPath ?? []);
  if (addAgg) out.as4Aggregator = a.aggregator;
  return out;
}

function hdrLen(valueLen: number, code: number): number {
  return valueLen > 255 || code === AttrType.MpReachNlri || code === AttrType.MpUnreachNlri ? 4 : 3;
}

function unknownSorted(a: PathAttributes): UnknownAttribute[] {
  const u = a.unknown;
  if (!u || u.length === 0) return [];
  return u.length === 1 ? u : [...u].sort((x, y) => x.code - y.code);
}

/** Bytes of the encoded Path Attributes field. */
export function attributesLength(attrs: PathAttributes, ctx: CodecContext): number {
  const a = forWire(attrs, ctx);
  let n = 0;
  for (const d of ATTRIBUTES) {
    if (!d.has(a)) continue;
    const l = d.length(a, ctx);
    n += hdrLen(l, d.code) + l;
  }
  for (const u of a.unknown ?? []) n += hdrLen(u.value.length, u.code) + u.value.length;
  return n;
}

function writeOne(w: Writer, d: AttrDescriptor, a: PathAttributes, ctx: CodecContext): void {
  const l = d.length(a, ctx);
  const ext = hdrLen(l, d.code) === 4;
  w.u8(d.flags | (ext ? AttrFlag.ExtendedLength : 0));
  w.u8(d.code);
  if (ext) w.u16(l);
  else w.u8(l);
  const before = w.pos;
  d.encode(w, a, ctx);
  if (w.pos - before !== l) throw new Error(`attribute ${d.name}: length ${l} but wrote ${w.pos - before}`);
}

function writeUnknown(w: Writer, u: UnknownAttribute): void {
  const ext = u.value.length > 255;
  w.u8((u.flags & ~AttrFlag.ExtendedLength) | (ext ? AttrFlag.ExtendedLength : 0));
  w.u8(u.code);
  if (ext) w.u16(u.value.length);
  else w.u8(u.value.length);
  w.bytes(u.value);
}

export function writeAttributes(w: Writer, attrs: PathAttributes, ctx: CodecContext): void {
  const a = forWire(attrs, ctx);
  if (a.mpReach) writeOne(w, mpReach, a, ctx);
  if (a.mpUnreach) writeOne(w, mpUnreach, a, ctx);
  const unknown = unknownSorted(a);
  let ui = 0;
  for (const d of ATTRIBUTES) {
    if (d === mpReach || d === mpUnreach) continue;
    while (ui < unknown.length && unknown[ui].code < d.code) writeUnknown(w, unknown[ui++]);
    if (d.has(a)) writeOne(w, d, a, ctx);
  }
  while (ui < unknown.length) writeUnknown(w, unknown[ui++]);
}

/**
 * Unknown attributes as they are passed on to another peer: optional transitive ones with the
 * Partial bit set, optional non-transitive ones dropped (RFC 4271 §5, §9).
 */
export function unknownForPassOn(unknown: readonly UnknownAttribute[] | undefined): UnknownAttribute[] | undefined {
  if (!unknown) return undefined;
  const out = unknown
    .filter((u) => (u.flags & AttrFlag.Optional) !== 0 && (u.flags & AttrFlag.Transitive) !== 0)
    .map((u) => ({ flags: u.flags | AttrFlag.Partial, code: u.code, value: u.value }));
  return out.length ? out : undefined;
}

/** `show route all`-style lines: "BGP.as_path: 64512 64513". */
export function formatAttributes(attrs: PathAttributes): string[] {
  const lines: string[] = [];
  for (const d of ATTRIBUTES) if (d.has(attrs)) lines.push(`BGP.${d.name}: ${d.format(attrs)}`.trimEnd());
  for (const u of attrs.unknown ?? []) {
    lines.push(`BGP.attr${u.code} [0x${u.flags.toString(16)}]: ${Array.from(u.value, (x) => x.toString(16).padStart(2, '0')).join('')}`);
  }
  return lines;
}

export { mergeAs4Path, AS_TRANS, pathLength, formatAsPath } from './as-path.js';
