// The reflector under everything a real API server does to long-lived watches, at random: creates, updates
// and deletes interleaved with ERROR-410 watch events, HTTP 410s, compaction (expiring continue tokens),
// silent stalls, connection resets, server restarts, token rotation (401) and 500s. After each run the
// informer's cache must equal the server's state, and per object the handlers must have seen strictly
// increasing resourceVersions (nothing applied twice, nothing out of order). Runs are seeded and bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Informer, type KubeObject } from '../../src/k8s/reflector.js';
import { startHarness, waitUntil, node, pod, prng } from './helpers.js';

type Obj = KubeObject & { spec?: Record<string, unknown> };

function tracker(name: string) {
  const last = new Map<string, number>();
  const violations: string[] = [];
  const key = (o: Obj) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
  const see = (what: string, o: Obj, allowEqual = false) => {
    const rv = Number(o.metadata?.resourceVersion);
    const prev = last.get(key(o)) ?? -1;
    if (rv < prev || (rv === prev && !allowEqual)) violations.push(`${name} ${what} ${key(o)} rv ${rv} after ${prev}`);
    last.set(key(o), rv);
  };
  return {
    violations,
    handlers: {
      add: (o: Obj) => see('add', o),
      update: (a: Obj, b: Obj) => {
        if (Number(a.metadata?.resourceVersion) !== last.get(key(a))) violations.push(`${name} update ${key(b)}: old object is not the last one seen`);
        see('update', b);
      },
      delete: (o: Obj) => see('delete', o, true),
    },
  };
}

function snapshot(objs: Obj[]): Record<string, string> {
  const entries = objs.map((o) => [`${o.metadata?.namespace ?? ''}/${o.metadata?.name}`, String(o.metadata?.resourceVersion)]);
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

for (const seed of [1, 2, 3, 4]) {
  test(`the informer's cache equals the server's state after a random run with every fault injected (seed ${seed})`, async () => {
    const h = await startHarness({ bookmarkIntervalMs: 50, transport: { tokenRefreshMs: 60_000 } });
    const rnd = prng(seed);
    const opts = { pageSize: 3, minWatchTimeoutS: 1, idleTimeoutMs: 300, backoff: { initialMs: 5, maxMs: 50 }, random: rnd };
    const nodes = new Informer(h.client.listWatcher('nodes'), opts);
    const pods = new Informer(h.client.listWatcher('pods', { fieldSelector: 'spec.nodeName=node-a' }), opts);
    const tn = tracker('nodes');
    const tp = tracker('pods');
    nodes.addHandlers(tn.handlers);
    pods.addHandlers(tp.handlers);
    const faultsHit: Record<string, number> = {};
    try {
      for (let i = 0; i < 6; i++) h.server.create(node(`node-${i}`));
      nodes.start();
      pods.start();
      await nodes.synced;
      await pods.synced;
      const nodeNames = ['node-a', 'node-b', 'node-c'];
      for (let step = 0; step < 200; step++) {
        const r = rnd();
        const podName = `p${Math.floor(rnd() * 12)}`;
        const nodeName = `node-${Math.floor(rnd() * 8)}`;
        try {
          if (r < 0.2) h.server.create(pod('default', podName, nodeNames[Math.floor(rnd() * 3)]));
          else if (r < 0.32) {
            const p = h.server.get('v1', 'Pod', podName, 'default');
            // Moving a pod between nodes exercises selector transitions (ADDED/DELETED on the filtered watch).
            if (p) { p.spec.nodeName = nodeNames[Math.floor(rnd() * 3)]; p.metadata.labels = { step: String(step) }; h.server.update(p); }
          } else if (r < 0.4) h.server.delete('v1', 'Pod', podName, 'default');
          else if (r < 0.5) h.server.create(node(nodeName));
          else if (r < 0.62) {
            const n = h.server.get('v1', 'Node', nodeName);
            if (n) { n.metadata.labels = { step: String(step) }; h.server.update(n); }
          } else if (r < 0.68) h.server.delete('v1', 'Node', nodeName);
        } catch {
          // AlreadyExists / NotFound: the random op did not apply, which is fine.
        }
        if (rnd() < 0.12) {
          const f = Math.floor(rnd() * 9);
          const name = ['expire', 'compact', 'http410', 'stall', 'reset', 'restart', 'token', '500', 'end'][f];
          faultsHit[name] = (faultsHit[name] ?? 0) + 1;
          switch (name) {
            case 'expire': h.server.expireWatches(); break;
            case 'compact': h.server.compact(true); break;
            case 'http410': h.server.compact(false); h.server.faults.failNext(2, 410, /watch=true/); h.server.endWatches(); break;
            case 'stall': h.server.stallWatches(); break;
            case 'reset': h.server.resetConnections(); break;
            case 'restart': await h.server.restart(); break;
            case 'token': h.rotateToken(); break;
            case '500': h.server.faults.failNext(3, 500); break;
            case 'end': h.server.endWatches(); break;
          }
        }
        if (rnd() < 0.3) await new Promise((r) => setTimeout(r, Math.floor(rnd() * 40)));
      }
      const want = () => ({
        nodes: snapshot(h.server.list('v1', 'Node')),
        pods: snapshot(h.server.list('v1', 'Pod').filter((p) => p.spec.nodeName === 'node-a')),
      });
      const got = () => ({ nodes: snapshot(nodes.list()), pods: snapshot(pods.list()) });
      const converged = await waitUntil(() => JSON.stringify(want()) === JSON.stringify(got()), 20_000, 20);
      assert.deepEqual(got(), want(), `cache diverged (faults ${JSON.stringify(faultsHit)})`);
      assert.ok(converged);
      assert.deepEqual([...tn.violations, ...tp.violations], []);
      assert.ok(Object.keys(faultsHit).length >= 4, `too few fault kinds hit: ${JSON.stringify(faultsHit)}`);
    } finally {
      await nodes.stop();
      await pods.stop();
      await h.close();
    }
  });
}
