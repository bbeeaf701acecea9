import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { parse } from 'yaml';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { crdFileName, crdManifest, renderAllCrds, structuralViolations } from '../../../src/k8s/crds/render.js';
import { CRDS } from '../../../src/k8s/crds/schemas.js';

const dir = new URL('../../../deploy/base/crds/', import.meta.url);

test('the committed CRD manifests are exactly what scripts/gen-crds.ts generates (run npm run gen:crds)', () => {
  const files = renderAllCrds();
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort(), [...files.keys()].sort());
  for (const [name, text] of files) assert.equal(readFileSync(new URL(name, dir), 'utf8'), text, `${name} is stale`);
});

for (const def of CRDS) {
  test(`the ${def.kind} CRD is a valid apiextensions.k8s.io/v1 object with a structural schema`, () => {
    const obj = parse(readFileSync(new URL(crdFileName(def), dir), 'utf8'));
    assert.doesNotThrow(() => new CustomResourceDefinition(obj).validate());
    assert.equal(obj.metadata.name, `${def.plural}.petrel.dev`);
    assert.equal(obj.spec.scope, 'Cluster');
    const schema = obj.spec.versions[0].schema.openAPIV3Schema;
    assert.deepEqual(structuralViolations(schema), []);
    assert.ok(obj.spec.versions[0].additionalPrinterColumns.length >= 3);
    for (const col of obj.spec.versions[0].additionalPrinterColumns) {
      const path = col.jsonPath.split('.').slice(1);
      if (path[0] !== 'spec') continue;
      assert.ok(schema.properties.spec.properties[path[1]], `printer column ${col.name} points at a declared field`);
    }
  });
}

test('every leaf field of every CRD states its type and a description', () => {
  const walk = (s: Record<string, unknown>, path: string, out: string[]) => {
    const props = s.properties as Record<string, Record<string, unknown>> | undefined;
    for (const [k, sub] of Object.entries(props ?? {})) {
      if (!sub.type) out.push(`${path}.${k}: no type`);
      if (!sub.description && sub.type !== 'object') out.push(`${path}.${k}: no description`);
      walk(sub, `${path}.${k}`, out);
      if (sub.items) walk(sub.items as Record<string, unknown>, `${path}.${k}[]`, out);
    }
  };
  for (const def of CRDS) {
    const out: string[] = [];
    const spec = (crdManifest(def) as any).spec.versions[0].schema.openAPIV3Schema.properties.spec;
    walk(spec, `${def.kind}.spec`, out);
    assert.deepEqual(out, []);
  }
});

test('the structural-schema check catches what the API server refuses', () => {
  assert.deepEqual(structuralViolations({ type: 'object', properties: { a: { type: 'string' } } }), []);
  assert.equal(structuralViolations({ type: 'object', properties: { a: {} } }).length, 1); // no type
  assert.equal(structuralViolations({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false }).length, 1);
  assert.equal(structuralViolations({ type: 'string', anyOf: [{ type: 'string', const: 'x' }] }).length, 1); // type inside a junctor
  assert.equal(structuralViolations({ type: 'object', properties: { a: { type: 'string' } }, not: { properties: { b: { enum: ['x'] } } } }).length, 1);
  assert.equal(structuralViolations({ type: 'array', items: { properties: {} } }).length, 1);
});

test('docs/configuration.md documents every CRD field, node annotation and label', async () => {
  const { NODE_ANNOTATIONS, NODE_LABELS } = await import('../../../src/k8s/resources.js');
  const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
  const missing: string[] = [];
  const walk = (s: Record<string, any>, path: string) => {
    for (const [k, sub] of Object.entries<Record<string, any>>(s.properties ?? {})) {
      const p = path ? `${path}.${k}` : k;
      const leaf = !sub.properties && !sub.items?.properties;
      if (leaf && !doc.includes(`\`${p}\``)) missing.push(p);
      if (sub.properties) walk(sub, p);
      if (sub.items?.properties) walk(sub.items, `${p}[]`);
    }
  };
  for (const def of CRDS) walk(def.spec as Record<string, any>, '');
  for (const key of [...Object.values(NODE_ANNOTATIONS), ...Object.values(NODE_LABELS)]) if (!doc.includes(`\`${key}\``)) missing.push(key);
  assert.deepEqual(missing, []);
});
