import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { ConfigError } from '../../src/errors.js';
import { PetrelMetrics } from '../../src/metrics/registry.js';
import { ObservabilityServer, parseListenAddress, DEFAULT_METRICS_ADDRESS, DEFAULT_HEALTH_ADDRESS } from '../../src/metrics/server.js';
import type { HealthCheck } from '../../src/metrics/health.js';
import { MALFORMED_REQUESTS, rawGet, rawRequest } from '../helpers/raw-http.js';

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function withServer(opts: Partial<ConstructorParameters<typeof ObservabilityServer>[0]>, fn: (ports: { metrics: number; health: number }, m: PetrelMetrics) => Promise<void>) {
  const metrics = new PetrelMetrics({ processMetrics: false, build: { version: '0.1.0', mode: 'agent' } });
  const server = new ObservabilityServer({ metrics, metricsAddress: '127.0.0.1:0', healthAddress: '127.0.0.1:0', readiness: () => [], ...opts });
  try {
    const a = await server.start();
    await fn({ metrics: a.metrics?.port ?? -1, health: a.health?.port ?? -1 }, metrics);
  } finally {
    await server.close();
  }
}

test('/metrics serves the text exposition format with petrel_ families', async () => {
  await withServer({}, async ({ metrics }) => {
    const r = await get(metrics, '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/plain; version=0\.0\.4/);
    assert.match(r.body, /^# TYPE petrel_bgp_session_established gauge$/m);
    assert.match(r.body, /^petrel_build_info\{version="0\.1\.0",mode="agent",/m);
  });
});

test('/readyz answers 503 with the failing check and /livez stays 200 while routing is not up', async () => {
  let checks: HealthCheck[] = [{ name: 'k8s-caches', ok: true }, { name: 'bgp-peers', ok: false, message: 'waiting for 192.0.2.2' }];
  await withServer({ readiness: () => checks }, async ({ metrics, health }) => {
    let r = await get(health, '/readyz');
    assert.equal(r.status, 503);
    assert.equal(r.body, '[-]bgp-peers failed: waiting for 192.0.2.2\nnot ok\n');
    assert.equal((await get(health, '/livez')).status, 200);
    assert.match((await get(metrics, '/metrics')).body, /^petrel_ready 0$/m);
    checks = [{ name: 'k8s-caches', ok: true }, { name: 'bgp-peers', ok: true, message: '1 of 1 peers Established' }];
    r = await get(health, '/readyz');
    assert.deepEqual([r.status, r.body], [200, 'ok\n']);
    r = await get(health, '/readyz?verbose');
    assert.equal(r.body, '[+]k8s-caches ok\n[+]bgp-peers ok: 1 of 1 peers Established\nok\n');
    assert.match((await get(metrics, '/metrics')).body, /^petrel_ready 1$/m);
  });
});

test('a readiness source that throws makes /readyz 503, and the server keeps serving', async () => {
  await withServer({ readiness: () => { throw new Error('speaker not started'); } }, async ({ health }) => {
    const r = await get(health, '/readyz');
    assert.equal(r.status, 503);
    assert.match(r.body, /speaker not started/);
    assert.equal((await get(health, '/livez')).status, 200);
  });
});

test('a failing liveness check makes /livez 503', async () => {
  await withServer({ liveness: () => [{ name: 'watchdog', ok: false, message: 'main loop stalled' }] }, async ({ health }) => {
    const r = await get(health, '/livez?verbose');
    assert.deepEqual([r.status, r.body], [503, '[-]watchdog failed: main loop stalled\nnot ok\n']);
  });
});

test('each listener serves only its own paths, unknown paths are 404 and other methods 405', async () => {
  await withServer({}, async ({ metrics, health }) => {
    assert.notEqual(metrics, health);
    assert.equal((await get(metrics, '/readyz')).status, 404);
    assert.equal((await get(health, '/metrics')).status, 404);
    assert.equal((await get(health, '/nothing')).status, 404);
    assert.equal((await get(health, '/readyz', 'POST')).status, 405);
    const head = await get(metrics, '/metrics', 'HEAD');
    assert.deepEqual([head.status, head.body], [200, '']);
  });
});

test('one listener serves every path when both addresses are the same', async () => {
  const probe = new ObservabilityServer({ metrics: new PetrelMetrics({ processMetrics: false }), metricsAddress: '127.0.0.1:0', healthAddress: '', readiness: () => [] });
  const port = (await probe.start()).metrics!.port;
  await probe.close();
  await withServer({ metricsAddress: `127.0.0.1:${port}`, healthAddress: `127.0.0.1:${port}` }, async ({ metrics, health }) => {
    assert.equal(metrics, port);
    assert.equal(health, port);
    assert.equal((await get(port, '/metrics')).status, 200);
    assert.equal((await get(port, '/readyz')).status, 200);
  });
});

test('listen addresses parse as HOST:PORT, [IPV6]:PORT or :PORT, empty disables, anything else names the flag', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:9476', '--metrics-address'), { host: '127.0.0.1', port: 9476 });
  assert.deepEqual(parseListenAddress('[::1]:9477', '--health-address'), { host: '::1', port: 9477 });
  assert.deepEqual(parseListenAddress(':9477', '--health-address'), { host: '0.0.0.0', port: 9477 });
  assert.deepEqual(parseListenAddress(DEFAULT_METRICS_ADDRESS, 'x'), { host: '0.0.0.0', port: 9476 });
  assert.deepEqual(parseListenAddress(DEFAULT_HEALTH_ADDRESS, 'x'), { host: '0.0.0.0', port: 9477 });
  assert.equal(parseListenAddress('', '--metrics-address'), undefined);
  assert.throws(() => parseListenAddress('9476', '--metrics-address'), (e: unknown) => e instanceof ConfigError && e.field === '--metrics-address');
  assert.throws(() => parseListenAddress('127.0.0.1:70000', '--health-address'), (e: unknown) => e instanceof ConfigError && /out of range/.test(e.message));
});

test('a port already in use makes start() reject instead of crashing the process', async () => {
  await withServer({}, async ({ metrics }) => {
    const second = new ObservabilityServer({ metrics: new PetrelMetrics({ processMetrics: false }), metricsAddress: `127.0.0.1:${metrics}`, healthAddress: '', readiness: () => [] });
    await assert.rejects(second.start(), /EADDRINUSE/);
    await second.close();
  });
});

test('createObservability wires the adapters to one registry and exports no dataplane series until the dataplane is used', async () => {
  const { createObservability } = await import('../../src/metrics/observability.js');
  const obs = createObservability({ mode: 'reflector', version: '0.1.0', metricsAddress: '127.0.0.1:0', healthAddress: '127.0.0.1:0', readiness: () => [], processMetrics: false });
  try {
    const ports = await obs.server.start();
    obs.bgp.peersConfigured([{ address: '192.0.2.2', asn: 64512, type: 'route reflector' }]);
    obs.bgp.session('192.0.2.2').stateChanged('OpenConfirm', 'Established');
    let body = (await get(ports.metrics!.port, '/metrics')).body;
    assert.match(body, /^petrel_bgp_session_established\{peer="192\.0\.2\.2"\} 1$/m);
    assert.match(body, /^petrel_build_info\{version="0\.1\.0",mode="reflector",/m);
    assert.doesNotMatch(body, /^petrel_dataplane_routes\{/m);
    obs.dataplane.routes('remote-direct', 3);
    body = (await get(ports.metrics!.port, '/metrics')).body;
    assert.match(body, /^petrel_dataplane_routes\{class="remote_direct"\} 3$/m);
    assert.equal((await get(ports.health!.port, '/readyz')).status, 200);
  } finally {
    await obs.server.close();
  }
});

for (const [what, bytes] of MALFORMED_REQUESTS) {
  test(`metrics and health listeners: ${what} gets a 4xx and both keep answering`, async () => {
    await withServer({}, async ({ metrics, health }) => {
      for (const port of [metrics, health]) {
        const r = await rawRequest(port, bytes);
        assert.ok(r.status !== undefined && r.status >= 400 && r.status < 500, `expected a 4xx, got ${r.status}: ${r.text.slice(0, 200)}`);
      }
      assert.equal((await rawGet(metrics, '/metrics')).status, 200);
      assert.equal((await rawGet(health, '/livez')).status, 200);
    });
  });
}

test('refused requests are counted in petrel_http_rejected_total by listener and reason', async () => {
  await withServer({}, async ({ metrics, health }) => {
    assert.equal((await rawRequest(health, 'GET //[ HTTP/1.1\r\nHost: x\r\n\r\n')).status, 400);
    assert.equal((await rawRequest(metrics, `GET /metrics HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(20000)}\r\n\r\n`)).status, 431);
    const body = (await rawGet(metrics, '/metrics')).body;
    assert.match(body, /^petrel_http_rejected_total\{server="health",reason="bad_request"\} 1$/m);
    assert.match(body, /^petrel_http_rejected_total\{server="metrics",reason="header_too_large"\} 1$/m);
  });
});

test('a metrics scrape that throws is a 500, counted in petrel_unexpected_errors_total; the listener keeps serving', async () => {
  const metrics = new PetrelMetrics({ processMetrics: false });
  let broken = true;
  const scrape = metrics.scrape.bind(metrics);
  metrics.scrape = async () => {
    if (broken) throw new Error('registry bug');
    return scrape();
  };
  const server = new ObservabilityServer({ metrics, metricsAddress: '127.0.0.1:0', healthAddress: '', readiness: () => [] });
  try {
    const port = (await server.start()).metrics!.port;
    assert.equal((await rawGet(port, '/metrics')).status, 500);
    broken = false;
    const r = await rawGet(port, '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.body, /^petrel_unexpected_errors_total\{where="http_handler"\} 1$/m);
  } finally {
    await server.close();
  }
});
