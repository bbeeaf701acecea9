/**
 * BGP-4 message and attribute types: the contract between the codec (src/bgp/wire), the FSM, the
 * sessions and the RIB. Plain data only. IANA numbers are named after their registries.
 *
 * Prefixes are canonical CIDR strings (see model/ip.ts). Router ids, ORIGINATOR_ID, CLUSTER_LIST
 * entries and next hops are canonical address strings.
 */
import type { Family } from '../../model/ip.js';

export const MARKER_LEN = 16;
export const HEADER_LEN = 19;
export const MAX_MESSAGE_LEN = 4096; // RFC 4271 §4.1
export const MAX_EXTENDED_MESSAGE_LEN = 65535; // RFC 8654

/** IANA "BGP Message Types". */
export const MsgType = { Open: 1, Update: 2, Notification: 3, Keepalive: 4, RouteRefresh: 5 } as const;

/** IANA "BGP Error (Notification) Codes". */
export const ErrorCode = {
  MessageHeader: 1,
  Open: 2,
  Update: 3,
  HoldTimerExpired: 4,
  Fsm: 5,
  Cease: 6,
  RouteRefresh: 7,
} as const;
export const HeaderSubcode = { ConnectionNotSynchronized: 1, BadMessageLength: 2, BadMessageType: 3 } as const;
export const OpenSubcode = {
  UnsupportedVersionNumber: 1,
  BadPeerAs: 2,
  BadBgpIdentifier: 3,
  UnsupportedOptionalParameter: 4,
  UnacceptableHoldTime: 6,
  UnsupportedCapability: 7,
  RoleMismatch: 11,
} as const;
export const UpdateSubcode = {
  MalformedAttributeList: 1,
  UnrecognizedWellKnownAttribute: 2,
  MissingWellKnownAttribute: 3,
  AttributeFlagsError: 4,
  AttributeLengthError: 5,
  InvalidOriginAttribute: 6,
  InvalidNextHopAttribute: 8,
  OptionalAttributeError: 9,
  InvalidNetworkField: 10,
  MalformedAsPath: 11,
} as const;
/** RFC 6608 FSM error subcodes. */
export const FsmSubcode = {
  Unspecified: 0,
  UnexpectedInOpenSent: 1,
  UnexpectedInOpenConfirm: 2,
  UnexpectedInEstablished: 3,
} as const;
/** RFC 4486 Cease subcodes. */
export const CeaseSubcode = {
  MaxPrefixesReached: 1,
  AdministrativeShutdown: 2,
  PeerDeconfigured: 3,
  AdministrativeReset: 4,
  ConnectionRejected: 5,
  OtherConfigurationChange: 6,
  ConnectionCollisionResolution: 7,
  OutOfResources: 8,
  HardReset: 9,
} as const;

/** IANA "BGP Path Attributes". */
export const AttrType = {
  Origin: 1,
  AsPath: 2,
  NextHop: 3,
  MultiExitDisc: 4,
  LocalPref: 5,
  AtomicAggregate: 6,
  Aggregator: 7,
  Communities: 8,
  OriginatorId: 9,
  ClusterList: 10,
  MpReachNlri: 14,
  MpUnreachNlri: 15,
  ExtendedCommunities: 16,
  As4Path: 17,
  As4Aggregator: 18,
  LargeCommunities: 32,
} as const;
export const AttrFlag = { Optional: 0x80, Transitive: 0x40, Partial: 0x20, ExtendedLength: 0x10 } as const;

export const Origin = { Igp: 0, Egp: 1, Incomplete: 2 } as const;
export type OriginValue = 0 | 1 | 2;

/** AS_PATH segment types (RFC 4271 §4.3, RFC 5065 for confederations). */
export const AsPathSegmentType = { AsSet: 1, AsSequence: 2, ConfedSequence: 3, ConfedSet: 4 } as const;
export interface AsPathSegment {
  type: 1 | 2 | 3 | 4;
  asns: number[];
}

/** IANA "Capability Codes". */
export const CapabilityCode = {
  Multiprotocol: 1,
  RouteRefresh: 2,
  ExtendedMessage: 6,
  GracefulRestart: 64,
  FourOctetAs: 65,
  AddPath: 69,
  EnhancedRouteRefresh: 70,
} as const;

export interface AfiSafi {
  afi: number;
  safi: number;
}

export type Capability =
  | { kind: 'multiprotocol'; afi: number; safi: number }
  | { kind: 'route-refresh' }
  | { kind: 'enhanced-route-refresh' }
  | { kind: 'extended-message' }
  | { kind: 'four-octet-as'; asn: number }
  | {
      kind: 'graceful-restart';
      restarting: boolean; // R bit
      notification: boolean; // N bit (RFC 8538)
      restartTime: number; // seconds, 12 bits
      families: Array<AfiSafi & { forwardingPreserved: boolean }>;
    }
  | { kind: 'add-path'; families: Array<AfiSafi & { sendReceive: 1 | 2 | 3 }> }
  | { kind: 'unknown'; code: number; value: Uint8Array };

export interface OpenMessage {
  type: 'open';
  version: number; // 4
  myAs: number; // the 2-octet field (AS_TRANS 23456 when the real AS is in four-octet-as)
  holdTime: number;
  bgpId: string; // dotted quad
  capabilities: Capability[];
  /**
   * How capabilities were grouped into optional parameters: true = one capability per optional
   * parameter (FRR 8), false = all in one (BIRD 2, GoBGP 3 — see test/fixtures/bgp). Kept so captured bytes re-encode exactly.
   */
  capsInSeparateParams?: boolean;
  /** The optional parameters used the RFC 9072 extended length encoding (kept for exact re-encoding). */
  extendedOptionalParameters?: boolean;
}

export interface MpReach {
  afi: number;
  safi: number;
  /** One next hop, or for IPv6 two (global, link-local) when the next hop field is 32 bytes. */
  nextHops: string[];
  nlri: string[];
  /** RFC 7911 path identifiers, one per NLRI, when add-path receive is negotiated for the family. */
  pathIds?: number[];
}
export interface MpUnreach {
  afi: number;
  safi: number;
  withdrawn: string[];
  /** RFC 7911 path identifiers, one per withdrawn prefix (add-path). */
  pathIds?: number[];
}

export interface UnknownAttribute {
  flags: number;
  code: number;
  value: Uint8Array;
}

export interface PathAttributes {
  origin?: OriginValue;
  asPath?: AsPathSegment[];
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: { asn: number; address: string };
  communities?: number[]; // 32-bit values, high 16 bits the AS
  extendedCommunities?: Uint8Array[]; // 8 bytes each
  largeCommunities?: Array<[number, number, number]>;
  originatorId?: string;
  clusterList?: string[];
  as4Path?: AsPathSegment[];
  as4Aggregator?: { asn: number; address: string };
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  /** Unrecognized optional transitive attributes (passed on with Partial set) and others kept. */
  unknown?: UnknownAttribute[];
}

export interface UpdateMessage {
  type: 'update';
  withdrawn: string[]; // IPv4 unicast
  attrs: PathAttributes;
  nlri: string[]; // IPv4 unicast
  /** RFC 7911 path identifiers for `withdrawn` and `nlri` when add-path is in effect for IPv4. */
  withdrawnPathIds?: number[];
  nlriPathIds?: number[];
  /**
   * With CodecContext.ipv4PrefixKeys: the prefixes of the Withdrawn Routes and NLRI fields as
   * numbers (address × 64 + length) instead of text in `withdrawn`/`nlri` (which stay empty then).
   * The encoder writes them after the text ones.
   */
  withdrawnKeys?: number[];
  nlriKeys?: number[];
}

export interface NotificationMessage {
  type: 'notification';
  code: number;
  subcode: number;
  data: Uint8Array;
  /** RFC 8203/9003 shutdown communication, for Cease/Administrative Shutdown or Reset. */
  shutdownMessage?: string;
}

export interface KeepaliveMessage {
  type: 'keepalive';
}

export interface RouteRefreshMessage {
  type: 'route-refresh';
  afi: number;
  safi: number;
  /** RFC 7313: 0 normal request, 1 BoRR, 2 EoRR. */
  subtype: number;
}

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

/** What a session negotiated, and so how UPDATEs are read and written on it. */
export interface CodecContext {
  fourOctetAs: boolean;
  extendedMessage: boolean;
  /** Families for which add-path receive was negotiated (path ids precede each NLRI). */
  addPathReceive?: Family[];
  /**
   * Decode the IPv4 prefixes of the Withdrawn Routes and NLRI fields into UpdateMessage
   * withdrawnKeys/nlriKeys (address × 64 + length) rather than text — what the RIB stores, so a
   * reflector builds no string per prefix. Ignored for IPv4 with add-path.
   */
  ipv4PrefixKeys?: boolean;
}

/** RFC 7606 §2 outcomes for a malformed UPDATE. */
export type ErrorAction = 'attribute-discard' | 'treat-as-withdraw' | 'session-reset';

export interface AttributeProblem {
  action: ErrorAction;
  attrCode: number;
  subcode: number;
  reason: string;
}
