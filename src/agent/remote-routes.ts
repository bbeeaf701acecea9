/**
 * Which remote pod blocks go into this node's kernel, and how: the meeting point of what BGP
 * learned (reachability) and what Kubernetes says (who owns a block, which encapsulation its pool
 * wants, the owner's VTEP).
 *
 * BGP decides *whether*: a block is installed only while BGP has a best path for it — a node whose
 * sessions are down stops attracting traffic, as with Calico's BIRD. Kubernetes decides *how*: when the
 * best path's next hop is the block owner's address, the topology's route (direct, IPIP or VXLAN,
 * computed from the IPPool mode and the subnets) is used. A learned prefix that is not a known node's
 * block (a ToR's route, a service range another node advertises) is installed directly via its next
 * hop when that next hop is on one of this node's subnets, and ignored otherwise (the kernel would
 * refuse a gateway it cannot reach, and Petrel does no recursive next-hop resolution).
 *
 * Pure: same inputs, same output, sorted.
 */
import { prefixContains } from '../model/ip.js';
import type { RemoteBlockRoute, Topology } from '../model/topology.js';

/** The part of a BGP best route this needs (bgp/rib BestRoute fits). */
export interface LearnedRoute {
  prefix: string;
  nextHop: string;
  nextHops?: string[];
  local: boolean;
}

export interface RemoteRoutesResult {
  routes: RemoteBlockRoute[];
  /** Learned prefixes not installed, with why (for logs and status). */
  ignored: Array<{ prefix: string; reason: string }>;
}

type Subnets = readonly string[] | (() => readonly string[]);

/** What one learned prefix becomes: its routes, or why it has none. */
interface Outcome { routes: RemoteBlockRoute[]; ignored?: string }

const NONE: Outcome = Object.freeze({ routes: [] });

function sameRoute(a: RemoteBlockRoute, b: RemoteBlockRoute): boolean {
  return a === b || (a.prefix === b.prefix && a.node === b.node && a.nextHop === b.nextHop && a.mode === b.mode && a.pool === b.pool
    && a.vtep?.mac === b.vtep?.mac && a.vtep?.address === b.vtep?.address);
}

function sameRoutes(a: readonly RemoteBlockRoute[] | undefined, b: readonly RemoteBlockRoute[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameRoute(a[i], b[i])) return false;
  return true;
}

const byNextHop = (a: RemoteBlockRoute, b: RemoteBlockRoute) => (a.nextHop < b.nextHop ? -1 : a.nextHop > b.nextHop ? 1 : 0);

/**
 * The remote routes kept up to date by deltas: a best-path change recomputes its prefixes only, and a
 * new topology only the prefixes whose blocks (owner, next hop, encapsulation, VTEP) or ownership
 * changed. The topology keeps an unchanged node's block route as the same object, so comparing a
 * prefix's blocks is usually an identity check. Each change of the output is a new sorted list;
 * the same list is returned while nothing changed.
 *
 * Foreign prefixes (installed via an on-link next hop) depend on the host's subnets, which no event
 * announces: they are re-evaluated on every call that hands in a topology, as the whole set was before.
 *
 * `localSubnets` may be a function: it is then called only when a learned prefix is not a known node's
 * block (reading the host's interfaces is a getifaddrs netlink dump, and in a cluster of only pod
 * blocks it is never needed), and at most once per call.
 */
export class RemoteRouteTable {
  private readonly learned = new Map<string, LearnedRoute>();
  private blocks = new Map<string, RemoteBlockRoute[]>();
  private local = new Set<string>();
  private topo: Pick<Topology, 'remoteBlocks' | 'localBlocks'> | undefined;
  private readonly out = new Map<string, Outcome>();
  /** Prefixes routed (or ignored) by the host's subnets rather than by the topology. */
  private readonly foreign = new Set<string>();
  private result: RemoteRoutesResult = { routes: [], ignored: [] };
  private dirty = false;

  constructor(private readonly localSubnets: Subnets) {}

  /** Best-path changes (`after` undefined: withdrawn). True when the routes changed. */
  learn(deltas: Iterable<{ prefix: string; after?: LearnedRoute | undefined }>): boolean {
    const touched: string[] = [];
    for (const d of deltas) {
      if (d.after) this.learned.set(d.prefix, d.after);
      else this.learned.delete(d.prefix);
      touched.push(d.prefix);
    }
    return this.topo ? this.recompute(touched) : false; // the first topology computes everything
  }

  /** Forgets every learned route (a new speaker starts from nothing). True when the routes changed. */
  clearLearned(): boolean {
    const touched = [...this.learned.keys()];
    this.learned.clear();
    return this.topo ? this.recompute(touched) : false;
  }

  /** A (possibly) new topology. True when the routes changed. */
  setTopology(topo: Pick<Topology, 'remoteBlocks' | 'localBlocks'>): boolean {
    const touched = new Set<string>(this.foreign);
    if (topo.remoteBlocks !== this.topo?.remoteBlocks || topo.localBlocks !== this.topo?.localBlocks) {
      const blocks = new Map<string, RemoteBlockRoute[]>();
      for (const b of topo.remoteBlocks) {
        const list = blocks.get(b.prefix);
        if (list) list.push(b);
        else blocks.set(b.prefix, [b]);
      }
      const local = new Set(topo.localBlocks.map((b) => b.prefix));
      if (!this.topo) for (const p of this.learned.keys()) touched.add(p);
      else {
        for (const [p, list] of blocks) {
          // The topology keeps an unchanged node's route object: identity settles almost every prefix
          // here, so the full comparison (and its compilation, hot in every agent at once) stays rare.
          const old = this.blocks.get(p);
          if (old !== undefined && old.length === 1 && list.length === 1 && old[0] === list[0]) continue;
          if (!sameRoutes(list, old)) touched.add(p);
        }
        for (const p of this.blocks.keys()) if (!blocks.has(p)) touched.add(p);
        for (const p of local) if (!this.local.has(p)) touched.add(p);
        for (const p of this.local) if (!local.has(p)) touched.add(p);
      }
      this.blocks = blocks;
      this.local = local;
    }
    this.topo = topo;
    return this.recompute(touched);
  }

  /** The routes (sorted by prefix, then next hop) and the learned prefixes left out, with why. */
  get current(): RemoteRoutesResult {
    if (this.dirty) {
      this.dirty = false;
      const routes: RemoteBlockRoute[] = [];
      const ignored: RemoteRoutesResult['ignored'] = [];
      for (const p of [...this.out.keys()].sort()) {
        const o = this.out.get(p)!;
        for (const r of o.routes) routes.push(r);
        if (o.ignored) ignored.push({ prefix: p, reason: o.ignored });
      }
      this.result = { routes, ignored };
    }
    return this.result;
  }

  private recompute(prefixes: Iterable<string>): boolean {
    let subnets: readonly string[] | undefined = typeof this.localSubnets === 'function' ? undefined : this.localSubnets;
    const onLink = (hop: string) => (subnets ??= (this.localSubnets as () => readonly string[])()).some((s) => prefixContains(s, hop));
    let changed = false;
    for (const prefix of prefixes) {
      const next = this.outcome(prefix, this.learned.get(prefix), onLink);
      const prev = this.out.get(prefix) ?? NONE;
      if (next === NONE) this.out.delete(prefix);
      else this.out.set(prefix, next);
      if (prev.ignored !== next.ignored || !sameRoutes(prev.routes, next.routes)) changed = true;
    }
    if (changed) this.dirty = true;
    return changed;
  }

  private outcome(prefix: string, r: LearnedRoute | undefined, onLink: (hop: string) => boolean): Outcome {
    this.foreign.delete(prefix);
    if (!r || r.local) return NONE;
    if (this.local.has(prefix)) return { routes: [], ignored: 'this node owns the block' };
    const hops = r.nextHops && r.nextHops.length > 0 ? r.nextHops : [r.nextHop];
    const known = this.blocks.get(prefix);
    const routes: RemoteBlockRoute[] = [];
    for (const hop of hops) {
      const owner = known?.find((b) => b.nextHop === hop);
      if (owner) routes.push(owner);
      else {
        this.foreign.add(prefix);
        if (hop && onLink(hop)) routes.push({ prefix, node: '', nextHop: hop, mode: 'direct' });
      }
    }
    if (routes.length === 0) return { routes, ignored: `next hop ${hops.join(',') || '(none)'} is neither the block owner nor on a local subnet` };
    if (routes.length > 1) routes.sort(byNextHop);
    return { routes };
  }
}

/** The remote routes of a set of learned routes, all at once (the table above, from nothing). */
export function remoteRoutes(learned: Iterable<LearnedRoute>, topo: Pick<Topology, 'remoteBlocks' | 'localBlocks'>, localSubnets: Subnets): RemoteRoutesResult {
  const t = new RemoteRouteTable(localSubnets);
  t.setTopology(topo);
  t.learn([...learned].map((r) => ({ prefix: r.prefix, after: r })));
  return t.current;
}
