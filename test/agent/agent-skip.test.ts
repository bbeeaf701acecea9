import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { Agent } from '../../src/agent/agent.js';
import { KubeClient, Transport } from '../../src/k8s/index.js';
import { TestApiServer } from '../../src/lab/apiserver/index.js';
import { waitFor } from '../../src/lab/netns.js';
import type { Dataplane } from '../../src/dataplane/index.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
type Obj = Record<string, any>;

/** A dataplane that records what the agent hands it (the kernel side is the dataplane's own tests). */
function recorder(): { dp: Dataplane; calls: string[] } {
  const calls: string[] = [];
  const dp = new Proxy({}, {
    get: (_t, k: string) => {
      if (k === 'then') return undefined;
      if (k === 'apply' || k === 'start') return async () => { calls.push(k); return { ok: true, errors: [], pending: [], issues: [] }; };
      if (k === 'stop') return async () => {};
      return () => { calls.push(k); };
    },
  }) as unknown as Dataplane;
  return { dp, calls };
}

async function withAgent(fn: (h: { server: TestApiServer; agent: Agent; calls: string[] }) => Promise<void>): Promise<void> {
  const server = new TestApiServer({ host: '127.0.0.1', port: 0, tokens: ['t0k'] });
  await server.start();
  const client = new KubeClient(new Transport({ server: server.url, token: 't0k', source: 'test' }, {}));
  const { dp, calls } = recorder();
  const agent = new Agent(
    { nodeName: 'n1', mode: 'agent', bgpListenAddress: '127.0.0.1', connectRetryTime: 5, readyGraceMs: 0, vxlanVni: 4096 },
    // The annotator's interfaces: the BGP address annotation is already what it would write.
    { client, log: silent, makeDataplane: () => dp, interfaces: () => [{ name: 'eth0', address: '192.0.2.11', cidr: '192.0.2.11/24' }] },
  );
  try {
    for (const f of ['bgpconfigurations', 'bgppeers', 'ippools']) server.create(parse(readFileSync(`deploy/base/crds/${f}.petrel.dev.yaml`, 'utf8')));
    server.create({ apiVersion: 'petrel.dev/v1', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { listenPort: 20000 + Math.floor(Math.random() * 20000) } });
    server.create({
      apiVersion: 'v1', kind: 'Node',
      metadata: { name: 'n1', annotations: { 'petrel.dev/bgp-ipv4-address': '192.0.2.11/24' } },
      spec: { podCIDRs: ['198.18.1.0/26'] }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.11' }] },
    });
    server.create({
      apiVersion: 'v1', kind: 'Node',
      metadata: { name: 'n2', annotations: { 'petrel.dev/bgp-ipv4-address': '192.0.2.12/24' } },
      spec: { podCIDRs: ['198.18.2.0/26'] }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.12' }] },
    });
    await agent.start();
    await waitFor('the first dataplane pass', () => calls.includes('apply'), 10_000, 10);
    await fn({ server, agent, calls });
  } finally {
    await agent.stop();
    await server.stop();
  }
}

/** Waits until the agent's watch has seen `rv` of node `name` and the loop has run its reconcile. */
async function seen(agent: Agent, name: string, rv: string): Promise<void> {
  await waitFor(`${name} at ${rv}`, () => agent.cluster.rawNode(name)?.metadata?.resourceVersion === rv, 10_000, 5);
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 20));
}

test('a status-only Node change reaches neither the speaker nor the dataplane', async () => {
  await withAgent(async ({ server, agent, calls }) => {
    calls.length = 0;
    for (const name of ['n2', 'n1']) {
      const cur = server.get('v1', 'Node', name)!;
      const upd = server.update({ ...cur, status: { ...cur.status, conditions: [{ type: 'NetworkUnavailable', status: 'False', reason: 'PetrelIsUp' }] } }, { status: true });
      await seen(agent, name, upd.metadata.resourceVersion);
    }
    assert.equal(agent.cluster.skipped, 2);
    assert.equal(calls.join(','), '');
  });
});

test('a Node change that moves only BGP peers runs no dataplane pass; a new pod on this node does', async () => {
  await withAgent(async ({ server, agent, calls }) => {
    const peersBefore = agent.status().topology?.peers;
    calls.length = 0;
    // A third node: the node-to-node mesh (the default) gains a peer; no kernel input changes.
    const n3 = server.create({
      apiVersion: 'v1', kind: 'Node',
      metadata: { name: 'n3', annotations: { 'petrel.dev/bgp-ipv4-address': '192.0.2.13/24' } },
      spec: { podCIDRs: ['198.18.3.0/26'] }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.13' }] },
    }) as Obj;
    await seen(agent, 'n3', n3.metadata.resourceVersion);
    assert.equal(agent.status().topology?.peers, (peersBefore ?? 0) + 1, 'the reconcile ran');
    assert.equal(calls.join(','), '', 'nothing was handed to the dataplane');
    const pod = server.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p1', namespace: 'default' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] } });
    server.update({ ...pod, status: { phase: 'Running', podIP: '198.18.1.2', podIPs: [{ ip: '198.18.1.2' }] } }, { status: true });
    await waitFor('the pod handed over and applied', () => calls.includes('setLocalPods') && calls.includes('apply'), 10_000, 10);
    assert.ok(!calls.includes('setRemoteBlocks') && !calls.includes('setTunnels') && !calls.includes('setLocalBlocks'), calls.join(','));
  });
});
