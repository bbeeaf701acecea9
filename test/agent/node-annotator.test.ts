// The annotator against the real test API server: writes the node's own annotations with one merge
// patch, does not repeat a patch the watch has not echoed yet, retries API errors a bounded number of times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeAnnotator } from '../../src/agent/node-annotator.js';
import { AGENT_RECORD_ANNOTATIONS as REC } from '../../src/agent/node-identity.js';
import { NODE_ANNOTATIONS as ANN } from '../../src/k8s/resources.js';
import { vtepMac } from '../../src/dataplane/index.js';
import type { PoolSummary } from '../../src/model/topology.js';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ClusterWatch } from '../../src/agent/cluster.js';
import { computeTopology } from '../../src/k8s/topology.js';
import { startHarness, waitUntil } from '../k8s/helpers.js';

const IFACES = [{ name: 'eth0', address: '192.0.2.11', cidr: '192.0.2.11/24' }];
const VXLAN: PoolSummary[] = [{ name: 'p', cidr: '203.0.113.0/24', ipipMode: 'Never', vxlanMode: 'Always', natOutgoing: false, disabled: false }];

function capture() {
  const lines: Array<{ level: string; obj: object; msg?: string }> = [];
  const at = (level: string) => (obj: object, msg?: string) => { lines.push({ level, obj, ...(msg ? { msg } : {}) }); };
  return { lines, log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

function nodeObj(annotations: Record<string, string> = {}) {
  return {
    apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', annotations: { 'operator.example/keep': 'yes', ...annotations } },
    spec: { podCIDRs: ['203.0.113.64/26'] },
    status: { addresses: [{ type: 'InternalIP', address: '192.0.2.11' }] },
  };
}

test('sync writes the BGP address and VTEP annotations to the Node and nothing more once they are in place', async () => {
  const h = await startHarness();
  const c = capture();
  const a = new NodeAnnotator(h.client, { nodeName: 'n1', log: c.log, interfaces: () => IFACES });
  try {
    h.server.create(nodeObj());
    a.sync(await h.client.readNode('n1'), VXLAN);
    await a.idle();
    const after = await h.client.readNode('n1');
    assert.deepEqual(after.metadata?.annotations, {
      'operator.example/keep': 'yes', [ANN.bgpIpv4Address]: '192.0.2.11/24', [REC.bgpIpv4Address]: '192.0.2.11/24',
      [ANN.vxlanTunnelMac]: vtepMac('n1'), [ANN.vxlanTunnelAddress]: '203.0.113.64',
    });
    a.sync(after, VXLAN);
    await a.idle();
    assert.equal(a.patched, 1);
    // VXLAN no longer wanted: the VTEP annotations go, the rest stays.
    a.sync(after, []);
    await a.idle();
    const later = await h.client.readNode('n1');
    assert.deepEqual(Object.keys(later.metadata?.annotations ?? {}).sort(), ['operator.example/keep', ANN.bgpIpv4Address, REC.bgpIpv4Address].sort());
    assert.equal(a.patched, 2);
  } finally {
    await a.stop();
    await h.close();
  }
});

test('the same stale node seen twice before the watch echoes the patch is patched once', async () => {
  const h = await startHarness();
  const a = new NodeAnnotator(h.client, { nodeName: 'n1', log: capture().log, interfaces: () => IFACES });
  try {
    h.server.create(nodeObj());
    const stale = await h.client.readNode('n1');
    a.sync(stale, VXLAN);
    a.sync(stale, VXLAN);
    await a.idle();
    a.sync(stale, VXLAN);
    await a.idle();
    assert.equal(a.patched, 1);
  } finally {
    await a.stop();
    await h.close();
  }
});

test('copies the watch has not brought up to date with our patches are diffed as if the patches had landed', async () => {
  const h = await startHarness();
  const c = capture();
  const a = new NodeAnnotator(h.client, { nodeName: 'n1', log: c.log, interfaces: () => IFACES });
  try {
    h.server.create(nodeObj());
    const r0 = await h.client.readNode('n1');
    a.sync(r0, []);
    await a.idle();
    const r1 = await h.client.readNode('n1'); // the echo of the first patch, not yet delivered
    a.sync(r0, VXLAN); // still the stale copy: only the VTEP keys are sent
    await a.idle();
    const sent = c.lines.filter((l) => l.msg === 'node annotations updated').map((l) => Object.keys((l.obj as { annotations: object }).annotations).sort());
    assert.deepEqual(sent, [[ANN.bgpIpv4Address, REC.bgpIpv4Address].sort(), [ANN.vxlanTunnelAddress, ANN.vxlanTunnelMac].sort()]);
    a.sync(r1, VXLAN); // the first echo arrives: the second patch is already on the server
    await a.idle();
    a.sync(await h.client.readNode('n1'), VXLAN); // the second echo
    await a.idle();
    assert.equal(a.patched, 2);
  } finally {
    await a.stop();
    await h.close();
  }
});

test('an API error is retried with backoff and the patch lands', async () => {
  const h = await startHarness();
  const c = capture();
  const a = new NodeAnnotator(h.client, { nodeName: 'n1', log: c.log, interfaces: () => IFACES, retry: { attempts: 3, initialMs: 10, maxMs: 20 } });
  try {
    h.server.create(nodeObj());
    const n = await h.client.readNode('n1');
    h.server.faults.failNext(2, 500, /PATCH \/api\/v1\/nodes\/n1/);
    a.sync(n, []);
    await a.idle();
    assert.equal(a.patched, 1);
    assert.equal(a.lastError, undefined);
    assert.equal(c.lines.filter((l) => l.level === 'warn').length, 2);
    assert.equal((await h.client.readNode('n1')).metadata?.annotations?.[ANN.bgpIpv4Address], '192.0.2.11/24');
  } finally {
    await a.stop();
    await h.close();
  }
});

test('after the bounded attempts fail the annotator gives up, reports the error, and the next sync tries again', async () => {
  const h = await startHarness();
  const c = capture();
  const a = new NodeAnnotator(h.client, { nodeName: 'n1', log: c.log, interfaces: () => IFACES, retry: { attempts: 2, initialMs: 10, maxMs: 10 } });
  try {
    h.server.create(nodeObj());
    const n = await h.client.readNode('n1');
    h.server.faults.failNext(2, 503, /PATCH/);
    a.sync(n, []);
    await a.idle();
    assert.equal(a.patched, 0);
    assert.match(a.lastError ?? '', /503/);
    assert.equal(c.lines.filter((l) => l.level === 'error').length, 1);
    a.sync(n, []);
    await a.idle();
    assert.equal(a.patched, 1);
  } finally {
    await a.stop();
    await h.close();
  }
});

test('stop during a backoff returns at once and sends nothing more', async () => {
  const h = await startHarness();
  const a = new NodeAnnotator(h.client, { nodeName: 'n1', log: capture().log, interfaces: () => IFACES, retry: { attempts: 3, initialMs: 60_000, maxMs: 60_000 } });
  try {
    h.server.create(nodeObj());
    const n = await h.client.readNode('n1');
    h.server.faults.failNext(1, 500, /PATCH/);
    a.sync(n, []);
    for (let i = 0; i < 200 && a.lastError === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(a.lastError, 'the first attempt failed');
    await a.stop();
    assert.equal(a.patched, 0);
    assert.equal((await h.client.readNode('n1')).metadata?.annotations?.[ANN.bgpIpv4Address], undefined);
  } finally {
    await a.stop();
    await h.close();
  }
});

test('wired to the cluster watch the way the agent does, one patch converges and the topology then sees the subnet and the VTEP', async () => {
  const h = await startHarness();
  const cap = capture();
  const log = cap.log;
  const a = new NodeAnnotator(h.client, { nodeName: 'n1', log, interfaces: () => IFACES });
  const watch = new ClusterWatch(h.client, { nodeName: 'n1', pods: false, log });
  try {
    for (const f of ['bgpconfigurations', 'bgppeers', 'ippools']) h.server.create(parse(readFileSync(`deploy/base/crds/${f}.petrel.dev.yaml`, 'utf8')));
    h.server.create(nodeObj());
    h.server.create({ apiVersion: 'petrel.dev/v1', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '203.0.113.0/24', vxlanMode: 'CrossSubnet' } });
    let reconciles = 0;
    watch.on('changed', () => {
      if (Object.values(watch.syncedByResource()).some((x) => !x)) return; // as the agent: no partial views
      reconciles++;
      const view = watch.view();
      const topo = computeTopology({ nodes: view.nodes, bgpPeers: view.bgpPeers, ipPools: view.ipPools, thisNode: 'n1' });
      a.sync(watch.rawNode('n1'), topo.pools);
    });
    watch.start();
    await watch.synced();
    const seen = () => watch.view().nodes.find((n) => n.name === 'n1');
    // The VTEP is known from the start (derived from the podCIDR, as the annotator will write it); the
    // BGP address in CIDR form only from the patch.
    assert.equal(seen()?.vxlanTunnelAddress, '203.0.113.64');
    assert.ok(await waitUntil(() => seen()?.ipv4?.source === 'annotation', 10_000), 'the patch reached the watch cache');
    await a.idle();
    const me = seen()!;
    assert.deepEqual(me.ipv4, { address: '192.0.2.11', subnet: '192.0.2.0/24', source: 'annotation' });
    assert.equal(me.vxlanTunnelMac, vtepMac('n1'));
    assert.equal(a.patched, 1, JSON.stringify(cap.lines));
    assert.ok(reconciles >= 2, 'the echo of the patch was reconciled too');
  } finally {
    await watch.stop();
    await a.stop();
    await h.close();
  }
});
