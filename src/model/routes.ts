/**
 * Desired dataplane state as plain data: what the agent hands to the dataplane (src/dataplane/).
 * Remote blocks and local blocks are the topology's own shapes (model/topology.ts); this file adds
 * what only the dataplane needs: pod routes, tunnel settings and NAT pools.
 * Several RemoteBlockRoute entries with the same prefix are one ECMP route.
 */
export type { RemoteBlockRoute, LocalBlock, ReachMode, Vtep } from './topology.js';

/** A pod on this node: its address as a /32 (/128) and the host side of its veth. */
export interface LocalPodRoute {
  prefix: string;
  /** Host-side interface name (dataplane/names.ts hostVethName). */
  ifName: string;
}

/** Tunnel devices this node should have; absent/false = none (and remove ours). */
export interface TunnelSettings {
  ipip?: false | {
    /** This node's IPIP tunnel address (put on tunl0 as a /32), if any. */
    address?: string;
  };
  vxlan?: false | {
    vni: number;
    /** UDP port; 4789 (IANA) unless set. */
    port?: number;
    /** This node's VTEP address on the VXLAN device (/32). */
    address?: string;
    /** VTEP MAC; derived from the node name when absent (dataplane/names.ts vtepMac). */
    mac?: string;
  };
}

/** An IP pool as NAT needs it (model/topology.ts PoolSummary fits). */
export interface NatPoolSpec {
  cidr: string;
  natOutgoing: boolean;
  disabled?: boolean;
}
