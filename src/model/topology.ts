/**
 * The cluster's BGP topology as plain data: what one node should do, computed from Kubernetes
 * objects by k8s/topology.ts and consumed by the speaker (peers, advertised prefixes) and the
 * dataplane (how to reach each remote pod block). No behaviour lives here, only shapes, so every
 * layer may import it without crossing a module boundary.
 *
 * Conventions: addresses are canonical text (model/ip.ts), prefixes canonical CIDR strings, AS
 * numbers plain integers (4-octet, RFC 6793), times in seconds. Every list that comes out of
 * computeTopology() is sorted, so two results can be compared with deepEqual and diffed.
 */
import type { Family } from './ip.js';

/** How a peering came to be; it decides precedence when two sources name the same address. */
export type PeerType = 'node-to-node mesh' | 'route reflector' | 'global' | 'node specific';

/** A reference to a key of a Secret (in the agent's own namespace) holding the TCP-MD5 password. */
export interface SecretKeyRef {
  name: string;
  key: string;
}

/** One BGP session this node should have. The speaker diffs successive lists by `name`. */
export interface PeerSpec {
  /** Stable and unique within one node's list, e.g. "mesh:node-b:ipv4" or "bgppeer:tor-a". */
  name: string;
  type: PeerType;
  /** Remote address, canonical. */
  address: string;
  /** Remote TCP port (179 unless the BGPPeer gave one). */
  port: number;
  /** Remote AS; differs from localAsn for eBGP. */
  asn: number;
  /** Our AS for this session (this node's AS). */
  localAsn: number;
  /** Our address of the same family, when this node has one: bind for active connects, next-hop-self. */
  localAddress?: string;
  /** Accept only, never connect (collision avoidance inside the cluster, or BGPPeer.passive). */
  passive: boolean;
  /** We reflect routes to this peer (RFC 4456 client): set on a route reflector toward its clients. */
  rrClient: boolean;
  /** Proposed hold time in seconds (RFC 4271 §4.2: 0 or at least 3). */
  holdTime: number;
  keepaliveTime: number;
  families: Family[];
  /** TCP-MD5 (RFC 2385) password to read from a Secret; the agent resolves it. */
  password?: SecretKeyRef;
  /** Tear the session down when the peer sends more prefixes than this. */
  maxPrefixes?: number;
  /** The in-cluster node at the other end, when it is one. */
  node?: string;
  /** The BGPPeer object this session comes from, when it does. */
  bgpPeer?: string;
}

export type AdvertisedKind = 'pod-block' | 'service-cluster-ip' | 'service-external-ip' | 'service-loadbalancer-ip';

/** A prefix this node originates (next-hop-self). */
export interface AdvertisedPrefix {
  prefix: string;
  kind: AdvertisedKind;
  /** RFC 1997 standard communities as 32-bit numbers (high 16 bits = AS), sorted. */
  communities: number[];
}

export type ReachMode = 'direct' | 'ipip' | 'vxlan';

/** A VXLAN tunnel endpoint of a remote node: the dataplane programs ARP/FDB entries from it. */
export interface Vtep {
  mac: string;
  /** The VTEP's address on the VXLAN device (the route's gateway). */
  address: string;
}

/** How this node reaches a pod block owned by another node. */
export interface RemoteBlockRoute {
  prefix: string;
  node: string;
  /** The owning node's underlay (BGP) address of the block's family. */
  nextHop: string;
  mode: ReachMode;
  /** Present when mode is 'vxlan'. */
  vtep?: Vtep;
  /** The IPPool the block lies in, when one does. */
  pool?: string;
}

/** A pod block owned by this node. */
export interface LocalBlock {
  prefix: string;
  pool?: string;
  natOutgoing: boolean;
}

export type EncapMode = 'Always' | 'CrossSubnet' | 'Never';

/** An IPPool as the dataplane needs it (NAT outgoing: masquerade from natOutgoing pools to outside all pools). */
export interface PoolSummary {
  name: string;
  cidr: string;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  natOutgoing: boolean;
  disabled: boolean;
}

/** Something wrong with an input object; the object (or the part of it) is skipped. */
export interface TopologyProblem {
  kind: 'Node' | 'Pod' | 'BGPConfiguration' | 'BGPPeer' | 'IPPool';
  name: string;
  /** Dotted path of the offending field ("spec.peerSelector", "metadata.annotations[petrel.dev/as-number]"). */
  field: string;
  message: string;
}

export interface Topology {
  /** This node's name. */
  node: string;
  localAsn: number;
  /** RFC 4271 BGP Identifier, dotted quad. */
  routerId: string;
  /** Route reflector cluster id (RFC 4456), when this node is a route reflector. */
  clusterId?: string;
  listenPort: number;
  peers: PeerSpec[];
  advertise: AdvertisedPrefix[];
  remoteBlocks: RemoteBlockRoute[];
  localBlocks: LocalBlock[];
  /** Every valid IPPool, sorted by name. */
  pools: PoolSummary[];
  problems: TopologyProblem[];
}
