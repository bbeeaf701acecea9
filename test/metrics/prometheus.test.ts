import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { hasCommand, waitFor } from '../../src/lab/netns.js';
import { BgpMetricsAdapter } from '../../src/metrics/adapters.js';
import { PetrelMetrics } from '../../src/metrics/registry.js';
import { ObservabilityServer } from '../../src/metrics/server.js';
import { populate } from './helpers.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function query(port: number, q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  assert.equal(body.status, 'success');
  return body.data.result;
}

test('Debian\'s Prometheus scrapes the metrics server, loads Petrel\'s alert rules, and its API returns the session series', async (t) => {
  if (!hasCommand('prometheus') || !hasCommand('promtool')) return t.skip('prometheus (Debian package prometheus) is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'petrel-prometheus-'));
  const metrics = new PetrelMetrics({ build: { version: '0.1.0', mode: 'agent' } });
  populate(metrics, 3);
  const bgp = new BgpMetricsAdapter(metrics);
  const server = new ObservabilityServer({ metrics, metricsAddress: '127.0.0.1:0', healthAddress: '', readiness: () => [{ name: 'bgp-peers', ok: true }] });
  let prom: ReturnType<typeof spawn> | undefined;
  let log = '';
  try {
    const target = (await server.start()).metrics!;
    bgp.session('198.18.0.2').stateChanged('Established', 'Idle'); // one peer down, so the values differ
    const rules = parse(readFileSync(new URL('../../deploy/components/monitoring/prometheusrule.yaml', import.meta.url), 'utf8'));
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: rules.spec.groups }));
    writeFileSync(join(dir, 'prometheus.yml'), stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: ['rules.yaml'],
      scrape_configs: [{ job_name: 'petrel-agent', static_configs: [{ targets: [`127.0.0.1:${target.port}`], labels: { node: 'node-a' } }] }],
    }));
    const check = spawnSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
    const port = await freePort();
    prom = spawn('prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    prom.stderr!.on('data', (c) => { log = (log + String(c)).slice(-4000); });
    const established = await waitFor('Prometheus to hold petrel_bgp_session_established', async () => {
      if (prom!.exitCode !== null) throw new Error(`prometheus exited ${prom!.exitCode}: ${log}`);
      try {
        const r = await query(port, 'petrel_bgp_session_established{job="petrel-agent"}');
        return r.length === 3 ? r : undefined;
      } catch {
        return undefined;
      }
    }, 30_000, 250);
    const byPeer = Object.fromEntries(established.map((s) => [s.metric.peer, s.value[1]]));
    assert.deepEqual(byPeer, { '198.18.0.1': '0', '198.18.0.2': '0', '198.18.0.3': '1' });
    assert.equal(established[0].metric.node, 'node-a');
    const up = await query(port, 'up{job="petrel-agent"}');
    assert.equal(up[0]?.value[1], '1');
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/rules`, { signal: AbortSignal.timeout(5000) });
    const groups = ((await res.json()) as { data: { groups: Array<{ name: string; rules: Array<{ health: string; name: string }> }> } }).data.groups;
    assert.deepEqual(groups.map((g) => g.name).sort(), rules.spec.groups.map((g: { name: string }) => g.name).sort());
    for (const g of groups) for (const r of g.rules) assert.notEqual(r.health, 'err', `${r.name} does not evaluate`);
  } finally {
    if (prom && prom.exitCode === null && prom.pid) {
      const exited = new Promise<void>((resolve) => prom!.once('exit', () => resolve()));
      process.kill(prom.pid, 'SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => { timer = setTimeout(r, 10_000); })]);
      clearTimeout(timer);
      if (prom.exitCode === null) process.kill(prom.pid, 'SIGKILL');
    }
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
