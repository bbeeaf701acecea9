/**
 * Renders the typebox schemas of schemas.ts into CustomResourceDefinition manifests
 * (apiextensions.k8s.io/v1), and checks that what we render is a structural schema, because the API
 * server refuses a CRD whose schema is not (and a refusal there is found late, at deploy time).
 *
 * Output is deterministic (keys in a fixed order, YAML with no line wrapping) so that
 * scripts/gen-crds.ts can be re-run in a test and any diff against deploy/base/crds/ fails it.
 */
import Type, { type TSchema } from 'typebox';
import { stringify } from 'yaml';
import { API_VERSION, CRDS, GROUP, VERSION, type CrdDefinition } from './schemas.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * A JSON copy of a schema as a CRD wants it: no additionalProperties beside properties (Kubernetes
 * forbids it), and fields that have a default are not listed as required (the API server defaults
 * before it validates, so they are always present afterwards; k8s/resources.ts does the same with
 * Value.Default before Value.Check).
 */
export function toCrdSchema(schema: TSchema): Json {
  const walk = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    const props = v.properties;
    const defaulted = new Set<string>();
    if (props && typeof props === 'object' && !Array.isArray(props)) {
      for (const [k, p] of Object.entries(props)) if (p && typeof p === 'object' && 'default' in p) defaulted.add(k);
    }
    const out: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'additionalProperties' && 'properties' in v) continue;
      if (k === 'required' && Array.isArray(x) && 'properties' in v) {
        const req = x.filter((r) => typeof r === 'string' && !defaulted.has(r));
        if (req.length) out[k] = req;
        continue;
      }
      out[k] = walk(x);
    }
    return out;
  };
  return walk(JSON.parse(JSON.stringify(schema)) as Json);
}

const JUNCTORS = ['anyOf', 'oneOf', 'allOf', 'not'];
const FORBIDDEN_IN_JUNCTOR = ['type', 'default', 'description', 'additionalProperties', 'nullable'];

/**
 * Lists the ways `schema` is not structural (Kubernetes "Specifying a structural schema"):
 * a type on every node outside junctors; nothing of type/default/description/additionalProperties/
 * nullable inside anyOf/oneOf/allOf/not; every property named inside a junctor also declared outside;
 * no additionalProperties beside properties. Returns [] when structural.
 */
export function structuralViolations(schema: Json, path = '', inJunctor = false, declared: Set<string> = new Set()): string[] {
  const out: string[] = [];
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return [`${path || '/'}: not a schema object`];
  if (!inJunctor && !('type' in schema) && !schema['x-kubernetes-preserve-unknown-fields'] && !schema['x-kubernetes-int-or-string']) out.push(`${path || '/'}: no type`);
  if (inJunctor) for (const k of FORBIDDEN_IN_JUNCTOR) if (k in schema) out.push(`${path}: '${k}' inside a junctor`);
  if ('additionalProperties' in schema && 'properties' in schema) out.push(`${path}: additionalProperties beside properties`);
  const props = schema.properties;
  const here = new Set<string>(props && typeof props === 'object' && !Array.isArray(props) ? Object.keys(props) : []);
  if (props && typeof props === 'object' && !Array.isArray(props)) {
    for (const [k, sub] of Object.entries(props)) {
      if (inJunctor && !declared.has(k)) out.push(`${path}/properties/${k}: named in a junctor but not declared outside`);
      out.push(...structuralViolations(sub, `${path}/properties/${k}`, inJunctor, new Set()));
    }
  }
  if (schema.items !== undefined) out.push(...structuralViolations(schema.items, `${path}/items`, inJunctor));
  for (const j of JUNCTORS) {
    const v = schema[j];
    if (v === undefined) continue;
    const branches = Array.isArray(v) ? v : [v];
    branches.forEach((b, i) => out.push(...structuralViolations(b, `${path}/${j}${Array.isArray(v) ? `/${i}` : ''}`, true, inJunctor ? declared : here)));
  }
  return out;
}

/** The whole custom resource (apiVersion, kind, metadata, spec) as a typebox schema: samples are checked with it. */
export function objectSchema(def: CrdDefinition): TSchema {
  const spec = def.specRequired ? def.spec : Type.Optional(def.spec);
  return Type.Object({
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal(def.kind),
    metadata: Type.Object({ name: Type.String({ minLength: 1, maxLength: 253 }) }),
    spec,
  });
}

/** The CRD manifest of one kind, as a plain object. */
export function crdManifest(def: CrdDefinition): Record<string, unknown> {
  const openAPIV3Schema = {
    type: 'object',
    description: def.description,
    properties: {
      apiVersion: { type: 'string', description: 'petrel.dev/v1' },
      kind: { type: 'string', description: def.kind },
      metadata: { type: 'object' },
      spec: toCrdSchema(def.spec),
    },
    ...(def.specRequired ? { required: ['spec'] } : {}),
  };
  const bad = structuralViolations(openAPIV3Schema as Json);
  if (bad.length) throw new Error(`schema of ${def.kind} is not structural:\n${bad.join('\n')}`);
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'petrel' } },
    spec: {
      group: GROUP,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        ...(def.shortNames.length ? { shortNames: def.shortNames } : {}),
        categories: ['petrel'],
      },
      scope: 'Cluster',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema },
          additionalPrinterColumns: def.printerColumns,
        },
      ],
    },
  };
}

export function crdFileName(def: CrdDefinition): string {
  return `${def.plural}.${GROUP}.yaml`;
}

const HEADER = '# Generated by scripts/gen-crds.ts from src/k8s/crds/schemas.ts (npm run gen:crds). Do not edit.\n';

export function renderCrdYaml(def: CrdDefinition): string {
  return HEADER + stringify(crdManifest(def), { lineWidth: 0 });
}

/** Every CRD file: name → text. */
export function renderAllCrds(): Map<string, string> {
  return new Map(CRDS.map((d) => [crdFileName(d), renderCrdYaml(d)]));
}
