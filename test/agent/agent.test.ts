import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, type AgentDeps } from '../../src/agent/agent.js';
import { KubeClient, Transport } from '../../src/k8s/index.js';
import { TestApiServer } from '../../src/lab/apiserver/index.js';
import { waitFor } from '../../src/lab/netns.js';
import { readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { parse } from 'yaml';
import { hostVethName, type Dataplane } from '../../src/dataplane/index.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function withServer(fn: (server: TestApiServer, client: KubeClient) => Promise<void>): Promise<void> {
  const server = new TestApiServer({ host: '127.0.0.1', port: 0, tokens: ['t0k'] });
  await server.start();
  try {
    for (const f of ['bgpconfigurations', 'bgppeers', 'ippools']) server.create(parse(readFileSync(`deploy/base/crds/${f}.petrel.dev.yaml`, 'utf8')));
    server.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', annotations: { 'petrel.dev/bgp-ipv4-address': '192.0.2.11/24' } }, spec: { podCIDRs: ['198.18.1.0/26'] }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.11' }] } });
    // A BGP port of our own, so the speaker's listener (127.0.0.1 only) collides with nothing.
    server.create({ apiVersion: 'petrel.dev/v1', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { listenPort: 20000 + Math.floor(Math.random() * 20000) } });
    const client = new KubeClient(new Transport({ server: server.url, token: 't0k', source: 'test' }, {}));
    await fn(server, client);
  } finally {
    await server.stop();
  }
}

test('an agent whose dataplane cannot be opened keeps running, reports why, and retries', async (t) => {
  let attempts = 0;
  await withServer(async (_server, client) => {
    // The speaker listens on 179 unless told otherwise: the topology's listenPort comes from BGPConfiguration.
    const agent = await startAgent(t, 'agent', { client, log: silent, makeDataplane: () => { attempts++; throw Object.assign(new Error('addon missing'), { code: 'NL_ERR_ADDON' }); } });
    await agent.synced();
    await waitFor('two dataplane attempts', () => attempts >= 2, 10_000, 50);
    assert.match(agent.status().dataplaneError ?? '', /NL_ERR_ADDON: addon missing/);
    assert.equal(agent.status().topology?.localBlocks[0], '198.18.1.0/26');
  });
});

test('a dataplane that opens gets the local block as a blackhole and the pod routes', async (t) => {
  await withServer(async (server, client) => {
    // As kube-apiserver does, create ignores status: the IP arrives through the status subresource (the kubelet's write).
    const pod = server.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p1', namespace: 'default' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] } });
    server.update({ ...pod, status: { phase: 'Running', podIP: '198.18.1.2', podIPs: [{ ip: '198.18.1.2' }] } }, { status: true });
    const calls: Record<string, unknown[]> = {};
    const fake = new Proxy({}, {
      get: (_t, k: string) => {
        if (k === 'apply' || k === 'start') return async () => ({ ok: true, errors: [], pending: [], issues: [] });
        if (k === 'stop') return async () => {};
        return (arg: unknown) => { calls[k] = [arg]; };
      },
    }) as unknown as Dataplane;
    await startAgent(t, 'agent', { client, log: silent, makeDataplane: () => fake });
    await waitFor('pod route handed to the dataplane', () => (calls.setLocalPods?.[0] as unknown[] | undefined)?.length === 1, 10_000, 20);
    assert.deepEqual(calls.setLocalBlocks?.[0], [{ prefix: '198.18.1.0/26', natOutgoing: false }]);
    const pods = calls.setLocalPods?.[0] as Array<{ prefix: string; ifName: string }>;
    assert.equal(pods[0].prefix, '198.18.1.2/32');
    assert.equal(pods[0].ifName, hostVethName('default', 'p1'));
  });
});

test('a BGP port that is taken is retried with backoff until the speaker can listen', async (t) => {
  await withServer(async (server, client) => {
    const cfg = server.get('petrel.dev/v1', 'BGPConfiguration', 'default')!;
    const port = cfg.spec.listenPort as number;
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', r));
    const errors: string[] = [];
    const log = { ...silent, error: (_o: object, m?: string) => { errors.push(m ?? ''); } };
    const agent = await startAgent(t, 'reflector', { client, log });
    await waitFor('the failed start to be logged', () => errors.some((e) => e.includes('BGP speaker failed to start')), 10_000, 20);
    await new Promise<void>((r) => squatter.close(() => r()));
    // Nothing else listens there now: a connection that is accepted proves the speaker bound the port on a retry.
    const accepts = () => new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => { c.destroy(); resolve(true); });
      c.once('error', () => resolve(false));
    });
    await waitFor('the speaker to listen after a retry', async () => agent.bgp !== undefined && (await accepts()), 15_000, 100);
  });
});

/**
 * The graceful-restart set-up of the next two tests: a mesh with a second node that never comes up,
 * gracefulRestart as given, and an agent whose fake dataplane records retainStaleRoutes() calls.
 */
async function grAgent(t: { after(fn: () => unknown): void }, server: TestApiServer, client: KubeClient, gracefulRestart: object) {
  const cfg = server.get('petrel.dev/v1', 'BGPConfiguration', 'default')!;
  server.update({ ...cfg, spec: { ...cfg.spec, nodeToNodeMesh: true, gracefulRestart } });
  server.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n2', annotations: { 'petrel.dev/bgp-ipv4-address': '192.0.2.12/24' } }, spec: { podCIDRs: ['198.18.2.0/26'] }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.12' }] } });
  const seen = { retain: [] as boolean[], started: false };
  const fake = new Proxy({}, {
    get: (_t, k: string) => {
      if (k === 'apply') return async () => ({ ok: true, errors: [], pending: [], issues: [] });
      if (k === 'start') return async () => { seen.started = true; return { ok: true, errors: [], pending: [], issues: [] }; };
      if (k === 'stop') return async () => {};
      if (k === 'retainStaleRoutes') return (on: boolean) => { seen.retain.push(on); };
      return () => {};
    },
  }) as unknown as Dataplane;
  const agent = await startAgent(t, 'agent', { client, log: silent, makeDataplane: () => fake });
  return { agent, seen };
}

/** Starts an agent of node n1 with these dependencies; it is stopped when the test ends. */
async function startAgent(t: { after(fn: () => unknown): void }, mode: 'agent' | 'reflector', deps: AgentDeps): Promise<Agent> {
  const agent = new Agent({ nodeName: 'n1', mode, bgpListenAddress: '127.0.0.1', connectRetryTime: 5, readyGraceMs: 0, vxlanVni: 4096 }, deps);
  t.after(() => agent.stop());
  await agent.start();
  return agent;
}

test('with graceful restart on, the dataplane keeps stale kernel routes until the speaker\'s initial exchange ends (here: the restart time, the peer never answers)', async (t) => {
  await withServer(async (server, client) => {
    // n2, a mesh peer that never comes up: the initial exchange ends at the restart time.
    const { agent, seen: { retain } } = await grAgent(t, server, client, { enabled: true, restartTime: 1 });
    await waitFor('the dataplane told to keep stale routes', () => retain.length >= 1, 10_000, 20);
    assert.deepEqual(retain, [true]);
    assert.deepEqual(agent.status().gracefulRestart, { enabled: true, restartTime: 1, keepingStaleKernelRoutes: true });
    await waitFor('then told to sweep them', () => retain.length >= 2, 10_000, 20);
    assert.deepEqual(retain, [true, false]);
    assert.equal(agent.status().gracefulRestart.keepingStaleKernelRoutes, false);
  });
});

test('with graceful restart off, the dataplane is never told to keep stale routes', async (t) => {
  await withServer(async (server, client) => {
    const { seen } = await grAgent(t, server, client, { enabled: false });
    await waitFor('the dataplane started', () => seen.started, 10_000, 20);
    assert.deepEqual(seen.retain, []);
  });
});
