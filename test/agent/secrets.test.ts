// BGP password Secrets read through the real test API server: resolution, missing keys, bounded
// retries, rotation by refresh, deletion, forgetting unused Secrets — and the value never in a log line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SecretCache } from '../../src/agent/secrets.js';
import { startHarness, waitUntil } from '../k8s/helpers.js';

const NS = 'petrel-system';
const PASSWORD = 'pw-Zq7-never-logged';

function capture() {
  const lines: Array<{ level: string; obj: object; msg?: string }> = [];
  const at = (level: string) => (obj: object, msg?: string) => { lines.push({ level, obj, ...(msg ? { msg } : {}) }); };
  return { lines, log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

/** A test API server with the agent's namespace in it. */
async function harness() {
  const h = await startHarness();
  h.server.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  return h;
}

function secret(name: string, data: Record<string, string>) {
  const enc: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) enc[k] = Buffer.from(v).toString('base64');
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: NS }, data: enc };
}

test('a wanted ref resolves to the decoded key, onResolved fires, and a missing key or Secret is an error naming it', async () => {
  const h = await harness();
  const c = capture();
  let resolved = 0;
  const cache = new SecretCache(h.client, { namespace: NS, log: c.log, onResolved: () => resolved++, refreshMs: 0, retry: { attempts: 2, initialMs: 5, maxMs: 5 } });
  try {
    h.server.create(secret('petrel-bgp-passwords', { 'tor-a': PASSWORD }));
    const refs = [{ name: 'petrel-bgp-passwords', key: 'tor-a' }, { name: 'petrel-bgp-passwords', key: 'tor-b' }, { name: 'absent', key: 'k' }];
    cache.want(refs);
    assert.deepEqual(cache.get(refs[0]), { state: 'pending' });
    await cache.idle();
    assert.deepEqual(cache.get(refs[0]), { state: 'ok', value: PASSWORD });
    assert.deepEqual(cache.get(refs[1]), { state: 'error', message: `Secret ${NS}/petrel-bgp-passwords has no key 'tor-b'` });
    assert.deepEqual(cache.get(refs[2]), { state: 'error', message: `Secret ${NS}/absent: not found` });
    assert.ok(resolved >= 2, `onResolved called ${resolved} times`);
    assert.ok(!JSON.stringify(c.lines).includes(PASSWORD), 'the password is in a log line');
  } finally {
    await cache.stop();
    await h.close();
  }
});

test('one GET per Secret however many keys are used from it', async () => {
  const h = await harness();
  let gets = 0;
  const counting = { readSecret: (ns: string, name: string, signal?: AbortSignal) => { gets++; return h.client.readSecret(ns, name, signal); } };
  const cache = new SecretCache(counting, { namespace: NS, log: capture().log, refreshMs: 0 });
  try {
    h.server.create(secret('s', { a: 'one', b: 'two' }));
    cache.want([{ name: 's', key: 'a' }, { name: 's', key: 'b' }]);
    cache.want([{ name: 's', key: 'a' }, { name: 's', key: 'b' }]);
    await cache.idle();
    assert.deepEqual([cache.get({ name: 's', key: 'a' }), cache.get({ name: 's', key: 'b' })], [{ state: 'ok', value: 'one' }, { state: 'ok', value: 'two' }]);
    assert.equal(gets, 1);
  } finally {
    await cache.stop();
    await h.close();
  }
});

test('errors are retried a bounded number of times, then reported; the value is never logged', async () => {
  const h = await harness();
  const c = capture();
  const cache = new SecretCache(h.client, { namespace: NS, log: c.log, refreshMs: 0, retry: { attempts: 3, initialMs: 5, maxMs: 10 } });
  try {
    h.server.create(secret('s', { k: PASSWORD }));
    h.server.faults.failNext(2, 500, /secrets\/s/);
    cache.want([{ name: 's', key: 'k' }]);
    await cache.idle();
    assert.deepEqual(cache.get({ name: 's', key: 'k' }), { state: 'ok', value: PASSWORD });
    assert.equal(c.lines.filter((l) => l.level === 'warn').length, 2);

    const cache2 = new SecretCache(h.client, { namespace: NS, log: c.log, refreshMs: 0, retry: { attempts: 2, initialMs: 5, maxMs: 10 } });
    h.server.faults.failNext(5, 500, /secrets\/s/);
    cache2.want([{ name: 's', key: 'k' }]);
    await cache2.idle();
    const l = cache2.get({ name: 's', key: 'k' });
    assert.equal(l.state, 'error');
    assert.equal(c.lines.filter((x) => x.level === 'error').length, 1);
    await cache2.stop();
    assert.ok(!JSON.stringify(c.lines).includes(PASSWORD));
  } finally {
    await cache.stop();
    await h.close();
  }
});

test('a rotated password is picked up at the next refresh and onResolved fires; a failed refresh keeps the last good value; a deleted Secret is dropped', async () => {
  const h = await harness();
  let resolved = 0;
  const cache = new SecretCache(h.client, { namespace: NS, log: capture().log, onResolved: () => resolved++, refreshMs: 50, retry: { attempts: 1, initialMs: 5, maxMs: 5 } });
  const ref = { name: 's', key: 'k' };
  try {
    h.server.create(secret('s', { k: 'first' }));
    cache.want([ref]);
    assert.ok(await waitUntil(() => cache.get(ref).state === 'ok', 5000));
    const n0 = resolved;
    h.server.update({ ...secret('s', { k: 'second' }), metadata: { name: 's', namespace: NS } });
    assert.ok(await waitUntil(() => { const l = cache.get(ref); return l.state === 'ok' && l.value === 'second'; }, 5000));
    assert.ok(resolved > n0);
    h.server.faults.failNext(3, 500, /secrets\/s/);
    // Refreshes failing with 500: the last good value stays.
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(cache.get(ref), { state: 'ok', value: 'second' });
    h.server.delete('v1', 'Secret', 's', NS);
    assert.ok(await waitUntil(() => cache.get(ref).state === 'error', 5000));
  } finally {
    await cache.stop();
    await h.close();
  }
});

test('a password longer than 80 bytes is an error (Linux TCP_MD5SIG_MAXKEYLEN)', async () => {
  const h = await harness();
  const cache = new SecretCache(h.client, { namespace: NS, log: capture().log, refreshMs: 0 });
  try {
    h.server.create(secret('s', { long: 'x'.repeat(81), ok: 'x'.repeat(80), empty: '' }));
    cache.want([{ name: 's', key: 'long' }, { name: 's', key: 'ok' }, { name: 's', key: 'empty' }]);
    await cache.idle();
    assert.equal(cache.get({ name: 's', key: 'long' }).state, 'error');
    assert.equal(cache.get({ name: 's', key: 'empty' }).state, 'error');
    assert.deepEqual(cache.get({ name: 's', key: 'ok' }), { state: 'ok', value: 'x'.repeat(80) });
    assert.ok(!JSON.stringify(cache.get({ name: 's', key: 'long' })).includes('xxxx'));
  } finally {
    await cache.stop();
    await h.close();
  }
});

test('a Secret no longer wanted is forgotten and no longer read', async () => {
  const h = await harness();
  let gets = 0;
  const counting = { readSecret: (ns: string, name: string, signal?: AbortSignal) => { gets++; return h.client.readSecret(ns, name, signal); } };
  const cache = new SecretCache(counting, { namespace: NS, log: capture().log, refreshMs: 20 });
  try {
    h.server.create(secret('s', { k: 'v' }));
    cache.want([{ name: 's', key: 'k' }]);
    await cache.idle();
    assert.ok(await waitUntil(() => gets >= 2, 5000), 'refreshed while wanted');
    cache.want([]);
    await cache.idle();
    const after = gets;
    assert.deepEqual(cache.get({ name: 's', key: 'k' }), { state: 'pending' });
    await new Promise((r) => setTimeout(r, 150)); // several refresh periods
    assert.equal(gets, after);
    cache.want([{ name: 's', key: 'k' }]);
    await cache.idle();
    assert.deepEqual(cache.get({ name: 's', key: 'k' }), { state: 'ok', value: 'v' });
  } finally {
    await cache.stop();
    await h.close();
  }
});
