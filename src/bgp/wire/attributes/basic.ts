/**
 * Descriptors of the RFC 4271 attributes (ORIGIN, AS_PATH, NEXT_HOP, MULTI_EXIT_DISC, LOCAL_PREF,
 * ATOMIC_AGGREGATE, AGGREGATOR) and of RFC 6793's AS4_PATH and AS4_AGGREGATOR.
 * Each length/value check cites the RFC 7606 section that decides what a violation costs; the
 * action itself is looked up in errors.ts UPDATE_ERRORS through the descriptor's `error` field.
 */
import { AttrFlag, AttrType, type CodecContext, type PathAttributes } from '../types.js';
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';
import { AS_TRANS, decodeSegments, formatAsPath, segmentsLength, writeSegments } from './as-path.js';
import type { AttrDescriptor } from './descriptor.js';

const WK = AttrFlag.Transitive; // well-known: Optional 0, Transitive 1
const OPT = AttrFlag.Optional;
const OPT_T = AttrFlag.Optional | AttrFlag.Transitive;

const ORIGIN_NAMES = ['IGP', 'EGP', 'Incomplete'];

function fixed(r: Reader, n: number): boolean {
  return r.end - r.pos === n;
}

export const origin: AttrDescriptor = {
  code: AttrType.Origin, name: 'origin', flags: WK, error: 'origin',
  decode(r, a) {
    // RFC 7606 §7.1: length other than 1, or an undefined value, is malformed.
    if (!fixed(r, 1)) return `ORIGIN length ${r.remaining} is not 1`;
    const v = r.u8();
    if (v > 2) return `ORIGIN value ${v} is undefined`;
    a.origin = v as 0 | 1 | 2;
    return undefined;
  },
  has: (a) => a.origin !== undefined,
  length: () => 1,
  encode: (w, a) => w.u8(a.origin ?? 2),
  format: (a) => ORIGIN_NAMES[a.origin ?? 2],
};

const asw = (ctx: CodecContext): 2 | 4 => (ctx.fourOctetAs ? 4 : 2);

export const asPath: AttrDescriptor = {
  code: AttrType.AsPath, name: 'as_path', flags: WK, error: 'asPath',
  decode(r, a, ctx) {
    const segs: NonNullable<PathAttributes['asPath']> = [];
    const bad = decodeSegments(r, asw(ctx), segs);
    if (bad) return bad;
    a.asPath = segs;
    return undefined;
  },
  has: (a) => a.asPath !== undefined,
  length: (a, ctx) => segmentsLength(a.asPath ?? [], asw(ctx)),
  encode: (w, a, ctx) => writeSegments(w, a.asPath ?? [], asw(ctx)),
  format: (a) => formatAsPath(a.asPath ?? []),
};

export const nextHop: AttrDescriptor = {
  code: AttrType.NextHop, name: 'next_hop', flags: WK, error: 'nextHop',
  decode(r, a) {
    // RFC 7606 §7.3: a NEXT_HOP whose length is not 4 is malformed.
    if (!fixed(r, 4)) return `NEXT_HOP length ${r.remaining} is not 4`;
    a.nextHop = r.ipv4();
    return undefined;
  },
  has: (a) => a.nextHop !== undefined,
  length: () => 4,
  encode: (w, a) => w.ip(a.nextHop ?? '0.0.0.0', 4),
  format: (a) => a.nextHop ?? '',
};

export const med: AttrDescriptor = {
  code: AttrType.MultiExitDisc, name: 'med', flags: OPT, error: 'med',
  decode(r, a) {
    // RFC 7606 §7.4: length other than 4 is malformed.
    if (!fixed(r, 4)) return `MULTI_EXIT_DISC length ${r.remaining} is not 4`;
    a.med = r.u32();
    return undefined;
  },
  has: (a) => a.med !== undefined,
  length: () => 4,
  encode: (w, a) => w.u32(a.med ?? 0),
  format: (a) => String(a.med),
};

export const localPref: AttrDescriptor = {
  code: AttrType.LocalPref, name: 'local_pref', flags: WK, error: 'localPref',
  decode(r, a) {
    // RFC 7606 §7.5: length other than 4 is malformed. (Ignoring it from eBGP peers is the RIB's job.)
    if (!fixed(r, 4)) return `LOCAL_PREF length ${r.remaining} is not 4`;
    a.localPref = r.u32();
    return undefined;
  },
  has: (a) => a.localPref !== undefined,
  length: () => 4,
  encode: (w, a) => w.u32(a.localPref ?? 0),
  format: (a) => String(a.localPref),
};

export const atomicAggregate: AttrDescriptor = {
  code: AttrType.AtomicAggregate, name: 'atomic_aggr', flags: WK, error: 'atomicAggregate',
  decode(r, a) {
    // RFC 7606 §7.6: length other than 0 → attribute discard.
    if (!fixed(r, 0)) return `ATOMIC_AGGREGATE length ${r.remaining} is not 0`;
    a.atomicAggregate = true;
    return undefined;
  },
  has: (a) => a.atomicAggregate === true,
  length: () => 0,
  encode: () => undefined,
  format: () => '',
};

function decodeAggregator(r: Reader, width: 2 | 4): { asn: number; address: string } | string {
  // RFC 7606 §7.7: length other than 6 (2-octet AS) or 8 (4-octet AS) → attribute discard.
  if (!fixed(r, width + 4)) return `AGGREGATOR length ${r.remaining} is not ${width + 4}`;
  const asn = width === 4 ? r.u32() : r.u16();
  // RFC 7607 §2: AS 0 in AGGREGATOR/AS4_AGGREGATOR makes it malformed.
  if (asn === 0) return 'aggregator AS 0';
  return { asn, address: r.ipv4() };
}

export const aggregator: AttrDescriptor = {
  code: AttrType.Aggregator, name: 'aggregator', flags: OPT_T, error: 'aggregator',
  decode(r, a, ctx) {
    const v = decodeAggregator(r, asw(ctx));
    if (typeof v === 'string') return v;
    a.aggregator = v;
    return undefined;
  },
  has: (a) => a.aggregator !== undefined,
  length: (_a, ctx) => asw(ctx) + 4,
  encode(w, a, ctx) {
    const g = a.aggregator ?? { asn: 0, address: '0.0.0.0' };
    if (ctx.fourOctetAs) w.u32(g.asn);
    else w.u16(g.asn > 0xffff ? AS_TRANS : g.asn);
    w.ip(g.address, 4);
  },
  format: (a) => (a.aggregator ? `${a.aggregator.address} AS${a.aggregator.asn}` : ''),
};

export const as4Path: AttrDescriptor = {
  code: AttrType.As4Path, name: 'as4_path', flags: OPT_T, error: 'as4',
  decode(r, a, ctx) {
    // RFC 6793 §6: AS4_PATH between two NEW speakers is discarded.
    if (ctx.fourOctetAs) return 'AS4_PATH received on a four-octet-AS session';
    // RFC 6793 §6: malformed when too short to carry one AS number, or its segments are.
    if (r.end - r.pos < 6) return `AS4_PATH length ${r.end - r.pos} is below 6`;
    const segs: NonNullable<PathAttributes['as4Path']> = [];
    const bad = decodeSegments(r, 4, segs);
    if (bad) return bad;
    // RFC 6793 §6: confederation segments in AS4_PATH are dropped, the rest kept.
    const kept = segs.filter((s) => s.type <= 2);
    if (kept.length === 0) return 'AS4_PATH holds only confederation segments';
    a.as4Path = kept;
    return undefined;
  },
  has: (a) => a.as4Path !== undefined,
  length: (a) => segmentsLength(a.as4Path ?? [], 4),
  encode: (w, a) => writeSegments(w, a.as4Path ?? [], 4),
  format: (a) => formatAsPath(a.as4Path ?? []),
};

export const as4Aggregator: AttrDescriptor = {
  code: AttrType.As4Aggregator, name: 'as4_aggregator', flags: OPT_T, error: 'as4',
  decode(r, a, ctx) {
    // RFC 6793 §6: discarded between NEW speakers; malformed → attribute discard.
    if (ctx.fourOctetAs) return 'AS4_AGGREGATOR received on a four-octet-AS session';
    const v = decodeAggregator(r, 4);
    if (typeof v === 'string') return v;
    a.as4Aggregator = v;
    return undefined;
  },
  has: (a) => a.as4Aggregator !== undefined,
  length: () => 8,
  encode(w: Writer, a) {
    w.u32(a.as4Aggregator?.asn ?? 0);
    w.ip(a.as4Aggregator?.address ?? '0.0.0.0', 4);
  },
  format: (a) => (a.as4Aggregator ? `${a.as4Aggregator.address} AS${a.as4Aggregator.asn}` : ''),
};

