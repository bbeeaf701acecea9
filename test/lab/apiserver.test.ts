// The test API server's documented kube-apiserver behaviours, over plain HTTP with fetch (kubectl checks it
// independently in apiserver.kubectl.test.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { TestApiServer, mergePatch, jsonPatch, strategicMergePatch, parseLabelSelector, matchLabels } from '../../src/lab/apiserver/index.js';

let s: TestApiServer;
before(async () => {
  s = new TestApiServer({ tokens: ['t0'], bookmarkIntervalMs: 50 });
  await s.start();
});
after(async () => { await s.stop(); });

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function req(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: Obj }> {
  const res = await fetch(`${s.url}${path}`, {
    method, headers: { authorization: 'Bearer t0', 'content-type': contentType }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() as Obj };
}

async function watchLines(path: string, until: (lines: Obj[]) => boolean, act?: () => void): Promise<Obj[]> {
  const ac = new AbortController();
  const res = await fetch(`${s.url}${path}`, { headers: { authorization: 'Bearer t0' }, signal: ac.signal });
  const lines: Obj[] = [];
  const reader = res.body!.getReader();
  let buf = '';
  act?.();
  const deadline = Date.now() + 5000;
  try {
    while (!until(lines) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += Buffer.from(value).toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) { lines.push(JSON.parse(buf.slice(0, i))); buf = buf.slice(i + 1); }
    }
  } finally {
    ac.abort();
  }
  return lines;
}

const nodeObj = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });

test('requests without a valid bearer token are refused with 401, and rotated tokens take effect at once', async () => {
  assert.equal((await fetch(`${s.url}/api/v1/nodes`)).status, 401);
  s.rotateTokens(['t1']);
  assert.equal((await req('GET', '/api/v1/nodes')).status, 401);
  s.rotateTokens(['t0']);
  assert.equal((await req('GET', '/api/v1/nodes')).status, 200);
});

test('every write takes the next global resourceVersion and a stale one is refused with 409 Conflict', async () => {
  const a = await req('POST', '/api/v1/nodes', nodeObj('rv-a'));
  const b = await req('POST', '/api/v1/namespaces/default/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rv-b' } });
  assert.equal(a.status, 201);
  assert.equal(Number(b.body.metadata.resourceVersion), Number(a.body.metadata.resourceVersion) + 1);
  const upd = { ...a.body, metadata: { ...a.body.metadata, labels: { x: '1' } } };
  assert.equal((await req('PUT', '/api/v1/nodes/rv-a', upd)).status, 200);
  const stale = await req('PUT', '/api/v1/nodes/rv-a', { ...upd, metadata: { ...upd.metadata, labels: { x: '2' } } });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.reason, 'Conflict');
  assert.equal((await req('POST', '/api/v1/nodes', nodeObj('rv-a'))).body.reason, 'AlreadyExists');
  assert.equal((await req('POST', '/api/v1/namespaces/nope/secrets', { metadata: { name: 'x' } })).status, 404);
});

test('a paged list is served from the snapshot of its first page, and its continue token expires with compaction', async () => {
  for (let i = 0; i < 5; i++) await req('POST', '/api/v1/nodes', nodeObj(`page-${i}`, { paged: 'yes' }));
  const p1 = await req('GET', '/api/v1/nodes?labelSelector=paged%3Dyes&limit=2');
  assert.equal(p1.body.items.length, 2);
  assert.equal(p1.body.metadata.remainingItemCount, 3);
  await req('POST', '/api/v1/nodes', nodeObj('page-9', { paged: 'yes' })); // after the snapshot
  await req('DELETE', '/api/v1/nodes/page-4');
  const rest: string[] = [];
  let cont = p1.body.metadata.continue;
  while (cont) {
    const p = await req('GET', `/api/v1/nodes?labelSelector=paged%3Dyes&limit=2&continue=${cont}`);
    assert.equal(p.body.metadata.resourceVersion, p1.body.metadata.resourceVersion);
    rest.push(...p.body.items.map((o: Obj) => o.metadata.name));
    cont = p.body.metadata.continue;
  }
  assert.deepEqual(rest, ['page-2', 'page-3', 'page-4']);
  s.compact();
  const expired = await req('GET', `/api/v1/nodes?labelSelector=paged%3Dyes&limit=2&continue=${p1.body.metadata.continue}`);
  assert.equal(expired.status, 410);
  assert.equal(expired.body.reason, 'Expired');
});

test('a watch replays from its resourceVersion, turns selector transitions into ADDED/DELETED and sends bookmarks', async () => {
  const start = (await req('GET', '/api/v1/nodes')).body.metadata.resourceVersion;
  await req('POST', '/api/v1/nodes', nodeObj('w1', { role: 'a' }));
  const lines = await watchLines(`/api/v1/nodes?watch=true&allowWatchBookmarks=true&labelSelector=role%3Da&resourceVersion=${start}`,
    (l) => l.some((e) => e.type === 'BOOKMARK') && l.filter((e) => e.type !== 'BOOKMARK').length >= 3,
    () => setTimeout(async () => {
      await req('PATCH', '/api/v1/nodes/w1', { metadata: { labels: { role: 'b' } } }, 'application/merge-patch+json');
      await req('PATCH', '/api/v1/nodes/w1', { metadata: { labels: { role: 'a' } } }, 'application/merge-patch+json');
    }, 10));
  const evs = lines.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata.name}`);
  assert.deepEqual(evs.slice(0, 3), ['ADDED w1', 'DELETED w1', 'ADDED w1']);
  const rvs = lines.map((e) => Number(e.object.metadata.resourceVersion));
  assert.deepEqual(rvs, [...rvs].sort((a, b) => a - b), 'resourceVersions never go back');
});

test('a watch from a compacted resourceVersion gets a 200 stream whose only event is ERROR 410', async () => {
  const old = (await req('GET', '/api/v1/nodes')).body.metadata.resourceVersion;
  await req('POST', '/api/v1/nodes', nodeObj('compacted'));
  s.compact();
  const lines = await watchLines(`/api/v1/nodes?watch=true&resourceVersion=${old}`, (l) => l.length > 0);
  assert.equal(lines[0].type, 'ERROR');
  assert.equal(lines[0].object.code, 410);
  assert.equal(lines[0].object.kind, 'Status');
});

test('field selectors filter by the fields each resource supports and refuse others with 400', async () => {
  await req('POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'fp1' }, spec: { nodeName: 'na', containers: [] } });
  await req('POST', '/api/v1/namespaces/kube-system/pods', { metadata: { name: 'fp2' }, spec: { nodeName: 'nb', containers: [] } });
  const names = async (q: string) => (await req('GET', `/api/v1/pods?fieldSelector=${encodeURIComponent(q)}`)).body.items.map((o: Obj) => o.metadata.name);
  assert.deepEqual(await names('spec.nodeName=na'), ['fp1']);
  assert.deepEqual(await names('spec.nodeName!=na,metadata.namespace=kube-system'), ['fp2']);
  assert.deepEqual(await names('metadata.name==fp2'), ['fp2']);
  assert.equal((await req('GET', '/api/v1/pods?fieldSelector=spec.bogus%3Dx')).status, 400);
});

test('label selectors support =, !=, in, notin, exists and !exists as apimachinery parses them', () => {
  const l = { tier: 'rr', zone: 'z1' };
  const m = (s: string) => matchLabels(parseLabelSelector(s), l);
  assert.equal(m('tier=rr'), true);
  assert.equal(m('tier==rr,zone=z2'), false);
  assert.equal(m('tier!=mesh'), true);
  assert.equal(m('missing!=x'), true);
  assert.equal(m('zone in (z1, z2)'), true);
  assert.equal(m('zone notin (z1)'), false);
  assert.equal(m('missing notin (a)'), true);
  assert.equal(m('tier'), true);
  assert.equal(m('!tier'), false);
  assert.throws(() => parseLabelSelector('tier in'), /unable to parse/);
});

test('merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch behave as specified', () => {
  // RFC 7386 Appendix A examples.
  assert.deepEqual(mergePatch({ a: 'b' }, { a: 'c' }), { a: 'c' });
  assert.deepEqual(mergePatch({ a: 'b', b: 'c' }, { a: null }), { b: 'c' });
  assert.deepEqual(mergePatch({ a: [{ b: 'c' }] }, { a: [1] }), { a: [1] });
  assert.deepEqual(mergePatch({ a: { b: 'c' } }, { a: { b: 'd', c: null } }), { a: { b: 'd' } });
  // RFC 6902 §A.1, §A.4, §A.6 (move), and a failing test op aborts.
  assert.deepEqual(jsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }]), { foo: 'bar', baz: 'qux' });
  assert.deepEqual(jsonPatch({ foo: ['bar', 'qux', 'baz'] }, [{ op: 'remove', path: '/foo/1' }]), { foo: ['bar', 'baz'] });
  assert.deepEqual(jsonPatch({ foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } }, [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }]),
    { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } });
  assert.throws(() => jsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }]), /test failed/);
  // Strategic: conditions merge by type, $patch: delete removes one, other lists are replaced.
  const node = { status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'DiskPressure', status: 'False' }], images: [{ names: ['a'] }] } };
  const out = strategicMergePatch(node, { status: { conditions: [{ type: 'Ready', status: 'False' }, { type: 'NetworkUnavailable', status: 'False' }, { type: 'DiskPressure', $patch: 'delete' }], images: [{ names: ['b'] }] } });
  assert.deepEqual(out.status.conditions, [{ type: 'Ready', status: 'False' }, { type: 'NetworkUnavailable', status: 'False' }]);
  assert.deepEqual(out.status.images, [{ names: ['b'] }]);
});

test('the main endpoint ignores status changes; a Node\'s /status ignores the spec but takes metadata, as the node status strategy does', async () => {
  await req('POST', '/api/v1/nodes', nodeObj('sub'));
  const a = await req('PATCH', '/api/v1/nodes/sub', { metadata: { labels: { l: '1' } }, status: { conditions: [] } }, 'application/merge-patch+json');
  assert.equal(a.body.status.conditions.length, 1);
  assert.equal(a.body.metadata.labels.l, '1');
  const b = await req('PATCH', '/api/v1/nodes/sub/status', { metadata: { labels: { l: '2' } }, spec: { unschedulable: true }, status: { conditions: [{ type: 'NetworkUnavailable', status: 'False' }] } }, 'application/strategic-merge-patch+json');
  assert.equal(b.body.metadata.labels.l, '2');
  assert.equal(b.body.spec?.unschedulable, undefined);
  assert.deepEqual(b.body.status.conditions.map((c: Obj) => c.type), ['Ready', 'NetworkUnavailable']);
});

test('custom resources of a created CRD are served, defaulted, pruned, validated, and refuse strategic merge patch', async () => {
  for (const f of readdirSync('deploy/base/crds').filter((n) => n.endsWith('.yaml'))) {
    const crd = parseYaml(readFileSync(`deploy/base/crds/${f}`, 'utf8'));
    const r = await req('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const groups = (await req('GET', '/apis')).body.groups.map((g: Obj) => g.name);
  assert.ok(groups.includes('petrel.dev'));
  const ok = await req('POST', '/apis/petrel.dev/v1/ippools', { apiVersion: 'petrel.dev/v1', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '198.18.0.0/16', bogus: 1 } });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.equal(ok.body.spec.ipipMode, 'Never', 'defaulted');
  assert.equal(ok.body.spec.bogus, undefined, 'pruned');
  const strict = await fetch(`${s.url}/apis/petrel.dev/v1/ippools?fieldValidation=Strict`, { method: 'POST', headers: { authorization: 'Bearer t0', 'content-type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'petrel.dev/v1', kind: 'IPPool', metadata: { name: 'q' }, spec: { cidr: '198.18.0.0/16', bogus: 1 } }) });
  assert.equal(strict.status, 400);
  const bad = await req('POST', '/apis/petrel.dev/v1/ippools', { apiVersion: 'petrel.dev/v1', kind: 'IPPool', metadata: { name: 'bad' }, spec: { cidr: '198.18.0.0/33' } });
  assert.equal(bad.status, 422);
  assert.equal(bad.body.reason, 'Invalid');
  assert.equal(bad.body.details.causes[0].field, 'spec.cidr');
  assert.equal((await req('PATCH', '/apis/petrel.dev/v1/ippools/p', { spec: {} }, 'application/strategic-merge-patch+json')).status, 415);
  assert.equal((await req('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/ippools.petrel.dev')).status, 200);
  assert.equal((await req('GET', '/apis/petrel.dev/v1/ippools')).status, 404);
});
