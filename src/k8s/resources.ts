/**
 * Kubernetes objects → validated model objects. Every object the agent reads (Node, Pod, and our
 * custom resources) passes through one function here, which returns `{ ok: value }` or
 * `{ error: { kind, name, field, message } }` and never throws: the agent logs the object and the
 * field, skips that object, keeps running, and surfaces the problem (status, Event). One bad
 * BGPPeer must never take down peering for the whole cluster.
 *
 * Custom resources are defaulted (typebox Value.Default, as the API server does with the CRD's
 * defaults) and checked against the same schemas the CRDs are rendered from (crds/schemas.ts),
 * because an object may predate a CRD upgrade or come from a server that does not validate. Then
 * come the checks no schema can express: CIDR host bits, selector syntax, keepalive < hold time.
 *
 * Node annotations and labels (all under petrel.dev/, documented in docs/configuration.md) are read
 * here and nowhere else; the keys are exported as NODE_ANNOTATIONS / NODE_LABELS.
 */
import Value from 'typebox/value';
import type { TSchema } from 'typebox';
import { canonicalIp, familyOfIp, formatPrefix, parseIp, parsePrefix, type Family } from '../model/ip.js';
import type { EncapMode, SecretKeyRef, TopologyProblem } from '../model/topology.js';
import { vtepAddressOf, vtepMac } from '../model/vtep.js';
import { BgpConfigurationSpec, BgpPeerSpec, IpPoolSpec, LOG_LEVELS } from './crds/schemas.js';
import { parseSelector, type Selector } from './crds/selector.js';

export type ResourceKind = TopologyProblem['kind'];
export type ResourceError = TopologyProblem;
export type Converted<T> = { ok: T } | { error: ResourceError };

export const NODE_ANNOTATIONS = {
  bgpIpv4Address: 'petrel.dev/bgp-ipv4-address',
  bgpIpv6Address: 'petrel.dev/bgp-ipv6-address',
  asNumber: 'petrel.dev/as-number',
  routeReflectorClusterId: 'petrel.dev/route-reflector-cluster-id',
  vxlanTunnelMac: 'petrel.dev/vxlan-tunnel-mac',
  vxlanTunnelAddress: 'petrel.dev/vxlan-tunnel-address',
} as const;
export const NODE_LABELS = { routeReflector: 'petrel.dev/route-reflector' } as const;

/** A node's BGP address on one family: the host address and the subnet of the interface holding it. */
export interface NodeAddress {
  address: string;
  /** Canonical prefix of the node's subnet ("192.0.2.0/24"); /32 or /128 when unknown. */
  subnet: string;
  source: 'annotation' | 'internal-ip';
}

export interface NodeInfo {
  name: string;
  labels: Record<string, string>;
  ipv4?: NodeAddress;
  ipv6?: NodeAddress;
  asNumber?: number;
  routeReflectorClusterId?: string;
  /** Labelled petrel.dev/route-reflector=true. */
  routeReflectorLabel: boolean;
  /** spec.podCIDRs (or spec.podCIDR), canonical, in the node's order. */
  podCIDRs: string[];
  /** VTEP: from the annotations when present, else derived as the node's agent will (model/vtep.ts). */
  vxlanTunnelMac?: string;
  vxlanTunnelAddress?: string;
}

export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
  node?: string;
  hostNetwork: boolean;
  phase?: string;
  deleting: boolean;
  /** status.podIPs (or status.podIP), canonical. */
  ips: string[];
}

export interface BgpConfiguration {
  name: string;
  asNumber: number;
  nodeToNodeMesh: boolean;
  listenPort: number;
  holdTime: number;
  keepaliveTime: number;
  gracefulRestart: { enabled: boolean; restartTime: number };
  serviceClusterIPs: string[];
  serviceExternalIPs: string[];
  serviceLoadBalancerIPs: string[];
  /** Community name → 32-bit value. */
  communities: Record<string, number>;
  prefixAdvertisements: Array<{ cidr: string; communities: number[] }>;
  logLevel: (typeof LOG_LEVELS)[number];
}

export interface BgpPeer {
  name: string;
  peerIP?: { address: string; port: number };
  asNumber?: number;
  node?: string;
  /** Parsed; undefined means every node (unless `node` is set). */
  nodeSelector?: Selector;
  peerSelector?: Selector;
  password?: SecretKeyRef;
  holdTime?: number;
  maxPrefixes?: number;
  passive: boolean;
}

export interface IpPool {
  name: string;
  cidr: string;
  family: Family;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  natOutgoing: boolean;
  disabled: boolean;
  nodeSelector: Selector;
  blockSize?: number;
}

export const DEFAULT_HOLD_TIME = 90;

/** The BGPConfiguration in force when there is no object named "default". */
export function defaultBgpConfiguration(): BgpConfiguration {
  const r = convertBgpConfiguration({ metadata: { name: 'default' }, spec: {} });
  if ('error' in r) throw new Error(`defaults do not validate: ${r.error.message}`);
  return r.ok;
}

// ---------------------------------------------------------------------------------------------
// Helpers

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

class Invalid extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}
const fail = (field: string, message: string): never => {
  throw new Invalid(field, message);
};

function guard<T>(kind: ResourceKind, obj: unknown, body: (o: Obj, name: string) => T): Converted<T> {
  const name = isObj(obj) && isObj(obj.metadata) && typeof obj.metadata.name === 'string' ? obj.metadata.name : '';
  try {
    if (!isObj(obj)) fail('', 'not an object');
    if (name === '') fail('metadata.name', 'missing');
    return { ok: body(obj as Obj, name) };
  } catch (e) {
    if (e instanceof Invalid) return { error: { kind, name, field: e.field, message: e.message } };
    return { error: { kind, name, field: '', message: e instanceof Error ? e.message : String(e) } };
  }
}

/** "/spec/communities/0/value" → "spec.communities[0].value". */
function fieldOf(pointer: string): string {
  let out = '';
  for (const part of pointer.split('/').slice(1)) {
    const p = part.replaceAll('~1', '/').replaceAll('~0', '~');
    out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  }
  return out;
}

/** Defaults `spec` in place (as the API server would) and checks it against `schema`. */
function checkSpec(schema: TSchema, spec: unknown): Obj {
  const value = Value.Default(schema, structuredClone(spec ?? {}));
  if (Value.Check(schema, value)) return value as Obj;
  const errors = [...Value.Errors(schema, value)];
  // Prefer a leaf error over the junctor summaries (anyOf/oneOf/not say little).
  const e = errors.find((x) => !['anyOf', 'oneOf', 'not', 'allOf'].includes(x.keyword)) ?? errors[0];
  let field = fieldOf(`/spec${e.instancePath}`);
  const params = e.params as { requiredProperties?: string[]; additionalProperties?: string[] };
  if (e.keyword === 'required' && params.requiredProperties?.length) field += `.${params.requiredProperties[0]}`;
  if (e.keyword === 'additionalProperties' && params.additionalProperties?.length) field += `.${params.additionalProperties[0]}`;
  if (e.keyword === 'boolean') return fail(field, 'unknown field');
  return fail(field, e.message);
}

function parseCidrField(field: string, text: string): string {
  let p;
  try {
    p = parsePrefix(text, true);
  } catch {
    return fail(field, `'${text}' is not a CIDR`);
  }
  const canon = formatPrefix(p);
  try {
    parsePrefix(text);
  } catch {
    return fail(field, `'${text}' has host bits set (did you mean ${canon}?)`);
  }
  return canon;
}

function parseSelectorField(field: string, text: string | undefined): Selector | undefined {
  if (text === undefined) return undefined;
  try {
    return parseSelector(text);
  } catch (e) {
    return fail(field, e instanceof Error ? e.message : String(e));
  }
}

/** RFC 1997 community "AS:value" → 32-bit number. */
function parseCommunity(field: string, text: string): number {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(text);
  if (!m || Number(m[1]) > 65535 || Number(m[2]) > 65535) return fail(field, `'${text}' is not a standard community AS:value (each 0..65535)`);
  return Number(m[1]) * 65536 + Number(m[2]);
}

/** "64512", or asdot "1.10" (RFC 5396) → 4-octet AS number. */
function parseAsNumber(field: string, text: string): number {
  const m = /^(\d{1,10})(?:\.(\d{1,5}))?$/.exec(text.trim());
  let n = NaN;
  if (m) n = m[2] === undefined ? Number(m[1]) : Number(m[1]) <= 65535 && Number(m[2]) <= 65535 ? Number(m[1]) * 65536 + Number(m[2]) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 4294967295) return fail(field, `'${text}' is not an AS number (1..4294967295 or asdot)`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Core objects

function annotationField(key: string): string {
  return `metadata.annotations[${key}]`;
}

function nodeAddress(o: Obj, family: Family, annotations: Record<string, string>): NodeAddress | undefined {
  const key = family === 'ipv4' ? NODE_ANNOTATIONS.bgpIpv4Address : NODE_ANNOTATIONS.bgpIpv6Address;
  const text = annotations[key];
  if (text !== undefined && text !== '') {
    const field = annotationField(key);
    const slash = text.indexOf('/');
    if (slash < 0) return fail(field, `'${text}' is not an address in CIDR form (e.g. 192.0.2.11/24)`);
    let p;
    let address;
    try {
      p = parsePrefix(text, true);
      address = canonicalIp(text.slice(0, slash));
    } catch {
      return fail(field, `'${text}' is not an address in CIDR form`);
    }
    if (p.family !== family) return fail(field, `'${text}' is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address`);
    return { address, subnet: formatPrefix(p), source: 'annotation' };
  }
  // Fallback: the first InternalIP of this family, with an unknown subnet (/32, /128).
  const status = isObj(o.status) ? o.status : {};
  const addrs = Array.isArray(status.addresses) ? status.addresses : [];
  for (const a of addrs) {
    if (!isObj(a) || a.type !== 'InternalIP' || typeof a.address !== 'string') continue;
    let ip;
    try {
      ip = canonicalIp(a.address);
    } catch {
      continue; // a malformed address the kubelet reported; another may do
    }
    if (familyOfIp(ip) !== family) continue;
    return { address: ip, subnet: `${ip}/${family === 'ipv4' ? 32 : 128}`, source: 'internal-ip' };
  }
  return undefined;
}

function stringMap(field: string, v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) return fail(field, 'not a map');
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') fail(`${field}[${k}]`, 'not a string');
    out[k] = x as string;
  }
  return out;
}

export function convertNode(obj: unknown): Converted<NodeInfo> {
  return guard('Node', obj, (o, name) => {
    const meta = o.metadata as Obj;
    const labels = stringMap('metadata.labels', meta.labels);
    const annotations = stringMap('metadata.annotations', meta.annotations);
    const node: NodeInfo = { name, labels, routeReflectorLabel: labels[NODE_LABELS.routeReflector] === 'true', podCIDRs: [] };
    const v4 = nodeAddress(o, 'ipv4', annotations);
    const v6 = nodeAddress(o, 'ipv6', annotations);
    if (v4) node.ipv4 = v4;
    if (v6) node.ipv6 = v6;
    const asText = annotations[NODE_ANNOTATIONS.asNumber];
    if (asText !== undefined) node.asNumber = parseAsNumber(annotationField(NODE_ANNOTATIONS.asNumber), asText);
    const cid = annotations[NODE_ANNOTATIONS.routeReflectorClusterId];
    if (cid !== undefined && cid !== '') {
      // RFC 4456 §7: CLUSTER_ID is 4 octets; written as a dotted quad, as Calico does.
      const field = annotationField(NODE_ANNOTATIONS.routeReflectorClusterId);
      try {
        if (parseIp(cid).length !== 4) fail(field, `'${cid}' is not a dotted-quad cluster id`);
      } catch (e) {
        if (e instanceof Invalid) throw e;
        fail(field, `'${cid}' is not a dotted-quad cluster id`);
      }
      node.routeReflectorClusterId = canonicalIp(cid);
    }
    const mac = annotations[NODE_ANNOTATIONS.vxlanTunnelMac];
    if (mac !== undefined) {
      if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) fail(annotationField(NODE_ANNOTATIONS.vxlanTunnelMac), `'${mac}' is not a MAC address`);
      node.vxlanTunnelMac = mac.toLowerCase();
    }
    const vtep = annotations[NODE_ANNOTATIONS.vxlanTunnelAddress];
    if (vtep !== undefined) {
      const field = annotationField(NODE_ANNOTATIONS.vxlanTunnelAddress);
      let ip = '';
      try {
        ip = canonicalIp(vtep);
      } catch {
        fail(field, `'${vtep}' is not an IP address`);
      }
      if (familyOfIp(ip) !== 'ipv4') fail(field, `'${vtep}' is not an IPv4 address`);
      node.vxlanTunnelAddress = ip;
    }
    const spec = isObj(o.spec) ? o.spec : {};
    const cidrs = Array.isArray(spec.podCIDRs) ? spec.podCIDRs : typeof spec.podCIDR === 'string' ? [spec.podCIDR] : [];
    cidrs.forEach((c, i) => {
      const field = Array.isArray(spec.podCIDRs) ? `spec.podCIDRs[${i}]` : 'spec.podCIDR';
      if (typeof c !== 'string') fail(field, 'not a string');
      const canon = parseCidrField(field, c as string);
      if (!node.podCIDRs.includes(canon)) node.podCIDRs.push(canon);
    });
    // No VTEP annotations (yet): the values the node's agent will write (model/vtep.ts). So a new
    // block is routable through VXLAN before that patch comes back through the API server, and the
    // patch itself converts to the same NodeInfo: it wakes no agent.
    node.vxlanTunnelMac ??= vtepMac(name);
    const derived = node.vxlanTunnelAddress ?? vtepAddressOf(node.podCIDRs);
    if (derived !== undefined) node.vxlanTunnelAddress = derived;
    return node;
  });
}

export function convertPod(obj: unknown): Converted<PodInfo> {
  return guard('Pod', obj, (o, name) => {
    const meta = o.metadata as Obj;
    const spec = isObj(o.spec) ? o.spec : {};
    const status = isObj(o.status) ? o.status : {};
    const pod: PodInfo = {
      namespace: typeof meta.namespace === 'string' ? meta.namespace : 'default',
      name,
      uid: typeof meta.uid === 'string' ? meta.uid : '',
      hostNetwork: spec.hostNetwork === true,
      deleting: typeof meta.deletionTimestamp === 'string',
      ips: [],
    };
    if (typeof spec.nodeName === 'string' && spec.nodeName !== '') pod.node = spec.nodeName;
    if (typeof status.phase === 'string') pod.phase = status.phase;
    const list: Array<{ text: unknown; field: string }> = Array.isArray(status.podIPs)
      ? status.podIPs.map((x, i) => ({ text: isObj(x) ? x.ip : undefined, field: `status.podIPs[${i}].ip` }))
      : typeof status.podIP === 'string' && status.podIP !== '' ? [{ text: status.podIP, field: 'status.podIP' }] : [];
    for (const { text, field } of list) {
      if (typeof text !== 'string') fail(field, 'not a string');
      try {
        const ip = canonicalIp(text as string);
        if (!pod.ips.includes(ip)) pod.ips.push(ip);
      } catch {
        fail(field, `'${String(text)}' is not an IP address`);
      }
    }
    return pod;
  });
}

// ---------------------------------------------------------------------------------------------
// Custom resources

export function convertBgpConfiguration(obj: unknown): Converted<BgpConfiguration> {
  return guard('BGPConfiguration', obj, (o, name) => {
    const s = checkSpec(BgpConfigurationSpec, o.spec) as unknown as BgpConfigurationSpec;
    const holdTime = s.holdTime ?? DEFAULT_HOLD_TIME;
    // RFC 4271 §4.4: keepalives at a third of the hold time; none when the hold time is zero.
    const keepaliveTime = s.keepaliveTime ?? Math.floor(holdTime / 3);
    if (holdTime > 0 && keepaliveTime >= holdTime) fail('spec.keepaliveTime', `${keepaliveTime} is not less than the hold time ${holdTime}`);
    const cidrs = (field: string, list: Array<{ cidr: string }> | undefined) =>
      [...new Set((list ?? []).map((c, i) => parseCidrField(`${field}[${i}].cidr`, c.cidr)))];
    const communities: Record<string, number> = {};
    (s.communities ?? []).forEach((c, i) => {
      if (Object.hasOwn(communities, c.name)) fail(`spec.communities[${i}].name`, `'${c.name}' is defined twice`);
      communities[c.name] = parseCommunity(`spec.communities[${i}].value`, c.value);
    });
    const prefixAdvertisements = (s.prefixAdvertisements ?? []).map((pa, i) => ({
      cidr: parseCidrField(`spec.prefixAdvertisements[${i}].cidr`, pa.cidr),
      communities: [
        ...new Set(
          pa.communities.map((c, j) =>
            Object.hasOwn(communities, c) ? communities[c] : parseCommunity(`spec.prefixAdvertisements[${i}].communities[${j}]`, c),
          ),
        ),
      ].sort((a, b) => a - b),
    }));
    return {
      name,
      asNumber: s.asNumber,
      nodeToNodeMesh: s.nodeToNodeMesh,
      listenPort: s.listenPort,
      holdTime,
      keepaliveTime: holdTime === 0 ? 0 : keepaliveTime,
      gracefulRestart: { enabled: s.gracefulRestart.enabled, restartTime: s.gracefulRestart.restartTime },
      serviceClusterIPs: cidrs('spec.serviceClusterIPs', s.serviceClusterIPs),
      serviceExternalIPs: cidrs('spec.serviceExternalIPs', s.serviceExternalIPs),
      serviceLoadBalancerIPs: cidrs('spec.serviceLoadBalancerIPs', s.serviceLoadBalancerIPs),
      communities,
      prefixAdvertisements,
      logLevel: s.logLevel,
    };
  });
}

/** "192.0.2.1", "192.0.2.1:1179", "2001:db8::1", "[2001:db8::1]:1179" → address and port. */
export function parsePeerIP(text: string): { address: string; port: number } | undefined {
  let host = text;
  let port = 179;
  const bracket = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text);
  const v4port = /^([\d.]+):(\d{1,5})$/.exec(text);
  const m = bracket ?? v4port;
  if (m) {
    host = m[1];
    port = Number(m[2]);
    if (port < 1 || port > 65535) return undefined;
  }
  try {
    const address = canonicalIp(host);
    if (v4port && familyOfIp(address) !== 'ipv4') return undefined;
    return { address, port };
  } catch {
    return undefined;
  }
}

export function convertBgpPeer(obj: unknown): Converted<BgpPeer> {
  return guard('BGPPeer', obj, (o, name) => {
    // Cross-field rules first: the schema says them too, but its messages ("must not be valid") do not help.
    const raw = isObj(o.spec) ? o.spec : fail('spec', 'missing');
    const has = (k: string) => raw[k] !== undefined && raw[k] !== null;
    if (has('peerIP') && has('peerSelector')) fail('spec.peerSelector', 'peerIP and peerSelector are exclusive');
    if (!has('peerIP') && !has('peerSelector')) fail('spec.peerIP', 'one of peerIP or peerSelector is required');
    if (has('node') && has('nodeSelector')) fail('spec.nodeSelector', 'node and nodeSelector are exclusive');
    if (has('peerIP') && !has('asNumber')) fail('spec.asNumber', 'required with peerIP');
    const s = checkSpec(BgpPeerSpec, raw) as unknown as BgpPeerSpec;
    const peer: BgpPeer = { name, passive: s.passive };
    if (s.peerIP !== undefined) {
      const p = parsePeerIP(s.peerIP);
      if (!p) fail('spec.peerIP', `'${s.peerIP}' is not an address with an optional port`);
      peer.peerIP = p;
    }
    if (s.asNumber !== undefined) peer.asNumber = s.asNumber;
    if (s.node !== undefined) peer.node = s.node;
    const ns = parseSelectorField('spec.nodeSelector', s.nodeSelector);
    if (ns) peer.nodeSelector = ns;
    const ps = parseSelectorField('spec.peerSelector', s.peerSelector);
    if (ps) peer.peerSelector = ps;
    if (s.password) peer.password = { name: s.password.secretKeyRef.name, key: s.password.secretKeyRef.key };
    if (s.holdTime !== undefined) peer.holdTime = s.holdTime;
    if (s.maxPrefixes !== undefined) peer.maxPrefixes = s.maxPrefixes;
    return peer;
  });
}

export function convertIpPool(obj: unknown): Converted<IpPool> {
  return guard('IPPool', obj, (o, name) => {
    const raw = isObj(o.spec) ? o.spec : fail('spec', 'missing');
    const on = (k: string) => raw[k] === 'Always' || raw[k] === 'CrossSubnet';
    if (on('ipipMode') && on('vxlanMode')) fail('spec.vxlanMode', 'ipipMode and vxlanMode cannot both be enabled (one of them must be Never)');
    const s = checkSpec(IpPoolSpec, raw) as unknown as IpPoolSpec;
    const cidr = parseCidrField('spec.cidr', s.cidr);
    const p = parsePrefix(cidr);
    if (p.family === 'ipv6' && s.ipipMode !== 'Never') fail('spec.ipipMode', 'IP-in-IP carries IPv4 only; use Never for an IPv6 pool');
    if (p.family === 'ipv6' && s.vxlanMode !== 'Never') fail('spec.vxlanMode', 'VXLAN for IPv6 pools is not supported yet; use Never');
    const max = p.family === 'ipv4' ? 32 : 128;
    if (s.blockSize !== undefined && (s.blockSize > max || s.blockSize < p.len))
      fail('spec.blockSize', `${s.blockSize} is outside ${p.len}..${max} for ${cidr}`);
    const pool: IpPool = {
      name,
      cidr,
      family: p.family,
      ipipMode: s.ipipMode,
      vxlanMode: s.vxlanMode,
      natOutgoing: s.natOutgoing,
      disabled: s.disabled,
      nodeSelector: parseSelectorField('spec.nodeSelector', s.nodeSelector) ?? { op: 'all' },
    };
    if (s.blockSize !== undefined) pool.blockSize = s.blockSize;
    return pool;
  });
}

/**
 * Picks the BGPConfiguration in force: the valid object named "default" (undefined without one, so
 * computeTopology uses the defaults). Objects with other names are reported, not read.
 */
export function selectBgpConfiguration(objs: readonly unknown[]): { config?: BgpConfiguration; errors: ResourceError[] } {
  const { ok, errors } = convertAll(objs, convertBgpConfiguration);
  for (const c of ok) {
    if (c.name !== 'default') errors.push({ kind: 'BGPConfiguration', name: c.name, field: 'metadata.name', message: 'ignored: only the BGPConfiguration named "default" is read' });
  }
  const config = ok.find((c) => c.name === 'default');
  return config ? { config, errors } : { errors };
}

/** Converts a list, splitting the good from the bad (the agent logs and surfaces the bad ones). */
export function convertAll<T>(objs: readonly unknown[], convert: (o: unknown) => Converted<T>): { ok: T[]; errors: ResourceError[] } {
  const ok: T[] = [];
  const errors: ResourceError[] = [];
  for (const o of objs) {
    const r = convert(o);
    if ('ok' in r) ok.push(r.ok);
    else errors.push(r.error);
  }
  return { ok, errors };
}
