// The status API (petrel status / petrel routes) under hostile and heavy use: malformed requests are
// answered 400 (never a crash), /routes comes in pages that together hold every route exactly once,
// open connections are capped and idle ones closed, and a handler that throws costs one 500.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Speaker } from '../../src/bgp/speaker.js';
import { startStatusApi, type StatusApi } from '../../src/cli/status-api.js';
import { decodeContinue, encodeContinue, keysAfter } from '../../src/cli/route-pages.js';
import { fetchAllRoutes } from '../../src/cli/routes.js';
import type { Logger } from '../../src/model/log.js';
import { MALFORMED_REQUESTS, rawGet, rawRequest } from '../helpers/raw-http.js';

function v4(i: number): string {
  return `198.18.${(i >> 8) & 0xff}.${i & 0xff}/32`;
}

async function withApi(
  prefixes: string[],
  opts: Parameters<typeof startStatusApi>[2],
  fn: (api: StatusApi, speaker: Speaker) => Promise<void>,
): Promise<void> {
  const speaker = new Speaker({ asn: 64512, routerId: '192.0.2.1' });
  speaker.setLocalRoutes(prefixes.map((prefix) => ({ prefix })));
  await new Promise((r) => setImmediate(r)); // the RIB flushes once per event-loop turn
  const api = await startStatusApi(speaker, { address: '127.0.0.1', port: 0 }, opts);
  try {
    await fn(api, speaker);
  } finally {
    await api.close();
    await speaker.stop();
  }
}

function recordingLog(): Logger & { lines: Array<[string, object, string | undefined]> } {
  const lines: Array<[string, object, string | undefined]> = [];
  const at = (level: string) => (o: object, m?: string) => void lines.push([level, o, m]);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

for (const [what, bytes] of MALFORMED_REQUESTS) {
  test(`status API: ${what} gets a 4xx and the server keeps answering`, async () => {
    const counted: string[] = [];
    await withApi(['203.0.113.0/24'], { problems: { rejected: (r) => void counted.push(r) } }, async (api) => {
      const r = await rawRequest(api.port, bytes);
      assert.ok(r.status !== undefined && r.status >= 400 && r.status < 500, `expected a 4xx, got ${r.status}: ${r.text.slice(0, 200)}`);
      const ok = await rawGet(api.port, '/status');
      assert.equal(ok.status, 200);
      assert.equal(JSON.parse(ok.body).asn, 64512);
    });
  });
}

test('status API: a target URL() cannot parse is a 400, counted as bad_request and logged once (clipped)', async () => {
  const counted: string[] = [];
  const log = recordingLog();
  await withApi([], { log, problems: { rejected: (r) => void counted.push(r) } }, async (api) => {
    assert.equal((await rawRequest(api.port, 'GET //[ HTTP/1.1\r\nHost: x\r\n\r\n')).status, 400);
    assert.equal((await rawRequest(api.port, `GET http://[${'x'.repeat(5000)} HTTP/1.1\r\nHost: x\r\n\r\n`)).status, 400);
    assert.deepEqual(counted, ['bad_request', 'bad_request']);
    const warned = log.lines.filter(([l]) => l === 'warn');
    assert.equal(warned.length, 1, 'rate-limited to one line per 10 s');
    assert.ok(JSON.stringify(warned).length < 500);
  });
});

test('/routes pages hold every route exactly once, in order, each page at most `limit` prefixes', async () => {
  const prefixes = [...Array.from({ length: 2345 }, (_, i) => v4(i)), '2001:db8:1::/48', '2001:db8:2::/48', '100.64.0.0/10', '203.0.113.0/24'];
  await withApi(prefixes, {}, async (api) => {
    for (const limit of [7, 1000, 10_000]) {
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const r = await rawGet(api.port, `/routes?limit=${limit}${token ? `&continue=${token}` : ''}`);
        assert.equal(r.status, 200, r.body);
        const page = JSON.parse(r.body) as { routes: Array<{ prefix: string }>; continue?: string };
        assert.ok(page.routes.length <= limit);
        assert.ok(page.routes.length > 0);
        seen.push(...page.routes.map((x) => x.prefix));
        token = page.continue;
        assert.ok(++pages <= Math.ceil(prefixes.length / limit), 'no more pages than needed');
      } while (token);
      assert.equal(seen.length, prefixes.length, `limit ${limit}`);
      assert.deepEqual([...seen].sort(), [...prefixes].sort(), `limit ${limit}`);
      assert.equal(new Set(seen).size, seen.length, 'no prefix twice');
      // IPv4 by address, then IPv6: the order does not depend on the limit.
      assert.deepEqual(seen.slice(0, 3), ['100.64.0.0/10', '198.18.0.0/32', '198.18.0.1/32']);
      assert.deepEqual(seen.slice(-2), ['2001:db8:1::/48', '2001:db8:2::/48']);
    }
    // limit=1: one prefix per page.
    const one = JSON.parse((await rawGet(api.port, '/routes?limit=1')).body);
    assert.deepEqual(one.routes.map((r: { prefix: string }) => r.prefix), ['100.64.0.0/10']);
    const two = JSON.parse((await rawGet(api.port, `/routes?limit=1&continue=${one.continue}`)).body);
    assert.deepEqual(two.routes.map((r: { prefix: string }) => r.prefix), ['198.18.0.0/32']);
    // The same walk twice gives the same pages.
    const a = await rawGet(api.port, '/routes?limit=100');
    const b = await rawGet(api.port, '/routes?limit=100');
    assert.equal(a.body, b.body);
  });
});

test('/routes without a limit answers the default page size and says how to go on', async () => {
  await withApi(Array.from({ length: 1500 }, (_, i) => v4(i)), { routesLimit: 1000 }, async (api) => {
    const first = JSON.parse((await rawGet(api.port, '/routes')).body);
    assert.equal(first.routes.length, 1000);
    assert.equal(typeof first.continue, 'string');
    const second = JSON.parse((await rawGet(api.port, `/routes?continue=${first.continue}`)).body);
    assert.equal(second.routes.length, 500);
    assert.equal(second.continue, undefined);
    assert.equal((await rawGet(api.port, '/routes?limit=10001')).status, 400);
    assert.equal((await rawGet(api.port, '/routes?limit=0')).status, 400);
    assert.equal((await rawGet(api.port, '/routes?limit=1e3')).status, 400);
    assert.equal((await rawGet(api.port, '/routes?continue=bm9wZQ')).status, 400);
    // ?prefix= still answers the one prefix.
    const one = JSON.parse((await rawGet(api.port, `/routes?prefix=${encodeURIComponent(v4(1234))}`)).body);
    assert.deepEqual(one.routes.map((r: { prefix: string }) => r.prefix), [v4(1234)]);
  });
});

test('a prefix added or removed during a walk: never twice, and every prefix present throughout is seen', async () => {
  await withApi(Array.from({ length: 300 }, (_, i) => v4(i * 2)), {}, async (api, speaker) => {
    const seen: string[] = [];
    let token: string | undefined;
    let round = 0;
    do {
      const page = JSON.parse((await rawGet(api.port, `/routes?limit=50${token ? `&continue=${token}` : ''}`)).body);
      seen.push(...page.routes.map((r: { prefix: string }) => r.prefix));
      token = page.continue;
      // Between pages: odd prefixes appear everywhere, some even ones (not yet seen) go.
      round++;
      const now = Array.from({ length: 300 }, (_, i) => v4(i * 2)).filter((_, i) => !(i > 200 && i % 10 === 0));
      speaker.setLocalRoutes([...now, ...Array.from({ length: round * 20 }, (_, i) => v4(i * 2 + 1))].map((prefix) => ({ prefix })));
      await new Promise((r) => setImmediate(r));
    } while (token);
    assert.equal(new Set(seen).size, seen.length, 'no prefix twice');
    for (let i = 0; i < 300; i++) {
      if (!(i > 200 && i % 10 === 0)) assert.ok(seen.includes(v4(i * 2)), v4(i * 2));
    }
  });
});

test('keysAfter keeps the smallest keys after the cursor: IPv4 keys by value, then text', () => {
  const keys: Array<number | string> = [50, 'b', 3, 'a', 7, 1, 'c', 2];
  const each = (fn: (k: number | string) => void) => keys.forEach(fn);
  assert.deepEqual(keysAfter(each, undefined, 3), { keys: [1, 2, 3], more: true });
  assert.deepEqual(keysAfter(each, 3, 3), { keys: [7, 50, 'a'], more: true });
  assert.deepEqual(keysAfter(each, 'a', 3), { keys: ['b', 'c'], more: false });
  assert.deepEqual(keysAfter(each, 'c', 3), { keys: [], more: false });
  for (const k of [0, 64 * 0xffffffff + 32, '2001:db8::/32']) assert.equal(decodeContinue(encodeContinue(k)), k);
  for (const bad of ['', 'x'.repeat(300), Buffer.from('n:1.5').toString('base64url'), Buffer.from('n:33').toString('base64url'), Buffer.from('s:zz').toString('base64url')]) {
    assert.throws(() => decodeContinue(bad));
  }
});

test('open connections are capped: one more is closed at once, and after one leaves a new one is served', async () => {
  const counted: string[] = [];
  await withApi([], { limits: { maxConnections: 2, keepAliveTimeoutMs: 60_000, idleTimeoutMs: 60_000 }, problems: { rejected: (r) => void counted.push(r) } }, async (api) => {
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        // A keep-alive request answered: the server holds this connection open.
        const s = net.connect({ host: '127.0.0.1', port: api.port });
        held.push(s);
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.once('data', (d: Buffer) => (/^HTTP\/1\.1 200/.test(d.toString('latin1')) ? resolve() : reject(new Error(d.toString()))));
          s.write('GET /status HTTP/1.1\r\nHost: x\r\n\r\n');
        });
      }
      const third = await rawRequest(api.port, 'GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.equal(third.status, undefined, 'the third connection is closed without an answer');
      assert.deepEqual(counted, ['connection_limit']);
      held.shift()!.destroy();
      let served = false;
      for (let i = 0; i < 50 && !served; i++) {
        served = (await rawGet(api.port, '/status')).status === 200;
        if (!served) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(served, 'a new connection is served once one left');
    } finally {
      for (const s of held) s.destroy();
    }
  });
});

function closedWithin(port: number, write?: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const bound = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, 10_000);
    s.on('connect', () => write && s.write(write));
    s.on('data', () => {});
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(bound);
      resolve(true);
    });
  });
}

test('a connection that sends headers too slowly is closed by the server (headersTimeout)', async () => {
  await withApi([], { limits: { headersTimeoutMs: 300, requestTimeoutMs: 600, idleTimeoutMs: 60_000 } }, async (api) => {
    assert.ok(await closedWithin(api.port, 'GET /status HTTP/1.1\r\nHost: x\r\n'), 'half-sent headers closed within the bound');
    assert.equal((await rawGet(api.port, '/status')).status, 200);
  });
});

test('a connection that sends nothing is closed by the server (idle timeout)', async () => {
  await withApi([], { limits: { idleTimeoutMs: 300 } }, async (api) => {
    assert.ok(await closedWithin(api.port), 'silent connection closed within the bound');
    assert.equal((await rawGet(api.port, '/status')).status, 200);
  });
});

test('an idle keep-alive connection is closed after keepAliveTimeout', async () => {
  await withApi([], { limits: { keepAliveTimeoutMs: 200 } }, async (api) => {
    assert.ok(await closedWithin(api.port, 'GET /status HTTP/1.1\r\nHost: x\r\n\r\n'));
  });
});

test('a handler that throws costs that request a 500, is logged with its stack and counted; the next request is served', async () => {
  let errors = 0;
  const log = recordingLog();
  await withApi([], { log, problems: { handlerError: () => void errors++ }, extra: { '/boom': () => { throw new Error('a bug'); } } }, async (api) => {
    const r = await rawGet(api.port, '/boom');
    assert.equal(r.status, 500);
    assert.equal(errors, 1);
    const line = log.lines.find(([l]) => l === 'error');
    assert.match(JSON.stringify(line), /a bug.*status-api\.test\.ts/);
    assert.equal((await rawGet(api.port, '/status')).status, 200);
  });
});

test('petrel routes follows the pages: fetchAllRoutes returns every route once, in the API order', async () => {
  const prefixes = [...Array.from({ length: 100 }, (_, i) => v4(i)), '2001:db8::/32'];
  await withApi(prefixes, {}, async (api) => {
    const all = await fetchAllRoutes(`http://127.0.0.1:${api.port}`, 7);
    assert.deepEqual(all.map((r) => r.prefix), [...prefixes.slice(0, 100), '2001:db8::/32']);
    const one = await fetchAllRoutes(`http://127.0.0.1:${api.port}`);
    assert.deepEqual(one, all);
  });
});
