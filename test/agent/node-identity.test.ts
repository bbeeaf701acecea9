// The annotations the agent publishes about its own node: BGP address in CIDR form (never over an
// operator's value), VTEP annotations only while a pool wants VXLAN, and the merge patch between the two.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  AGENT_RECORD_ANNOTATIONS as REC, addressInCidrForm, annotationPatch, desiredNodeAnnotations, vtepAddress,
  type LocalInterfaceAddress,
} from '../../src/agent/node-identity.js';
import { NODE_ANNOTATIONS as ANN, convertNode } from '../../src/k8s/resources.js';
import { mergePatch } from '../../src/lab/apiserver/patch.js';
import { vtepMac } from '../../src/dataplane/index.js';
import type { PoolSummary } from '../../src/model/topology.js';

function rawNode(o: { annotations?: Record<string, string>; v4?: string; v6?: string; podCIDRs?: string[]; podCIDR?: string } = {}): Record<string, unknown> {
  const addresses = [{ type: 'Hostname', address: 'n1' }];
  if (o.v4) addresses.push({ type: 'InternalIP', address: o.v4 });
  if (o.v6) addresses.push({ type: 'InternalIP', address: o.v6 });
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: 'n1', resourceVersion: '7', annotations: o.annotations ?? {} },
    spec: { ...(o.podCIDRs ? { podCIDRs: o.podCIDRs } : {}), ...(o.podCIDR ? { podCIDR: o.podCIDR } : {}) },
    status: { addresses },
  };
}

const IFACES: LocalInterfaceAddress[] = [
  { name: 'eth0', address: '192.0.2.11', cidr: '192.0.2.11/24' },
  { name: 'eth0', address: '2001:db8:0:1::11', cidr: '2001:db8:0:1::11/64' },
  { name: 'eth1', address: '198.51.100.7', cidr: '198.51.100.7/28' },
];

const pool = (vxlanMode: PoolSummary['vxlanMode'], disabled = false): PoolSummary =>
  ({ name: `p-${vxlanMode}`, cidr: '203.0.113.0/24', ipipMode: 'Never', vxlanMode, natOutgoing: false, disabled });

const desired = (node: unknown, pools: PoolSummary[] = [], interfaces = IFACES) => desiredNodeAnnotations({ node, interfaces, pools, vtepMac });

/** Applies a patch the way the API server does and returns the resulting annotations. */
function applied(node: Record<string, unknown>, pools: PoolSummary[] = [], interfaces = IFACES): Record<string, string> {
  const ann = (node.metadata as { annotations: Record<string, string> }).annotations;
  const p = annotationPatch(ann, desired(node, pools, interfaces));
  return p ? mergePatch({ metadata: { annotations: ann } }, p).metadata.annotations : ann;
}

test('a node without annotations gets its IPv4 and IPv6 InternalIPs with the prefix length of the interface holding them', () => {
  const d = desired(rawNode({ v4: '192.0.2.11', v6: '2001:DB8:0:1::11' }));
  assert.deepEqual(d.set, {
    [ANN.bgpIpv4Address]: '192.0.2.11/24', [REC.bgpIpv4Address]: '192.0.2.11/24',
    [ANN.bgpIpv6Address]: '2001:db8:0:1::11/64', [REC.bgpIpv6Address]: '2001:db8:0:1::11/64',
  });
  assert.deepEqual(d.remove, []);
});

test('the written annotation parses back through convertNode to the interface subnet', () => {
  const node = rawNode({ v4: '192.0.2.11', v6: '2001:db8:0:1::11' });
  (node.metadata as { annotations: Record<string, string> }).annotations = applied(node);
  const info = convertNode(node);
  assert.ok('ok' in info);
  assert.deepEqual(info.ok.ipv4, { address: '192.0.2.11', subnet: '192.0.2.0/24', source: 'annotation' });
  assert.deepEqual(info.ok.ipv6, { address: '2001:db8:0:1::11', subnet: '2001:db8:0:1::/64', source: 'annotation' });
});

test('the first InternalIP of the family is used, the same one convertNode falls back to', () => {
  const node = rawNode({ v4: '198.51.100.7' });
  (node.status as { addresses: unknown[] }).addresses.push({ type: 'InternalIP', address: '192.0.2.11' });
  assert.equal(desired(node).set[ANN.bgpIpv4Address], '198.51.100.7/28');
});

test('an address held twice takes the shortest prefix (the connected subnet, not a /32 alias)', () => {
  const ifs = [{ name: 'lo0', address: '192.0.2.11', cidr: '192.0.2.11/32' }, { name: 'eth0', address: '192.0.2.11', cidr: '192.0.2.11/24' }];
  assert.equal(addressInCidrForm('192.0.2.11', ifs), '192.0.2.11/24');
  assert.equal(addressInCidrForm('192.0.2.12', ifs), undefined);
  assert.equal(addressInCidrForm('192.0.2.11', [{ name: 'x', address: '192.0.2.11', cidr: null }]), undefined);
});

test('an InternalIP no local interface holds publishes nothing, and removes what the agent wrote before', () => {
  assert.deepEqual(desired(rawNode({ v4: '203.0.113.9' })), { set: {}, remove: [] });
  const ours = rawNode({ v4: '203.0.113.9', annotations: { [ANN.bgpIpv4Address]: '192.0.2.11/24', [REC.bgpIpv4Address]: '192.0.2.11/24' } });
  assert.deepEqual(desired(ours), { set: {}, remove: [ANN.bgpIpv4Address, REC.bgpIpv4Address].sort() });
});

test("the agent's own earlier value follows the node when its interface prefix changes", () => {
  const node = rawNode({ v4: '192.0.2.11', annotations: { [ANN.bgpIpv4Address]: '192.0.2.11/26', [REC.bgpIpv4Address]: '192.0.2.11/26' } });
  assert.deepEqual(desired(node).set, { [ANN.bgpIpv4Address]: '192.0.2.11/24', [REC.bgpIpv4Address]: '192.0.2.11/24' });
});

test("an operator's annotation (no record of the agent writing it) is left alone", () => {
  const node = rawNode({ v4: '192.0.2.11', annotations: { [ANN.bgpIpv4Address]: '198.51.100.7/28' } });
  const d = desired(node);
  assert.equal(d.set[ANN.bgpIpv4Address], undefined);
  assert.equal(d.set[REC.bgpIpv4Address], undefined);
  assert.ok(!d.remove.includes(ANN.bgpIpv4Address));
});

test("an operator overwriting the agent's value takes it over: the value stays and the stale record goes", () => {
  const node = rawNode({ v4: '192.0.2.11', annotations: { [ANN.bgpIpv4Address]: '198.51.100.7/28', [REC.bgpIpv4Address]: '192.0.2.11/24' } });
  const after = applied(node);
  assert.equal(after[ANN.bgpIpv4Address], '198.51.100.7/28');
  assert.equal(after[REC.bgpIpv4Address], undefined);
});

test('an operator deleting the annotation hands it back to the agent', () => {
  const node = rawNode({ v4: '192.0.2.11', annotations: { [ANN.bgpIpv4Address]: '' } });
  assert.equal(desired(node).set[ANN.bgpIpv4Address], '192.0.2.11/24');
});

test('an annotation that does not parse but is ours is corrected, not rejected', () => {
  const node = rawNode({ v4: '192.0.2.11', annotations: { [ANN.bgpIpv4Address]: 'garbage', [REC.bgpIpv4Address]: 'garbage' } });
  assert.equal(desired(node).set[ANN.bgpIpv4Address], '192.0.2.11/24');
});

test('a pool with VXLAN Always or CrossSubnet publishes the VTEP MAC and the network address of the first IPv4 podCIDR', () => {
  for (const mode of ['Always', 'CrossSubnet'] as const) {
    const d = desired(rawNode({ v4: '192.0.2.11', podCIDRs: ['2001:db8:42::/64', '203.0.113.64/26', '203.0.113.128/26'] }), [pool(mode)]);
    assert.equal(d.set[ANN.vxlanTunnelMac], vtepMac('n1'));
    assert.equal(d.set[ANN.vxlanTunnelAddress], '203.0.113.64');
  }
  assert.equal(vtepAddress(rawNode({ podCIDR: '198.18.4.0/24' })), '198.18.4.0');
  // /31 and /32 blocks have no address the pod IPAM leaves free.
  assert.equal(vtepAddress(rawNode({ podCIDRs: ['198.18.4.0/31'] })), undefined);
  assert.equal(vtepAddress(rawNode({ podCIDRs: ['198.18.4.4/30'] })), '198.18.4.4');
});

test('the VTEP annotations parse back through convertNode', () => {
  const node = rawNode({ v4: '192.0.2.11', podCIDRs: ['203.0.113.64/26'] });
  (node.metadata as { annotations: Record<string, string> }).annotations = applied(node, [pool('Always')]);
  const info = convertNode(node);
  assert.ok('ok' in info);
  assert.equal(info.ok.vxlanTunnelMac, vtepMac('n1'));
  assert.equal(info.ok.vxlanTunnelAddress, '203.0.113.64');
});

test('disabled or Never pools do not want VXLAN, and the VTEP annotations are removed', () => {
  const node = rawNode({ podCIDRs: ['203.0.113.64/26'], annotations: { [ANN.vxlanTunnelMac]: vtepMac('n1'), [ANN.vxlanTunnelAddress]: '203.0.113.64', 'other.example/x': 'y' } });
  for (const pools of [[], [pool('Never')], [pool('Always', true)]]) {
    const d = desired(node, pools);
    assert.deepEqual(d.remove, [ANN.vxlanTunnelAddress, ANN.vxlanTunnelMac].sort());
    assert.deepEqual(d.set, {});
  }
  assert.deepEqual(applied(node, []), { 'other.example/x': 'y' });
});

test('a node without an IPv4 podCIDR gets the VTEP MAC only', () => {
  const d = desired(rawNode({ podCIDRs: ['2001:db8:42::/64'] }), [pool('Always')]);
  assert.deepEqual(Object.keys(d.set), [ANN.vxlanTunnelMac]);
});

test('a wrong VTEP value is corrected (the VXLAN annotations are the agent\'s alone)', () => {
  const node = rawNode({ podCIDRs: ['203.0.113.64/26'], annotations: { [ANN.vxlanTunnelMac]: '02:00:00:00:00:01', [ANN.vxlanTunnelAddress]: '203.0.113.65' } });
  assert.deepEqual(desired(node, [pool('Always')]).set, { [ANN.vxlanTunnelMac]: vtepMac('n1'), [ANN.vxlanTunnelAddress]: '203.0.113.64' });
});

test('annotationPatch is undefined when nothing changes and otherwise names only changed keys, null for removals', () => {
  assert.equal(annotationPatch({ a: '1' }, { set: { a: '1' }, remove: ['b'] }), undefined);
  assert.deepEqual(annotationPatch({ a: '1', b: '2', c: '3' }, { set: { a: '1', d: '4' }, remove: ['b', 'z'] }), { metadata: { annotations: { b: null, d: '4' } } });
});

test('a node whose annotations are already in line needs no patch (idempotence)', () => {
  const node = rawNode({ v4: '192.0.2.11', v6: '2001:db8:0:1::11', podCIDRs: ['203.0.113.64/26'] });
  const ann = applied(node, [pool('CrossSubnet')]);
  (node.metadata as { annotations: Record<string, string> }).annotations = ann;
  assert.equal(annotationPatch(ann, desired(node, [pool('CrossSubnet')])), undefined);
});

test('for any starting annotations, one patch reaches a fixed point and never touches keys the agent does not own', () => {
  const keys = [ANN.bgpIpv4Address, REC.bgpIpv4Address, ANN.bgpIpv6Address, REC.bgpIpv6Address, ANN.vxlanTunnelMac, ANN.vxlanTunnelAddress, ANN.asNumber, 'other.example/x'];
  const values = ['', 'garbage', '192.0.2.11/24', '192.0.2.11/26', '198.51.100.7/28', '2001:db8:0:1::11/64', '203.0.113.64', '65001'];
  const owned = new Set<string>([ANN.bgpIpv4Address, REC.bgpIpv4Address, ANN.bgpIpv6Address, REC.bgpIpv6Address, ANN.vxlanTunnelMac, ANN.vxlanTunnelAddress]);
  fc.assert(fc.property(
    fc.dictionary(fc.constantFrom(...keys), fc.constantFrom(...values)),
    fc.constantFrom<PoolSummary['vxlanMode'][]>([], ['Never'], ['Always'], ['CrossSubnet']),
    fc.boolean(),
    (start, modes, withIfaces) => {
      const node = rawNode({ v4: '192.0.2.11', v6: '2001:db8:0:1::11', podCIDRs: ['203.0.113.64/26'], annotations: { ...start } });
      const ifs = withIfaces ? IFACES : [];
      const pools = modes.map((m) => pool(m));
      const once = applied(node, pools, ifs);
      for (const k of new Set([...Object.keys(start), ...Object.keys(once)])) if (!owned.has(k)) assert.equal(once[k], start[k], k);
      (node.metadata as { annotations: Record<string, string> }).annotations = once;
      assert.equal(annotationPatch(once, desired(node, pools, ifs)), undefined);
      // The operator's non-empty value (no matching record) survives.
      const v4 = start[ANN.bgpIpv4Address];
      if (v4 && v4 !== start[REC.bgpIpv4Address]) assert.equal(once[ANN.bgpIpv4Address], v4);
    },
  ), { numRuns: 300 });
});
