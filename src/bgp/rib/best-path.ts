/**
 * Best-path selection as an ordered list of named comparators (GoBGP's compareByX chain): the first
 * comparator that prefers one path decides, and its name is the reason kept for `petrel routes`.
 *
 * Rules (RFC 4271 §9.1.2.2, RFC 4456 §9), in order, after one of ours (a path whose peer is down
 * and that is being removed loses to every other):
 *   locally originated > learned; highest LOCAL_PREF (ignored, i.e. 100, on eBGP-learned paths:
 *   RFC 4271 §5.1.5); shortest AS_PATH (AS_SET = 1, confederation segments = 0); lowest ORIGIN;
 *   lowest MED, only between paths from the same neighbouring AS (missing MED = 0); eBGP over iBGP;
 *   lowest ORIGINATOR_ID, or router id when absent; shortest CLUSTER_LIST; lowest peer address.
 * There is no IGP metric step (no IGP here: next hops are on-link or resolved by the kernel).
 * MED makes the relation non-transitive (RFC 4271 §9.1.2.2 note); like most implementations
 * without "deterministic MED" we compare pairwise in arrival order.
 */
import type { Path } from './types.js';

export interface Comparator {
  /** Shown as the reason a path won. */
  readonly name: string;
  /** Negative when `a` is better, positive when `b` is better, 0 when this rule cannot tell. */
  cmp(a: Path, b: Path): number;
}

function localPref(p: Path): number {
  return p.peer.kind === 'ebgp' ? 100 : p.attrs.localPref;
}

export const COMPARATORS: readonly Comparator[] = [
  // A path whose peer went down and that is still being removed (loc-rib.ts removePeer) never wins.
  { name: 'peer up', cmp: (a, b) => (a.gone ? 1 : 0) - (b.gone ? 1 : 0) },
  { name: 'locally originated', cmp: (a, b) => Number(b.peer.kind === 'local') - Number(a.peer.kind === 'local') },
  { name: 'higher LOCAL_PREF', cmp: (a, b) => localPref(b) - localPref(a) },
  { name: 'shorter AS_PATH', cmp: (a, b) => a.attrs.asPathLen - b.attrs.asPathLen },
  { name: 'lower ORIGIN', cmp: (a, b) => a.attrs.origin - b.attrs.origin },
  {
    name: 'lower MED',
    cmp: (a, b) => (a.attrs.neighborAs === b.attrs.neighborAs ? a.attrs.med - b.attrs.med : 0),
  },
  {
    name: 'eBGP over iBGP',
    cmp: (a, b) => Number(b.peer.kind === 'ebgp') - Number(a.peer.kind === 'ebgp'),
  },
  {
    name: 'lower router id',
    cmp: (a, b) => (a.attrs.originatorIdNum ?? a.peer.routerIdNum) - (b.attrs.originatorIdNum ?? b.peer.routerIdNum),
  },
  { name: 'shorter CLUSTER_LIST', cmp: (a, b) => a.attrs.clusterLen - b.attrs.clusterLen },
  {
    name: 'lower peer address',
    cmp: (a, b) => (a.peer.addressKey < b.peer.addressKey ? -1 : a.peer.addressKey > b.peer.addressKey ? 1 : 0),
  },
];

/** Compares two paths; `reason` is the deciding comparator's name ('equal' when none decides). */
export function comparePaths(a: Path, b: Path): { winner: Path; reason: string } {
  for (const c of COMPARATORS) {
    const r = c.cmp(a, b);
    if (r < 0) return { winner: a, reason: c.name };
    if (r > 0) return { winner: b, reason: c.name };
  }
  return { winner: a, reason: 'equal' };
}

/** True when `a` is strictly preferred over `b`. Allocation-free (the hot path). */
export function better(a: Path, b: Path): boolean {
  for (const c of COMPARATORS) {
    const r = c.cmp(a, b);
    if (r !== 0) return r < 0;
  }
  return false;
}

/** Picks the best of the paths (the first wins ties). */
export function selectBest(paths: readonly Path[]): Path | undefined {
  let best = paths[0];
  for (let i = 1; i < paths.length; i++) if (better(paths[i], best)) best = paths[i];
  return best;
}

/**
 * Why `best` won: the deciding rule against the strongest other path (the runner-up), or
 * 'only path' when there is no other.
 */
export function bestReason(best: Path, paths: readonly Path[]): string {
  let runnerUp: Path | undefined;
  for (const p of paths) if (p !== best && (!runnerUp || better(p, runnerUp))) runnerUp = p;
  return runnerUp ? comparePaths(best, runnerUp).reason : 'only path';
}
