// Where the agent's cluster configuration comes from: --kubeconfig, $KUBECONFIG, in-cluster, ~/.kube/config,
// and the explicit endpoint override; inline *-data and relative file paths; errors that name file and field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClusterConfig } from '../../src/k8s/kubeconfig.js';
import { ConfigError } from '../../src/errors.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'petrel-kc-'));
}

function kubeconfig(o: { server?: string; cluster?: Record<string, unknown>; user?: Record<string, unknown>; current?: string; ctxName?: string; namespace?: string }): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: 'c1', cluster: { server: o.server ?? 'https://127.0.0.1:6443', ...o.cluster } }],
    users: [{ name: 'u1', user: o.user ?? { token: 'static-token' } }],
    contexts: [{ name: o.ctxName ?? 'ctx1', context: { cluster: 'c1', user: 'u1', ...(o.namespace ? { namespace: o.namespace } : {}) } }],
    'current-context': o.current ?? o.ctxName ?? 'ctx1',
  });
}

test('an explicit kubeconfig gives server, inline CA, token and namespace of its current context', () => {
  const d = tmp();
  try {
    const f = join(d, 'config');
    writeFileSync(f, kubeconfig({ cluster: { 'certificate-authority-data': b64('CA PEM') }, namespace: 'petrel' }));
    const c = loadClusterConfig({ kubeconfig: f, env: {} });
    assert.equal(c.server, 'https://127.0.0.1:6443');
    assert.equal(c.ca, 'CA PEM');
    assert.equal(c.token, 'static-token');
    assert.equal(c.namespace, 'petrel');
    assert.match(c.source, /context ctx1/);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('file paths in a kubeconfig are read relative to the kubeconfig and client certificates come as a pair', () => {
  const d = tmp();
  try {
    mkdirSync(join(d, 'pki'));
    writeFileSync(join(d, 'pki', 'ca.crt'), 'CA FROM FILE');
    writeFileSync(join(d, 'pki', 'client.crt'), 'CERT');
    writeFileSync(join(d, 'pki', 'client.key'), 'KEY');
    writeFileSync(join(d, 'tok'), 'file-token\n');
    const f = join(d, 'config');
    writeFileSync(f, kubeconfig({ cluster: { 'certificate-authority': 'pki/ca.crt' }, user: { 'client-certificate': 'pki/client.crt', 'client-key': 'pki/client.key', tokenFile: 'tok' } }));
    const c = loadClusterConfig({ kubeconfig: f, env: {} });
    assert.equal(c.ca, 'CA FROM FILE');
    assert.equal(c.clientCert, 'CERT');
    assert.equal(c.clientKey, 'KEY');
    assert.equal(c.tokenFile, join(d, 'tok'));
    writeFileSync(f, kubeconfig({ user: { 'client-certificate-data': b64('CERT') } }));
    assert.throws(() => loadClusterConfig({ kubeconfig: f, env: {} }), (e: unknown) => e instanceof ConfigError && e.file === f && /users\[u1\]/.test(e.field));
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('KUBECONFIG lists several files and the first one to set an entry or current-context wins; --context picks another', () => {
  const d = tmp();
  try {
    const a = join(d, 'a');
    const b = join(d, 'b');
    writeFileSync(a, JSON.stringify({ clusters: [{ name: 'c1', cluster: { server: 'https://198.51.100.1:6443' } }], 'current-context': 'ctx-b' }));
    writeFileSync(b, JSON.stringify({
      clusters: [{ name: 'c1', cluster: { server: 'https://203.0.113.9:6443' } }],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'ctx-b', context: { cluster: 'c1', user: 'u' } }, { name: 'ctx-ns', context: { cluster: 'c1', user: 'u', namespace: 'x' } }],
      'current-context': 'ctx-ns',
    }));
    const c = loadClusterConfig({ env: { KUBECONFIG: `${a}:${join(d, 'missing')}:${b}` } });
    assert.equal(c.server, 'https://198.51.100.1:6443');
    assert.equal(c.namespace, undefined);
    assert.equal(loadClusterConfig({ env: { KUBECONFIG: `${a}:${b}` }, context: 'ctx-ns' }).namespace, 'x');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('in-cluster configuration comes from the service environment and the service-account files', () => {
  const d = tmp();
  try {
    writeFileSync(join(d, 'token'), 'sa-token');
    writeFileSync(join(d, 'ca.crt'), 'CLUSTER CA');
    writeFileSync(join(d, 'namespace'), 'kube-system\n');
    const c = loadClusterConfig({ env: { KUBERNETES_SERVICE_HOST: '2001:db8::1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: d, home: d });
    assert.equal(c.server, 'https://[2001:db8::1]:443');
    assert.equal(c.tokenFile, join(d, 'token'));
    assert.equal(c.ca, 'CLUSTER CA');
    assert.equal(c.namespace, 'kube-system');
    assert.equal(c.source, 'in-cluster');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('an explicit API endpoint overrides the server of any source, and must be a URL', () => {
  const d = tmp();
  try {
    writeFileSync(join(d, 'token'), 'sa-token');
    const env = { KUBERNETES_SERVICE_HOST: '198.18.0.1', KUBERNETES_SERVICE_PORT: '443' };
    assert.equal(loadClusterConfig({ env, serviceAccountDir: d, server: 'https://192.0.2.10:6443' }).server, 'https://192.0.2.10:6443');
    assert.equal(loadClusterConfig({ env: { ...env, PETREL_API_SERVER: 'https://192.0.2.11:6443' }, serviceAccountDir: d }).server, 'https://192.0.2.11:6443');
    assert.throws(() => loadClusterConfig({ env, serviceAccountDir: d, server: 'not a url' }), (e: unknown) => e instanceof ConfigError && e.field === 'server');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('~/.kube/config is the last resort, and with nothing at all the error says what was tried', () => {
  const d = tmp();
  try {
    assert.throws(() => loadClusterConfig({ env: {}, serviceAccountDir: join(d, 'none'), home: d }), (e: unknown) => e instanceof ConfigError && /KUBECONFIG/.test(e.message));
    mkdirSync(join(d, '.kube'));
    writeFileSync(join(d, '.kube', 'config'), kubeconfig({ server: 'https://192.0.2.20:6443' }));
    assert.equal(loadClusterConfig({ env: {}, serviceAccountDir: join(d, 'none'), home: d }).server, 'https://192.0.2.20:6443');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('credential plugins, unknown contexts and missing clusters are configuration errors naming the file and field', () => {
  const d = tmp();
  try {
    const f = join(d, 'config');
    writeFileSync(f, kubeconfig({ user: { exec: { command: 'aws' } } }));
    assert.throws(() => loadClusterConfig({ kubeconfig: f, env: {} }), (e: unknown) => e instanceof ConfigError && e.file === f && e.field === 'users[u1]');
    writeFileSync(f, kubeconfig({}));
    assert.throws(() => loadClusterConfig({ kubeconfig: f, env: {}, context: 'nope' }), (e: unknown) => e instanceof ConfigError && e.field === 'contexts' && e.code === 'CONFIG_INVALID');
    writeFileSync(f, 'clusters: [');
    assert.throws(() => loadClusterConfig({ kubeconfig: f, env: {} }), (e: unknown) => e instanceof ConfigError && e.file === f);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
