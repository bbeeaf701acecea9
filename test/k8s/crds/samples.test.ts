// The sample custom resources under deploy/samples/: the valid ones pass the schema (as the API
// server would check them, defaults first) and convert cleanly; each invalid-*.yaml is refused by the
// schema *and* by resources.ts, on the field its first comment line names: "# INVALID (spec.x): why".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { parseAllDocuments, parse } from 'yaml';
import Value from 'typebox/value';
import { crdFor } from '../../../src/k8s/crds/schemas.js';
import { crdFileName, objectSchema } from '../../../src/k8s/crds/render.js';
import { convertBgpConfiguration, convertBgpPeer, convertIpPool, type Converted } from '../../../src/k8s/resources.js';

const dir = new URL('../../../deploy/samples/', import.meta.url);
const convert: Record<string, (o: unknown) => Converted<unknown>> = {
  BGPConfiguration: convertBgpConfiguration,
  BGPPeer: convertBgpPeer,
  IPPool: convertIpPool,
};

/** Both the typebox schema and the rendered CRD's openAPIV3Schema (what an API server holds). */
function schemaChecks(doc: any): { typebox: boolean; crd: boolean } {
  const def = crdFor(doc.kind);
  assert.ok(def, `known kind ${doc.kind}`);
  const full = objectSchema(def);
  const typebox = Value.Check(full, Value.Default(full, structuredClone(doc)));
  const crdDoc = parse(readFileSync(new URL(`../base/crds/${crdFileName(def)}`, dir), 'utf8'));
  const crdSchema = crdDoc.spec.versions[0].schema.openAPIV3Schema;
  const crd = Value.Check(crdSchema, Value.Default(crdSchema, structuredClone(doc)));
  return { typebox, crd };
}

const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

test('there are valid and invalid samples of every kind', () => {
  for (const kind of ['BGPConfiguration', 'BGPPeer', 'IPPool']) {
    const kinds = (f: string) => parseAllDocuments(readFileSync(new URL(f, dir), 'utf8')).map((d) => d.toJS().kind);
    assert.ok(files.some((f) => !f.startsWith('invalid-') && kinds(f).includes(kind)), `valid ${kind}`);
    assert.ok(files.some((f) => f.startsWith('invalid-') && kinds(f).includes(kind)), `invalid ${kind}`);
  }
});

for (const f of files) {
  const text = readFileSync(new URL(f, dir), 'utf8');
  const docs = parseAllDocuments(text).map((d) => d.toJS());
  if (!f.startsWith('invalid-')) {
    test(`sample ${f} passes the CRD schema and converts`, () => {
      for (const doc of docs) {
        assert.deepEqual(schemaChecks(doc), { typebox: true, crd: true }, doc.metadata.name);
        const r = convert[doc.kind](doc);
        assert.ok('ok' in r, JSON.stringify(r));
      }
    });
  } else {
    const field = /^# INVALID \(([^)]+)\)/.exec(text)?.[1];
    test(`sample ${f} is refused by the CRD schema and by resources.ts on ${field}`, () => {
      assert.ok(field, 'the first line names the bad field');
      assert.equal(docs.length, 1);
      assert.deepEqual(schemaChecks(docs[0]), { typebox: false, crd: false });
      const r = convert[docs[0].kind](docs[0]);
      assert.ok('error' in r);
      assert.equal(r.error.field, field, r.error.message);
      assert.equal(r.error.name, docs[0].metadata.name);
      assert.equal(r.error.kind, docs[0].kind);
    });
  }
}
