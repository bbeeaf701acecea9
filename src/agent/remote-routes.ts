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

/**
 * `localSubnets` may be a function: it is then called only when a learned prefix is not a known node's
 * block (reading the host's interfaces is a getifaddrs netlink dump, and in a cluster of only pod
 * blocks it is never needed).
 */
export function remoteRoutes(
  learned: Iterable<LearnedRoute>,
  topo: Pick<Topology, 'remoteBlocks' | 'localBlocks'>,
  localSubnetsIn: readonly string[] | (() => readonly string[]),
): RemoteRoutesResult {
  let subnets: readonly string[] | undefined = typeof localSubnetsIn === 'function' ? undefined : localSubnetsIn;
  const localSubnets = (): readonly string[] => (subnets ??= (localSubnetsIn as () => readonly string[])());
  const byPrefix = new Map<string, RemoteBlockRoute[]>();
  for (const b of topo.remoteBlocks) {
    const list = byPrefix.get(b.prefix);
    if (list) list.push(b);
    else byPrefix.set(b.prefix, [b]);
  }
  const local = new Set(topo.localBlocks.map((b) => b.prefix));
  const routes: RemoteBlockRoute[] = [];
  const ignored: RemoteRoutesResult['ignored'] = [];
  for (const r of learned) {
    if (r.local) continue;
    if (local.has(r.prefix)) {
      ignored.push({ prefix: r.prefix, reason: 'this node owns the block' });
      continue;
    }
    const hops = r.nextHops && r.nextHops.length > 0 ? r.nextHops : [r.nextHop];
    const known = byPrefix.get(r.prefix);
    let added = 0;
    for (const hop of hops) {
      const owner = known?.find((b) => b.nextHop === hop);
      if (owner) {
        routes.push(owner);
        added++;
      } else if (hop && localSubnets().some((s) => prefixContains(s, hop))) {
        routes.push({ prefix: r.prefix, node: '', nextHop: hop, mode: 'direct' });
        added++;
      }
    }
    if (added === 0) ignored.push({ prefix: r.prefix, reason: `next hop ${hops.join(',') || '(none)'} is neither the block owner nor on a local subnet` });
  }
  routes.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : a.nextHop < b.nextHop ? -1 : a.nextHop > b.nextHop ? 1 : 0));
  return { routes, ignored };
}
