import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ClusterWatch } from '../../src/agent/cluster.js';
import { KubeClient, Transport } from '../../src/k8s/index.js';
import { TestApiServer } from '../../src/lab/apiserver/index.js';
import { waitFor } from '../../src/lab/netns.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
type Obj = Record<string, any>;

function node(name: string, address: string, block: string): Obj {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name }, annotations: { 'petrel.dev/bgp-ipv4-address': `${address}/24` } },
    spec: { podCIDRs: [block] },
    status: { addresses: [{ type: 'InternalIP', address }] },
  };
}

const condition = (status: 'True' | 'False') => ({
  conditions: [{ type: 'NetworkUnavailable', status, reason: 'PetrelIsUp', message: 'x', lastTransitionTime: new Date().toISOString() }],
});

/** A watch of n1's cluster (n1, n2, n3) that counts `changed` emissions; `settled` waits for the informer to have seen `rv` of `name`. */
async function withWatch(fn: (h: {
  server: TestApiServer; watch: ClusterWatch; changes: () => number; seen: (name: string, rv: string) => Promise<void>;
}) => Promise<void>): Promise<void> {
  const server = new TestApiServer({ host: '127.0.0.1', port: 0, tokens: ['t0k'] });
  await server.start();
  const client = new KubeClient(new Transport({ server: server.url, token: 't0k', source: 'test' }, {}));
  const watch = new ClusterWatch(client, { nodeName: 'n1', pods: true, log: silent });
  try {
    for (const f of ['bgpconfigurations', 'bgppeers', 'ippools']) server.create(parse(readFileSync(`deploy/base/crds/${f}.petrel.dev.yaml`, 'utf8')));
    server.create(node('n1', '192.0.2.11', '198.18.1.0/26'));
    server.create(node('n2', '192.0.2.12', '198.18.2.0/26'));
    server.create(node('n3', '198.51.100.13', '198.18.3.0/26'));
    let changed = 0;
    watch.on('changed', () => { changed++; });
    watch.start();
    await watch.synced();
    // The first emission (the caches completing) is past once a turn of the loop has run.
    await waitFor('first change', () => changed >= 1, 10_000, 10);
    await new Promise((r) => setImmediate(r));
    const seen = (name: string, rv: string) => waitFor(`${name} at ${rv} in the cache`, () => (watch.rawNode(name)?.metadata?.resourceVersion === rv), 10_000, 5)
      // the update handler ran with the object; `changed` (if any) is emitted on the next turn
      .then(() => new Promise<void>((r) => setImmediate(r)));
    await fn({ server, watch, changes: () => changed, seen });
  } finally {
    await watch.stop();
    await server.stop();
  }
}

test("status-only updates of other Nodes and of the agent's own Node wake nothing", async () => {
  await withWatch(async ({ server, watch, changes, seen }) => {
    watch.view();
    const before = changes();
    const n2 = server.update({ ...server.get('v1', 'Node', 'n2')!, status: { ...server.get('v1', 'Node', 'n2')!.status, ...condition('False') } }, { status: true });
    await seen('n2', n2.metadata.resourceVersion);
    const n1 = server.update({ ...server.get('v1', 'Node', 'n1')!, status: { ...server.get('v1', 'Node', 'n1')!.status, ...condition('True') } }, { status: true });
    await seen('n1', n1.metadata.resourceVersion);
    // An annotation no agent reads, on another node.
    const cur = server.get('v1', 'Node', 'n3')!;
    const n3 = server.update({ ...cur, metadata: { ...cur.metadata, annotations: { ...cur.metadata.annotations, 'example.com/owner': 'team-a' } } });
    await seen('n3', n3.metadata.resourceVersion);
    assert.equal(changes(), before, 'no recompute was scheduled');
    assert.equal(watch.skipped, 3);
  });
});

test('a change of what the topology reads (podCIDRs, BGP address, VTEP, labels) still wakes the agent', async () => {
  await withWatch(async ({ server, watch, changes, seen }) => {
    const edits: Array<[string, (o: Obj) => Obj]> = [
      ['n2', (o) => ({ ...o, spec: { podCIDRs: ['198.18.9.0/26'] } })],
      ['n3', (o) => ({ ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, 'petrel.dev/bgp-ipv4-address': '198.51.100.13/25' } } })],
      ['n2', (o) => ({ ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, 'petrel.dev/vxlan-tunnel-address': '198.18.9.0' } } })],
      ['n3', (o) => ({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, 'petrel.dev/route-reflector': 'true' } } })],
    ];
    for (const [name, edit] of edits) {
      const before = changes();
      const updated = server.update(edit(server.get('v1', 'Node', name)!));
      await seen(name, updated.metadata.resourceVersion);
      await waitFor('a change', () => changes() === before + 1, 10_000, 5);
    }
    const v = watch.view();
    assert.deepEqual(v.nodes.find((n) => n.name === 'n2')?.podCIDRs, ['198.18.9.0/26']);
    assert.equal(v.nodes.find((n) => n.name === 'n2')?.vxlanTunnelAddress, '198.18.9.0');
    assert.equal(v.nodes.find((n) => n.name === 'n3')?.ipv4?.subnet, '198.51.100.0/25');
    assert.equal(v.nodes.find((n) => n.name === 'n3')?.routeReflectorLabel, true);
    assert.equal(watch.skipped, 0);
  });
});

test("an annotation on the agent's own Node wakes it even when no topology field changes (the annotator reads it)", async () => {
  await withWatch(async ({ server, watch, changes, seen }) => {
    const before = changes();
    const cur = server.get('v1', 'Node', 'n1')!;
    const n1 = server.update({ ...cur, metadata: { ...cur.metadata, annotations: { ...cur.metadata.annotations, 'petrel.dev/bgp-ipv4-address-by-agent': '192.0.2.11/24' } } });
    await seen('n1', n1.metadata.resourceVersion);
    await waitFor('a change', () => changes() === before + 1, 10_000, 5);
    assert.equal(watch.skipped, 0);
  });
});

test('view() converts only objects that changed: unchanged nodes keep their converted object', async () => {
  await withWatch(async ({ server, watch, seen }) => {
    const a = watch.view();
    const cur = server.get('v1', 'Node', 'n2')!;
    const n2 = server.update({ ...cur, spec: { podCIDRs: ['198.18.7.0/26'] } });
    await seen('n2', n2.metadata.resourceVersion);
    const b = watch.view();
    const by = (v: typeof a, name: string) => v.nodes.find((n) => n.name === name);
    assert.equal(by(b, 'n1'), by(a, 'n1'));
    assert.equal(by(b, 'n3'), by(a, 'n3'));
    assert.notEqual(by(b, 'n2'), by(a, 'n2'));
    assert.deepEqual(by(b, 'n2')?.podCIDRs, ['198.18.7.0/26']);
  });
});

test('pod updates that change nothing the dataplane reads are skipped; a new pod IP is not', async () => {
  await withWatch(async ({ server, watch, changes }) => {
    const created = server.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p1', namespace: 'default' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] } });
    await waitFor('pod seen', () => watch.view().pods.length === 1, 10_000, 5);
    await new Promise((r) => setImmediate(r));
    const before = changes();
    const labelled = server.update({ ...created, metadata: { ...created.metadata, labels: { app: 'x' } } });
    await waitFor('label seen', () => watch.skipped === 1, 10_000, 5);
    await new Promise((r) => setImmediate(r));
    assert.equal(changes(), before);
    server.update({ ...labelled, status: { phase: 'Running', podIP: '198.18.1.2', podIPs: [{ ip: '198.18.1.2' }] } }, { status: true });
    await waitFor('a change', () => changes() === before + 1, 10_000, 5);
    assert.deepEqual(watch.view().pods[0].ips, ['198.18.1.2']);
  });
});
