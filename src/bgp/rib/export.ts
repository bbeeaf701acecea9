/**
 * Export policy: which best paths go to which kind of peer, and how their attributes change on the
 * way out. It depends only on the kind of the receiving peer (eBGP, iBGP route-reflector client,
 * iBGP non-client), never on the individual peer — that is what lets peers of one kind share one
 * update group and one encoding (adj-rib-out.ts).
 *
 * Who gets what (RFC 4271 §9.2, RFC 4456 §6):
 *   originated and eBGP-learned paths → every peer;
 *   iBGP path from a non-client → eBGP peers and clients only (iBGP split horizon);
 *   iBGP path from a client → everyone.
 *   Without a cluster id we are no reflector: iBGP paths go to eBGP peers only.
 * Attributes:
 *   to eBGP: prepend our AS, next hop self, no LOCAL_PREF (§5.1.5), no MED learned from another AS
 *     (§5.1.4; a MED learned over iBGP is kept), no ORIGINATOR_ID/CLUSTER_LIST (RFC 4456 §8, they are
 *     optional non-transitive and meaningful inside the AS only);
 *   to iBGP, originated or eBGP-learned: next hop self (as Calico's BIRD config does), LOCAL_PREF
 *     100 unless the path carries one we accepted (an eBGP peer's is ignored);
 *   to iBGP, reflected: next hop and attributes unchanged; ORIGINATOR_ID set to the source peer's
 *     router id when absent, our cluster id prepended to CLUSTER_LIST (RFC 4456 §8).
 * AS4_PATH/AS4_AGGREGATOR are dropped (attrs.ts already merged them into AS_PATH/AGGREGATOR; the
 * codec writes them again for a peer without 4-octet AS). Unknown attributes: optional transitive
 * ones pass on with Partial set, the others are dropped (RFC 4271 §5, §9.1.3).
 */
import type { Family } from '../../model/ip.js';
import { unknownForPassOn } from '../wire/index.js';
import { AsPathSegmentType, type AsPathSegment, type PathAttributes } from '../wire/types.js';
import { DEFAULT_LOCAL_PREF } from './attrs.js';
import type { AttrSet, RibPeer } from './types.js';

export type GroupKind = 'ebgp' | 'ibgp-client' | 'ibgp';

export interface ExportContext {
  localAsn: number;
  /** Set when we are a route reflector. */
  clusterId?: string;
}

export function groupKindOf(peer: RibPeer, ctx: ExportContext): GroupKind {
  if (peer.kind === 'ebgp') return 'ebgp';
  return peer.rrClient && ctx.clusterId !== undefined ? 'ibgp-client' : 'ibgp';
}

/** RFC 4456 §6 and RFC 4271 §9.2: may a best path from `src` be sent to peers of kind `to`? */
export function exportable(src: RibPeer, to: GroupKind, ctx: ExportContext): boolean {
  if (src.kind !== 'ibgp') return true;
  if (to === 'ebgp') return true;
  if (ctx.clusterId === undefined) return false; // not a reflector: iBGP split horizon
  if (to === 'ibgp-client') return true; // from client or non-client → clients
  return src.rrClient; // → non-clients only from a client
}

export function prependAs(path: AsPathSegment[] | undefined, asn: number): AsPathSegment[] {
  if (path && path.length > 0 && path[0].type === AsPathSegmentType.AsSequence && path[0].asns.length < 255) {
    return [{ type: AsPathSegmentType.AsSequence, asns: [asn, ...path[0].asns] }, ...path.slice(1)];
  }
  return [{ type: AsPathSegmentType.AsSequence, asns: [asn] }, ...(path ?? [])];
}

export interface Exported {
  attrs: PathAttributes;
  nextHops: string[];
}

/**
 * The attributes and next hops `set` (a best path from `src`) is sent with to peers of kind `to`.
 * `nextHopSelf` is the group's own next hop for the set's family.
 */
export function exportAttrs(
  set: AttrSet,
  src: RibPeer,
  to: GroupKind,
  ctx: ExportContext,
  nextHopSelf: string[],
): Exported {
  const { as4Path: _p, as4Aggregator: _a, unknown, ...a } = set.attrs;
  // RFC 4271 §5: unrecognized optional transitive attributes are passed on with Partial set;
  // unrecognized non-transitive ones are not passed on.
  const passOn = unknownForPassOn(unknown);
  if (passOn) (a as PathAttributes).unknown = passOn;
  if (to === 'ebgp') {
    const { localPref: _lp, originatorId: _o, clusterList: _c, med, ...rest } = a;
    const out: PathAttributes = { ...rest, origin: a.origin ?? 0, asPath: prependAs(a.asPath, ctx.localAsn) };
    if (med !== undefined && src.kind === 'ibgp') out.med = med;
    return { attrs: out, nextHops: nextHopSelf };
  }
  if (src.kind === 'local' || src.kind === 'ebgp') {
    const { originatorId: _o, clusterList: _c, ...rest } = a;
    const out: PathAttributes = {
      ...rest,
      origin: a.origin ?? 0,
      asPath: a.asPath ?? [],
      localPref: src.kind === 'local' ? (a.localPref ?? DEFAULT_LOCAL_PREF) : DEFAULT_LOCAL_PREF,
    };
    const nextHops = src.kind === 'local' && set.nextHops.length > 0 ? set.nextHops : nextHopSelf;
    return { attrs: out, nextHops };
  }
  // Reflection, RFC 4456 §8.
  const out: PathAttributes = {
    ...a,
    localPref: a.localPref ?? DEFAULT_LOCAL_PREF,
    originatorId: a.originatorId ?? src.routerId,
    clusterList: [ctx.clusterId as string, ...(a.clusterList ?? [])],
  };
  return { attrs: out, nextHops: set.nextHops };
}

/** The next hops a group uses when next-hop-self applies. */
export function selfNextHops(nextHopSelf: { ipv4?: string; ipv6?: string[] }, family: Family): string[] {
  if (family === 'ipv4') return nextHopSelf.ipv4 ? [nextHopSelf.ipv4] : [];
  return nextHopSelf.ipv6 ?? [];
}
