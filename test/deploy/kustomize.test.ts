import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import { readdirSync, statSync } from 'node:fs';
import { BUILTIN_GROUPS, DEPLOY, NAMESPACE, OVERLAYS, ROOT, crds, haveKubectl, isClusterScoped, kustomize, kustomizeWith, readYaml, validateBuiltin, validateCustom, type Obj, KUBECTL_SKIP } from './manifests.js';
import { prometheusRuleSchema, schemaErrors, serviceMonitorSchema } from './monitoring-schemas.js';

const definitions = crds();

/** Every problem of one object: schema first, then our conventions. */
async function problems(o: Obj): Promise<string[]> {
  if (BUILTIN_GROUPS.has(o.apiVersion)) {
    const e = await validateBuiltin(o);
    return e ? [e] : [];
  }
  if (String(o.apiVersion).startsWith('petrel.dev/')) return validateCustom(o, definitions);
  if (o.apiVersion === 'monitoring.coreos.com/v1') {
    if (o.kind === 'ServiceMonitor') return schemaErrors(serviceMonitorSchema, o);
    if (o.kind === 'PrometheusRule') return schemaErrors(prometheusRuleSchema, o);
  }
  return [`no schema known for ${o.apiVersion} ${o.kind}`];
}

function checkScopes(objs: Obj[], where: string): void {
  const seen = new Set<string>();
  for (const o of objs) {
    const id = `${o.apiVersion} ${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
    assert.ok(!seen.has(id), `${where}: ${id} appears twice`);
    seen.add(id);
    if (isClusterScoped(o, definitions)) assert.equal(o.metadata.namespace, undefined, `${where}: cluster-scoped ${o.kind} ${o.metadata.name} has a namespace`);
    else assert.equal(o.metadata.namespace, NAMESPACE, `${where}: ${o.kind} ${o.metadata.name} is not in ${NAMESPACE}`);
    assert.equal(o.metadata.labels?.['app.kubernetes.io/part-of'], 'petrel', `${where}: ${o.kind} ${o.metadata.name} lacks the part-of label`);
  }
}

test('every YAML file under deploy/ that is a plain manifest validates against its schema', async () => {
  const files: string[] = [];
  (function walk(d: string) {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      // deploy/samples/ (the CRD engineer's, valid and deliberately invalid) is judged in samples.test.ts.
      if (statSync(p).isDirectory()) { if (p !== join(DEPLOY, 'samples')) walk(p); }
      else if (/\.ya?ml$/.test(e) && e !== 'kustomization.yaml') files.push(p);
    }
  })(DEPLOY);
  assert.ok(files.length >= 15, `found only ${files.length} manifests`);
  const bad: string[] = [];
  for (const f of files) {
    const objs = readYaml(f);
    // Strategic-merge patches are partial objects; they are validated as part of the builds below.
    if (/overlays\/.*\/agent-not-on-reflectors\.yaml$/.test(f)) continue;
    for (const o of objs) for (const p of await problems(o)) bad.push(`${relative(ROOT, f)}: ${o.kind} ${o.metadata?.name}: ${p}`);
  }
  assert.deepEqual(bad, []);
});

for (const overlay of OVERLAYS) {
  test(`kubectl kustomize deploy/overlays/${overlay} builds, and every object validates and sits in the right scope`, async (t) => {
    if (!haveKubectl()) return t.skip(KUBECTL_SKIP);
    const objs = kustomize(join(DEPLOY, 'overlays', overlay));
    assert.ok(objs.length >= 10, `${objs.length} objects`);
    const bad: string[] = [];
    for (const o of objs) for (const p of await problems(o)) bad.push(`${o.kind} ${o.metadata?.name}: ${p}`);
    assert.deepEqual(bad, []);
    checkScopes(objs, overlay);
    const kinds = new Set(objs.map((o) => o.kind));
    for (const k of ['Namespace', 'CustomResourceDefinition', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'DaemonSet', 'Service', 'BGPConfiguration']) {
      assert.ok(kinds.has(k), `${overlay} has no ${k}`);
    }
    for (const o of objs.filter((x) => x.kind === 'DaemonSet' || x.kind === 'Deployment')) {
      for (const c of o.spec.template.spec.containers) assert.match(c.image, /^[^:]+\/petrel:\d+\.\d+\.\d+$/, `${o.metadata.name} image ${c.image}`);
    }
  });

  test(`deploy/overlays/${overlay} with components/monitoring builds and validates`, async (t) => {
    if (!haveKubectl()) return t.skip(KUBECTL_SKIP);
    const objs = kustomizeWith(overlay, ['monitoring']);
    const bad: string[] = [];
    for (const o of objs) for (const p of await problems(o)) bad.push(`${o.kind} ${o.metadata?.name}: ${p}`);
    assert.deepEqual(bad, []);
    checkScopes(objs, `${overlay}+monitoring`);
    const kinds = objs.map((o) => o.kind);
    for (const k of ['ServiceMonitor', 'PrometheusRule', 'ConfigMap']) assert.ok(kinds.includes(k), `no ${k}`);
  });
}

test('the overlays differ where they must: mesh on and no reflector, or mesh off with two reflectors kept apart', (t) => {
  if (!haveKubectl()) return t.skip(KUBECTL_SKIP);
  assert.deepEqual(OVERLAYS, ['full-mesh', 'route-reflectors']);
  const mesh = kustomize(join(DEPLOY, 'overlays', 'full-mesh'));
  assert.equal(mesh.find((o) => o.kind === 'BGPConfiguration')?.spec.nodeToNodeMesh, true);
  assert.ok(!mesh.some((o) => o.kind === 'Deployment'));
  const rr = kustomize(join(DEPLOY, 'overlays', 'route-reflectors'));
  assert.equal(rr.find((o) => o.kind === 'BGPConfiguration')?.spec.nodeToNodeMesh, false);
  const peers = rr.filter((o) => o.kind === 'BGPPeer').map((o) => [o.metadata.name, o.spec.nodeSelector, o.spec.peerSelector]);
  assert.deepEqual(peers, [
    ['rr-clients', '!has(petrel.dev/route-reflector)', 'has(petrel.dev/route-reflector)'],
    ['rr-mesh', 'has(petrel.dev/route-reflector)', 'has(petrel.dev/route-reflector)'],
  ]);
  const dep = rr.find((o) => o.kind === 'Deployment' && o.metadata.name === 'petrel-reflector');
  assert.equal(dep?.spec.replicas, 2);
  const ds = rr.find((o) => o.kind === 'DaemonSet')!;
  const terms = ds.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
  assert.deepEqual(terms, [{ matchExpressions: [{ key: 'petrel.dev/route-reflector', operator: 'DoesNotExist' }] }]);
  const refl = dep!.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
  assert.deepEqual(refl, [{ matchExpressions: [{ key: 'petrel.dev/route-reflector', operator: 'Exists' }] }]);
});

test('the schema checks can fail: a wrong type, an unknown field and a bad custom resource are each refused', async () => {
  const ds = readYaml(join(DEPLOY, 'base', 'agent-daemonset.yaml'))[0];
  const wrongType = structuredClone(ds);
  wrongType.spec.template.spec.containers[0].ports[0].containerPort = '179';
  assert.notEqual((await problems(wrongType)).length, 0);
  const conf = readYaml(join(DEPLOY, 'overlays', 'full-mesh', 'bgpconfiguration.yaml'))[0];
  assert.deepEqual(await problems(conf), []);
  const typo = structuredClone(conf);
  typo.spec.nodeToNodeMeshh = true;
  assert.match((await problems(typo)).join('\n'), /nodeToNodeMeshh: unknown field/);
  const badHold = structuredClone(conf);
  badHold.spec.holdTime = 2; // RFC 4271 §4.2: 0 or at least 3
  assert.notEqual((await problems(badHold)).length, 0);
  const sm = readYaml(join(DEPLOY, 'components', 'monitoring', 'servicemonitor.yaml'))[0];
  const smTypo = structuredClone(sm);
  smTypo.spec.endpoints[0].intervall = '30s';
  assert.notEqual((await problems(smTypo)).length, 0);
  const rule = readYaml(join(DEPLOY, 'components', 'monitoring', 'prometheusrule.yaml'))[0];
  const badFor = structuredClone(rule);
  badFor.spec.groups[0].rules[0].for = '5 minutes';
  assert.notEqual((await problems(badFor)).length, 0);
});
