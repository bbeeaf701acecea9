// The generated client: in sync with its committed subset spec, and each call we make works against the
// test API server (which kubectl checks independently in test/lab/apiserver.kubectl.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { generate, GEN_DIR, SPEC_PATH, PETREL_KINDS, refreshCrds } from '../../scripts/k8s-openapi.js';
import { K8sApiError } from '../../src/k8s/client/index.js';
import { startHarness, node } from './helpers.js';

function files(dir: string): string[] {
  const out: string[] = [];
  (function walk(d: string) {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  })(dir);
  return out;
}

test('regenerating the client from the committed spec reproduces the committed code byte for byte', async () => {
  const out = mkdtempSync(join(tmpdir(), 'petrel-gen-'));
  try {
    await generate(out, SPEC_PATH);
    assert.deepEqual(files(out), files(GEN_DIR));
    for (const f of files(GEN_DIR)) {
      assert.equal(readFileSync(join(out, f), 'utf8'), readFileSync(join(GEN_DIR, f), 'utf8'), `${f} differs: run scripts/k8s-openapi.ts generate`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the CRD definitions in the subset spec match the rendered manifests in deploy/base/crds', () => {
  const committed = readFileSync(SPEC_PATH, 'utf8');
  const refreshed = `${JSON.stringify(refreshCrds(committed, 'deploy/base/crds'), null, 2)}\n`;
  assert.ok(refreshed === committed, 'the CRDs changed: run scripts/k8s-openapi.ts refresh-crds, then generate');
  const ipPool = JSON.parse(committed).definitions['dev.petrel.v1.IPPool'];
  assert.ok(ipPool.properties.spec.properties.cidr, 'IPPool spec.cidr comes from the CRD schema');
});

test('the subset spec holds exactly the operations Petrel calls', () => {
  const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8'));
  const ops = Object.values(spec.paths as Record<string, Record<string, { operationId?: string }>>)
    .flatMap((p) => Object.values(p).map((o) => o.operationId).filter(Boolean)).sort();
  const crdOps = PETREL_KINDS.flatMap(({ kind }) => [`listPetrelDevV1${kind}`, `readPetrelDevV1${kind}`, `readPetrelDevV1${kind}Status`, `patchPetrelDevV1${kind}Status`]);
  assert.deepEqual(ops, [
    'createCoreV1NamespacedEvent', 'listCoreV1Node', 'listCoreV1PodForAllNamespaces', 'patchCoreV1Node', 'patchCoreV1NodeStatus',
    'readCoreV1NamespacedSecret', 'readCoreV1Node', 'readCoreV1NodeStatus', ...crdOps,
  ].sort());
  // The node status patch accepts both patch flavours the agent sends.
  const consumes: string[] = spec.paths['/api/v1/nodes/{name}/status'].patch.consumes;
  assert.ok(consumes.includes('application/merge-patch+json') && consumes.includes('application/strategic-merge-patch+json'));
  // So does the node object patch (the agent's own annotations, as a merge patch).
  assert.ok((spec.paths['/api/v1/nodes/{name}'].patch.consumes as string[]).includes('application/merge-patch+json'));
});

test('patchNodeStatus carries the agent\'s annotations as a merge patch: they land, null removes one, a spec change is dropped', async () => {
  const h = await startHarness();
  try {
    h.server.create({ ...node('n1'), metadata: { name: 'n1', labels: {}, annotations: { 'operator.example/keep': 'yes' } } });
    const before = await h.client.readNode('n1');
    const p1 = await h.client.patchNodeStatus('n1', { metadata: { annotations: { 'petrel.dev/bgp-ipv4-address': '192.0.2.1/24', 'petrel.dev/vxlan-tunnel-mac': '02:00:00:00:00:01' } } }, 'merge');
    assert.deepEqual(p1.metadata?.annotations, { 'operator.example/keep': 'yes', 'petrel.dev/bgp-ipv4-address': '192.0.2.1/24', 'petrel.dev/vxlan-tunnel-mac': '02:00:00:00:00:01' });
    assert.notEqual(p1.metadata?.resourceVersion, before.metadata?.resourceVersion);
    // The node status strategy resets the spec: nodes/status rights cannot cordon or taint a node.
    const p2 = await h.client.patchNodeStatus('n1', { metadata: { annotations: { 'petrel.dev/vxlan-tunnel-mac': null } }, spec: { unschedulable: true } }, 'merge');
    assert.deepEqual(p2.metadata?.annotations, { 'operator.example/keep': 'yes', 'petrel.dev/bgp-ipv4-address': '192.0.2.1/24' });
    assert.equal(p2.spec?.unschedulable, undefined);
    assert.deepEqual(p2.status?.conditions?.map((c) => c.type), ['Ready']);
    // JSON patch (RFC 6902) goes through the same call; a failed `test` is a 422 from the server.
    await assert.rejects(h.client.patchNodeStatus('n1', [{ op: 'test', path: '/metadata/annotations/operator.example~1keep', value: 'no' }], 'json'),
      (e: unknown) => e instanceof K8sApiError && e.status === 422);
    await assert.rejects(h.client.patchNodeStatus('missing', { metadata: { annotations: { a: 'b' } } }, 'merge'), (e: unknown) => e instanceof K8sApiError && e.status === 404);
  } finally {
    await h.close();
  }
});

test('readNode, patchNodeStatus (strategic and merge), readSecret and createEvent work against the API server', async () => {
  const h = await startHarness();
  try {
    h.server.create(node('n1'));
    const n = await h.client.readNode('n1');
    assert.equal(n.metadata?.name, 'n1');
    // Strategic merge: conditions merge by type, so the kubelet's Ready condition stays.
    const p1 = await h.client.patchNodeStatus('n1', { status: { conditions: [{ type: 'NetworkUnavailable', status: 'False', reason: 'PetrelIsUp' }] } }, 'strategic');
    assert.deepEqual(p1.status?.conditions?.map((c) => c.type), ['Ready', 'NetworkUnavailable']);
    // Merge patch (RFC 7386): lists are replaced.
    const p2 = await h.client.patchNodeStatus('n1', { status: { conditions: [{ type: 'NetworkUnavailable', status: 'True' }] } }, 'merge');
    assert.deepEqual(p2.status?.conditions?.map((c) => `${c.type}=${c.status}`), ['NetworkUnavailable=True']);
    h.server.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bgp', namespace: 'kube-system' }, data: { password: Buffer.from('s3cret').toString('base64') } });
    const s = await h.client.readSecret('kube-system', 'bgp');
    assert.equal(Buffer.from(s.data!.password, 'base64').toString(), 's3cret');
    const ev = await h.client.createEvent('default', {
      metadata: { generateName: 'petrel-' }, involvedObject: { kind: 'Node', name: 'n1' }, reason: 'BadPeer', message: 'skipped', type: 'Warning',
    });
    assert.match(ev.metadata?.name ?? '', /^petrel-/);
    assert.equal(h.server.list('v1', 'Event').length, 1);
  } finally {
    await h.close();
  }
});

test('an error answer becomes a K8sApiError with the status and the apiserver reason', async () => {
  const h = await startHarness();
  try {
    await assert.rejects(h.client.readNode('missing'), (e: unknown) => e instanceof K8sApiError && e.status === 404 && e.reason === 'NotFound' && e.code === 'K8S_ERR_NOT_FOUND');
    h.server.faults.failNext(1, 500);
    await assert.rejects(h.client.readSecret('default', 'x'), (e: unknown) => e instanceof K8sApiError && e.status === 500);
  } finally {
    await h.close();
  }
});
