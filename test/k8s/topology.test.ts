import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import fc from 'fast-check';
import {
  convertAll,
  convertBgpConfiguration,
  convertBgpPeer,
  convertIpPool,
  convertNode,
  type BgpConfiguration,
  type BgpPeer,
  type IpPool,
  type NodeInfo,
} from '../../src/k8s/resources.js';
import { comparePrefix, computeTopology, diffTopology, hashRouterId, isEmptyDiff, type TopologyInput } from '../../src/k8s/topology.js';
import type { PeerSpec, Topology } from '../../src/model/topology.js';
import { vtepMac } from '../../src/model/vtep.js';

const A = 'petrel.dev/';
interface N {
  v4?: string; // CIDR form annotation, e.g. 192.0.2.11/24
  v6?: string;
  internal?: string; // InternalIP only (no annotation)
  blocks?: string[];
  labels?: Record<string, string>;
  asn?: number;
  clusterId?: string;
  vtep?: [string, string];
}
function mkNode(name: string, n: N): NodeInfo {
  const annotations: Record<string, string> = {};
  if (n.v4) annotations[`${A}bgp-ipv4-address`] = n.v4;
  if (n.v6) annotations[`${A}bgp-ipv6-address`] = n.v6;
  if (n.asn !== undefined) annotations[`${A}as-number`] = String(n.asn);
  if (n.clusterId) annotations[`${A}route-reflector-cluster-id`] = n.clusterId;
  if (n.vtep) [annotations[`${A}vxlan-tunnel-mac`], annotations[`${A}vxlan-tunnel-address`]] = n.vtep;
  const r = convertNode({
    metadata: { name, labels: n.labels ?? {}, annotations },
    spec: { podCIDRs: n.blocks ?? [] },
    status: { addresses: n.internal ? [{ type: 'InternalIP', address: n.internal }] : [] },
  });
  assert.ok('ok' in r, JSON.stringify(r));
  return r.ok;
}
function ok<T>(r: { ok: T } | { error: unknown }): T {
  assert.ok('ok' in r, JSON.stringify(r));
  return r.ok;
}
const peer = (name: string, spec: object): BgpPeer => ok(convertBgpPeer({ metadata: { name }, spec }));
const pool = (name: string, spec: object): IpPool => ok(convertIpPool({ metadata: { name }, spec }));
const config = (spec: object): BgpConfiguration => ok(convertBgpConfiguration({ metadata: { name: 'default' }, spec }));
function samples(file: string): unknown[] {
  return parseAllDocuments(readFileSync(new URL(`../../deploy/samples/${file}`, import.meta.url), 'utf8')).map((d) => d.toJS());
}
/** The short view of a peer list the tables below compare against. */
function view(t: Topology) {
  return t.peers.map((p) => `${p.name} ${p.address} as${p.asn} ${p.type}${p.passive ? ' passive' : ''}${p.rrClient ? ' rr-client' : ''}`);
}
function topo(input: Partial<TopologyInput> & { nodes: NodeInfo[]; thisNode: string }): Topology {
  return computeTopology({ bgpPeers: [], ipPools: [], ...input });
}

// ---------------------------------------------------------------------------------------------
// Five nodes, full mesh

const five = [1, 2, 3, 4, 5].map((i) => mkNode(`n${i}`, { v4: `192.0.2.${10 + i}/24`, blocks: [`198.18.${i}.0/24`] }));

test('five nodes in a full mesh: the middle node peers with the four others and is passive toward the two with higher addresses', () => {
  const t = topo({ nodes: five, thisNode: 'n3' });
  assert.deepEqual(view(t), [
    'mesh:n1:ipv4 192.0.2.11 as64512 node-to-node mesh',
    'mesh:n2:ipv4 192.0.2.12 as64512 node-to-node mesh',
    'mesh:n4:ipv4 192.0.2.14 as64512 node-to-node mesh passive',
    'mesh:n5:ipv4 192.0.2.15 as64512 node-to-node mesh passive',
  ]);
  assert.equal(t.localAsn, 64512);
  assert.equal(t.routerId, '192.0.2.13');
  assert.equal(t.clusterId, undefined);
  assert.deepEqual(t.peers[0], {
    name: 'mesh:n1:ipv4', type: 'node-to-node mesh', address: '192.0.2.11', port: 179, asn: 64512, localAsn: 64512, localAddress: '192.0.2.13',
    passive: false, rrClient: false, holdTime: 90, keepaliveTime: 30, families: ['ipv4'], node: 'n1',
  });
  assert.deepEqual(t.advertise, [{ prefix: '198.18.3.0/24', kind: 'pod-block', communities: [] }]);
  assert.deepEqual(t.localBlocks, [{ prefix: '198.18.3.0/24', natOutgoing: false }]);
  assert.deepEqual(t.remoteBlocks.map((r) => `${r.prefix} ${r.node} ${r.nextHop} ${r.mode}`), [
    '198.18.1.0/24 n1 192.0.2.11 direct',
    '198.18.2.0/24 n2 192.0.2.12 direct',
    '198.18.4.0/24 n4 192.0.2.14 direct',
    '198.18.5.0/24 n5 192.0.2.15 direct',
  ]);
  assert.deepEqual(t.problems, []);
});

test('in the mesh every pair of nodes has exactly one active side, and both sides agree on the session', () => {
  const all = new Map(five.map((n) => [n.name, topo({ nodes: five, thisNode: n.name })]));
  let pairs = 0;
  for (const [a, ta] of all) {
    for (const p of ta.peers) {
      const back = all.get(p.node!)!.peers.find((q) => q.node === a)!;
      assert.ok(back, `${p.node} peers back with ${a}`);
      assert.notEqual(p.passive, back.passive, `${a}↔${p.node}: one side connects`);
      assert.equal(back.address, p.localAddress);
      pairs++;
    }
  }
  assert.equal(pairs, 5 * 4);
});

test('a node with its own AS number makes the mesh sessions toward it eBGP', () => {
  const nodes = [mkNode('a', { v4: '192.0.2.1/24' }), mkNode('b', { v4: '192.0.2.2/24', asn: 65001 })];
  const ta = topo({ nodes, thisNode: 'a' });
  const tb = topo({ nodes, thisNode: 'b' });
  assert.deepEqual([ta.localAsn, ta.peers[0].asn, tb.localAsn, tb.peers[0].asn], [64512, 65001, 65001, 64512]);
  const t2 = topo({ nodes, thisNode: 'a', bgpConfiguration: config({ asNumber: 65000 }) });
  assert.deepEqual([t2.localAsn, t2.peers[0].asn], [65000, 65001]);
});

test('dual-stack nodes peer once per address family, each session carrying its own family', () => {
  const nodes = [
    mkNode('a', { v4: '192.0.2.1/24', v6: '2001:db8::1/64', blocks: ['198.18.1.0/24', '2001:db8:42:1::/64'] }),
    mkNode('b', { v4: '192.0.2.2/24', v6: '2001:db8::2/64', blocks: ['198.18.2.0/24', '2001:db8:42:2::/64'] }),
    mkNode('c', { v4: '192.0.2.3/24' }), // IPv4 only
  ];
  const t = topo({ nodes, thisNode: 'a' });
  assert.deepEqual(t.peers.map((p) => [p.name, p.address, p.localAddress, p.families]), [
    ['mesh:b:ipv4', '192.0.2.2', '192.0.2.1', ['ipv4']],
    ['mesh:b:ipv6', '2001:db8::2', '2001:db8::1', ['ipv6']],
    ['mesh:c:ipv4', '192.0.2.3', '192.0.2.1', ['ipv4']],
  ]);
  assert.deepEqual(t.remoteBlocks.map((r) => `${r.prefix} ${r.nextHop}`), ['198.18.2.0/24 192.0.2.2', '2001:db8:42:2::/64 2001:db8::2']);
  assert.deepEqual(t.advertise.map((a) => a.prefix), ['198.18.1.0/24', '2001:db8:42:1::/64']);
});

// ---------------------------------------------------------------------------------------------
// Mesh off, two route reflectors (the BGPPeers of deploy/samples/bgppeer-route-reflectors.yaml)

const rrLabels = { [`${A}route-reflector`]: 'true' };
function rrCluster(cid2 = '198.51.100.250') {
  return [
    mkNode('rr1', { v4: '192.0.2.101/24', labels: rrLabels, clusterId: '198.51.100.250', blocks: ['198.18.101.0/24'] }),
    mkNode('rr2', { v4: '192.0.2.102/24', labels: rrLabels, clusterId: cid2, blocks: ['198.18.102.0/24'] }),
    mkNode('c1', { v4: '192.0.2.11/24', blocks: ['198.18.11.0/24'] }),
    mkNode('c2', { v4: '192.0.2.12/24', blocks: ['198.18.12.0/24'] }),
    mkNode('c3', { v4: '192.0.2.13/24', blocks: ['198.18.13.0/24'] }),
  ];
}
const rrPeers = convertAll(samples('bgppeer-route-reflectors.yaml'), convertBgpPeer);
const meshOff = config({ nodeToNodeMesh: false });

test('with the mesh off a plain node peers only with the two route reflectors, as an ordinary iBGP speaker', () => {
  assert.deepEqual(rrPeers.errors, []);
  const t = topo({ nodes: rrCluster(), thisNode: 'c2', bgpConfiguration: meshOff, bgpPeers: rrPeers.ok });
  assert.deepEqual(view(t), [
    'bgppeer:rr-clients:rr1:ipv4 192.0.2.101 as64512 route reflector passive',
    'bgppeer:rr-clients:rr2:ipv4 192.0.2.102 as64512 route reflector passive',
  ]);
  assert.equal(t.clusterId, undefined);
  // Routes still reach every block: remote blocks come from the Node objects, not from sessions.
  assert.equal(t.remoteBlocks.length, 4);
});

test('a route reflector peers with every client as rrClient and with the other reflector of its cluster as a non-client', () => {
  const t = topo({ nodes: rrCluster(), thisNode: 'rr1', bgpConfiguration: meshOff, bgpPeers: rrPeers.ok });
  assert.equal(t.clusterId, '198.51.100.250');
  assert.deepEqual(view(t), [
    'bgppeer:rr-clients:c1:ipv4 192.0.2.11 as64512 route reflector rr-client',
    'bgppeer:rr-clients:c2:ipv4 192.0.2.12 as64512 route reflector rr-client',
    'bgppeer:rr-clients:c3:ipv4 192.0.2.13 as64512 route reflector rr-client',
    'bgppeer:rr-mesh:rr2:ipv4 192.0.2.102 as64512 route reflector passive',
  ]);
  assert.deepEqual(t.problems, []);
});

test('reflectors of different cluster ids treat each other as clients', () => {
  const t = topo({ nodes: rrCluster('198.51.100.251'), thisNode: 'rr1', bgpConfiguration: meshOff, bgpPeers: rrPeers.ok });
  assert.deepEqual(t.peers.find((p) => p.node === 'rr2')?.rrClient, true);
});

test('every route reflector session is configured on both ends with one active side', () => {
  const nodes = rrCluster();
  const all = new Map(nodes.map((n) => [n.name, topo({ nodes, thisNode: n.name, bgpConfiguration: meshOff, bgpPeers: rrPeers.ok })]));
  let sessions = 0;
  for (const [a, t] of all) for (const p of t.peers) {
    const back = all.get(p.node!)!.peers.find((q) => q.node === a);
    assert.ok(back, `${p.node} → ${a}`);
    assert.notEqual(back.passive, p.passive);
    sessions++;
  }
  assert.equal(sessions, 2 * (3 * 2 + 1)); // 3 clients × 2 reflectors + the reflector pair, both directions
});

test('with the mesh off and no BGPPeer a node has no peers at all', () => {
  assert.deepEqual(topo({ nodes: rrCluster(), thisNode: 'c1', bgpConfiguration: meshOff }).peers, []);
});

test('with the mesh on, reflector BGPPeers take precedence over the mesh sessions to the same addresses', () => {
  const t = topo({ nodes: rrCluster(), thisNode: 'c1', bgpPeers: rrPeers.ok });
  assert.deepEqual(t.peers.map((p) => `${p.name} ${p.type}`), [
    'bgppeer:rr-clients:rr1:ipv4 route reflector',
    'bgppeer:rr-clients:rr2:ipv4 route reflector',
    'mesh:c2:ipv4 node-to-node mesh',
    'mesh:c3:ipv4 node-to-node mesh',
  ]);
});

test('a node labelled as route reflector without a cluster id is reported and does not reflect', () => {
  const nodes = [mkNode('rr', { v4: '192.0.2.1/24', labels: rrLabels }), mkNode('c', { v4: '192.0.2.2/24' })];
  const t = topo({ nodes, thisNode: 'rr', bgpConfiguration: meshOff, bgpPeers: rrPeers.ok });
  assert.deepEqual(t.peers.map((p) => p.rrClient), [false]);
  assert.deepEqual(t.problems.map((p) => [p.name, p.field]), [['rr', `metadata.annotations[${A}route-reflector-cluster-id]`]]);
});

// ---------------------------------------------------------------------------------------------
// External peers

const racks = [
  mkNode('r1a', { v4: '192.0.2.11/24', labels: { rack: 'r1' } }),
  mkNode('r1b', { v4: '192.0.2.12/24', v6: '2001:db8::12/64', labels: { rack: 'r1' } }),
  mkNode('r2a', { v4: '198.51.100.11/24', labels: { rack: 'r2' } }),
];
const tor = convertAll(samples('bgppeer-tor.yaml'), convertBgpPeer).ok;

test('an external top-of-rack router is peered (eBGP) only by the nodes its nodeSelector chooses', () => {
  const t = topo({ nodes: racks, thisNode: 'r1a', bgpPeers: tor });
  const p = t.peers.find((x) => x.name === 'bgppeer:tor-r1');
  assert.deepEqual(p, {
    name: 'bgppeer:tor-r1', type: 'node specific', address: '192.0.2.1', port: 179, asn: 64600, localAsn: 64512, localAddress: '192.0.2.11',
    passive: false, rrClient: false, holdTime: 30, keepaliveTime: 10, families: ['ipv4'],
    password: { name: 'petrel-bgp-passwords', key: 'tor-r1' }, maxPrefixes: 10000, bgpPeer: 'tor-r1',
  });
  assert.ok(topo({ nodes: racks, thisNode: 'r1b', bgpPeers: tor }).peers.some((x) => x.name === 'bgppeer:tor-r1'));
  assert.ok(!topo({ nodes: racks, thisNode: 'r2a', bgpPeers: tor }).peers.some((x) => x.name === 'bgppeer:tor-r1'));
});

test('a BGPPeer naming one node applies to that node only', () => {
  const one = [peer('only-r2a', { node: 'r2a', peerIP: '198.51.100.1:1179', asNumber: 64512, passive: true })];
  const t = topo({ nodes: racks, thisNode: 'r2a', bgpPeers: one });
  assert.deepEqual(view(t).filter((v) => v.startsWith('bgppeer')), ['bgppeer:only-r2a 198.51.100.1 as64512 node specific passive']);
  assert.equal(t.peers.find((p) => p.bgpPeer === 'only-r2a')?.port, 1179);
  assert.ok(!topo({ nodes: racks, thisNode: 'r1a', bgpPeers: one }).peers.some((p) => p.bgpPeer === 'only-r2a'));
});

test('a global IPv6 peer is peered by nodes with an IPv6 address; the others report that they cannot', () => {
  const rs = convertAll(samples('bgppeer-global-ipv6.yaml'), convertBgpPeer).ok;
  const t = topo({ nodes: racks, thisNode: 'r1b', bgpPeers: rs });
  const p = t.peers.find((x) => x.bgpPeer === 'route-server-v6')!;
  assert.deepEqual([p.type, p.address, p.port, p.localAddress, p.families, p.passive], ['global', '2001:db8:ffff::1', 1179, '2001:db8::12', ['ipv6'], true]);
  const t2 = topo({ nodes: racks, thisNode: 'r1a', bgpPeers: rs });
  assert.deepEqual(t2.problems.map((x) => [x.kind, x.name, x.field]), [['BGPPeer', 'route-server-v6', 'spec.peerIP']]);
});

test('an explicit BGPPeer to another node\'s address replaces the mesh session to it', () => {
  const t = topo({ nodes: racks, thisNode: 'r1a', bgpPeers: [peer('to-r2a', { node: 'r1a', peerIP: '198.51.100.11', asNumber: 64512, holdTime: 9 })] });
  assert.deepEqual(t.peers.filter((p) => p.address === '198.51.100.11').map((p) => [p.name, p.holdTime, p.keepaliveTime]), [['bgppeer:to-r2a', 9, 3]]);
});

// ---------------------------------------------------------------------------------------------
// Two subnets: IP-in-IP CrossSubnet and VXLAN Always

const vtep = (i: number): [string, string] => [`66:00:00:00:00:${i.toString(16).padStart(2, '0')}`, `100.127.255.${i}`];
const subnets = [
  mkNode('a1', { v4: '192.0.2.11/24', blocks: ['198.18.1.0/24'], vtep: vtep(1) }),
  mkNode('a2', { v4: '192.0.2.12/24', blocks: ['100.64.2.0/24'], vtep: vtep(2) }),
  mkNode('a3', { v4: '192.0.2.13/24', blocks: ['198.18.3.0/24'], vtep: vtep(3) }),
  mkNode('b1', { v4: '198.51.100.21/24', blocks: ['198.18.21.0/24'], vtep: vtep(21) }),
  mkNode('b2', { v4: '198.51.100.22/24', blocks: ['100.64.22.0/24'], vtep: vtep(22) }),
];
const pools = [
  pool('pods-ipip', { cidr: '198.18.0.0/16', ipipMode: 'CrossSubnet', natOutgoing: true }),
  pool('pods-vxlan', { cidr: '100.64.0.0/16', vxlanMode: 'Always' }),
];

test('IP-in-IP CrossSubnet encapsulates only toward the other subnet; VXLAN Always encapsulates toward every node', () => {
  const t = topo({ nodes: subnets, thisNode: 'a1', ipPools: pools });
  assert.deepEqual(t.remoteBlocks, [
    { prefix: '100.64.2.0/24', node: 'a2', nextHop: '192.0.2.12', mode: 'vxlan', vtep: { mac: '66:00:00:00:00:02', address: '100.127.255.2' }, pool: 'pods-vxlan' },
    { prefix: '100.64.22.0/24', node: 'b2', nextHop: '198.51.100.22', mode: 'vxlan', vtep: { mac: '66:00:00:00:00:16', address: '100.127.255.22' }, pool: 'pods-vxlan' },
    { prefix: '198.18.3.0/24', node: 'a3', nextHop: '192.0.2.13', mode: 'direct', pool: 'pods-ipip' },
    { prefix: '198.18.21.0/24', node: 'b1', nextHop: '198.51.100.21', mode: 'ipip', pool: 'pods-ipip' },
  ]);
  assert.deepEqual(t.localBlocks, [{ prefix: '198.18.1.0/24', pool: 'pods-ipip', natOutgoing: true }]);
  assert.deepEqual(t.pools.map((p) => [p.name, p.natOutgoing]), [['pods-ipip', true], ['pods-vxlan', false]]);
});

test('seen from the other subnet the same pools give the mirror image', () => {
  const t = topo({ nodes: subnets, thisNode: 'b1', ipPools: pools });
  assert.deepEqual(t.remoteBlocks.map((r) => `${r.node} ${r.mode}`), ['a2 vxlan', 'b2 vxlan', 'a1 ipip', 'a3 ipip']);
});

const modeTable: Array<[string, string, string]> = [
  // [ipipMode/vxlanMode of the pool, mode toward a3 (same subnet), mode toward b1 (other subnet)]
  ['ipip Always', 'ipip', 'ipip'],
  ['ipip CrossSubnet', 'direct', 'ipip'],
  ['ipip Never', 'direct', 'direct'],
  ['vxlan Always', 'vxlan', 'vxlan'],
  ['vxlan CrossSubnet', 'direct', 'vxlan'],
];
for (const [modes, same, other] of modeTable) {
  test(`a pool with ${modes} reaches a same-subnet node ${same} and an other-subnet node ${other}`, () => {
    const [kind, mode] = modes.split(' ');
    const p = pool('p', { cidr: '198.18.0.0/16', [`${kind}Mode`]: mode });
    const t = topo({ nodes: subnets, thisNode: 'a1', ipPools: [p] });
    const m = (n: string) => t.remoteBlocks.find((r) => r.node === n)?.mode;
    assert.deepEqual([m('a3'), m('b1')], [same, other]);
  });
}

test('without a known subnet (InternalIP fallback, /32) CrossSubnet encapsulates even toward a neighbour', () => {
  const nodes = [mkNode('x', { internal: '192.0.2.1', blocks: ['198.18.1.0/24'] }), mkNode('y', { internal: '192.0.2.2', blocks: ['198.18.2.0/24'] })];
  const t = topo({ nodes, thisNode: 'x', ipPools: [pools[0]] });
  assert.deepEqual(t.remoteBlocks.map((r) => r.mode), ['ipip']);
});

test('a block in the longest matching pool takes that pool\'s mode; a block in no pool is direct', () => {
  const inner = pool('inner', { cidr: '198.18.21.0/24', vxlanMode: 'Always' });
  const t = topo({ nodes: subnets, thisNode: 'a1', ipPools: [pools[0], inner] });
  assert.deepEqual(t.remoteBlocks.map((r) => `${r.prefix} ${r.mode} ${r.pool ?? '-'}`), [
    '100.64.2.0/24 direct -', '100.64.22.0/24 direct -', '198.18.3.0/24 direct pods-ipip', '198.18.21.0/24 vxlan inner',
  ]);
});

test('a VXLAN block of a node without VTEP annotations goes to the VTEP its agent will announce (derived); one with no IPv4 block of /30 or shorter is reported', () => {
  const nodes = [subnets[0], mkNode('new', { v4: '192.0.2.50/24', blocks: ['100.64.50.0/24'] })];
  const t = topo({ nodes, thisNode: 'a1', ipPools: pools });
  assert.deepEqual(t.remoteBlocks.map((r) => [r.prefix, r.mode, r.vtep]), [['100.64.50.0/24', 'vxlan', { mac: vtepMac('new'), address: '100.64.50.0' }]]);
  assert.deepEqual(t.problems, []);
  const tiny = [subnets[0], mkNode('tiny', { v4: '192.0.2.51/24', blocks: ['100.64.51.7/32'] })];
  const t2 = topo({ nodes: tiny, thisNode: 'a1', ipPools: pools });
  assert.deepEqual(t2.remoteBlocks, []);
  assert.deepEqual(t2.problems.map((p) => [p.kind, p.name, p.field]), [['Node', 'tiny', `metadata.annotations[${A}vxlan-tunnel-address]`]]);
});

// ---------------------------------------------------------------------------------------------
// Advertisements

test('service CIDRs from the BGPConfiguration are advertised with the communities of their prefixAdvertisements', () => {
  const [cfgDoc] = samples('bgpconfiguration-default.yaml');
  const cfg = ok(convertBgpConfiguration(cfgDoc));
  const t = topo({ nodes: five, thisNode: 'n1', bgpConfiguration: cfg });
  assert.deepEqual(t.advertise, [
    { prefix: '198.18.1.0/24', kind: 'pod-block', communities: [] },
    { prefix: '198.18.240.0/20', kind: 'service-cluster-ip', communities: [64512 * 65536 + 300, 64512 * 65536 + 301] },
    { prefix: '203.0.113.128/25', kind: 'service-loadbalancer-ip', communities: [] },
  ]);
  assert.deepEqual([t.peers[0].holdTime, t.peers[0].keepaliveTime], [90, 30]);
});

// ---------------------------------------------------------------------------------------------
// Joining, leaving, small changes: the diff holds exactly what must change

test('a node joining adds exactly its session and its block; leaving removes exactly those', () => {
  const before = topo({ nodes: five.slice(0, 4), thisNode: 'n2' });
  const after = topo({ nodes: five, thisNode: 'n2' });
  const d = diffTopology(before, after);
  assert.deepEqual(d.peers.added.map((p) => p.name), ['mesh:n5:ipv4']);
  assert.deepEqual(d.remoteBlocks.added.map((r) => r.prefix), ['198.18.5.0/24']);
  assert.deepEqual([d.peers.removed, d.peers.changed, d.remoteBlocks.removed, d.remoteBlocks.changed, d.advertise.added, d.localBlocks.added], [[], [], [], [], [], []]);
  assert.equal(d.identityChanged, false);
  const back = diffTopology(after, before);
  assert.deepEqual([back.peers.removed.map((p) => p.name), back.remoteBlocks.removed.map((r) => r.prefix)], [['mesh:n5:ipv4'], ['198.18.5.0/24']]);
  assert.deepEqual([back.peers.added, back.remoteBlocks.added], [[], []]);
});

test('a joining node whose agent has not annotated it yet still gets a session at its InternalIP', () => {
  const joining = mkNode('n6', { internal: '192.0.2.16', blocks: ['198.18.6.0/24'] });
  const d = diffTopology(topo({ nodes: five, thisNode: 'n1' }), topo({ nodes: [...five, joining], thisNode: 'n1' }));
  assert.deepEqual(d.peers.added.map((p) => [p.name, p.address, p.passive]), [['mesh:n6:ipv4', '192.0.2.16', true]]);
  assert.deepEqual(d.remoteBlocks.added.map((r) => [r.prefix, r.mode]), [['198.18.6.0/24', 'direct']]);
});

test('a label change that no selector looks at changes nothing; a moved node changes only its own session and block', () => {
  const base = topo({ nodes: racks, thisNode: 'r1a', bgpPeers: tor });
  const relabelled = racks.map((n) => (n.name === 'r2a' ? { ...n, labels: { ...n.labels, team: 'x' } } : n));
  assert.ok(isEmptyDiff(diffTopology(base, topo({ nodes: relabelled, thisNode: 'r1a', bgpPeers: tor }))));
  const moved = racks.map((n) => (n.name === 'r2a' ? mkNode('r2a', { v4: '198.51.100.99/24', labels: { rack: 'r2' } }) : n));
  const d = diffTopology(base, topo({ nodes: moved, thisNode: 'r1a', bgpPeers: tor }));
  assert.deepEqual(d.peers.changed.map((c) => [c.before.name, c.before.address, c.after.address]), [['mesh:r2a:ipv4', '198.51.100.11', '198.51.100.99']]);
  assert.deepEqual([d.peers.added, d.peers.removed], [[], []]);
  // Moving r1b into rack r2 makes the ToR peer irrelevant to it but not to us.
  const rack = racks.map((n) => (n.name === 'r1b' ? { ...n, labels: { rack: 'r2' } } : n));
  assert.ok(isEmptyDiff(diffTopology(base, topo({ nodes: rack, thisNode: 'r1a', bgpPeers: tor }))));
});

// ---------------------------------------------------------------------------------------------
// Bad input and problems

test('bad objects are skipped with their problems reported, and the good ones still make a topology', () => {
  const nodeObjs = [
    { metadata: { name: 'good1', annotations: { [`${A}bgp-ipv4-address`]: '192.0.2.1/24' } }, spec: { podCIDRs: ['198.18.1.0/24'] } },
    { metadata: { name: 'bad', annotations: { [`${A}bgp-ipv4-address`]: '192.0.2.300/24' } }, spec: { podCIDRs: ['198.18.2.0/24'] } },
    { metadata: { name: 'good2', annotations: { [`${A}bgp-ipv4-address`]: '192.0.2.3/24' } }, spec: { podCIDRs: ['198.18.3.0/24'] } },
  ];
  const nodes = convertAll(nodeObjs, convertNode);
  const peers = convertAll([{ metadata: { name: 'broken' }, spec: { peerSelector: 'has(' } }, { metadata: { name: 'fine' }, spec: { peerIP: '203.0.113.1', asNumber: 65000 } }], convertBgpPeer);
  const ipPools = convertAll([{ metadata: { name: 'x' }, spec: { cidr: '198.18.0.0/16', ipipMode: 'Always', vxlanMode: 'Always' } }], convertIpPool);
  assert.deepEqual([...nodes.errors, ...peers.errors, ...ipPools.errors].map((e) => `${e.kind}/${e.name} ${e.field}`), [
    `Node/bad metadata.annotations[${A}bgp-ipv4-address]`, 'BGPPeer/broken spec.peerSelector', 'IPPool/x spec.vxlanMode',
  ]);
  const t = topo({ nodes: nodes.ok, thisNode: 'good1', bgpPeers: peers.ok, ipPools: ipPools.ok });
  assert.deepEqual(t.peers.map((p) => p.name), ['bgppeer:fine', 'mesh:good2:ipv4']);
  assert.deepEqual(t.remoteBlocks.map((r) => r.prefix), ['198.18.3.0/24']);
});

test('topology problems: unknown node, missing address, duplicate blocks, a pool that does not select the node, a wrong block size', () => {
  const unknown = topo({ nodes: five, thisNode: 'ghost' });
  assert.deepEqual([unknown.peers, unknown.problems.map((p) => p.name), unknown.routerId], [[], ['ghost'], hashRouterId('ghost')]);
  const nodes = [
    mkNode('a', { v4: '192.0.2.1/24', blocks: ['198.18.1.0/24'], labels: { zone: 'a' } }),
    mkNode('b', { v4: '192.0.2.2/24', blocks: ['198.18.1.0/24'] }), // the same block as a
    mkNode('c', { blocks: ['198.18.3.0/24'] }), // no address at all
    mkNode('d', { v4: '192.0.2.4/24', blocks: ['198.18.4.0/26'], labels: { zone: 'b' } }),
  ];
  const p = pool('zone-a', { cidr: '198.18.0.0/16', nodeSelector: "zone == 'a'", blockSize: 24 });
  const t = topo({ nodes, thisNode: 'a', ipPools: [p] });
  assert.deepEqual(t.problems.map((x) => `${x.kind}/${x.name} ${x.field}: ${x.message}`), [
    "IPPool/zone-a spec.nodeSelector: block 198.18.1.0/24 of node b lies in this pool but the pool does not select the node",
    "IPPool/zone-a spec.nodeSelector: block 198.18.3.0/24 of node c lies in this pool but the pool does not select the node",
    "IPPool/zone-a spec.nodeSelector: block 198.18.4.0/26 of node d lies in this pool but the pool does not select the node",
    `Node/b spec.podCIDRs: block 198.18.1.0/24 is also node a's: not routed to b`,
    `Node/c metadata.annotations[${A}bgp-ipv4-address]: block 198.18.3.0/24 has no next hop: the node has no IPv4 address`,
    'Node/d spec.podCIDRs: block 198.18.4.0/26 is not a /24 as IPPool zone-a requires',
  ]);
  assert.deepEqual(t.remoteBlocks.map((r) => r.prefix), ['198.18.4.0/26']);
  assert.deepEqual(t.peers.map((x) => x.name), ['mesh:b:ipv4', 'mesh:d:ipv4']);
});

test('an IPv6-only node gets a router id hashed from its name, never 0.0.0.0', () => {
  const t = topo({ nodes: [mkNode('v6only', { v6: '2001:db8::5/64' })], thisNode: 'v6only' });
  assert.equal(t.routerId, hashRouterId('v6only'));
  assert.notEqual(hashRouterId('v6only'), hashRouterId('v6only2'));
  assert.match(t.routerId, /^\d+\.\d+\.\d+\.\d+$/);
});

// ---------------------------------------------------------------------------------------------
// Determinism and locality, over random clusters

const clusterArb = fc.uniqueArray(
  fc.record({
    host: fc.integer({ min: 1, max: 250 }),
    subnet: fc.constantFrom('192.0.2', '198.51.100'),
    rack: fc.constantFrom('r1', 'r2'),
    rr: fc.boolean(),
    asn: fc.option(fc.constantFrom(64512, 65001), { nil: undefined }),
  }),
  { minLength: 2, maxLength: 8, selector: (n) => n.host },
).map((list) => list.map((n, i) => mkNode(`node-${n.host}`, {
  v4: `${n.subnet}.${n.host}/24`, blocks: [`198.18.${n.host}.0/24`], labels: n.rr ? { rack: n.rack, ...rrLabels } : { rack: n.rack },
  clusterId: n.rr ? '198.51.100.250' : undefined, asn: n.asn, vtep: vtep(i + 1),
})));
const peersArb = fc.subarray([...rrPeers.ok, ...tor]);
const poolsArb = fc.subarray([...pools, pool('pods-big', { cidr: '198.18.0.0/15', vxlanMode: 'CrossSubnet' })]);
const cfgArb = fc.constantFrom(undefined, meshOff);

test('the same inputs in any order give the same topology', () => {
  fc.assert(fc.property(clusterArb, peersArb, poolsArb, cfgArb, fc.nat(), (nodes, bgpPeers, ipPools, bgpConfiguration, seed) => {
    const thisNode = nodes[seed % nodes.length].name;
    const input = { nodes, bgpPeers, ipPools, thisNode, bgpConfiguration };
    const rev = { ...input, nodes: [...nodes].reverse(), bgpPeers: [...bgpPeers].reverse(), ipPools: [...ipPools].reverse() };
    assert.deepEqual(computeTopology(rev), computeTopology(input));
  }), { numRuns: 150, seed: 42 });
});

test('changing one other node\'s block changes only the route to that block', () => {
  fc.assert(fc.property(clusterArb, peersArb, poolsArb, cfgArb, (nodes, bgpPeers, ipPools, bgpConfiguration) => {
    const [me, other] = nodes;
    const changed = nodes.map((n) => (n === other ? { ...n, podCIDRs: ['100.64.200.0/24'] } : n));
    const d = diffTopology(
      computeTopology({ nodes, bgpPeers, ipPools, thisNode: me.name, bgpConfiguration }),
      computeTopology({ nodes: changed, bgpPeers, ipPools, thisNode: me.name, bgpConfiguration }),
    );
    assert.ok([...d.remoteBlocks.added, ...d.remoteBlocks.removed].every((r) => r.node === other.name));
    assert.ok(d.remoteBlocks.removed.length === 1 && d.remoteBlocks.removed[0].prefix === other.podCIDRs[0]);
    assert.ok(isEmptyDiff({ ...d, remoteBlocks: { added: [], removed: [], changed: [] }, problems: { added: [], removed: [], changed: [] } }));
  }), { numRuns: 150, seed: 43 });
});

test('what is kept per node object between calls never shows: reused objects give what fresh copies give, as peers, labels and BGPPeers change', () => {
  const fresh = (n: NodeInfo): NodeInfo => structuredClone(n);
  fc.assert(fc.property(clusterArb, peersArb, peersArb, poolsArb, cfgArb, fc.nat(), fc.nat(), (nodes, peersA, peersB, ipPools, bgpConfiguration, seed, flip) => {
    const thisNode = nodes[seed % nodes.length].name;
    // Warm the kept shares with one set of BGPPeers, then change the BGPPeers and one other node's labels.
    computeTopology({ nodes, bgpPeers: peersA, ipPools, thisNode, bgpConfiguration });
    const other = nodes[(seed + 1 + (flip % (nodes.length - 1))) % nodes.length];
    // And this node gets a new object: another block (a new podCIDR, as when a node is given one), or a new address.
    const meNext = (n: NodeInfo): NodeInfo => (flip % 3 === 0 ? n : flip % 3 === 1 ? { ...n, podCIDRs: [...n.podCIDRs, '100.64.7.0/24'] } : { ...n, ipv4: { ...n.ipv4!, subnet: '192.0.2.0/23' } });
    const relabelled = nodes.map((n) => (n.name === thisNode ? meNext(n) : n === other ? { ...n, labels: { ...n.labels, ...rrLabels } } : n));
    const warm = computeTopology({ nodes: relabelled, bgpPeers: peersB, ipPools, thisNode, bgpConfiguration });
    const cold = computeTopology({ nodes: relabelled.map(fresh), bgpPeers: peersB.map((p) => structuredClone(p)), ipPools, thisNode, bgpConfiguration });
    assert.deepEqual(warm, cold);
  }), { numRuns: 200, seed: 45 });
});

test('with the mesh on every node pair has exactly one session with one active side, whatever the labels and AS numbers', () => {
  fc.assert(fc.property(clusterArb, peersArb, (nodes, bgpPeers) => {
    const all = new Map(nodes.map((n) => [n.name, computeTopology({ nodes, bgpPeers, ipPools: [], thisNode: n.name })]));
    const inCluster = (t: Topology) => t.peers.filter((p: PeerSpec) => p.node !== undefined);
    for (const [name, t] of all) {
      assert.equal(inCluster(t).length, nodes.length - 1);
      for (const p of inCluster(t)) {
        const back = inCluster(all.get(p.node!)!).find((q) => q.node === name)!;
        assert.notEqual(back.passive, p.passive);
        assert.equal(back.asn, t.localAsn);
      }
    }
  }), { numRuns: 100, seed: 44 });
});

test('prefixes sort numerically: IPv4 before IPv6, by address, then by length', () => {
  const sorted = ['2001:db8::/32', '198.18.10.0/24', '198.18.9.0/24', '198.18.9.0/23', '100.64.0.0/10', '::/0'].sort(comparePrefix);
  assert.deepEqual(sorted, ['100.64.0.0/10', '198.18.9.0/23', '198.18.9.0/24', '198.18.10.0/24', '::/0', '2001:db8::/32']);
});

test('a global peerIP naming this node\'s own address gives no session to itself, but others still peer with it', () => {
  const toR1a = [peer('to-r1a', { peerIP: '192.0.2.11', asNumber: 64512 })];
  assert.ok(!topo({ nodes: racks, thisNode: 'r1a', bgpPeers: toR1a }).peers.some((p) => p.address === '192.0.2.11'));
  assert.deepEqual(topo({ nodes: racks, thisNode: 'r2a', bgpPeers: toR1a }).peers.filter((p) => p.address === '192.0.2.11').map((p) => p.name), ['bgppeer:to-r1a']);
});
