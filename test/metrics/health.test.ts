import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bgpReadiness, cachesSynced, renderChecks, runChecks } from '../../src/metrics/health.js';

const peers = (...up: boolean[]) => up.map((established, i) => ({ address: `192.0.2.${i + 2}`, established }));
const at = (elapsedMs: number, p: ReturnType<typeof peers>) => bgpReadiness({ now: 1_000_000 + elapsedMs, startedAt: 1_000_000, allPeersWithinMs: 60_000, peers: p });

test('a node with no BGP peer has nothing to wait for and is ready', () => {
  assert.equal(at(0, []).ok, true);
});

test('within the grace period every configured peer must be Established', () => {
  const r = at(10_000, peers(true, false, true));
  assert.equal(r.ok, false);
  assert.match(r.message!, /192\.0\.2\.3/);
  assert.match(r.message!, /50s of grace left/);
  assert.equal(at(10_000, peers(true, true, true)).ok, true);
});

test('after the grace period one Established peer is enough, none is not', () => {
  assert.equal(at(60_000, peers(false, true, false)).ok, true);
  assert.equal(at(600_000, peers(false, false)).ok, false);
});

test('a long list of peers that are down is shortened in the message', () => {
  const r = at(0, peers(...Array.from({ length: 40 }, () => false)));
  assert.match(r.message!, /and 35 more/);
});

test('caches are synced only when every watched resource is', () => {
  assert.equal(cachesSynced({ nodes: true, pods: true }).ok, true);
  const r = cachesSynced({ nodes: true, pods: false, ippools: false });
  assert.equal(r.ok, false);
  assert.equal(r.message, 'not synced yet: pods, ippools');
});

test('a check source that throws or never answers becomes one failed check', async () => {
  const thrown = await runChecks(() => { throw new Error('boom'); }, 1000);
  assert.deepEqual(thrown.map((c) => [c.ok, c.message]), [[false, 'check failed: boom']]);
  const hung = await runChecks(() => new Promise(() => {}), 20);
  assert.equal(hung[0].ok, false);
  assert.match(hung[0].message!, /did not answer/);
});

test('the rendered answer lists failures always and every check only when verbose', () => {
  const checks = [{ name: 'k8s-caches', ok: true, message: '5 caches synced' }, { name: 'bgp-peers', ok: false, message: 'no peer\nEstablished' }];
  assert.deepEqual(renderChecks(checks, false), { ok: false, body: '[-]bgp-peers failed: no peer Established\nnot ok\n' });
  assert.equal(renderChecks(checks, true).body, '[+]k8s-caches ok: 5 caches synced\n[-]bgp-peers failed: no peer Established\nnot ok\n');
  assert.deepEqual(renderChecks([checks[0]], false), { ok: true, body: 'ok\n' });
});
