/**
 * Plain-data views of RIB paths: BestRoute (best-path deltas for the agent and dataplane) and
 * RouteView (rows of `petrel routes --json`). Built on demand only — the RIB itself keeps paths as
 * two pointers.
 */
import { flatAsPath } from './attrs.js';
import { familyOf } from './loc-rib.js';
import type { BestRoute, Path, RouteView } from './types.js';

const ORIGIN_NAMES = ['igp', 'egp', 'incomplete'] as const;

export function formatCommunity(c: number): string {
  return `${c >>> 16}:${c & 0xffff}`;
}

export function toBestRoute(prefix: string, p: Path): BestRoute {
  const a = p.attrs.attrs;
  const r: BestRoute = {
    prefix,
    family: familyOf(prefix),
    nextHop: p.attrs.nextHops[0] ?? '',
    nextHops: p.attrs.nextHops,
    asPath: flatAsPath(a.asPath),
    origin: ORIGIN_NAMES[p.attrs.origin],
    localPref: p.peer.kind === 'ebgp' ? 100 : p.attrs.localPref,
    communities: a.communities ?? [],
    clusterList: a.clusterList ?? [],
    peer: p.peer.address,
    peerType: p.peer.kind,
    local: p.peer.kind === 'local',
  };
  if (a.med !== undefined) r.med = a.med;
  if (a.originatorId !== undefined) r.originatorId = a.originatorId;
  return r;
}

export function toRouteView(prefix: string, p: Path, best: boolean, reason: string): RouteView {
  const a = p.attrs.attrs;
  return {
    prefix,
    nextHop: p.attrs.nextHops[0] ?? 'self',
    nextHops: p.attrs.nextHops,
    asPath: flatAsPath(a.asPath),
    localPref: p.peer.kind === 'ebgp' ? 100 : p.attrs.localPref,
    med: a.med ?? null,
    origin: ORIGIN_NAMES[p.attrs.origin],
    communities: (a.communities ?? []).map(formatCommunity),
    originatorId: a.originatorId ?? null,
    clusterList: a.clusterList ?? [],
    peer: p.peer.address,
    best,
    reason,
  };
}
