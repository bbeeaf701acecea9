// The generated CRDs and the samples, through an independent client: Debian's kubectl against the
// in-memory test API server (src/lab/apiserver), which prunes, defaults and validates custom
// resources with their CRD's openAPIV3Schema as kube-apiserver does. Valid samples are created and
// defaulted; every invalid-*.yaml is refused (exit status 1, "is invalid").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestApiServer } from '../../../src/lab/apiserver/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const samples = join(root, 'deploy/samples');
const haveKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
const skip = haveKubectl ? false : 'kubectl is not installed (Debian package kubectl)';

let server: TestApiServer;
let dir: string;
let kubeconfig: string;
// Asynchronous on purpose: the server runs in this process and must keep answering.
function kubectl(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

before(async () => {
  if (skip) return;
  server = new TestApiServer();
  await server.start();
  dir = mkdtempSync(join(tmpdir(), 'petrel-crds-'));
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: t',
    `clusters: [{ name: t, cluster: { server: "${server.url}" } }]`,
    'contexts: [{ name: t, context: { cluster: t, user: u } }]',
    'users: [{ name: u, user: {} }]', '',
  ].join('\n'));
});
after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const files = readdirSync(samples).filter((f) => f.endsWith('.yaml')).sort();

test('kubectl applies the CRDs and every valid sample, and the server fills in the schema defaults', { skip }, async () => {
  const crds = await kubectl('apply', '-f', join(root, 'deploy/base/crds'));
  assert.equal(crds.code, 0, crds.out);
  const valid = files.filter((f) => !f.startsWith('invalid-')).flatMap((f) => ['-f', join(samples, f)]);
  const r = await kubectl('apply', ...valid);
  assert.equal(r.code, 0, r.out);
  const pools = JSON.parse((await kubectl('get', 'ippools', '-o', 'json')).out);
  const vx = pools.items.find((p: { metadata: { name: string } }) => p.metadata.name === 'pods-vxlan');
  assert.deepEqual(vx.spec, { cidr: '100.64.0.0/16', vxlanMode: 'Always', ipipMode: 'Never', natOutgoing: false, disabled: false, nodeSelector: "zone == 'b'" });
  const table = await kubectl('get', 'bgppeers');
  assert.match(table.out, /^NAME\s+PEER IP\s+AS\s+NODE\s+NODE SELECTOR\s+PEER SELECTOR\s+AGE/);
  assert.match(table.out, /tor-r1\s+192\.0\.2\.1\s+64600\s+rack == 'r1'/);
});

for (const f of files.filter((x) => x.startsWith('invalid-'))) {
  test(`kubectl apply of ${f} is refused by the CRD schema`, { skip }, async () => {
    const r = await kubectl('apply', '-f', join(samples, f));
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /is invalid/);
  });
}
