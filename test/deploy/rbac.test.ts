// RBAC least privilege: the ClusterRoles and Roles bound to Petrel's ServiceAccounts grant exactly the
// (verb, API group, resource, subresource) the code calls — nothing missing, nothing spare.
//
// The agent's list is derived from the source, not written by hand, so it cannot drift:
//   1. src/k8s/client/index.ts: each KubeClient method → the generated SDK functions it calls
//      (listWatcher: the resource → list function table, which does a LIST and a WATCH);
//   2. every call of those methods anywhere else in src/ (listWatcher: its resource argument);
//   3. src/k8s/openapi/gen/sdk.gen.ts: each SDK function → HTTP method and URL template →
//      the RBAC attributes kube-apiserver's authorizer would see.
// The reflector runs the same code with fewer paths taken (no pods, no node writes), which a regex
// cannot see; so the agent and the reflector also run against the lab API server, whose hook records
// every request's RBAC attributes: the agent's recording must be the derived list (the scenario
// exercises every call), the reflector's must be what its roles grant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { Agent } from '../../src/agent/agent.js';
import { KubeClient, Transport } from '../../src/k8s/index.js';
import { TestApiServer, type ResourceRequest } from '../../src/lab/apiserver/index.js';
import { waitFor } from '../../src/lab/netns.js';
import type { Dataplane } from '../../src/dataplane/index.js';
import { NAMESPACE, ROOT, haveKubectl, kustomizeWith, type Obj, KUBECTL_SKIP } from './manifests.js';

/** "verb group resource[/subresource]", the unit compared throughout. */
type Grant = string;
const grant = (verb: string, group: string, resource: string, sub?: string): Grant => `${verb} ${group || 'core'} ${resource}${sub ? `/${sub}` : ''}`;

// ---- 1-3: what the code calls ------------------------------------------------------------------

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** SDK function name → the RBAC attributes of its request (a list function: list and watch). */
function sdkGrants(): Map<string, Grant[]> {
  const text = readFileSync(join(ROOT, 'src/k8s/openapi/gen/sdk.gen.ts'), 'utf8');
  const out = new Map<string, Grant[]>();
  const re = /export const (\w+) = [^\n]*?\.(get|post|put|patch|delete)<[^\n]*\n(?:[^\n]*\n){0,6}?\s*url: '([^']+)'/g;
  for (const m of text.matchAll(re)) {
    const [, fn, method, url] = m;
    const u = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)\/(?:namespaces\/\{namespace\}\/)?([a-z]+)(\/\{name\})?(?:\/([a-z]+))?$/.exec(url);
    assert.ok(u, `${fn}: cannot read the resource of ${url}`);
    const [, group = '', resource, named, sub] = u;
    const verbs = method === 'get' ? (named ? ['get'] : ['list', 'watch']) : [{ post: 'create', put: 'update', patch: 'patch', delete: 'delete' }[method]!];
    out.set(fn, verbs.map((v) => grant(v, group, resource, sub)));
  }
  assert.ok(out.size >= 10, `read only ${out.size} functions from sdk.gen.ts: has its format changed?`);
  return out;
}

/** KubeClient method → SDK functions; listWatcher's resource → its list function. */
function clientMethods(): { methods: Map<string, string[]>; lists: Map<string, string> } {
  const text = readFileSync(join(ROOT, 'src/k8s/client/index.ts'), 'utf8');
  const lists = new Map<string, string>();
  const table = /const LIST_FNS[^{]*\{([^}]*)\}/.exec(text);
  assert.ok(table, 'LIST_FNS not found in src/k8s/client/index.ts');
  for (const m of table[1].matchAll(/(\w+): sdk\.(\w+)/g)) lists.set(m[1], m[2]);
  const cls = text.slice(text.indexOf('export class KubeClient'));
  const methods = new Map<string, string[]>();
  // Each public method starts on a line indented by two spaces; its body runs to the next one.
  const starts = [...cls.matchAll(/^ {2}(\w+)(?:<[^>]*>)?\(/gm)].filter((m) => !['constructor', 'call'].includes(m[1]));
  for (let i = 0; i < starts.length; i++) {
    const body = cls.slice(starts[i].index, starts[i + 1]?.index);
    methods.set(starts[i][1], [...body.matchAll(/sdk\.(\w+)/g)].map((m) => m[1]));
  }
  assert.ok(methods.has('listWatcher') && methods.size >= 3, 'KubeClient methods not found');
  return { methods, lists };
}

/** Every (verb, group, resource/subresource) some code in src/ asks the API server for. */
function derivedCalls(): { grants: Set<Grant>; sites: string[] } {
  const sdk = sdkGrants();
  const { methods, lists } = clientMethods();
  const grants = new Set<Grant>();
  const sites: string[] = [];
  const add = (fn: string, where: string) => {
    const g = sdk.get(fn);
    assert.ok(g, `${where}: ${fn} is not a generated SDK function`);
    g.forEach((x) => grants.add(x));
  };
  const skip = [join(ROOT, 'src/k8s/client'), join(ROOT, 'src/k8s/openapi')];
  for (const file of sourceFiles(join(ROOT, 'src')).filter((f) => !skip.some((s) => f.startsWith(s)))) {
    const text = readFileSync(file, 'utf8');
    const where = relative(ROOT, file);
    for (const m of text.matchAll(/\.listWatcher\(\s*(?:'(\w+)')?/g)) {
      assert.ok(m[1], `${where}: listWatcher called with a resource that is not a string literal`);
      const fn = lists.get(m[1]);
      assert.ok(fn, `${where}: listWatcher('${m[1]}') has no list function`);
      add(fn, where);
      sites.push(`${where}: listWatcher('${m[1]}')`);
    }
    for (const [name, fns] of methods) {
      if (name === 'listWatcher' || !new RegExp(`\\.${name}\\(`).test(text)) continue;
      fns.forEach((fn) => add(fn, where));
      sites.push(`${where}: ${name}`);
    }
  }
  return { grants, sites };
}

// ---- what the manifests grant ------------------------------------------------------------------

let built: Obj[] | undefined;
function build(): Obj[] {
  return (built ??= kustomizeWith('route-reflectors', ['monitoring']));
}

/** Every rule bound to the ServiceAccount (ClusterRoleBindings, and RoleBindings in its namespace). */
function rulesOf(objs: Obj[], sa: string): Array<Obj & { namespaced: boolean }> {
  const isSubject = (b: Obj) => (b.subjects ?? []).some((s: Obj) => s.kind === 'ServiceAccount' && s.name === sa && s.namespace === NAMESPACE);
  const out: Array<Obj & { namespaced: boolean }> = [];
  for (const b of objs.filter((o) => (o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') && isSubject(o))) {
    const role = objs.find((o) => o.kind === b.roleRef.kind && o.metadata.name === b.roleRef.name && (o.kind === 'ClusterRole' || o.metadata.namespace === b.metadata.namespace));
    assert.ok(role, `${b.kind} ${b.metadata.name} binds a role that is not in the deploy`);
    for (const r of role.rules) out.push({ ...r, namespaced: b.kind === 'RoleBinding' });
  }
  return out;
}

function grantsOf(objs: Obj[], sa: string): Set<Grant> {
  const out = new Set<Grant>();
  for (const r of rulesOf(objs, sa)) {
    for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) {
      const [resource, sub] = res.split('/');
      out.add(grant(v, g, resource, sub));
    }
  }
  return out;
}

const sorted = (s: Iterable<Grant>) => [...s].sort();

test('the agent\'s roles grant exactly the calls the code makes (derived from the client calls in src/)', (t) => {
  if (!haveKubectl()) return t.skip(KUBECTL_SKIP);
  const { grants, sites } = derivedCalls();
  assert.ok(sites.length >= 5, `found only ${sites.length} call sites: ${sites.join(', ')}`);
  assert.deepEqual(sorted(grantsOf(build(), 'petrel-agent')), sorted(grants), `call sites:\n  ${sites.join('\n  ')}`);
});

test('Secrets are read by name only, in Petrel\'s namespace, through a Role: no list, no watch, no cluster-wide grant', (t) => {
  if (!haveKubectl()) return t.skip(KUBECTL_SKIP);
  for (const sa of ['petrel-agent', 'petrel-reflector']) {
    const rules = rulesOf(build(), sa).filter((r) => r.resources.includes('secrets'));
    assert.equal(rules.length, 1, sa);
    assert.ok(rules[0].namespaced, `${sa}: secrets granted cluster-wide`);
    assert.deepEqual(rules[0].verbs, ['get'], sa);
    assert.deepEqual(rules[0].resourceNames, ['petrel-bgp-passwords'], sa);
  }
});

// ---- the recording: what the agent and the reflector actually ask for --------------------------

const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function record(mode: 'agent' | 'reflector', done: (seen: Set<Grant>) => boolean, t: { after(fn: () => unknown): void }): Promise<Set<Grant>> {
  const seen = new Set<Grant>();
  const server = new TestApiServer({
    host: '127.0.0.1', port: 0, tokens: ['t0k'], namespaces: [NAMESPACE],
    onResourceRequest: (r: ResourceRequest) => { seen.add(grant(r.verb, r.apiGroup, r.resource, r.subresource)); },
  });
  await server.start();
  let agent: Agent | undefined;
  // The agent stops before its API server does.
  t.after(async () => {
    await agent?.stop();
    await server.stop();
  });
  for (const f of ['bgpconfigurations', 'bgppeers', 'ippools']) server.create(parse(readFileSync(join(ROOT, `deploy/base/crds/${f}.petrel.dev.yaml`), 'utf8')));
  server.create({
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: 'n1', labels: { 'petrel.dev/route-reflector': 'true' }, annotations: { 'petrel.dev/route-reflector-cluster-id': '198.51.100.1' } },
    spec: { podCIDRs: ['198.18.1.0/26'] }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.11' }] },
  });
  server.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n2' }, spec: { podCIDRs: ['198.18.2.0/26'] }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.12' }] } });
  server.create({ apiVersion: 'petrel.dev/v1', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { listenPort: 20000 + Math.floor(Math.random() * 20000) } });
  server.create({ apiVersion: 'petrel.dev/v1', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '198.18.0.0/16', vxlanMode: 'Always' } });
  // A password on a peering of every node (the reflector's too): both read the named Secret.
  server.create({ apiVersion: 'petrel.dev/v1', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { peerIP: '203.0.113.1', asNumber: 65010, password: { secretKeyRef: { name: 'petrel-bgp-passwords', key: 'tor' } } } });
  server.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'petrel-bgp-passwords', namespace: NAMESPACE }, data: { tor: Buffer.from('s3cret').toString('base64') } });
  const client = new KubeClient(new Transport({ server: server.url, token: 't0k', source: 'test' }, {}));
  const fake = new Proxy({}, {
    get: (_t, k: string) => (k === 'apply' || k === 'start' ? async () => ({ ok: true, errors: [], pending: [], issues: [] }) : k === 'stop' ? async () => {} : () => {}),
  }) as unknown as Dataplane;
  agent = new Agent({ nodeName: 'n1', mode, bgpListenAddress: '127.0.0.1', connectRetryTime: 5, readyGraceMs: 0, vxlanVni: 4096 }, {
    client, log: silent, secretsNamespace: NAMESPACE, makeDataplane: () => fake,
    interfaces: () => [{ name: 'eth0', address: '192.0.2.11', cidr: '192.0.2.11/24' }],
  });
  await agent.start();
  await agent.synced();
  await waitFor(`the ${mode}'s requests`, () => done(seen), 15_000, 50);
  return seen;
}

test('the agent, run against the lab API server, asks for exactly the derived calls (the scenario exercises all of them)', async (t) => {
  const { grants } = derivedCalls();
  const seen = await record('agent', (s) => sorted(grants).every((g) => s.has(g)), t);
  assert.deepEqual(sorted(seen), sorted(grants));
});

test('the reflector asks for exactly what its roles grant, a subset of the agent\'s', async (t) => {
  if (!haveKubectl()) return t.skip(KUBECTL_SKIP);
  const granted = grantsOf(build(), 'petrel-reflector');
  const seen = await record('reflector', (s) => sorted(granted).every((g) => s.has(g)), t);
  // Let the reflector settle: anything more it would ask for (a write after its first reconcile) shows.
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(sorted(seen), sorted(granted));
  const { grants } = derivedCalls();
  for (const g of granted) assert.ok(grants.has(g), `the reflector is granted ${g}, which no code calls`);
});
