/**
 * computeTopology: the cluster's BGP topology as seen from one node — a pure function of the
 * validated objects (resources.ts) and the node's name. Same inputs, same output: every list is
 * sorted and nothing depends on input order, the clock or randomness, so the agent can recompute
 * on every change and diff (diffTopology) to learn what to do.
 *
 * Peers, by the source that names them (when two name the same address, the first of this order
 * wins: node specific > global > route reflector > node-to-node mesh; then by BGPPeer name):
 *   - node-to-node mesh (BGPConfiguration.nodeToNodeMesh): every other node, on every address family
 *     both have. Made one-way to avoid connection collisions (RFC 4271 §6.8 resolves them, but only
 *     after both connections were opened): we are passive toward a peer whose address is higher, so
 *     exactly one side of each pair connects.
 *   - BGPPeer with peerIP: the nodes it applies to (node / nodeSelector / every node) peer with that
 *     address; passive and AS as the object says ('global' without node/nodeSelector, else 'node specific').
 *   - BGPPeer with peerSelector: the nodes it applies to peer with the in-cluster nodes it selects,
 *     and — as in Calico — the selected nodes peer back with those nodes, so both ends configure the
 *     session. One-way by address, as the mesh. Each side uses the other's own AS.
 * Route reflection (RFC 4456): a node with a cluster id (annotation) is a route reflector. Toward an
 * in-cluster peer whose cluster id differs from its own (a plain node, or a reflector of another
 * cluster) it sets rrClient; reflectors sharing a cluster id are ordinary iBGP peers of each other.
 * Mesh sessions are never client sessions (a full mesh needs no reflection).
 *
 * Remote blocks: each other node's spec.podCIDRs, reached through the owning node's BGP address.
 * The IPPool containing the block (longest match) decides: VXLAN or IP-in-IP when its mode is Always,
 * or CrossSubnet and the owning node is outside this node's subnet (the CIDR annotation; /32 when
 * unknown, so CrossSubnet then always encapsulates); otherwise direct. Blocks in no pool are direct.
 *
 * What burned us (and Calico before us): a node whose address is unknown yet (it has just joined,
 * its agent has not annotated it) must not break the others — it is skipped with a problem.
 */
import { bytesEqual, familyOfIp, familyOfPrefix, formatIp, maskBytes, parseIp, parsePrefix, type Family, type Prefix } from '../model/ip.js';
import type {
  AdvertisedKind,
  AdvertisedPrefix,
  LocalBlock,
  PeerSpec,
  PeerType,
  PoolSummary,
  RemoteBlockRoute,
  Topology,
  TopologyProblem,
} from '../model/topology.js';
import { matchSelector } from './crds/selector.js';
import { defaultBgpConfiguration, NODE_ANNOTATIONS, NODE_LABELS, type BgpConfiguration, type BgpPeer, type IpPool, type NodeInfo } from './resources.js';

export interface TopologyInput {
  nodes: readonly NodeInfo[];
  bgpConfiguration?: BgpConfiguration;
  bgpPeers: readonly BgpPeer[];
  ipPools: readonly IpPool[];
  thisNode: string;
}

const FAMILIES: Family[] = ['ipv4', 'ipv6'];
const PRECEDENCE: Record<PeerType, number> = { 'node specific': 4, global: 3, 'route reflector': 2, 'node-to-node mesh': 1 };

/**
 * Parse results memoised by text: an agent computes the topology on every relevant event, and the
 * same few hundred addresses and prefixes were parsed again each time (the largest share of its CPU
 * per event at 50 nodes). Results are never mutated; the caches are cleared when they grow past a
 * bound, so a long-lived agent does not keep every address it ever saw.
 */
const MEMO_LIMIT = 50_000;
const ipMemo = new Map<string, Uint8Array>();
const prefixMemo = new Map<string, Prefix>();
const sortKeyMemo = new Map<string, string>();
function memo<V>(m: Map<string, V>, k: string, f: (k: string) => V): V {
  let v = m.get(k);
  if (v === undefined) {
    if (m.size >= MEMO_LIMIT) m.clear();
    v = f(k);
    m.set(k, v);
  }
  return v;
}
const ipOf = (s: string): Uint8Array => memo(ipMemo, s, parseIp);
const prefixOf = (s: string): Prefix => memo(prefixMemo, s, (k) => parsePrefix(k, true));

/**
 * What one node contributes to another node's topology — its mesh sessions and its blocks (pool,
 * checks, route) — depends only on that node, this node, the BGPConfiguration and the pools. The
 * agent recomputes on every relevant event and all but one node are the same objects as last time
 * (agent/cluster.ts keeps each object's conversion while it is unchanged), so their shares are kept
 * per NodeInfo object for as long as the context is the same. Everything kept is frozen: a caller
 * that mutated it would corrupt the next result, and now throws instead.
 */
interface BlockShare { prefix: string; pool: IpPool | undefined; checks: readonly TopologyProblem[]; reached?: { route: RemoteBlockRoute } | { problem: TopologyProblem } }
interface NodeShare {
  mesh?: { peers: readonly PeerSpec[]; problems: readonly TopologyProblem[] };
  blocks: BlockShare[];
  /** Per BGPPeer (by object): bit 1 its peerSelector selects this node, bit 2 it applies to this node. */
  bgpPeers?: WeakMap<BgpPeer, number>;
}
let shareContext: { thisNode: string; me: string; cfg: BgpConfiguration | undefined; pools: readonly IpPool[] } | undefined;
let shares = new WeakMap<NodeInfo, NodeShare>();

/**
 * What of this node the shares depend on: its addresses and subnets (sessions, same-subnet checks),
 * AS number and cluster id. Not its blocks or labels: this node's own podCIDR change (a new block, its
 * VTEP annotation patch) must not recompute every other node's share, on the path to advertising it.
 */
function shareKeyOf(me: NodeInfo): string {
  return `${me.name}|${me.ipv4?.address}|${me.ipv4?.subnet}|${me.ipv6?.address}|${me.ipv6?.subnet}|${me.asNumber}|${me.routeReflectorClusterId}`;
}

function sharesFor(thisNode: string, me: NodeInfo, cfg: BgpConfiguration | undefined, pools: readonly IpPool[]): WeakMap<NodeInfo, NodeShare> {
  const c = shareContext;
  const key = shareKeyOf(me);
  if (!c || c.thisNode !== thisNode || c.me !== key || c.cfg !== cfg || c.pools.length !== pools.length || c.pools.some((p, i) => p !== pools[i])) {
    shareContext = { thisNode, me: key, cfg, pools: [...pools] };
    shares = new WeakMap();
  }
  return shares;
}

/** Orders addresses numerically (IPv4 before IPv6). */
export function compareIp(a: string, b: string): number {
  const x = ipOf(a);
  const y = ipOf(b);
  if (x.length !== y.length) return x.length - y.length;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

/**
 * A string whose plain ordering is the numeric order of prefixes: family, network address, length.
 * Sorting thousands of blocks by keys computed once is ~10× faster than parsing in the comparator.
 */
export function prefixSortKey(prefix: string): string {
  return memo(sortKeyMemo, prefix, sortKeyOf);
}

function sortKeyOf(prefix: string): string {
  const p = prefixOf(prefix);
  let hex = p.family === 'ipv4' ? '4' : '6';
  for (const b of p.addr) hex += b.toString(16).padStart(2, '0');
  return `${hex}/${p.len.toString().padStart(3, '0')}`;
}

/** Orders prefixes by family, network address, then length. */
export function comparePrefix(a: string, b: string): number {
  return byString(prefixSortKey(a), prefixSortKey(b));
}

/** True when address `ip` lies in prefix `subnet` (both text, parsed once). */
function ipWithin(ip: string, subnet: string): boolean {
  const a = ipOf(ip);
  const p = prefixOf(subnet);
  return a.length === p.addr.length && bytesEqual(maskBytes(a, p.len), p.addr);
}

function sortByPrefix<T extends { prefix: string }>(list: T[]): T[] {
  return list
    .map((x) => ({ x, k: prefixSortKey(x.prefix) }))
    .sort((a, b) => byString(a.k, b.k))
    .map((e) => e.x);
}

/** True when `inner` equals or lies inside `outer`. */
export function prefixWithin(inner: string, outer: string): boolean {
  const i = prefixOf(inner);
  const o = prefixOf(outer);
  return i.family === o.family && i.len >= o.len && bytesEqual(maskBytes(i.addr, o.len), o.addr);
}

/** A BGP Identifier for a node with no IPv4 address: FNV-1a of its name (never 0.0.0.0, RFC 6286 §2.1). */
export function hashRouterId(name: string): string {
  let h = 0x811c9dc5;
  for (const ch of new TextEncoder().encode(name)) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
  if (h === 0) h = 1;
  return formatIp(new Uint8Array([h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff]));
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function sortProblems(ps: TopologyProblem[]): TopologyProblem[] {
  const key = (p: TopologyProblem) => `${p.kind}\u0000${p.name}\u0000${p.field}\u0000${p.message}`;
  const seen = new Map<string, TopologyProblem>();
  for (const p of ps) seen.set(key(p), p);
  return [...seen.entries()].sort((a, b) => byString(a[0], b[0])).map((e) => e[1]);
}

function appliesTo(p: BgpPeer, n: NodeInfo): boolean {
  if (p.node !== undefined) return p.node === n.name;
  if (p.nodeSelector) return matchSelector(p.nodeSelector, n.labels);
  return true;
}

interface ParsedPool {
  pool: IpPool;
  prefix: Prefix;
}

/** The longest pool containing `prefix` (ties: the first name; `pools` come sorted by name). */
function poolFor(pools: readonly ParsedPool[], prefix: string): IpPool | undefined {
  const p = prefixOf(prefix);
  let best: ParsedPool | undefined;
  for (const c of pools) {
    if (c.prefix.family !== p.family || p.len < c.prefix.len || !bytesEqual(maskBytes(p.addr, c.prefix.len), c.prefix.addr)) continue;
    if (!best || c.prefix.len > best.prefix.len) best = c;
  }
  return best?.pool;
}

export function computeTopology(input: TopologyInput): Topology {
  const cfg = input.bgpConfiguration ?? defaultBgpConfiguration();
  const problems: TopologyProblem[] = [];
  const nodes = [...input.nodes].sort((a, b) => byString(a.name, b.name));
  const pools = [...input.ipPools].sort((a, b) => byString(a.name, b.name));
  const bgpPeers = [...input.bgpPeers].sort((a, b) => byString(a.name, b.name));
  const me = nodes.find((n) => n.name === input.thisNode);
  const poolSummaries: PoolSummary[] = pools.map((p) => ({
    name: p.name, cidr: p.cidr, ipipMode: p.ipipMode, vxlanMode: p.vxlanMode, natOutgoing: p.natOutgoing, disabled: p.disabled,
  }));
  if (!me) {
    return {
      node: input.thisNode, localAsn: cfg.asNumber, routerId: hashRouterId(input.thisNode), listenPort: cfg.listenPort,
      peers: [], advertise: [], remoteBlocks: [], localBlocks: [], pools: poolSummaries,
      problems: [{ kind: 'Node', name: input.thisNode, field: '', message: 'this node is not known (no valid Node object): nothing to peer or advertise' }],
    };
  }
  const asnOf = (n: NodeInfo) => n.asNumber ?? cfg.asNumber;
  const localAsn = asnOf(me);
  const clusterId = me.routeReflectorClusterId;
  if (me.routeReflectorLabel && !clusterId)
    problems.push({ kind: 'Node', name: me.name, field: `metadata.annotations[${NODE_ANNOTATIONS.routeReflectorClusterId}]`,
      message: `labelled ${NODE_LABELS.routeReflector}=true but has no cluster id: it does not reflect` });
  if (!me.ipv4 && !me.ipv6)
    problems.push({ kind: 'Node', name: me.name, field: `metadata.annotations[${NODE_ANNOTATIONS.bgpIpv4Address}]`,
      message: 'this node has no BGP address (no annotation and no InternalIP): it cannot peer' });

  // ---- peers
  const candidates: PeerSpec[] = [];
  const addrOf = (n: NodeInfo, f: Family) => (f === 'ipv4' ? n.ipv4 : n.ipv6)?.address;
  const inCluster = (n: NodeInfo, type: PeerType, name: string, via?: BgpPeer) => {
    for (const f of FAMILIES) {
      const mine = addrOf(me, f);
      const theirs = addrOf(n, f);
      if (!mine || !theirs) continue;
      if (mine === theirs) {
        problems.push({ kind: 'Node', name: n.name, field: `metadata.annotations[${f === 'ipv4' ? NODE_ANNOTATIONS.bgpIpv4Address : NODE_ANNOTATIONS.bgpIpv6Address}]`,
          message: `has the same BGP address ${theirs} as node ${me.name}` });
        continue;
      }
      const holdTime = via?.holdTime ?? cfg.holdTime;
      const spec: PeerSpec = {
        name: `${name}:${n.name}:${f}`, type, address: theirs, port: cfg.listenPort, asn: asnOf(n), localAsn, localAddress: mine,
        passive: compareIp(theirs, mine) > 0,
        rrClient: type !== 'node-to-node mesh' && clusterId !== undefined && n.routeReflectorClusterId !== clusterId,
        holdTime, keepaliveTime: keepaliveFor(holdTime, cfg), families: [f], node: n.name,
      };
      if (via?.password) spec.password = via.password;
      if (via?.maxPrefixes !== undefined) spec.maxPrefixes = via.maxPrefixes;
      if (via) spec.bgpPeer = via.name;
      candidates.push(spec);
    }
  };
  const kept = sharesFor(input.thisNode, me, input.bgpConfiguration, pools);
  const shareOf = (n: NodeInfo): NodeShare => {
    let sh = kept.get(n);
    if (!sh) {
      sh = { blocks: [] };
      kept.set(n, sh);
    }
    return sh;
  };
  if (cfg.nodeToNodeMesh) {
    for (const n of nodes) {
      if (n === me) continue;
      const sh = shareOf(n);
      if (!sh.mesh) {
        const from = candidates.length;
        const fromP = problems.length;
        inCluster(n, 'node-to-node mesh', 'mesh');
        sh.mesh = Object.freeze({ peers: Object.freeze(candidates.splice(from).map((x) => Object.freeze(x))), problems: Object.freeze(problems.splice(fromP).map((x) => Object.freeze(x))) });
      }
      candidates.push(...sh.mesh.peers);
      problems.push(...sh.mesh.problems);
    }
  }
  for (const p of bgpPeers) {
    const explicitType: PeerType = p.node !== undefined || p.nodeSelector ? 'node specific' : 'global';
    // A global peerIP may name this very node (a reflector node listed by address): never peer with ourselves.
    const self = p.peerIP !== undefined && (p.peerIP.address === me.ipv4?.address || p.peerIP.address === me.ipv6?.address);
    if (p.peerIP && appliesTo(p, me) && !self) {
      const f = familyOfIp(p.peerIP.address);
      const holdTime = p.holdTime ?? cfg.holdTime;
      const spec: PeerSpec = {
        name: `bgppeer:${p.name}`, type: explicitType, address: p.peerIP.address, port: p.peerIP.port, asn: p.asNumber ?? localAsn,
        localAsn, passive: p.passive, rrClient: false, holdTime, keepaliveTime: keepaliveFor(holdTime, cfg), families: [f], bgpPeer: p.name,
      };
      const mine = addrOf(me, f);
      if (mine) spec.localAddress = mine;
      else problems.push({ kind: 'BGPPeer', name: p.name, field: 'spec.peerIP', message: `node ${me.name} has no ${f === 'ipv4' ? 'IPv4' : 'IPv6'} BGP address to peer with ${p.peerIP.address} from` });
      if (p.password) spec.password = p.password;
      if (p.maxPrefixes !== undefined) spec.maxPrefixes = p.maxPrefixes;
      candidates.push(spec);
    }
    if (p.peerSelector) {
      // Forward: we are a node of this BGPPeer and n is selected. Reverse: we are selected and n is a node of it.
      // What the BGPPeer says of each node is kept in the node's share: an event re-evaluates only the nodes that changed.
      const forward = appliesTo(p, me);
      const reverse = matchSelector(p.peerSelector, me.labels);
      for (const n of nodes) {
        if (n === me || (!forward && !reverse)) continue;
        const sh = shareOf(n);
        const memo = (sh.bgpPeers ??= new WeakMap());
        let bits = memo.get(p);
        if (bits === undefined) {
          bits = (matchSelector(p.peerSelector, n.labels) ? 1 : 0) | (appliesTo(p, n) ? 2 : 0);
          memo.set(p, bits);
        }
        if ((forward && (bits & 1) !== 0) || (reverse && (bits & 2) !== 0)) {
          const type = clusterId !== undefined || n.routeReflectorClusterId !== undefined ? 'route reflector' : explicitType;
          inCluster(n, type, `bgppeer:${p.name}`, p);
        }
      }
    }
  }
  // One session per remote address: the highest precedence wins, then the first name.
  candidates.sort((a, b) => PRECEDENCE[b.type] - PRECEDENCE[a.type] || byString(a.name, b.name));
  const byAddress = new Map<string, PeerSpec>();
  for (const c of candidates) if (!byAddress.has(c.address)) byAddress.set(c.address, c);
  const peers = [...byAddress.values()].sort((a, b) => byString(a.name, b.name));

  // ---- what we advertise
  const advertise = advertised(me, cfg);

  // ---- blocks
  const parsedPools: ParsedPool[] = pools.map((pool) => ({ pool, prefix: prefixOf(pool.cidr) }));
  const localBlocks: LocalBlock[] = sortByPrefix(me.podCIDRs.map((prefix) => {
    const pool = poolFor(parsedPools, prefix);
    const b: LocalBlock = { prefix, natOutgoing: pool?.natOutgoing ?? false };
    if (pool) b.pool = pool.name;
    return b;
  }));
  const owner = new Map<string, string>(me.podCIDRs.map((p) => [p, me.name]));
  const remoteBlocks: RemoteBlockRoute[] = [];
  for (const n of nodes) {
    const sh = shareOf(n);
    if (sh.blocks.length !== n.podCIDRs.length) sh.blocks = n.podCIDRs.map((prefix) => blockShare(parsedPools, n, prefix));
    for (const b of sh.blocks) {
      problems.push(...b.checks);
      if (n === me) continue;
      const prev = owner.get(b.prefix);
      if (prev !== undefined) {
        problems.push({ kind: 'Node', name: n.name, field: 'spec.podCIDRs', message: `block ${b.prefix} is also node ${prev}'s: not routed to ${n.name}` });
        continue;
      }
      owner.set(b.prefix, n.name);
      b.reached ??= freezeReach(reach(me, n, b.prefix, b.pool));
      if ('problem' in b.reached) problems.push(b.reached.problem);
      else remoteBlocks.push(b.reached.route);
    }
  }

  const topo: Topology = {
    node: me.name, localAsn, routerId: me.ipv4?.address ?? hashRouterId(me.name), listenPort: cfg.listenPort,
    peers, advertise, remoteBlocks: sortByPrefix(remoteBlocks), localBlocks, pools: poolSummaries, problems: sortProblems(problems),
  };
  if (clusterId !== undefined) topo.clusterId = clusterId;
  return topo;
}

/** A block's pool and the checks that depend only on its node and the pools (see NodeShare). */
function blockShare(parsedPools: readonly ParsedPool[], n: NodeInfo, prefix: string): BlockShare {
  const pool = poolFor(parsedPools, prefix);
  const checks: TopologyProblem[] = [];
  if (pool && !matchSelector(pool.nodeSelector, n.labels))
    checks.push({ kind: 'IPPool', name: pool.name, field: 'spec.nodeSelector', message: `block ${prefix} of node ${n.name} lies in this pool but the pool does not select the node` });
  if (pool?.blockSize !== undefined && prefixOf(prefix).len !== pool.blockSize)
    checks.push({ kind: 'Node', name: n.name, field: 'spec.podCIDRs', message: `block ${prefix} is not a /${pool.blockSize} as IPPool ${pool.name} requires` });
  return { prefix, pool, checks: Object.freeze(checks.map((c) => Object.freeze(c))) };
}

function freezeReach(r: { route: RemoteBlockRoute } | { problem: TopologyProblem }): { route: RemoteBlockRoute } | { problem: TopologyProblem } {
  if ('route' in r && r.route.vtep) Object.freeze(r.route.vtep);
  Object.freeze('route' in r ? r.route : r.problem);
  return Object.freeze(r);
}

function keepaliveFor(holdTime: number, cfg: BgpConfiguration): number {
  if (holdTime === 0) return 0;
  // RFC 4271 §4.4: a third of the hold time is the recommended keepalive interval.
  return cfg.keepaliveTime > 0 && cfg.keepaliveTime < holdTime ? cfg.keepaliveTime : Math.max(1, Math.floor(holdTime / 3));
}

function advertised(me: NodeInfo, cfg: BgpConfiguration): AdvertisedPrefix[] {
  const out = new Map<string, AdvertisedPrefix>();
  const add = (prefix: string, kind: AdvertisedKind) => {
    if (out.has(prefix)) return; // first kind wins: pod blocks, then cluster, external, load balancer
    const communities = new Set<number>();
    for (const pa of cfg.prefixAdvertisements) if (prefixWithin(prefix, pa.cidr)) for (const c of pa.communities) communities.add(c);
    out.set(prefix, { prefix, kind, communities: [...communities].sort((a, b) => a - b) });
  };
  for (const p of me.podCIDRs) add(p, 'pod-block');
  for (const p of cfg.serviceClusterIPs) add(p, 'service-cluster-ip');
  for (const p of cfg.serviceExternalIPs) add(p, 'service-external-ip');
  for (const p of cfg.serviceLoadBalancerIPs) add(p, 'service-loadbalancer-ip');
  return sortByPrefix([...out.values()]);
}

function reach(me: NodeInfo, n: NodeInfo, prefix: string, pool: IpPool | undefined): { route: RemoteBlockRoute } | { problem: TopologyProblem } {
  const f = familyOfPrefix(prefix);
  const theirs = f === 'ipv4' ? n.ipv4 : n.ipv6;
  const mine = f === 'ipv4' ? me.ipv4 : me.ipv6;
  if (!theirs) {
    return { problem: { kind: 'Node', name: n.name, field: `metadata.annotations[${f === 'ipv4' ? NODE_ANNOTATIONS.bgpIpv4Address : NODE_ANNOTATIONS.bgpIpv6Address}]`,
      message: `block ${prefix} has no next hop: the node has no ${f === 'ipv4' ? 'IPv4' : 'IPv6'} address` } };
  }
  const sameSubnet = mine !== undefined && ipWithin(theirs.address, mine.subnet);
  const wants = (mode: string | undefined) => mode === 'Always' || (mode === 'CrossSubnet' && !sameSubnet);
  const route: RemoteBlockRoute = { prefix, node: n.name, nextHop: theirs.address, mode: 'direct' };
  if (pool) route.pool = pool.name;
  if (wants(pool?.vxlanMode)) {
    const address = n.vxlanTunnelAddress; // annotated or derived (k8s/resources.ts convertNode)
    if (!address || !n.vxlanTunnelMac) {
      return { problem: { kind: 'Node', name: n.name, field: `metadata.annotations[${NODE_ANNOTATIONS.vxlanTunnelAddress}]`,
        message: `block ${prefix} needs VXLAN (IPPool ${pool!.name}) but the node has no VTEP address (no IPv4 podCIDR of /30 or shorter, no annotation): not routed` } };
    }
    route.mode = 'vxlan';
    route.vtep = { mac: n.vxlanTunnelMac, address };
  } else if (wants(pool?.ipipMode)) {
    route.mode = 'ipip';
  }
  return { route };
}

// ---------------------------------------------------------------------------------------------

export interface ListDiff<T> {
  added: T[];
  removed: T[];
  changed: Array<{ before: T; after: T }>;
}

export interface TopologyDiff {
  /** localAsn, routerId, clusterId or listenPort changed: the speaker must restart its sessions. */
  identityChanged: boolean;
  peers: ListDiff<PeerSpec>;
  advertise: ListDiff<AdvertisedPrefix>;
  remoteBlocks: ListDiff<RemoteBlockRoute>;
  localBlocks: ListDiff<LocalBlock>;
  pools: ListDiff<PoolSummary>;
  problems: ListDiff<TopologyProblem>;
}

function diffBy<T>(a: readonly T[], b: readonly T[], key: (x: T) => string): ListDiff<T> {
  const ma = new Map(a.map((x) => [key(x), x]));
  const mb = new Map(b.map((x) => [key(x), x]));
  const out: ListDiff<T> = { added: [], removed: [], changed: [] };
  for (const [k, x] of ma) {
    const y = mb.get(k);
    if (y === undefined) out.removed.push(x);
    else if (JSON.stringify(x) !== JSON.stringify(y)) out.changed.push({ before: x, after: y });
  }
  for (const [k, y] of mb) if (!ma.has(k)) out.added.push(y);
  return out;
}

/** What changed from `a` to `b`, keyed by peer name, prefix, pool name and problem text. */
export function diffTopology(a: Topology, b: Topology): TopologyDiff {
  return {
    identityChanged: a.localAsn !== b.localAsn || a.routerId !== b.routerId || a.clusterId !== b.clusterId || a.listenPort !== b.listenPort,
    peers: diffBy(a.peers, b.peers, (p) => p.name),
    advertise: diffBy(a.advertise, b.advertise, (p) => p.prefix),
    remoteBlocks: diffBy(a.remoteBlocks, b.remoteBlocks, (r) => r.prefix),
    localBlocks: diffBy(a.localBlocks, b.localBlocks, (r) => r.prefix),
    pools: diffBy(a.pools, b.pools, (p) => p.name),
    problems: diffBy(a.problems, b.problems, (p) => `${p.kind}|${p.name}|${p.field}|${p.message}`),
  };
}

/** True when the diff holds no change at all. */
export function isEmptyDiff(d: TopologyDiff): boolean {
  return !d.identityChanged && [d.peers, d.advertise, d.remoteBlocks, d.localBlocks, d.pools, d.problems].every((l) => l.added.length + l.removed.length + l.changed.length === 0);
}
