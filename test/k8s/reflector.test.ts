// One test per list-watch rule of client-go's reflector, each against the test API server with the fault
// that exercises it. The randomized mix of all of them is in reflector.faults.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Informer, type KubeObject, type ReflectorMetrics } from '../../src/k8s/reflector.js';
import type { ListWatcher } from '../../src/k8s/client/index.js';
import { startHarness, waitUntil, node, pod, type Harness } from './helpers.js';

type Obj = KubeObject & { spec?: Record<string, any>; metadata: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any

const FAST = { minWatchTimeoutS: 30, idleTimeoutMs: 300, backoff: { initialMs: 5, maxMs: 40 } };

function recorder() {
  const log: string[] = [];
  const m = { events: {} as Record<string, number>, relists: [] as string[], restarts: [] as string[], errors: [] as string[] };
  const metrics: ReflectorMetrics = {
    event: (_r, t) => { m.events[t] = (m.events[t] ?? 0) + 1; },
    relist: (_r, why) => { m.relists.push(why); },
    restart: (_r, why) => { m.restarts.push(why); },
    error: (_r, code) => { m.errors.push(code); },
  };
  const handlers = {
    add: (o: Obj) => log.push(`add ${o.metadata.name}`),
    update: (_a: Obj, b: Obj) => log.push(`update ${b.metadata.name}`),
    delete: (o: Obj) => log.push(`delete ${o.metadata.name}`),
  };
  return { log, m, metrics, handlers };
}

async function withInformer(fn: (h: Harness, inf: Informer<Obj>, r: ReturnType<typeof recorder>) => Promise<void>, opts: { nodes?: number; pageSize?: number; lw?: (h: Harness) => ListWatcher<Obj> } = {}) {
  const h = await startHarness({ bookmarkIntervalMs: 100 });
  const r = recorder();
  for (let i = 0; i < (opts.nodes ?? 3); i++) h.server.create(node(`node-${i}`));
  const inf = new Informer<Obj>(opts.lw ? opts.lw(h) : (h.client.listWatcher('nodes') as ListWatcher<Obj>), { ...FAST, pageSize: opts.pageSize ?? 500, metrics: r.metrics });
  inf.addHandlers(r.handlers);
  try {
    inf.start();
    await inf.synced;
    assert.ok(await waitUntil(() => h.server.openWatches > 0), 'the informer opened its watch');
    await fn(h, inf, r);
  } finally {
    await inf.stop();
    await h.close();
  }
}

const names = (inf: Informer<Obj>) => inf.list().map((o) => o.metadata.name).sort();

test('a paged LIST fetches every page and the informer is synced with every object', async () => {
  await withInformer(async (h, inf, r) => {
    assert.equal(inf.hasSynced, true);
    assert.deepEqual(names(inf), ['node-0', 'node-1', 'node-2', 'node-3', 'node-4', 'node-5', 'node-6']);
    assert.equal(inf.stats.pages, 4);
    assert.equal(h.server.requestLog.filter((l) => l.includes('/api/v1/nodes?') && l.includes('limit=2')).length, 4);
    assert.deepEqual(r.log.filter((l) => l.startsWith('add')).length, 7);
  }, { nodes: 7, pageSize: 2 });
});

test('a continue token expired by compaction restarts the LIST from its first page', async () => {
  let compactOnce = true;
  await withInformer(async (_h, inf) => {
    assert.deepEqual(names(inf), ['node-0', 'node-1', 'node-2', 'node-3', 'node-4']);
    assert.equal(inf.stats.pages, 3 + 1, 'one page before the 410, then three pages again');
  }, {
    nodes: 4, pageSize: 2,
    lw: (h) => {
      const real = h.client.listWatcher('nodes') as ListWatcher<Obj>;
      return {
        description: real.description,
        watch: (o) => real.watch(o),
        list: async (o) => {
          const page = await real.list(o);
          if (compactOnce && page.continue) {
            compactOnce = false;
            h.server.create(node('node-4')); // written after the first page's snapshot; then history is compacted
            h.server.compact();
          }
          return page;
        },
      };
    },
  });
});

test('pods are watched with the fieldSelector spec.nodeName, and pods moving on or off the node come and go', async () => {
  await withInformer(async (h, _nodes, _r) => {
    h.server.create(pod('default', 'a1', 'node-a'));
    h.server.create(pod('default', 'b1', 'node-b'));
    h.server.create(pod('kube-system', 'a2', 'node-a'));
    const r = recorder();
    const pods = new Informer<Obj>(h.client.listWatcher('pods', { fieldSelector: 'spec.nodeName=node-a' }) as ListWatcher<Obj>, { ...FAST, metrics: r.metrics });
    pods.addHandlers(r.handlers);
    pods.start();
    try {
      await pods.synced;
      assert.deepEqual(names(pods), ['a1', 'a2']);
      const b1 = h.server.get('v1', 'Pod', 'b1', 'default')!;
      b1.spec.nodeName = 'node-a';
      h.server.update(b1);
      const a1 = h.server.get('v1', 'Pod', 'a1', 'default')!;
      a1.spec.nodeName = 'node-c';
      h.server.update(a1);
      assert.ok(await waitUntil(() => names(pods).join() === 'a2,b1'));
      assert.deepEqual(r.log, ['add a1', 'add a2', 'add b1', 'delete a1']);
      const watches = h.server.requestLog.filter((l) => l.startsWith('GET /api/v1/pods?') && l.includes('watch=true'));
      assert.ok(watches.length >= 1);
      for (const w of watches) {
        const q = new URL(w.split(' ')[1], 'http://x').searchParams;
        assert.equal(q.get('fieldSelector'), 'spec.nodeName=node-a');
        assert.equal(q.get('allowWatchBookmarks'), 'true');
        const t = Number(q.get('timeoutSeconds'));
        assert.ok(t >= 30 && t < 60, `timeoutSeconds ${t} is drawn from [min, 2·min)`);
      }
    } finally {
      await pods.stop();
    }
  });
});

test('a BOOKMARK moves the resourceVersion and fires no handler', async () => {
  await withInformer(async (h, inf, r) => {
    const before = inf.resourceVersion;
    h.server.create(pod('default', 'elsewhere', 'node-x')); // moves the global revision, not a node event
    const rev = String(h.server.store.revision);
    assert.ok(await waitUntil(() => inf.resourceVersion === rev));
    assert.notEqual(before, rev);
    assert.ok((r.m.events.BOOKMARK ?? 0) >= 1);
    assert.equal(r.log.length, 3, 'only the three initial adds');
  });
});

test('an ERROR 410 event on the watch stream makes the informer relist and emit exactly the differences', async () => {
  await withInformer(async (h, inf, r) => {
    h.server.stallWatches();
    h.server.delete('v1', 'Node', 'node-1');
    const n2 = h.server.get('v1', 'Node', 'node-2')!;
    n2.metadata.labels = { changed: 'yes' };
    h.server.update(n2);
    h.server.create(node('node-9'));
    h.server.compact();
    assert.equal(h.server.expireWatches(), 1);
    assert.ok(await waitUntil(() => names(inf).join() === 'node-0,node-2,node-9'));
    assert.deepEqual(r.log.slice(3).sort(), ['add node-9', 'delete node-1', 'update node-2']);
    assert.deepEqual(r.m.relists, ['initial', 'expired']);
    assert.equal(inf.get('node-2')?.metadata.labels.changed, 'yes');
  });
});

test('an HTTP 410 answer to the watch request makes the informer relist', async () => {
  await withInformer(async (h, inf, r) => {
    h.server.stallWatches();
    h.server.delete('v1', 'Node', 'node-0');
    h.server.compact();
    h.server.faults.failNext(1, 410, /watch=true/);
    h.server.endWatches();
    assert.ok(await waitUntil(() => names(inf).join() === 'node-1,node-2'));
    assert.deepEqual(r.m.relists, ['initial', 'expired']);
    assert.ok(r.m.errors.includes('K8S_ERR_GONE'));
    assert.equal(h.server.stats.injected, 1);
  });
});

test('a silent (stalled) watch is abandoned after the idle timeout and resumed from its resourceVersion without relisting', async () => {
  await withInformer(async (h, inf, r) => {
    h.server.stallWatches();
    h.server.create(node('node-7'));
    assert.ok(await waitUntil(() => !!inf.get('node-7')));
    assert.ok(r.m.restarts.includes('idle'));
    assert.deepEqual(r.m.relists, ['initial']);
    assert.equal(inf.stats.lists, 1);
  });
});

test('a watch closed normally by the server is re-opened without relisting', async () => {
  await withInformer(async (h, inf, r) => {
    h.server.endWatches();
    h.server.create(node('node-8'));
    assert.ok(await waitUntil(() => !!inf.get('node-8')));
    assert.ok(r.m.restarts.includes('closed'));
    assert.equal(inf.stats.lists, 1);
  });
});

test('events split across chunks, and several events packed in one chunk, are all applied in order', async () => {
  await withInformer(async (h, inf, r) => {
    for (const mode of [{ pieceBytes: 7 }, { pieceBytes: 1 }, { batch: true }]) {
      h.server.watchWrites = mode;
      h.server.endWatches(); // the next watch is written in the new mode
      const tag = JSON.stringify(mode);
      for (let i = 0; i < 3; i++) {
        const n = h.server.get('v1', 'Node', `node-${i}`)!;
        n.metadata.labels = { mode: tag };
        // Multi-byte UTF-8 (2, 3 and 4 bytes): split one byte a chunk, a character must come out whole.
        n.metadata.annotations = { note: `Zürich – 東京 🐦 ${tag}` };
        h.server.update(n);
      }
      h.server.create(node(`extra-${mode.pieceBytes ?? 'batch'}`));
      assert.ok(await waitUntil(() => inf.list().filter((o) => o.metadata.labels?.mode === tag).length === 3 && !!inf.get(`extra-${mode.pieceBytes ?? 'batch'}`)), `mode ${tag}`);
      for (let i = 0; i < 3; i++) assert.equal((inf.get(`node-${i}`)!.metadata as { annotations?: Record<string, string> }).annotations?.note, `Zürich – 東京 🐦 ${tag}`);
    }
    assert.equal(inf.stats.lists, 1);
    assert.deepEqual(r.m.errors, []);
  });
});

test('repeated 500s are retried with backoff until the server answers again', async () => {
  await withInformer(async (h, inf, r) => {
    h.server.faults.failNext(5, 500, /watch=true/);
    h.server.endWatches();
    h.server.create(node('after-500s'));
    assert.ok(await waitUntil(() => !!inf.get('after-500s')));
    assert.equal(r.m.errors.filter((c) => c === 'K8S_ERR_API').length, 5);
    assert.equal(inf.stats.lists, 1, 'a 500 is not a reason to relist');
  });
});

test('a connection reset and a server restart are survived without losing an event', async () => {
  await withInformer(async (h, inf) => {
    h.server.resetConnections();
    h.server.create(node('after-reset'));
    await h.server.restart();
    h.server.delete('v1', 'Node', 'node-0');
    assert.ok(await waitUntil(() => names(inf).join() === 'after-reset,node-1,node-2'));
  });
});

test('a rotated token is re-read after the 401 and the watch goes on', async () => {
  await withInformer(async (h, inf) => {
    h.rotateToken();
    h.server.endWatches();
    h.server.create(node('after-rotation'));
    assert.ok(await waitUntil(() => !!inf.get('after-rotation')));
    assert.ok(h.server.stats.unauthorized >= 1);
    assert.ok(h.transport.stats.unauthorizedRetries >= 1);
  });
});

test('a handler added after sync first receives an add for every cached object', async () => {
  await withInformer(async (_h, inf) => {
    const seen: string[] = [];
    inf.addHandlers({ add: (o) => seen.push(String(o.metadata?.name)) });
    assert.deepEqual(seen.sort(), ['node-0', 'node-1', 'node-2']);
  });
});

test('after stop() no handler fires and no request is made', async () => {
  const h = await startHarness();
  const r = recorder();
  const inf = new Informer<Obj>(h.client.listWatcher('nodes') as ListWatcher<Obj>, FAST);
  inf.addHandlers(r.handlers);
  try {
    inf.start();
    await inf.synced;
    await inf.stop();
    const requests = h.server.stats.requests;
    h.server.create(node('late'));
    await new Promise((res) => setTimeout(res, 100));
    assert.deepEqual(r.log, []);
    assert.equal(h.server.stats.requests, requests);
  } finally {
    await h.close();
  }
});
