/**
 * RIB data shapes: the peers the RIB knows, interned attribute sets, paths, best-route deltas and the
 * rows `petrel routes --json` shows.
 *
 * Memory is the constraint that shaped these (1M paths within 150 MB RSS): a path is two pointers
 * (its peer and its interned attribute set); everything derived from attributes that best-path
 * selection needs is computed once per attribute set, not per path. Prefixes are canonical CIDR
 * strings (model/ip.ts) and are the keys of the Loc-RIB map.
 */
import type { Family } from '../../model/ip.js';
import type { CodecContext, OriginValue, PathAttributes } from '../wire/types.js';

/** Where a path came from: originated by us, or learned over an iBGP or eBGP session. */
export type PeerKind = 'local' | 'ibgp' | 'ebgp';

/** A peer as the RIB sees it. One object per configured peer, shared by all of its paths. */
export interface RibPeer {
  /** Small integer, unique per RIB; 0 is the local pseudo-peer. */
  readonly id: number;
  /** Peer address (canonical), or 'local'. */
  readonly address: string;
  readonly asn: number;
  readonly kind: PeerKind;
  /** Route-reflector client (RFC 4456), meaningful only when the RIB has a cluster id. */
  readonly rrClient: boolean;
  /** The peer's BGP identifier from its OPEN; our router id for the local pseudo-peer. */
  routerId: string;
  /** routerId as an unsigned 32-bit number, for comparisons. */
  routerIdNum: number;
  /** Sortable form of the address (hex of its bytes, IPv4 before IPv6). */
  readonly addressKey: string;
  /** Paths from this peer currently in the Adj-RIB-In (after loop checks). */
  received: number;
  /** The same, per family. */
  receivedByFamily: { ipv4: number; ipv6: number };
  /** Prefixes whose best path is from this peer. */
  bestCount: number;
  /** Prefixes received and dropped by loop detection (AS_PATH, ORIGINATOR_ID, CLUSTER_LIST). */
  loopsDropped: number;
  /** Prefixes received with a next hop that cannot be used (next-hop.ts) and treated as withdrawn. */
  nextHopsRejected: number;
  /** Set while the session is Established and the peer is in an update group. */
  out?: OutPeerState;
  /**
   * RFC 4724 §4.2: prefixes (Loc-RIB keys) whose path from this peer is stale — kept across a
   * graceful restart of the peer and not re-announced since. Per family; absent when none.
   */
  stale?: Map<Family, Set<string | number>>;
}

/** How routes leave towards one established peer (set by peerUp). */
export interface OutPeerState {
  families: Family[];
  codec: CodecContext;
  /** Our next hop for this peer when next-hop-self applies, per family. */
  nextHopSelf: { ipv4?: string; ipv6?: string[] };
  /**
   * Our own addresses on this session (our end of the TCP connection): a route from the peer whose
   * next hop is one of these, or one of nextHopSelf, is not used (RFC 4271 §6.3).
   */
  ownAddresses?: string[];
  /** Hands encoded UPDATE frames to the session. */
  send: (frames: Uint8Array[]) => void;
  /** Prefixes advertised to this peer (announced minus withdrawn), for status. */
  advertised: number;
  /** Set until the initial dump (and End-of-RIB) has been sent. */
  joining: boolean;
}

/**
 * An interned attribute set: equal attributes (and next hops) learned for many prefixes are stored
 * once. `attrs` never holds nextHop, mpReach or mpUnreach; the next hops are in `nextHops`
 * (IPv4: [NEXT_HOP]; IPv6: [global] or [global, link-local]; [] for local routes = next hop self).
 */
export interface AttrSet {
  readonly key: string;
  /** Small unique number (bucket keys in the Adj-RIB-Out). */
  readonly id: number;
  readonly family: Family;
  readonly attrs: PathAttributes;
  readonly nextHops: string[];
  refs: number;
  // Derived once for best-path selection.
  readonly localPref: number; // LOCAL_PREF or 100
  readonly asPathLen: number; // RFC 4271 §9.1.2.2 (a): AS_SET counts 1, confederation segments 0
  readonly origin: OriginValue;
  readonly med: number; // missing MED = 0 (RFC 4271 §9.1.2.2 (c))
  readonly neighborAs: number; // first AS of the leftmost AS_SEQUENCE, 0 when none
  readonly clusterLen: number;
  readonly originatorIdNum: number | undefined;
  /** Our own AS appears in AS_PATH (RFC 4271 §9.1.2 loop detection). */
  readonly hasOwnAs: boolean;
}

/**
 * A path: a peer and an attribute set. Interned — one object per (peer, attribute set), shared by
 * every prefix it is announced for; `refs` counts those prefixes.
 */
export interface Path {
  readonly peer: RibPeer;
  readonly attrs: AttrSet;
  refs: number;
  /** The Loc-RIB's id for it while stored under some IPv4 prefix (loc-rib.ts), 0 otherwise. */
  lid: number;
  /**
   * The peer went down after this path was learned: it is being removed (in slices, loc-rib.ts
   * removePeer), loses to every live path meanwhile, and is no longer the interned path for its
   * peer and attributes (a re-announcement makes a new one).
   */
  gone: boolean;
}

/** A best route as consumers (the agent's dataplane, the CLI) see it: plain data. */
export interface BestRoute {
  prefix: string;
  family: Family;
  /** First next hop ('' for a local route without an explicit next hop = ourselves). */
  nextHop: string;
  nextHops: string[];
  asPath: number[];
  origin: 'igp' | 'egp' | 'incomplete';
  localPref: number;
  med?: number;
  communities: number[];
  originatorId?: string;
  clusterList: string[];
  /** Peer address, or 'local' for an originated route. */
  peer: string;
  peerType: PeerKind;
  local: boolean;
}

export interface RouteDelta {
  prefix: string;
  before?: BestRoute;
  after?: BestRoute;
}

/** One row of `petrel routes --json` (one per path; `best` marks the chosen one). */
export interface RouteView {
  prefix: string;
  nextHop: string;
  nextHops: string[];
  asPath: number[];
  localPref: number;
  med: number | null;
  origin: 'igp' | 'egp' | 'incomplete';
  communities: string[];
  originatorId: string | null;
  clusterList: string[];
  peer: string;
  best: boolean;
  /** For the best path: the rule that made it win ('only path' when alone); otherwise why it lost. */
  reason: string;
}

/** What the Adj-RIB-Out needs to encode UPDATEs: the codec's functions, injectable to count calls. */
export interface UpdateEncoder {
  encodeUpdates(
    input: {
      family: Family; attrs: PathAttributes; nextHops: string[]; nlri: string[]; withdrawn: string[];
      /** IPv4 prefixes as address × 64 + length (the Loc-RIB's table keys), after the strings. */
      nlriKeys?: readonly number[]; withdrawnKeys?: readonly number[];
    },
    ctx: CodecContext,
  ): Uint8Array[];
  encodeEndOfRib(family: Family): Uint8Array;
}
