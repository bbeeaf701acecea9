/**
 * Debian's Prometheus scrapes the lab's agents and reflectors (issue 5, "done when" 4): it runs in
 * the lab's api namespace with a config written here (scrape interval 1 s), is stopped by PID, and
 * its HTTP API must return one petrel_bgp_session_established series per configured session, all 1.
 * `promtool check metrics` must find nothing to say about an agent's /metrics.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { PetrelLab } from '../../src/lab/lab.js';
import { hasCommand, waitFor, type LabProcess } from '../../src/lab/netns.js';
import { metricsOf, skipReason, startLab } from './helpers.js';

const PREFIX = 'ptlp';
const skip = skipReason || (!hasCommand('prometheus') || !hasCommand('promtool') ? 'prometheus (Debian package prometheus) is not installed' : false);

describe('Prometheus and the lab', { skip }, () => {
  let lab: PetrelLab;
  let prom: LabProcess | undefined;
  before(async () => { lab = await startLab(PREFIX); });
  after(async () => {
    if (prom && lab) await lab.netns.stop(prom, 5000);
    await lab?.destroy();
  });

  it('scrapes petrel_bgp_session_established from every agent and reflector', async () => {
    const dir = join(lab.runtimeDir, 'prometheus');
    mkdirSync(dir, { recursive: true });
    const targets = [...lab.nodes.values()].map((n) => `${n.address}:9476`);
    writeFileSync(join(dir, 'prometheus.yml'), stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      scrape_configs: [{ job_name: 'petrel', static_configs: [{ targets }] }],
    }));
    const check = spawnSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(check.status, 0, check.stderr);
    const listen = '192.0.2.10:9090';
    prom = lab.netns.spawn('prometheus', lab.apiNs, 'prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=${listen}`, '--log.level=warn',
    ]);
    const expected = [...lab.nodes.values()].reduce((sum, n) => sum + (n.role === 'agent' ? 2 : lab.nodes.size - 1), 0);
    const series = await waitFor('Prometheus to hold every session series', async () => {
      if (prom!.child.exitCode !== null) throw new Error(`prometheus exited: ${prom!.output()}`);
      const r = await lab.httpGet(lab.apiNs, `http://${listen}/api/v1/query?query=petrel_bgp_session_established`);
      if (r.status !== 200) return undefined;
      const body = JSON.parse(r.body) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      const res = body.data.result;
      return res.length === expected && new Set(res.map((s) => s.metric.instance)).size === targets.length ? res : undefined;
    }, 60_000, 500);
    for (const s of series) {
      assert.equal(s.metric.job, 'petrel');
      assert.equal(s.value[1], '1', `${s.metric.instance} → ${s.metric.peer}`);
    }
    const rrPeers = series.filter((s) => s.metric.instance === `${lab.node('rr1').address}:9476`).map((s) => s.metric.peer).sort();
    assert.deepEqual(rrPeers, [...lab.nodes.values()].filter((n) => n.name !== 'rr1').map((n) => n.address).sort());
  });

  it('finds nothing wrong in an agent\'s and a reflector\'s /metrics with promtool check metrics', async () => {
    for (const node of ['n3', 'rr2']) {
      const text = await metricsOf(lab, node);
      assert.match(text, /^petrel_bgp_session_established\{/m);
      const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, `${node}: ${r.stdout}${r.stderr}`);
      assert.equal(`${r.stdout}${r.stderr}`.trim(), '', node);
    }
  });
});
