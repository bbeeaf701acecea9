/**
 * The narrow interface between the reconcilers and the kernel (Felix's "netlink shim" idea).
 * The real implementation (netlink/rtnl.ts) speaks rtnetlink through our addon; unit tests use an
 * in-memory fake (test/dataplane/fake-kernel.ts) with the same semantics for what we rely on:
 * create-exclusive fails with EEXIST when any route holds the key, delete matches the protocol,
 * a route through a link disappears with the link.
 *
 * Everything is plain data: addresses are canonical strings, prefixes canonical CIDR strings.
 * A route's identity in one table is its destination (Petrel sets no metric or TOS), so the
 * reconcilers key routes by `dst`.
 */
import type { NetlinkError } from './netlink/errors.js';

export type RouteType = 'unicast' | 'blackhole';

export interface KernelNextHop {
  gateway?: string;
  ifindex: number;
  onlink: boolean;
}

export interface KernelRoute {
  dst: string;
  table: number;
  protocol: number;
  type: RouteType;
  /** RT_SCOPE_* number: 0 universe, 253 link. */
  scope: number;
  /** Sorted by (ifindex, gateway); empty for a blackhole. */
  nexthops: KernelNextHop[];
}

export interface VxlanInfo {
  vni: number;
  port: number;
  local?: string;
  link?: number;
  learning: boolean;
}

export interface KernelLink {
  index: number;
  name: string;
  kind?: string;
  mtu: number;
  up: boolean;
  mac?: string;
  vxlan?: VxlanInfo;
  /** IFLA_LINK: for a veth, the peer's ifindex (in the peer's namespace). */
  peerIndex?: number;
}

export interface KernelAddr {
  index: number;
  address: string;
  prefixLen: number;
  /** IFA_F_NODAD: an IPv6 address usable at once, without duplicate address detection (a pod's /128). */
  nodad?: boolean;
}

export interface KernelNeigh {
  /** 'inet'/'inet6' = ARP/ND entry (dst → lladdr); 'bridge' = FDB entry (lladdr → dst). */
  family: 'inet' | 'inet6' | 'bridge';
  ifindex: number;
  dst?: string;
  lladdr?: string;
  state: number;
  flags: number;
}

export interface LinkSpec {
  /** Existing link to change; absent = create by name. */
  index?: number;
  name: string;
  kind?: 'ipip' | 'vxlan' | 'veth';
  mtu?: number;
  up?: boolean;
  mac?: string;
  vxlan?: VxlanInfo;
  /** kind 'veth': the other end, created directly in the namespace open at `netnsFd` when given. */
  veth?: VethPeer;
}

export interface VethPeer {
  name: string;
  /** A file descriptor of the peer's network namespace (IFLA_NET_NS_FD). */
  netnsFd?: number;
  mtu?: number;
  mac?: string;
}

export type KernelOp =
  | { op: 'route-create'; route: KernelRoute } // NLM_F_CREATE|NLM_F_EXCL: never replaces another's route
  | { op: 'route-replace'; route: KernelRoute } // NLM_F_CREATE|NLM_F_REPLACE: only for routes we own
  | { op: 'route-delete'; route: KernelRoute } // matched on dst, table and our protocol
  | { op: 'link-set'; link: LinkSpec }
  | { op: 'link-delete'; index: number; name: string }
  | { op: 'addr-add'; addr: KernelAddr }
  | { op: 'addr-delete'; addr: KernelAddr }
  | { op: 'neigh-set'; neigh: KernelNeigh }
  | { op: 'neigh-delete'; neigh: KernelNeigh };

/** Route verbs of a RouteBatch (numbers, so a batch's verbs fit one reused Uint8Array). */
export const VERB_CREATE = 0; // NLM_F_CREATE|NLM_F_EXCL
export const VERB_REPLACE = 1; // NLM_F_CREATE|NLM_F_REPLACE (ours only)
export const VERB_DELETE = 2; // matched on dst, table and protocol

/**
 * Route writes straight from the reconciler's entries: `verbs[i]` applies to `routes[i]` for
 * i < length. The arrays are the reconciler's own, reused from pass to pass (longer than `length`),
 * and the routes are its cached objects: no KernelOp per route on the bulk path.
 */
export interface RouteBatch {
  length: number;
  verbs: Uint8Array;
  routes: KernelRoute[];
}

export interface KernelEvents {
  route(kind: 'new' | 'del', route: KernelRoute): void;
  link(kind: 'new' | 'del', link: KernelLink): void;
  neigh(kind: 'new' | 'del', neigh: KernelNeigh): void;
  /** An address was added to or removed from interface `index`. */
  addr(index: number): void;
  /** Some nftables object changed (any table: the NAT reconciler re-reads its own). */
  nft(): void;
  /** Events were lost (receive buffer overflow): the caller must resynchronise everything. */
  overflow(): void;
}

export interface KernelPort {
  /** Inode of the network namespace the port programs (compared with PID 1's for safety). */
  readonly nsInode: number;
  dumpRoutes(protocol: number): Promise<KernelRoute[]>;
  dumpLinks(): Promise<KernelLink[]>;
  dumpAddrs(index?: number): Promise<KernelAddr[]>;
  dumpNeighs(ifindex: number): Promise<KernelNeigh[]>;
  /** One link by name (RTM_GETLINK, no dump); undefined when there is none. Optional: fakes may dump. */
  getLink?(name: string): Promise<KernelLink | undefined>;
  /** Applies ops in order, in as few system calls as possible; one entry per op: undefined = done. */
  write(ops: readonly KernelOp[]): Promise<Array<NetlinkError | undefined>>;
  /** Applies a route batch in order, like write(); failures by batch index (absent = done). */
  writeRoutes(batch: RouteBatch): Promise<Map<number, NetlinkError>>;
  /** Starts delivering events (route events only for `protocol`). Idempotent. */
  watch(protocol: number, events: KernelEvents): void;
  close(): void;
}

export function routeKey(r: { table: number; dst: string }): string {
  return r.table === 254 ? r.dst : `${r.table}:${r.dst}`;
}

export function compareNextHops(a: KernelNextHop, b: KernelNextHop): number {
  return a.ifindex - b.ifindex || (a.gateway ?? '').localeCompare(b.gateway ?? '');
}

/** Same route as far as Petrel cares (protocol and table are part of the key already). */
export function sameRoute(a: KernelRoute, b: KernelRoute): boolean {
  if (a.type !== b.type || a.scope !== b.scope || a.nexthops.length !== b.nexthops.length) return false;
  for (let i = 0; i < a.nexthops.length; i++) {
    const x = a.nexthops[i];
    const y = b.nexthops[i];
    if (x.ifindex !== y.ifindex || (x.gateway ?? '') !== (y.gateway ?? '') || x.onlink !== y.onlink) return false;
  }
  return true;
}
