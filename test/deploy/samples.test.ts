import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basename, join } from 'node:path';
import { DEPLOY, crds, readYaml, sampleFiles, validateCustom } from './manifests.js';

const definitions = crds();
const samples = sampleFiles();

test('the sample custom resources of deploy/samples/ validate against the CRDs, the invalid-* ones are refused', (t) => {
  if (samples.length === 0) return t.skip('deploy/samples/ has no sample yet');
  const good = samples.filter((f) => !basename(f).startsWith('invalid-'));
  const bad = samples.filter((f) => basename(f).startsWith('invalid-'));
  assert.ok(good.length > 0 && bad.length > 0, 'expected both valid and invalid samples');
  for (const f of good) {
    for (const o of readYaml(f)) assert.deepEqual(validateCustom(o, definitions), [], `${basename(f)} ${o.kind} ${o.metadata?.name}`);
  }
  for (const f of bad) {
    for (const o of readYaml(f)) assert.notDeepEqual(validateCustom(o, definitions), [], `${basename(f)} was accepted`);
  }
});

test('the custom resources the overlays install validate against the CRDs', () => {
  const files = ['full-mesh/bgpconfiguration.yaml', 'route-reflectors/bgpconfiguration.yaml', 'route-reflectors/bgppeer-route-reflectors.yaml'];
  for (const f of files) {
    const objs = readYaml(join(DEPLOY, 'overlays', f));
    assert.ok(objs.length >= 1);
    for (const o of objs) assert.deepEqual(validateCustom(o, definitions), [], `${f} ${o.metadata.name}`);
  }
});

test('every CRD the deploy references is one of the three Petrel CRDs, cluster-scoped, served and stored as v1', () => {
  assert.deepEqual(definitions.map((c) => c.metadata.name).sort(), ['bgpconfigurations.petrel.dev', 'bgppeers.petrel.dev', 'ippools.petrel.dev']);
  for (const c of definitions) {
    assert.equal(c.spec.group, 'petrel.dev');
    assert.equal(c.spec.scope, 'Cluster');
    assert.deepEqual(c.spec.versions.map((v: { name: string; served: boolean; storage: boolean }) => [v.name, v.served, v.storage]), [['v1', true, true]]);
  }
});
