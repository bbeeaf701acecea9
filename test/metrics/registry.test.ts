import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { hasCommand } from '../../src/lab/netns.js';
import { PetrelMetrics, METRIC_PREFIX } from '../../src/metrics/registry.js';
import { familyOf, parseExposition, populate } from './helpers.js';

async function scrapeOf(peers: number) {
  const m = new PetrelMetrics({ build: { version: '0.1.0', mode: 'agent' } });
  populate(m, peers);
  const { body } = await m.scrape();
  return { m, body, ...parseExposition(body) };
}

test('every metric family is prefixed, named by Prometheus conventions and has HELP text', async () => {
  const { type, help } = await scrapeOf(2);
  assert.ok(type.size > 30, `expected many families, got ${type.size}`);
  for (const [name, t] of type) {
    assert.ok(name.startsWith(METRIC_PREFIX), `${name} lacks the petrel_ prefix`);
    assert.match(name, /^[a-z_][a-z0-9_]*$/, `${name} is not snake case`);
    assert.ok((help.get(name) ?? '').length > 10, `${name} has no useful HELP`);
    if (t === 'counter') assert.ok(name.endsWith('_total'), `counter ${name} must end in _total`);
    else assert.ok(!name.endsWith('_total'), `${t} ${name} must not end in _total`);
    if (t === 'histogram' && !name.includes('gc_')) assert.ok(name.endsWith('_seconds'), `histogram ${name} must be in seconds`);
    assert.ok(!/_(milliseconds|ms|kilobytes|mb)(_|$)/.test(name), `${name} is not in base units`);
  }
});

test('promtool check metrics finds nothing wrong in a scrape with every family populated', async (t) => {
  if (!hasCommand('promtool')) return t.skip('promtool (Debian package prometheus) is not installed');
  const { body } = await scrapeOf(3);
  const r = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `promtool check metrics:\n${r.stdout}${r.stderr}`);
  assert.equal(`${r.stdout}${r.stderr}`.trim(), '');
});

test('promtool check metrics would catch a misnamed metric (the check can fail)', async (t) => {
  if (!hasCommand('promtool')) return t.skip('promtool (Debian package prometheus) is not installed');
  const bad = '# HELP petrel_bad_total A gauge misnamed as a counter.\n# TYPE petrel_bad_total gauge\npetrel_bad_total 1\n';
  const r = spawnSync('promtool', ['check', 'metrics'], { input: bad, encoding: 'utf8', timeout: 30_000 });
  assert.notEqual(r.status, 0);
});

test('once the adapters are called, every family defined by Petrel has at least one sample', async () => {
  const { m, samples } = await scrapeOf(2);
  // Process and runtime families (petrel_process_*, petrel_nodejs_*) fill themselves, or not, as the runtime goes.
  const families = new Set(m.familyNames().filter((n) => !/^petrel_(process|nodejs)_/.test(n)));
  const seen = new Set(samples.map((s) => familyOf(s.name, families)));
  const empty = [...families].filter((f) => !seen.has(f));
  assert.deepEqual(empty, []);
});

test('a 100-node full mesh costs ten series per peer and stays under 1,500 series per agent', async () => {
  const peers = 99;
  const { samples } = await scrapeOf(peers);
  const byPeer = new Map<string, number>();
  for (const s of samples) {
    if (!s.labels.peer) continue;
    // NOTIFICATION, attribute-error and internal-error counters exist only for peers that saw one,
    // the stale-path gauge only while a peer restarts gracefully, the maximum-prefix series only for
    // peers with a limit.
    if (/notifications|attribute_errors|internal_errors|stale_paths|max_prefixes/.test(s.name)) continue;
    byPeer.set(s.labels.peer, (byPeer.get(s.labels.peer) ?? 0) + 1);
  }
  assert.equal(byPeer.size, peers);
  for (const [peer, n] of byPeer) assert.equal(n, 10, `peer ${peer} has ${n} series`);
  const perPeer = samples.filter((s) => s.labels.peer).length;
  assert.ok(samples.length < 1500, `${samples.length} series (${perPeer} per-peer)`);
  // Nothing but the peer address varies with the size of the cluster (runtime families aside).
  const fixed = (list: typeof samples) => list.filter((s) => !s.labels.peer && !/^petrel_(process|nodejs)_/.test(s.name)).length;
  const small = await scrapeOf(3);
  assert.equal(fixed(small.samples), fixed(samples));
});
