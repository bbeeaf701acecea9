// Debian's kubectl, an independent client, against the test API server over HTTPS with a kubeconfig this
// test writes: apply the CRDs from deploy/base/crds and the samples from deploy/samples (the invalid-* ones
// must be refused by the schema), get -o json, patch node status (merge and strategic), label, delete, and
// `get --watch` (bounded, stopped by PID). Skipped with a message when kubectl is not installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestApiServer } from '../../src/lab/apiserver/index.js';
import { KUBECTL_SKIP, haveKubectl } from '../deploy/manifests.js';

// kubectl 1.20 (Debian 12's kubernetes-client) validates through OpenAPI v2, which this server does not serve.
const HAVE_KUBECTL = haveKubectl();
let s: TestApiServer;
let dir: string;
let kubeconfig: string;

function kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, '--request-timeout=20s', ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

before(async () => {
  if (!HAVE_KUBECTL) return;
  s = new TestApiServer({ tls: true, tokens: ['kubectl-token'], bookmarkIntervalMs: 500 });
  await s.start();
  dir = mkdtempSync(join(tmpdir(), 'petrel-kubectl-'));
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(join(dir, 'ca.crt'), s.pki!.caCert);
  // A file path for the CA (relative to the kubeconfig) and an inline token: both forms kubectl reads.
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'clusters:', '- name: test', '  cluster:', `    server: ${s.url}`, '    certificate-authority: ca.crt',
    'users:', '- name: admin', '  user:', '    token: kubectl-token', 'contexts:', '- name: test', '  context: {cluster: test, user: admin}',
    'current-context: test', '',
  ].join('\n'));
});

after(async () => {
  if (!HAVE_KUBECTL) return;
  await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

const skip = HAVE_KUBECTL ? false : KUBECTL_SKIP;

test('kubectl applies the CRDs and the valid samples, and the schema refuses every invalid sample', { skip }, async () => {
  const crds = await kubectl(['apply', '-f', 'deploy/base/crds/']);
  assert.equal(crds.code, 0, crds.stderr);
  assert.match(crds.stdout, /customresourcedefinition.apiextensions.k8s.io\/ippools.petrel.dev created/);
  const samples = readdirSync('deploy/samples').filter((f) => f.endsWith('.yaml')).sort();
  assert.ok(samples.length > 0);
  for (const f of samples) {
    const r = await kubectl(['apply', '-f', `deploy/samples/${f}`]);
    if (f.startsWith('invalid-')) {
      assert.notEqual(r.code, 0, `${f} was accepted: ${r.stdout}`);
      assert.match(r.stderr, /is invalid|Invalid value|must /, f);
    } else {
      assert.equal(r.code, 0, `${f}: ${r.stderr}`);
    }
  }
  const got = await kubectl(['get', 'ippools,bgppeers,bgpconfigurations', '-o', 'json']);
  assert.equal(got.code, 0, got.stderr);
  const items = JSON.parse(got.stdout).items as Array<{ kind: string; metadata: { name: string } }>;
  assert.ok(items.every((i) => !i.metadata.name.startsWith('bad')), 'no invalid object was stored');
  const validDocs = samples.filter((f) => !f.startsWith('invalid-'))
    .flatMap((f) => parseAllDocuments(readFileSync(`deploy/samples/${f}`, 'utf8')).map((d) => d.toJS()).filter(Boolean));
  assert.equal(items.length, validDocs.length, 'every valid sample object was stored, once');
  assert.deepEqual(items.map((i) => i.kind).filter((k, i, a) => a.indexOf(k) === i).sort(), ['BGPConfiguration', 'BGPPeer', 'IPPool']);
  // Re-applying unchanged manifests is a no-op, as on a real cluster.
  const again = await kubectl(['apply', '-f', 'deploy/base/crds/']);
  assert.match(again.stdout, /unchanged/);
});

test('kubectl creates a node, patches its status with merge and strategic patches, labels it and reads it back', { skip }, async () => {
  const node = JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'k1' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  assert.equal((await kubectl(['apply', '-f', '-'], node)).code, 0);
  const sm = await kubectl(['patch', 'node', 'k1', '--subresource=status', '--type=strategic', '-p',
    JSON.stringify({ status: { conditions: [{ type: 'NetworkUnavailable', status: 'False', reason: 'PetrelIsUp' }] } })]);
  assert.equal(sm.code, 0, sm.stderr);
  const mp = await kubectl(['patch', 'node', 'k1', '--subresource=status', '--type=merge', '-p',
    JSON.stringify({ status: { addresses: [{ type: 'InternalIP', address: '192.0.2.21' }] } })]);
  assert.equal(mp.code, 0, mp.stderr);
  assert.equal((await kubectl(['label', 'node', 'k1', 'petrel.dev/route-reflector=true'])).code, 0);
  const got = JSON.parse((await kubectl(['get', 'node', 'k1', '-o', 'json'])).stdout);
  assert.deepEqual(got.status.conditions.map((c: { type: string }) => c.type), ['Ready', 'NetworkUnavailable']);
  assert.deepEqual(got.status.addresses, [{ type: 'InternalIP', address: '192.0.2.21' }]);
  assert.equal(got.metadata.labels['petrel.dev/route-reflector'], 'true');
  const sel = await kubectl(['get', 'nodes', '-l', 'petrel.dev/route-reflector', '-o', 'name']);
  assert.equal(sel.stdout.trim(), 'node/k1');
  const table = await kubectl(['get', 'ippools']);
  assert.match(table.stdout.split('\n')[0], /^NAME\s+CIDR/);
});

test('kubectl get --watch streams changes until it is stopped by PID', { skip }, async () => {
  const child = spawn('kubectl', ['--kubeconfig', kubeconfig, 'get', 'nodes', '--watch', '-o', 'name'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  try {
    const deadline = Date.now() + 15_000;
    while (!out.includes('node/k1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    s.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'watched-1' } });
    while (!out.includes('node/watched-1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    s.delete('v1', 'Node', 'watched-1');
    await new Promise((r) => setTimeout(r, 300));
    assert.match(out, /node\/watched-1/);
  } finally {
    process.kill(child.pid!, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  }
});

test('kubectl deletes objects and reports NotFound for what is gone', { skip }, async () => {
  assert.equal((await kubectl(['delete', 'ippool', 'pods-vxlan'])).code, 0);
  const gone = await kubectl(['get', 'ippool', 'pods-vxlan']);
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, /NotFound|not found/);
});
