// The transport against the HTTPS test API server: the cluster CA is required and enough, client
// certificates authenticate, a token file is re-read on schedule and at once after a 401.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Transport, K8sTransportError, WatchResponse } from '../../src/k8s/transport.js';
import { KubeClient } from '../../src/k8s/client/index.js';
import { makeTestPki } from '../../src/lab/apiserver/index.js';
import { startHarness, node } from './helpers.js';

test('the cluster CA verifies the server; without it the TLS handshake fails', async () => {
  const h = await startHarness();
  const bare = new Transport({ server: h.server.url, token: 'x', source: 'test' });
  const otherCa = new Transport({ server: h.server.url, token: 'x', ca: makeTestPki().caCert, source: 'test' });
  try {
    h.server.create(node('n1'));
    assert.equal((await h.client.readNode('n1')).metadata?.name, 'n1');
    await assert.rejects(bare.fetch('/api/v1/nodes'), (e: unknown) => e instanceof K8sTransportError && e.code === 'K8S_ERR_TRANSPORT');
    await assert.rejects(otherCa.fetch('/api/v1/nodes'), K8sTransportError);
  } finally {
    await bare.close();
    await otherCa.close();
    await h.close();
  }
});

test('a client certificate signed by the cluster CA authenticates without a token', async () => {
  const h = await startHarness();
  const pki = h.server.pki!;
  const cert = new Transport({ server: h.server.url, ca: pki.caCert, clientCert: pki.clientCert, clientKey: pki.clientKey, source: 'test' });
  const none = new Transport({ server: h.server.url, ca: pki.caCert, source: 'test' });
  try {
    assert.equal((await cert.fetch('/api/v1/nodes')).status, 200);
    assert.equal((await none.fetch('/api/v1/nodes')).status, 401);
  } finally {
    await cert.close();
    await none.close();
    await h.close();
  }
});

test('after a 401 the token file is re-read at once and the request retried with the new token', async () => {
  const h = await startHarness();
  try {
    assert.equal((await h.transport.fetch('/api/v1/nodes')).status, 200);
    const reads = h.transport.stats.tokenReads;
    h.rotateToken();
    const res = await h.transport.fetch('/api/v1/nodes');
    assert.equal(res.status, 200);
    assert.equal(h.transport.stats.unauthorizedRetries, 1);
    assert.equal(h.transport.stats.tokenReads, reads + 1);
    assert.equal(h.server.stats.unauthorized, 1);
  } finally {
    await h.close();
  }
});

test('the token file is re-read once its refresh interval has passed, and not before', async () => {
  let now = 1_000_000;
  const h = await startHarness({ transport: { tokenRefreshMs: 60_000, now: () => now } });
  try {
    await h.transport.fetch('/api/v1/nodes');
    const reads = h.transport.stats.tokenReads;
    now += 59_000;
    await h.transport.fetch('/api/v1/nodes');
    assert.equal(h.transport.stats.tokenReads, reads);
    now += 1_000;
    const tok = h.rotateToken();
    await h.transport.fetch('/api/v1/nodes');
    assert.equal(h.transport.stats.tokenReads, reads + 1);
    assert.equal(h.transport.token(), tok);
    assert.equal(h.transport.stats.unauthorizedRetries, 0, 'the scheduled re-read found the new token before any 401');
  } finally {
    await h.close();
  }
});

test('a static token that the server rejects gives a 401 answer, not a retry loop', async () => {
  const h = await startHarness();
  const t = new Transport({ server: h.server.url, ca: h.server.pki!.caCert, token: 'wrong', source: 'test' });
  try {
    const c = new KubeClient(t);
    await assert.rejects(c.readNode('x'), (e: unknown) => (e as { status?: number }).status === 401);
    assert.equal(t.stats.requests, 1);
  } finally {
    await t.close();
    await h.close();
  }
});

test('a token file that cannot be read at first use is an error naming the file', async () => {
  const h = await startHarness();
  const f = `${h.dir}/no-such-token`;
  const t = new Transport({ server: h.server.url, ca: h.server.pki!.caCert, tokenFile: f, source: 'test' });
  try {
    await assert.rejects(t.fetch('/api/v1/nodes'), (e: unknown) => e instanceof K8sTransportError && e.message.includes(f));
    writeFileSync(f, 'late');
    assert.equal(t.token(true), 'late');
  } finally {
    await t.close();
    await h.close();
  }
});

test('a plain request to a hung server times out after requestTimeoutMs instead of waiting forever', async () => {
  const h = await startHarness({ transport: { requestTimeoutMs: 300 } });
  try {
    h.server.faults.hangNext(1, /\/api\/v1\/nodes\/n1$/);
    await assert.rejects(h.client.readNode('n1'), (e: unknown) => (e as Error).name === 'TimeoutError' || (e as Error).name === 'AbortError');
    h.server.create(node('n1'));
    assert.equal((await h.client.readNode('n1')).metadata?.name, 'n1', 'the next request is answered');
  } finally {
    await h.close();
  }
});

/** Reads a watch body until `lines` event lines arrived (bounded by the test's own timeout). */
function readLines(stream: NodeJS.ReadableStream, lines: number): Promise<Array<{ type: string; object: { metadata: { name: string } } }>> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const out: Array<{ type: string; object: { metadata: { name: string } } }> = [];
    stream.setEncoding('utf8');
    stream.on('data', (s: string) => {
      buf += s;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0 && out.length < lines) {
        out.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
      if (out.length >= lines) resolve(out);
    });
    stream.on('error', reject);
  });
}

test('a watch through watchFetch streams its events on the Node stream, and aborting the signal ends it', async () => {
  const h = await startHarness();
  const ac = new AbortController();
  try {
    h.server.create(node('w1'));
    const res = await h.transport.watchFetch('/api/v1/nodes?watch=true&resourceVersion=0', { signal: ac.signal });
    assert.ok(res instanceof WatchResponse);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const first = readLines(res.stream, 1);
    assert.deepEqual((await first).map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'w1']]);
    const next = readLines(res.stream, 1);
    h.server.create(node('w2'));
    assert.deepEqual((await next).map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'w2']]);
    const closed = new Promise((r) => res.stream.on('close', r));
    ac.abort();
    await closed;
    assert.equal(res.stream.destroyed, true);
  } finally {
    await h.close();
  }
});

test('watchFetch: an error answer is a Response with its Status, a rotated token is retried once, and a wrong CA fails the handshake', async () => {
  const h = await startHarness();
  const otherCa = new Transport({ server: h.server.url, token: 'x', ca: makeTestPki().caCert, source: 'test' });
  try {
    h.server.faults.failNext(1, 403, /watch=true/);
    const denied = await h.transport.watchFetch('/api/v1/nodes?watch=true');
    assert.ok(!(denied instanceof WatchResponse));
    assert.equal(denied.status, 403);
    assert.equal(((await denied.json()) as { code?: number }).code, 403);

    h.rotateToken();
    const ac = new AbortController();
    const res = await h.transport.watchFetch('/api/v1/nodes?watch=true', { signal: ac.signal });
    assert.equal(res.status, 200);
    assert.equal(h.transport.stats.unauthorizedRetries, 1);
    ac.abort();

    await assert.rejects(otherCa.watchFetch('/api/v1/nodes?watch=true'), (e: unknown) => e instanceof K8sTransportError && e.code === 'K8S_ERR_TRANSPORT');
  } finally {
    await otherCa.close();
    await h.close();
  }
});
