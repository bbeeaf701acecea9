/**
 * Petrel's custom resources (group petrel.dev, version v1), defined once as typebox schemas.
 * The same objects serve three purposes:
 *   1. scripts/gen-crds.ts renders them into CRD manifests (deploy/base/crds/) as openAPIV3Schema,
 *      so the API server validates and defaults objects before we ever see them;
 *   2. k8s/resources.ts checks every object the agent reads with typebox Value.Check, because an
 *      object can predate a CRD upgrade, or come from a server that does not validate;
 *   3. their Static types are the TypeScript types of the specs.
 *
 * Rules for the schemas, from what the Kubernetes API server accepts ("structural schemas"):
 *   - every object, array and leaf states its `type`; enums are `{ type: string, enum }`, never a
 *     typebox Union (whose anyOf branches carry `type`, which a structural schema forbids);
 *   - `anyOf`/`oneOf`/`not` carry only value checks (required, enum, format) on fields that are also
 *     declared outside them;
 *   - `additionalProperties: false` is kept here (typebox catches misspelt fields) and stripped by the
 *     renderer (Kubernetes forbids it beside `properties`; the API server prunes or, with kubectl's
 *     default strict field validation, rejects unknown fields instead).
 * Field names follow Calico's (asNumber, nodeToNodeMesh, peerIP, ipipMode, natOutgoing ...) so an
 * operator who knows Calico recognises them. Semantic checks that a schema cannot express (host bits
 * of a CIDR, selector syntax, keepalive < hold time) live in k8s/resources.ts.
 */
import Type, { type Static, type TSchema } from 'typebox';
import Format from 'typebox/format';
import { parsePrefix } from '../../model/ip.js';

export const GROUP = 'petrel.dev';
export const VERSION = 'v1';
export const API_VERSION = `${GROUP}/${VERSION}`;

// Kubernetes knows format "cidr" (kube-openapi); typebox does not, so teach it the same meaning:
// an address and a prefix length, host bits allowed (resources.ts insists on canonical form).
Format.Set('cidr', (v: string) => {
  try {
    parsePrefix(v, true);
    return true;
  } catch {
    return false;
  }
});

function stringEnum<const T extends readonly string[]>(values: T, opts: { default?: T[number]; description: string }) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...opts });
}

const ASN_MAX = 4294967295;
/** RFC 6793 4-octet AS numbers; 0 is reserved (RFC 7607). */
const AsNumber = (description: string, dflt?: number) =>
  Type.Integer({ minimum: 1, maximum: ASN_MAX, format: 'int64', description, ...(dflt === undefined ? {} : { default: dflt }) });
/** RFC 4271 §4.2: the hold time is zero or at least three seconds. */
const HoldTime = (description: string) =>
  Type.Integer({ minimum: 0, maximum: 65535, not: { enum: [1, 2] }, description } as never);
const Cidr = (description: string) => Type.String({ format: 'cidr', maxLength: 49, description });
const SelectorText = (description: string) => Type.String({ maxLength: 1024, description });

export const ENCAP_MODES = ['Always', 'CrossSubnet', 'Never'] as const;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

const CidrEntry = Type.Object(
  { cidr: Cidr('A CIDR to advertise from every node (e.g. the service cluster IP range).') },
  { additionalProperties: false },
);

/** RFC 1997 standard community "AS:value", each part 0..65535 (checked in resources.ts). */
const COMMUNITY_PATTERN = '^[0-9]{1,5}:[0-9]{1,5}$';

export const BgpConfigurationSpec = Type.Object(
  {
    asNumber: AsNumber('The default AS number of every node (a node may override it with the petrel.dev/as-number annotation).', 64512),
    nodeToNodeMesh: Type.Boolean({ default: true, description: 'Peer every node with every other node (iBGP full mesh). Turn off when using route reflectors.' }),
    listenPort: Type.Integer({ minimum: 1, maximum: 65535, default: 179, description: 'TCP port the agents listen on for BGP.' }),
    holdTime: Type.Optional(HoldTime('Hold time in seconds proposed in OPEN (RFC 4271 §4.2; 0 or 3..65535). Default 90.')),
    keepaliveTime: Type.Optional(Type.Integer({ minimum: 1, maximum: 21845, description: 'Keepalive interval in seconds; must be less than the hold time. Default: a third of the hold time.' })),
    gracefulRestart: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'Announce the Graceful Restart capability (RFC 4724) and keep forwarding across agent restarts.' }),
        restartTime: Type.Integer({ minimum: 1, maximum: 4095, default: 120, description: 'Restart Time in seconds announced in the capability (12 bits, RFC 4724 §3).' }),
      },
      { additionalProperties: false, default: {}, description: 'Graceful restart (RFC 4724).' },
    ),
    serviceClusterIPs: Type.Optional(Type.Array(CidrEntry, { maxItems: 16, description: 'Service cluster IP ranges every node advertises.' })),
    serviceExternalIPs: Type.Optional(Type.Array(CidrEntry, { maxItems: 64, description: 'Service external IP ranges every node advertises.' })),
    serviceLoadBalancerIPs: Type.Optional(Type.Array(CidrEntry, { maxItems: 64, description: 'Service LoadBalancer IP ranges every node advertises.' })),
    communities: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', description: 'Name used in prefixAdvertisements.' }),
            value: Type.String({ pattern: COMMUNITY_PATTERN, description: 'Standard community "AS:value" (RFC 1997).' }),
          },
          { additionalProperties: false },
        ),
        { maxItems: 64, description: 'Named BGP communities.' },
      ),
    ),
    prefixAdvertisements: Type.Optional(
      Type.Array(
        Type.Object(
          {
            cidr: Cidr('Advertised prefixes equal to or inside this CIDR carry the communities.'),
            communities: Type.Array(Type.String({ maxLength: 63, description: 'A community name from `communities`, or a literal "AS:value".' }), {
              maxItems: 32,
              description: 'Communities (names or "AS:value") attached to prefixes inside cidr.',
            }),
          },
          { additionalProperties: false },
        ),
        { maxItems: 64, description: 'Communities attached to advertised prefixes.' },
      ),
    ),
    logLevel: stringEnum(LOG_LEVELS, { default: 'info', description: 'Log level of the agents.' }),
  },
  { additionalProperties: false, default: {}, description: 'Cluster-wide BGP settings. Only the object named "default" is read.' },
);
export type BgpConfigurationSpec = Static<typeof BgpConfigurationSpec>;

/**
 * peerIP: an address with an optional port, as Calico writes it: "192.0.2.1", "192.0.2.1:1179",
 * "2001:db8::1", "[2001:db8::1]:1179". The pattern admits the shapes; resources.ts parses strictly.
 */
const PEER_IP_PATTERN =
  '^(([0-9]{1,3}\\.){3}[0-9]{1,3}(:[0-9]{1,5})?|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*|\\[[0-9a-fA-F:.]+\\]:[0-9]{1,5})$';

export const BgpPeerSpec = Type.Object(
  {
    peerIP: Type.Optional(Type.String({ pattern: PEER_IP_PATTERN, maxLength: 53, description: 'Address of the peer, with an optional port ("192.0.2.1:1179", "[2001:db8::1]:1179"). Exclusive with peerSelector.' })),
    asNumber: Type.Optional(AsNumber('AS number of the peer at peerIP (eBGP when it differs from the node\'s). Ignored with peerSelector: each node\'s own AS is used.')),
    node: Type.Optional(Type.String({ maxLength: 253, description: 'Name of the one node that peers. Exclusive with nodeSelector; neither means every node (a global peer).' })),
    nodeSelector: Type.Optional(SelectorText('Selector over node labels choosing which nodes peer (e.g. "rack == \'r1\'").')),
    peerSelector: Type.Optional(SelectorText('Peer with the in-cluster nodes this selector chooses, at their BGP addresses (e.g. "has(petrel.dev/route-reflector)"). Exclusive with peerIP.')),
    password: Type.Optional(
      Type.Object(
        {
          secretKeyRef: Type.Object(
            {
              name: Type.String({ minLength: 1, maxLength: 253, description: 'Secret in the agent\'s namespace.' }),
              key: Type.String({ minLength: 1, maxLength: 253, description: 'Key in the Secret.' }),
            },
            { additionalProperties: false },
          ),
        },
        { additionalProperties: false, description: 'TCP-MD5 password (RFC 2385) read from a Secret.' },
      ),
    ),
    holdTime: Type.Optional(HoldTime('Hold time in seconds for this peering (RFC 4271 §4.2; 0 or 3..65535); default from BGPConfiguration.')),
    maxPrefixes: Type.Optional(Type.Integer({ minimum: 1, maximum: ASN_MAX, format: 'int64', description: 'Close the session when the peer sends more prefixes than this.' })),
    passive: Type.Boolean({ default: false, description: 'Never connect; wait for the peer to connect. Ignored for in-cluster peers (those are made one-way by address).' }),
  },
  {
    additionalProperties: false,
    // Exactly one of peerIP / peerSelector; at most one of node / nodeSelector.
    oneOf: [{ required: ['peerIP'] }, { required: ['peerSelector'] }],
    not: { required: ['node', 'nodeSelector'] },
    description: 'A BGP peering: which nodes (node / nodeSelector / all) peer with whom (peerIP / peerSelector).',
  } as never,
);
export type BgpPeerSpec = Static<typeof BgpPeerSpec>;

export const IpPoolSpec = Type.Object(
  {
    cidr: Cidr('The pool\'s CIDR; node pod blocks (spec.podCIDRs) inside it take its settings.'),
    ipipMode: stringEnum(ENCAP_MODES, { default: 'Never', description: 'IP-in-IP toward blocks of this pool: Always, CrossSubnet (only when the owning node is in another subnet) or Never. IPv4 pools only.' }),
    vxlanMode: stringEnum(ENCAP_MODES, { default: 'Never', description: 'VXLAN toward blocks of this pool: Always, CrossSubnet or Never. Not together with ipipMode.' }),
    natOutgoing: Type.Boolean({ default: false, description: 'Masquerade traffic from pods of this pool to destinations outside every pool.' }),
    disabled: Type.Boolean({ default: false, description: 'Do not use the pool for new blocks; existing blocks stay routed.' }),
    nodeSelector: Type.String({ maxLength: 1024, default: 'all()', description: 'Selector over node labels: the nodes whose blocks may come from this pool.' }),
    blockSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 128, description: 'When set, the prefix length every node block of this pool must have.' })),
  },
  {
    additionalProperties: false,
    // IP-in-IP and VXLAN are exclusive (as in Calico): not both set to something other than Never.
    not: {
      required: ['ipipMode', 'vxlanMode'],
      properties: { ipipMode: { enum: ['Always', 'CrossSubnet'] }, vxlanMode: { enum: ['Always', 'CrossSubnet'] } },
    },
    description: 'A range of pod addresses and how to reach blocks of it on other nodes.',
  } as never,
);
export type IpPoolSpec = Static<typeof IpPoolSpec>;

export interface CrdDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  spec: TSchema;
  specRequired: boolean;
  description: string;
  printerColumns: Array<{ name: string; type: 'string' | 'integer' | 'boolean' | 'date'; jsonPath: string; description?: string; priority?: number }>;
}

const AGE = { name: 'Age', type: 'date' as const, jsonPath: '.metadata.creationTimestamp' };

export const CRDS: CrdDefinition[] = [
  {
    kind: 'BGPConfiguration',
    plural: 'bgpconfigurations',
    singular: 'bgpconfiguration',
    shortNames: ['bgpconfig'],
    spec: BgpConfigurationSpec,
    specRequired: false,
    description: 'Cluster-wide BGP settings of Petrel (cluster-scoped; only the object named "default" is read).',
    printerColumns: [
      { name: 'AS', type: 'integer', jsonPath: '.spec.asNumber' },
      { name: 'Mesh', type: 'boolean', jsonPath: '.spec.nodeToNodeMesh' },
      { name: 'Port', type: 'integer', jsonPath: '.spec.listenPort' },
      AGE,
    ],
  },
  {
    kind: 'BGPPeer',
    plural: 'bgppeers',
    singular: 'bgppeer',
    shortNames: [],
    spec: BgpPeerSpec,
    specRequired: true,
    description: 'A BGP peering of some or all Petrel nodes with an address or with other nodes.',
    printerColumns: [
      { name: 'Peer IP', type: 'string', jsonPath: '.spec.peerIP' },
      { name: 'AS', type: 'integer', jsonPath: '.spec.asNumber' },
      { name: 'Node', type: 'string', jsonPath: '.spec.node' },
      { name: 'Node Selector', type: 'string', jsonPath: '.spec.nodeSelector' },
      { name: 'Peer Selector', type: 'string', jsonPath: '.spec.peerSelector' },
      AGE,
    ],
  },
  {
    kind: 'IPPool',
    plural: 'ippools',
    singular: 'ippool',
    shortNames: [],
    spec: IpPoolSpec,
    specRequired: true,
    description: 'A pool of pod addresses and how blocks of it are reached across nodes.',
    printerColumns: [
      { name: 'CIDR', type: 'string', jsonPath: '.spec.cidr' },
      { name: 'IPIP', type: 'string', jsonPath: '.spec.ipipMode' },
      { name: 'VXLAN', type: 'string', jsonPath: '.spec.vxlanMode' },
      { name: 'NAT', type: 'boolean', jsonPath: '.spec.natOutgoing' },
      { name: 'Disabled', type: 'boolean', jsonPath: '.spec.disabled' },
      AGE,
    ],
  },
];

export function crdFor(kind: string): CrdDefinition | undefined {
  return CRDS.find((c) => c.kind === kind);
}
