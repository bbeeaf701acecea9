import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  convertAll,
  convertBgpConfiguration,
  convertBgpPeer,
  convertIpPool,
  convertNode,
  convertPod,
  defaultBgpConfiguration,
  parsePeerIP,
  selectBgpConfiguration,
  type Converted,
} from '../../src/k8s/resources.js';
import { vtepMac } from '../../src/model/vtep.js';

const A = 'petrel.dev/';
function node(name: string, opts: { annotations?: Record<string, string>; labels?: Record<string, string>; internal?: string[]; podCIDRs?: string[] } = {}) {
  return {
    metadata: { name, annotations: opts.annotations ?? {}, labels: opts.labels ?? {} },
    spec: { podCIDRs: opts.podCIDRs ?? [] },
    status: { addresses: [{ type: 'Hostname', address: name }, ...(opts.internal ?? []).map((address) => ({ type: 'InternalIP', address }))] },
  };
}
function ok<T>(r: Converted<T>): T {
  assert.ok('ok' in r, `expected ok, got ${JSON.stringify(r)}`);
  return r.ok;
}
function err<T>(r: Converted<T>, field: string, message?: RegExp) {
  assert.ok('error' in r, `expected an error on ${field}, got ${JSON.stringify(r)}`);
  assert.equal(r.error.field, field, r.error.message);
  if (message) assert.match(r.error.message, message);
  return r.error;
}

test('a node annotated with its BGP addresses in CIDR form keeps the address and the subnet', () => {
  const n = ok(convertNode(node('n1', {
    annotations: { [`${A}bgp-ipv4-address`]: '192.0.2.11/24', [`${A}bgp-ipv6-address`]: '2001:DB8:0:1::b/64' },
    internal: ['198.51.100.9'],
    podCIDRs: ['198.18.1.0/24', '2001:db8:42:1::/64'],
  })));
  assert.deepEqual(n.ipv4, { address: '192.0.2.11', subnet: '192.0.2.0/24', source: 'annotation' });
  assert.deepEqual(n.ipv6, { address: '2001:db8:0:1::b', subnet: '2001:db8:0:1::/64', source: 'annotation' });
  assert.deepEqual(n.podCIDRs, ['198.18.1.0/24', '2001:db8:42:1::/64']);
  assert.equal(n.routeReflectorLabel, false);
});

test('a node without the annotation falls back to its first InternalIP of each family with an unknown (host) subnet', () => {
  const n = ok(convertNode(node('n2', { internal: ['not-an-ip', '198.51.100.7', '198.51.100.8', '2001:db8::7'] })));
  assert.deepEqual(n.ipv4, { address: '198.51.100.7', subnet: '198.51.100.7/32', source: 'internal-ip' });
  assert.deepEqual(n.ipv6, { address: '2001:db8::7', subnet: '2001:db8::7/128', source: 'internal-ip' });
});

test('a node with neither annotation nor InternalIP converts without addresses (topology reports it)', () => {
  const n = ok(convertNode(node('n3')));
  assert.equal(n.ipv4, undefined);
  assert.equal(n.ipv6, undefined);
});

test('route reflector label, cluster id, AS number (plain and asdot) and VXLAN VTEP annotations are read', () => {
  const n = ok(convertNode(node('rr1', {
    labels: { [`${A}route-reflector`]: 'true' },
    annotations: {
      [`${A}route-reflector-cluster-id`]: '198.51.100.250',
      [`${A}as-number`]: '1.10',
      [`${A}vxlan-tunnel-mac`]: '66:AA:bb:cc:dd:01',
      [`${A}vxlan-tunnel-address`]: '100.64.255.1',
    },
  })));
  assert.equal(n.routeReflectorLabel, true);
  assert.equal(n.routeReflectorClusterId, '198.51.100.250');
  assert.equal(n.asNumber, 65546);
  assert.equal(n.vxlanTunnelMac, '66:aa:bb:cc:dd:01');
  assert.equal(n.vxlanTunnelAddress, '100.64.255.1');
  assert.equal(ok(convertNode(node('x', { annotations: { [`${A}as-number`]: '4200000000' } }))).asNumber, 4200000000);
  assert.equal(ok(convertNode(node('x', { podCIDRs: [] }))).podCIDRs.length, 0);
  // The single-stack field spec.podCIDR is read when podCIDRs is absent.
  assert.deepEqual(ok(convertNode({ metadata: { name: 'old' }, spec: { podCIDR: '198.18.9.0/24' } })).podCIDRs, ['198.18.9.0/24']);
});

test('without VTEP annotations a node gets the VTEP its agent will write; writing them changes nothing', () => {
  const bare = ok(convertNode(node('n7', { podCIDRs: ['198.18.7.64/26', '2001:db8:7::/120'] })));
  assert.equal(bare.vxlanTunnelMac, vtepMac('n7'));
  assert.equal(bare.vxlanTunnelAddress, '198.18.7.64');
  const annotated = ok(convertNode(node('n7', { podCIDRs: ['198.18.7.64/26', '2001:db8:7::/120'], annotations: { [`${A}vxlan-tunnel-mac`]: vtepMac('n7'), [`${A}vxlan-tunnel-address`]: '198.18.7.64' } })));
  assert.deepEqual(annotated, bare);
  // No IPv4 block of /30 or shorter: a MAC but no address.
  const v6 = ok(convertNode(node('n8', { podCIDRs: ['2001:db8:8::/120'] })));
  assert.equal(v6.vxlanTunnelAddress, undefined);
  assert.equal(v6.vxlanTunnelMac, vtepMac('n8'));
});

const badNodes: Array<[string, unknown, string, RegExp]> = [
  ['an address without a prefix length', node('b', { annotations: { [`${A}bgp-ipv4-address`]: '192.0.2.11' } }), `metadata.annotations[${A}bgp-ipv4-address]`, /CIDR form/],
  ['an IPv6 address in the IPv4 annotation', node('b', { annotations: { [`${A}bgp-ipv4-address`]: '2001:db8::1/64' } }), `metadata.annotations[${A}bgp-ipv4-address]`, /not an IPv4/],
  ['garbage in the IPv6 annotation', node('b', { annotations: { [`${A}bgp-ipv6-address`]: 'fe80::zz/64' } }), `metadata.annotations[${A}bgp-ipv6-address]`, /CIDR/],
  ['AS number 0', node('b', { annotations: { [`${A}as-number`]: '0' } }), `metadata.annotations[${A}as-number]`, /AS number/],
  ['AS number too large', node('b', { annotations: { [`${A}as-number`]: '4294967296' } }), `metadata.annotations[${A}as-number]`, /AS number/],
  ['a cluster id that is not a dotted quad', node('b', { annotations: { [`${A}route-reflector-cluster-id`]: '2001:db8::1' } }), `metadata.annotations[${A}route-reflector-cluster-id]`, /dotted-quad/],
  ['a MAC address with 5 octets', node('b', { annotations: { [`${A}vxlan-tunnel-mac`]: '66:aa:bb:cc:dd' } }), `metadata.annotations[${A}vxlan-tunnel-mac]`, /MAC/],
  ['an IPv6 VTEP address', node('b', { annotations: { [`${A}vxlan-tunnel-address`]: '2001:db8::1' } }), `metadata.annotations[${A}vxlan-tunnel-address]`, /IPv4/],
  ['a pod CIDR with host bits set', node('b', { podCIDRs: ['198.18.1.1/24'] }), 'spec.podCIDRs[0]', /host bits.*198\.18\.1\.0\/24/],
  ['a pod CIDR that is not one', node('b', { podCIDRs: ['198.18.1.0/24', 'x'] }), 'spec.podCIDRs[1]', /not a CIDR/],
  ['a non-string annotation', { metadata: { name: 'b', annotations: { k: 1 } } }, 'metadata.annotations[k]', /string/],
  ['no name', { metadata: {} }, 'metadata.name', /missing/],
];
for (const [what, obj, field, message] of badNodes) {
  test(`a node with ${what} is refused on ${field}`, () => {
    err(convertNode(obj), field, message);
  });
}

test('a pod converts with its IPs in canonical form, node, phase and deletion state', () => {
  const p = ok(convertPod({
    metadata: { name: 'web-1', namespace: 'shop', uid: 'u1', deletionTimestamp: '2026-11-23T00:00:00Z' },
    spec: { nodeName: 'n1' },
    status: { phase: 'Running', podIP: '198.18.1.5', podIPs: [{ ip: '198.18.1.5' }, { ip: '2001:DB8:42:1::5' }] },
  }));
  assert.deepEqual(p, { namespace: 'shop', name: 'web-1', uid: 'u1', node: 'n1', hostNetwork: false, phase: 'Running', deleting: true, ips: ['198.18.1.5', '2001:db8:42:1::5'] });
  assert.deepEqual(ok(convertPod({ metadata: { name: 'p' }, spec: { hostNetwork: true }, status: { podIP: '192.0.2.4' } })).ips, ['192.0.2.4']);
  err(convertPod({ metadata: { name: 'p' }, status: { podIPs: [{ ip: '198.18.1.300' }] } }), 'status.podIPs[0].ip', /not an IP/);
});

test('an empty BGPConfiguration takes every default', () => {
  assert.deepEqual(defaultBgpConfiguration(), {
    name: 'default', asNumber: 64512, nodeToNodeMesh: true, listenPort: 179, holdTime: 90, keepaliveTime: 30,
    gracefulRestart: { enabled: true, restartTime: 120 }, serviceClusterIPs: [], serviceExternalIPs: [], serviceLoadBalancerIPs: [],
    communities: {}, prefixAdvertisements: [], logLevel: 'info',
  });
  assert.deepEqual(ok(convertBgpConfiguration({ metadata: { name: 'default' } })), defaultBgpConfiguration());
});

test('BGPConfiguration communities resolve by name or literal into 32-bit values', () => {
  const c = ok(convertBgpConfiguration({
    metadata: { name: 'default' },
    spec: {
      holdTime: 0,
      communities: [{ name: 'svc', value: '64512:300' }],
      prefixAdvertisements: [{ cidr: '198.18.240.0/20', communities: ['svc', '65535:65535', 'svc'] }],
      serviceClusterIPs: [{ cidr: '198.18.240.0/20' }, { cidr: '198.18.240.0/20' }],
    },
  }));
  assert.equal(c.keepaliveTime, 0); // RFC 4271 §4.4: no keepalives with a zero hold time
  assert.deepEqual(c.communities, { svc: 64512 * 65536 + 300 });
  assert.deepEqual(c.prefixAdvertisements, [{ cidr: '198.18.240.0/20', communities: [64512 * 65536 + 300, 0xffffffff] }]);
  assert.deepEqual(c.serviceClusterIPs, ['198.18.240.0/20']);
});

const badConfigs: Array<[string, unknown, string, RegExp?]> = [
  ['keepalive not below the hold time', { holdTime: 9, keepaliveTime: 9 }, 'spec.keepaliveTime', /less than the hold time/],
  ['a hold time of 1 second', { holdTime: 1 }, 'spec.holdTime'],
  ['a service CIDR with host bits', { serviceExternalIPs: [{ cidr: '203.0.113.7/24' }] }, 'spec.serviceExternalIPs[0].cidr', /host bits/],
  ['a community half above 65535', { communities: [{ name: 'c', value: '70000:1' }] }, 'spec.communities[0].value', /standard community/],
  ['a community name used twice', { communities: [{ name: 'c', value: '1:1' }, { name: 'c', value: '1:2' }] }, 'spec.communities[1].name', /twice/],
  ['an undefined community name', { prefixAdvertisements: [{ cidr: '198.18.0.0/15', communities: ['nope'] }] }, 'spec.prefixAdvertisements[0].communities[0]'],
  ['a misspelt field', { nodeToNodeMESH: false }, 'spec.nodeToNodeMESH', /unknown field/],
  ['a string where a boolean belongs', { nodeToNodeMesh: 'no' }, 'spec.nodeToNodeMesh'],
  ['a graceful restart time beyond 12 bits', { gracefulRestart: { restartTime: 4096 } }, 'spec.gracefulRestart.restartTime'],
  ['a service entry without cidr', { serviceClusterIPs: [{}] }, 'spec.serviceClusterIPs[0].cidr'],
];
for (const [what, spec, field, message] of badConfigs) {
  test(`a BGPConfiguration with ${what} is refused on ${field}`, () => {
    err(convertBgpConfiguration({ metadata: { name: 'default' }, spec }), field, message);
  });
}

test('peerIP accepts an address with an optional port in Calico\'s forms', () => {
  assert.deepEqual(parsePeerIP('192.0.2.1'), { address: '192.0.2.1', port: 179 });
  assert.deepEqual(parsePeerIP('192.0.2.1:1179'), { address: '192.0.2.1', port: 1179 });
  assert.deepEqual(parsePeerIP('2001:DB8::1'), { address: '2001:db8::1', port: 179 });
  assert.deepEqual(parsePeerIP('[2001:db8::1]:1179'), { address: '2001:db8::1', port: 1179 });
  for (const bad of ['192.0.2.1:0', '192.0.2.1:70000', '[192.0.2.1', '2001:db8::1:1179x', 'tor', '192.0.2.256']) assert.equal(parsePeerIP(bad), undefined, bad);
});

test('a BGPPeer converts with parsed selectors, password reference and defaults', () => {
  const p = ok(convertBgpPeer({ metadata: { name: 'tor' }, spec: { peerIP: '[2001:db8::1]:1179', asNumber: 64600, nodeSelector: "rack == 'r1'", password: { secretKeyRef: { name: 's', key: 'k' } }, holdTime: 0, maxPrefixes: 5 } }));
  assert.deepEqual(p, {
    name: 'tor', passive: false, peerIP: { address: '2001:db8::1', port: 1179 }, asNumber: 64600,
    nodeSelector: { op: 'eq', key: 'rack', value: 'r1' }, password: { name: 's', key: 'k' }, holdTime: 0, maxPrefixes: 5,
  });
  const rr = ok(convertBgpPeer({ metadata: { name: 'rr' }, spec: { peerSelector: 'has(petrel.dev/route-reflector)' } }));
  assert.deepEqual(rr.peerSelector, { op: 'has', key: 'petrel.dev/route-reflector' });
  assert.equal(rr.nodeSelector, undefined);
});

const badPeers: Array<[string, unknown, string, RegExp?]> = [
  ['both peerIP and peerSelector', { peerIP: '192.0.2.1', asNumber: 1, peerSelector: 'all()' }, 'spec.peerSelector', /exclusive/],
  ['neither peerIP nor peerSelector', { nodeSelector: 'all()' }, 'spec.peerIP', /required/],
  ['both node and nodeSelector', { peerSelector: 'all()', node: 'a', nodeSelector: 'all()' }, 'spec.nodeSelector', /exclusive/],
  ['peerIP without asNumber', { peerIP: '192.0.2.1' }, 'spec.asNumber', /required/],
  ['a bad peer selector', { peerSelector: 'has(rr' }, 'spec.peerSelector', /expected '\)'/],
  ['a bad node selector', { peerIP: '192.0.2.1', asNumber: 1, nodeSelector: 'rack = 1' }, 'spec.nodeSelector'],
  ['an IPv4 address with a bad octet', { peerIP: '192.0.2.999', asNumber: 1 }, 'spec.peerIP', /not an address/],
  ['maxPrefixes 0', { peerIP: '192.0.2.1', asNumber: 1, maxPrefixes: 0 }, 'spec.maxPrefixes'],
  ['a password without key', { peerIP: '192.0.2.1', asNumber: 1, password: { secretKeyRef: { name: 's' } } }, 'spec.password.secretKeyRef.key'],
  ['no spec', undefined, 'spec', /missing/],
];
for (const [what, spec, field, message] of badPeers) {
  test(`a BGPPeer with ${what} is refused on ${field}`, () => {
    err(convertBgpPeer({ metadata: { name: 'p' }, spec }), field, message);
  });
}

test('an IPPool converts with defaults and a canonical CIDR', () => {
  assert.deepEqual(ok(convertIpPool({ metadata: { name: 'v6' }, spec: { cidr: '2001:DB8:42::/48' } })), {
    name: 'v6', cidr: '2001:db8:42::/48', family: 'ipv6', ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: false, disabled: false, nodeSelector: { op: 'all' },
  });
  assert.equal(ok(convertIpPool({ metadata: { name: 'p' }, spec: { cidr: '198.18.0.0/16', blockSize: 26 } })).blockSize, 26);
});

const badPools: Array<[string, unknown, string, RegExp?]> = [
  ['host bits in the CIDR', { cidr: '198.18.0.1/16' }, 'spec.cidr', /host bits/],
  ['IP-in-IP on an IPv6 pool', { cidr: '2001:db8:42::/48', ipipMode: 'Always' }, 'spec.ipipMode', /IPv4 only/],
  ['VXLAN on an IPv6 pool', { cidr: '2001:db8:42::/48', vxlanMode: 'CrossSubnet' }, 'spec.vxlanMode'],
  ['both encapsulations', { cidr: '198.18.0.0/16', ipipMode: 'CrossSubnet', vxlanMode: 'Always' }, 'spec.vxlanMode', /both/],
  ['a block size shorter than the pool', { cidr: '198.18.0.0/16', blockSize: 15 }, 'spec.blockSize', /outside 16\.\.32/],
  ['a block size beyond IPv4', { cidr: '198.18.0.0/16', blockSize: 33 }, 'spec.blockSize'],
  ['a bad node selector', { cidr: '198.18.0.0/16', nodeSelector: "zone in {'a'" }, 'spec.nodeSelector'],
  ['no cidr', { natOutgoing: true }, 'spec.cidr'],
];
for (const [what, spec, field, message] of badPools) {
  test(`an IPPool with ${what} is refused on ${field}`, () => {
    err(convertIpPool({ metadata: { name: 'p' }, spec }), field, message);
  });
}

test('convertAll keeps the good objects and reports each bad one with its kind and name', () => {
  const r = convertAll([
    { metadata: { name: 'good' }, spec: { cidr: '198.18.0.0/16' } },
    { metadata: { name: 'bad' }, spec: { cidr: '198.18.0.0/33' } },
    'not an object',
  ], convertIpPool);
  assert.deepEqual(r.ok.map((p) => p.name), ['good']);
  assert.deepEqual(r.errors.map((e) => [e.kind, e.name, e.field]), [['IPPool', 'bad', 'spec.cidr'], ['IPPool', '', '']]);
});

test('only the BGPConfiguration named default is read; others are reported', () => {
  const r = selectBgpConfiguration([
    { metadata: { name: 'extra' }, spec: { asNumber: 65000 } },
    { metadata: { name: 'default' }, spec: { asNumber: 65100 } },
  ]);
  assert.equal(r.config?.asNumber, 65100);
  assert.deepEqual(r.errors.map((e) => [e.name, e.field]), [['extra', 'metadata.name']]);
  const none = selectBgpConfiguration([{ metadata: { name: 'default' }, spec: { asNumber: 0 } }]);
  assert.equal(none.config, undefined);
  assert.deepEqual(none.errors.map((e) => e.field), ['spec.asNumber']);
});

test('an invalid encapsulation mode is reported on its own field, not as a conflict with the other', () => {
  err(convertIpPool({ metadata: { name: 'p' }, spec: { cidr: '198.18.0.0/16', ipipMode: 'Sometimes', vxlanMode: 'Always' } }), 'spec.ipipMode');
});
