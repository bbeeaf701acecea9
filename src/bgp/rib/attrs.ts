/**
 * Attribute interning. A route reflector holding 1M paths typically sees a handful of distinct
 * attribute sets (one per client and next hop), so each set is stored once and paths point at it.
 *
 * The key is the family, the next hops and the received attribute bytes (the codec's rawAttributes:
 * every path attribute except MP_REACH/MP_UNREACH, exactly as the peer sent them) — computing it costs
 * one latin1 string per UPDATE, not per prefix. When no raw bytes are available (originated routes,
 * or a decoder that did not keep them) a canonical text of the decoded attributes is used instead.
 * Sets are reference counted and dropped when the last path leaves.
 */
import type { Family } from '../../model/ip.js';
import { AS_TRANS, mergeAs4Path } from '../wire/index.js';
import { AsPathSegmentType, type AsPathSegment, type OriginValue, type PathAttributes } from '../wire/types.js';
import type { AttrSet } from './types.js';

export const DEFAULT_LOCAL_PREF = 100;

export function ipv4ToNum(s: string): number {
  const p = s.split('.');
  return ((Number(p[0]) << 24) >>> 0) + (Number(p[1]) << 16) + (Number(p[2]) << 8) + Number(p[3]);
}

/** RFC 4271 §9.1.2.2 (a): an AS_SET counts as one AS; RFC 5065 §5.3: confederation segments count 0. */
export function asPathLength(path: AsPathSegment[] | undefined): number {
  if (!path) return 0;
  let n = 0;
  for (const seg of path) {
    if (seg.type === AsPathSegmentType.AsSequence) n += seg.asns.length;
    else if (seg.type === AsPathSegmentType.AsSet) n += 1;
  }
  return n;
}

/** The neighbouring AS for MED comparison (RFC 4271 §9.1.2.2 (c)): first AS of the first AS_SEQUENCE. */
export function neighborAs(path: AsPathSegment[] | undefined): number {
  if (!path) return 0;
  for (const seg of path) {
    if (seg.type === AsPathSegmentType.AsSequence && seg.asns.length > 0) return seg.asns[0];
    if (seg.type === AsPathSegmentType.AsSet) return 0;
  }
  return 0;
}

/** Flattens an AS_PATH for display (sets shown by their members in order). */
export function flatAsPath(path: AsPathSegment[] | undefined): number[] {
  const out: number[] = [];
  if (path) for (const seg of path) out.push(...seg.asns);
  return out;
}

function canonicalText(attrs: PathAttributes): string {
  return JSON.stringify(attrs, (_k, v: unknown) =>
    v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') : v,
  );
}

/**
 * What an interned set keeps: no next hop or MP attributes (they live elsewhere), and from a 2-octet
 * peer the real AS path and aggregator rebuilt from AS4_PATH/AS4_AGGREGATOR (RFC 6793 §4.2.3), so
 * that best path, loop detection and export see 4-octet ASes.
 */
export function stripNextHop(attrs: PathAttributes): PathAttributes {
  const plain = attrs.nextHop === undefined && attrs.mpReach === undefined && attrs.mpUnreach === undefined;
  if (plain && attrs.as4Path === undefined && attrs.as4Aggregator === undefined) return attrs;
  const { nextHop: _n, mpReach: _r, mpUnreach: _u, as4Path, as4Aggregator, ...rest } = attrs;
  if (as4Path && rest.asPath) rest.asPath = mergeAs4Path(rest.asPath, as4Path);
  if (as4Aggregator && rest.aggregator?.asn === AS_TRANS) rest.aggregator = as4Aggregator;
  return rest;
}

export class AttrStore {
  private readonly sets = new Map<string, AttrSet>();
  private nextId = 1;
  constructor(private readonly localAsn: number) {}

  get size(): number {
    return this.sets.size;
  }

  /**
   * Returns the interned set for these attributes, creating it if needed. The caller takes one
   * reference per path it stores (`ref`), and gives it back with `unref`.
   */
  intern(family: Family, attrs: PathAttributes, nextHops: string[], raw?: Uint8Array): AttrSet {
    const body = raw
      ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1')
      : canonicalText(stripNextHop(attrs));
    // IPv4's NEXT_HOP is inside raw already, but the next hops are added for both families so that a
    // set never depends on where the next hop was carried.
    const key = `${family}|${nextHops.join(',')}|${raw ? 'r' : 'c'}|${body}`;
    let set = this.sets.get(key);
    if (!set) {
      const a = stripNextHop(attrs);
      const asPath = a.asPath;
      let hasOwnAs = false;
      if (asPath) for (const seg of asPath) if (seg.asns.includes(this.localAsn)) hasOwnAs = true;
      set = {
        key,
        id: this.nextId++,
        family,
        attrs: a,
        nextHops,
        refs: 0,
        localPref: a.localPref ?? DEFAULT_LOCAL_PREF,
        asPathLen: asPathLength(asPath),
        origin: (a.origin ?? 0) as OriginValue,
        med: a.med ?? 0,
        neighborAs: neighborAs(asPath),
        clusterLen: a.clusterList?.length ?? 0,
        originatorIdNum: a.originatorId !== undefined ? ipv4ToNum(a.originatorId) : undefined,
        hasOwnAs,
      };
      this.sets.set(key, set);
    }
    return set;
  }

  ref(set: AttrSet): void {
    set.refs++;
  }

  unref(set: AttrSet): void {
    if (--set.refs <= 0) this.sets.delete(set.key);
  }

  /** Drops a set that no path took (e.g. every prefix of its UPDATE was a loop). */
  release(set: AttrSet): void {
    if (set.refs <= 0) this.sets.delete(set.key);
  }
}
