// `petrel reflector` as a process (the agent runs the same three listeners): malformed HTTP requests
// to its status API, /metrics and /readyz get 4xx answers, are counted, and never end it; SIGTERM
// twice in a row still ends it with status 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { TestApiServer } from '../../src/lab/apiserver/index.js';
import { waitFor } from '../../src/lab/netns.js';
import { MALFORMED_REQUESTS, rawGet, rawRequest } from '../helpers/raw-http.js';
import { CLI, ensureBuilt, freePort, tempFile } from './helpers.js';

test('a running reflector answers every malformed request with a 4xx on all three listeners, counts them, and exits 0 on SIGTERM twice', async () => {
  ensureBuilt();
  const api = new TestApiServer({ tokens: ['t0'] });
  await api.start();
  const kubeconfig = tempFile('kubeconfig', [
    'apiVersion: v1', 'kind: Config', 'current-context: lab',
    `clusters: [{ name: lab, cluster: { server: "${api.url}" } }]`,
    'users: [{ name: lab, user: { token: t0 } }]',
    'contexts: [{ name: lab, context: { cluster: lab, user: lab } }]',
  ].join('\n'));
  const [metrics, health, status] = [await freePort(), await freePort(), await freePort()];
  // No Node object named n9 exists: the reflector waits for it and never opens a BGP listener.
  const child = spawn(process.execPath, [CLI, 'reflector', '--node-name', 'n9', '--kubeconfig', kubeconfig,
    '--metrics-address', `127.0.0.1:${metrics}`, '--health-address', `127.0.0.1:${health}`, '--status-address', `127.0.0.1:${status}`],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  try {
    await waitFor('the listeners', async () => {
      const answers = await Promise.all([status, health].map((p) => rawGet(p, '/livez').catch(() => ({ status: undefined }))));
      return answers.every((a) => a.status !== undefined);
    }, 20_000, 100);
    for (const port of [status, metrics, health]) {
      for (const [what, bytes] of MALFORMED_REQUESTS) {
        const r = await rawRequest(port, bytes);
        assert.ok(r.status !== undefined && r.status >= 400 && r.status < 500, `port ${port}, ${what}: expected a 4xx, got ${r.status}\n${stderr}`);
      }
      assert.equal(child.exitCode, null, stderr);
    }
    assert.equal((await rawGet(health, '/livez')).status, 200);
    assert.equal((await rawGet(status, '/agent')).status, 200);
    const body = (await rawGet(metrics, '/metrics')).body;
    for (const server of ['status', 'metrics', 'health']) {
      assert.match(body, new RegExp(`^petrel_http_rejected_total\\{server="${server}",reason="bad_request"\\} [1-9]`, 'm'));
      assert.match(body, new RegExp(`^petrel_http_rejected_total\\{server="${server}",reason="header_too_large"\\} [1-9]`, 'm'));
    }
    child.kill('SIGTERM');
    child.kill('SIGTERM');
    assert.deepEqual(await exited, { code: 0, signal: null }, stderr);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await api.stop();
  }
});
