/**
 * What the agent publishes about its own node, as Node annotations other nodes read (pure: no I/O).
 *
 *   petrel.dev/bgp-ipv4-address / -ipv6-address   the node's InternalIP of that family, written with the
 *       prefix length of the local interface that holds it ("192.0.2.11/24"). The prefix is what lets
 *       peers decide "same subnet" for CrossSubnet (k8s/topology.ts); without it they fall back to /32
 *       and encapsulate everything.
 *   petrel.dev/vxlan-tunnel-mac / -address           the node's VTEP, while any enabled IPPool wants VXLAN;
 *       removed once none does (routes toward this node's blocks need them, nothing else does).
 *
 * Who owns the BGP address annotation. Operators may set it (a node with several NICs, the InternalIP
 * on the wrong one), and the agent must then keep its hands off. A bare "set when absent" rule cannot
 * follow the node when its address or interface changes, so the agent remembers what it wrote in a
 * companion annotation, petrel.dev/bgp-ipv4-address-by-agent (resp. -ipv6-): the address annotation is
 * the agent's while it equals that record, or while it is absent. Anything else — no record, or a value
 * different from the record (`kubectl annotate --overwrite` after the agent wrote) — is the operator's:
 * left alone, and the stale record dropped. To hand an address back to the agent, delete the annotation.
 * Both keys change in one merge patch, so they are never seen out of step.
 *
 * The VXLAN annotations are the agent's alone (derived from the node's name and podCIDR; an operator
 * has no better value to give). The MAC is dataplane/names.ts vtepMac(node). The VTEP address is the
 * first address of the node's first IPv4 podCIDR block — its network address (203.0.113.0 for
 * 203.0.113.0/24). Calico allocates the tunnel address from the node's IPAM block; Petrel has no IPAM
 * (pods take addresses from spec.podCIDRs via the CNI IPAM, e.g. host-local), so it reserves the one
 * address of the block the pod IPAM never hands out: host-local starts at network + 1 and never
 * allocates the network address (except on /31 and /32 ranges, which therefore get no VTEP address).
 * Any pod IPAM used with Petrel must do the same. A node without an IPv4 podCIDR gets the MAC only
 * (it owns no block, so no VXLAN route points at it).
 *
 * Complicating factors: the Node object may carry annotations that do not parse (they are compared as
 * strings here, never rejected, so the agent can still correct its own); InternalIPs can be reported in
 * non-canonical forms ("2001:DB8::1"), so addresses are compared canonically; an interface may carry the
 * InternalIP twice (a /32 alias and a /24) — the first one with the shortest prefix wins, as that is the
 * connected subnet.
 */
import { canonicalIp, familyOfIp, formatIp, parsePrefix, type Family } from '../model/ip.js';
import type { PoolSummary } from '../model/topology.js';
import { vtepAddressOf } from '../model/vtep.js';
import { NODE_ANNOTATIONS } from '../k8s/resources.js';

/** Records of what the agent last wrote to the BGP address annotations (see the header). */
export const AGENT_RECORD_ANNOTATIONS = {
  bgpIpv4Address: 'petrel.dev/bgp-ipv4-address-by-agent',
  bgpIpv6Address: 'petrel.dev/bgp-ipv6-address-by-agent',
} as const;

/** One address of a local interface (os.networkInterfaces() rows fit: `cidr` is "address/len"). */
export interface LocalInterfaceAddress {
  name: string;
  address: string;
  cidr: string | null;
}

export interface NodeIdentityInput {
  /** The raw Node object (the informer's copy): annotations, status.addresses, spec.podCIDRs are read. */
  node: unknown;
  interfaces: readonly LocalInterfaceAddress[];
  pools: readonly PoolSummary[];
  vtepMac: (nodeName: string) => string;
}

/** Annotations to set (key → value) and to remove. Only keys the agent owns ever appear here. */
export interface DesiredAnnotations {
  set: Record<string, string>;
  remove: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

function canon(ip: string): string | undefined {
  try {
    return canonicalIp(ip);
  } catch {
    return undefined;
  }
}

/** The string annotations of a raw object (non-strings are ignored, not fatal). */
export function annotationsOf(node: unknown): Record<string, string> {
  const meta = isObj(node) && isObj(node.metadata) ? node.metadata : {};
  const out: Record<string, string> = {};
  if (isObj(meta.annotations)) for (const [k, v] of Object.entries(meta.annotations)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The node's first InternalIP of a family, canonical (the same choice as k8s/resources.ts's fallback). */
export function firstInternalIp(node: unknown, family: Family): string | undefined {
  const status = isObj(node) && isObj(node.status) ? node.status : {};
  for (const a of Array.isArray(status.addresses) ? status.addresses : []) {
    if (!isObj(a) || a.type !== 'InternalIP' || typeof a.address !== 'string') continue;
    const ip = canon(a.address);
    if (ip && familyOfIp(ip) === family) return ip;
  }
  return undefined;
}

/**
 * "address/len" for `ip` from the local interface addresses: the entry holding exactly that address,
 * with the shortest prefix if it is held more than once. Undefined when no interface holds it.
 */
export function addressInCidrForm(ip: string, interfaces: readonly LocalInterfaceAddress[]): string | undefined {
  let best: number | undefined;
  for (const i of interfaces) {
    if (!i.cidr || canon(i.address) !== ip) continue;
    const len = Number(i.cidr.slice(i.cidr.indexOf('/') + 1));
    const max = familyOfIp(ip) === 'ipv4' ? 32 : 128;
    if (!Number.isInteger(len) || len < 0 || len > max) continue;
    if (best === undefined || len < best) best = len;
  }
  return best === undefined ? undefined : `${ip}/${best}`;
}

/** The network address of the node's first IPv4 podCIDR (its VTEP address; see the header). */
export function vtepAddress(node: unknown): string | undefined {
  const spec = isObj(node) && isObj(node.spec) ? node.spec : {};
  return vtepAddressOf(Array.isArray(spec.podCIDRs) ? spec.podCIDRs : typeof spec.podCIDR === 'string' ? [spec.podCIDR] : []);
}

export function wantsVxlan(pools: readonly PoolSummary[]): boolean {
  return pools.some((p) => !p.disabled && p.vxlanMode !== 'Never');
}

function nodeName(node: unknown): string {
  const meta = isObj(node) && isObj(node.metadata) ? node.metadata : {};
  return typeof meta.name === 'string' ? meta.name : '';
}

/** The annotations the agent wants on its own Node, given what is there now. */
export function desiredNodeAnnotations(input: NodeIdentityInput): DesiredAnnotations {
  const current = annotationsOf(input.node);
  const out: DesiredAnnotations = { set: {}, remove: [] };
  const want = (key: string, value: string | undefined) => {
    if (value === undefined) {
      if (key in current) out.remove.push(key);
    } else if (current[key] !== value) out.set[key] = value;
  };

  for (const family of ['ipv4', 'ipv6'] as const) {
    const key = family === 'ipv4' ? NODE_ANNOTATIONS.bgpIpv4Address : NODE_ANNOTATIONS.bgpIpv6Address;
    const record = family === 'ipv4' ? AGENT_RECORD_ANNOTATIONS.bgpIpv4Address : AGENT_RECORD_ANNOTATIONS.bgpIpv6Address;
    const present = current[key] !== undefined && current[key] !== '';
    const ours = !present || current[key] === current[record];
    if (!ours) {
      want(record, undefined); // the operator's value: leave it, forget ours
      continue;
    }
    const ip = firstInternalIp(input.node, family);
    const value = ip ? addressInCidrForm(ip, input.interfaces) : undefined;
    // No InternalIP of this family, or no local interface holds it (the agent sees another network
    // namespace): publish nothing rather than a guess; readers fall back to the InternalIP as a host route.
    want(key, value);
    want(record, value);
  }

  if (wantsVxlan(input.pools)) {
    want(NODE_ANNOTATIONS.vxlanTunnelMac, input.vtepMac(nodeName(input.node)));
    want(NODE_ANNOTATIONS.vxlanTunnelAddress, vtepAddress(input.node));
  } else {
    want(NODE_ANNOTATIONS.vxlanTunnelMac, undefined);
    want(NODE_ANNOTATIONS.vxlanTunnelAddress, undefined);
  }
  out.remove.sort();
  return out;
}

/**
 * The JSON merge patch (RFC 7386) that takes `current` annotations to `desired`, touching only the keys
 * named in `desired` (null removes one, RFC 7386 §2); undefined when nothing would change.
 */
export function annotationPatch(current: Record<string, string>, desired: DesiredAnnotations): { metadata: { annotations: Record<string, string | null> } } | undefined {
  const ann: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(desired.set)) if (current[k] !== v) ann[k] = v;
  for (const k of desired.remove) if (k in current && !(k in desired.set)) ann[k] = null;
  if (Object.keys(ann).length === 0) return undefined;
  const sorted: Record<string, string | null> = {};
  for (const k of Object.keys(ann).sort()) sorted[k] = ann[k];
  return { metadata: { annotations: sorted } };
}
