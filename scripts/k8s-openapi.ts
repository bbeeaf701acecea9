/**
 * The subset OpenAPI spec of exactly the Kubernetes calls Petrel makes, and the client generated from it.
 *
 *   node --import tsx scripts/k8s-openapi.ts extract --from <upstream swagger.json> [--crds deploy/base/crds]
 *       writes src/k8s/openapi/spec.json
 *   node --import tsx scripts/k8s-openapi.ts refresh-crds [--crds deploy/base/crds]
 *       re-renders only the petrel.dev definitions of the committed spec (after a CRD schema change)
 *   node --import tsx scripts/k8s-openapi.ts generate [--out DIR]
 *       runs @hey-api/openapi-ts over src/k8s/openapi/spec.json into DIR (default src/k8s/openapi/gen)
 *
 * Provenance. The upstream document is kube-apiserver's Swagger 2.0 spec, api/openapi-spec/swagger.json of
 * kubernetes/kubernetes. It cannot be downloaded on the build machines, so the copy used was taken from
 * kubernetes-client/javascript at commit 072811b3615b6d97a56448c89f6674574cebd0bb, file
 * src/gen/swagger.json.unprocessed (their `settings` pins KUBERNETES_BRANCH=v1.35.0; sha256
 * c316f6e232c666148076e82e20371ff656ffbb12e59d8953e6d94ec7685bc75c). The source's sha256 and Kubernetes
 * version are recorded in the subset's `info` so a later extraction from another release shows up in review.
 *
 * What is kept: the operations in CORE_OPS (verbatim, with `$ref` parameters inlined), every definition they
 * reach (transitively, verbatim), and the security definition. Our CRDs (petrel.dev/v1) are not in the
 * upstream spec: their paths are written here the way kube-apiserver publishes CRD paths (operationIds
 * list/read/readStatus/patchStatus + Group + Version + Kind), and their definitions come from the
 * openAPIV3Schema of the rendered manifests in deploy/base/crds/*.yaml (with metadata pointing at ObjectMeta,
 * as the apiserver does when it publishes a CRD). Without those manifests a CRD's spec/status stay open
 * objects. Output is deterministic: keys sorted, two-space JSON, trailing newline.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SPEC_PATH = join(root, 'src/k8s/openapi/spec.json');
export const GEN_DIR = join(root, 'src/k8s/openapi/gen');

/** path → methods we call. Watches are the list operation with `watch=true` (the /watch/ paths are deprecated). */
const CORE_OPS: Record<string, string[]> = {
  '/api/v1/nodes': ['get'], // listCoreV1Node (list + watch)
  '/api/v1/nodes/{name}': ['get', 'patch'], // readCoreV1Node, patchCoreV1Node (merge: the agent's own annotations)
  '/api/v1/nodes/{name}/status': ['get', 'patch'], // readCoreV1NodeStatus, patchCoreV1NodeStatus (merge + strategic)
  '/api/v1/pods': ['get'], // listCoreV1PodForAllNamespaces (fieldSelector=spec.nodeName=<node>)
  '/api/v1/namespaces/{namespace}/secrets/{name}': ['get'], // readCoreV1NamespacedSecret (BGP passwords)
  '/api/v1/namespaces/{namespace}/events': ['post'], // createCoreV1NamespacedEvent
};

/** Our cluster-scoped custom resources. */
export const PETREL_KINDS = [
  { kind: 'BGPConfiguration', plural: 'bgpconfigurations' },
  { kind: 'BGPPeer', plural: 'bgppeers' },
  { kind: 'IPPool', plural: 'ippools' },
] as const;
const GROUP = 'petrel.dev';
const VERSION = 'v1';
const DEF_PREFIX = 'dev.petrel.v1.';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

function sortKeys(v: Json): Json {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Json = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k]);
    return out;
  }
  return v;
}

function refsIn(v: Json, acc: Set<string>): void {
  if (Array.isArray(v)) for (const x of v) refsIn(x, acc);
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string' && x.startsWith('#/definitions/')) acc.add(x.slice('#/definitions/'.length));
      else refsIn(x, acc);
    }
  }
}

function inlineParams(params: Json[] | undefined, up: Json): Json[] | undefined {
  if (!params) return undefined;
  return params.map((p) => {
    if (p.$ref) {
      const name = String(p.$ref).replace('#/parameters/', '');
      const def = up.parameters?.[name];
      if (!def) throw new Error(`upstream parameter ${name} missing`);
      return structuredClone(def);
    }
    return p;
  });
}

/** A CRD's openAPIV3Schema turned into a Swagger 2.0 definition the way the apiserver publishes it. */
function crdDefinition(schema: Json | undefined, kind: string): Json {
  const clean = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(clean);
    if (v && typeof v === 'object') {
      const out: Json = {};
      for (const [k, x] of Object.entries(v)) {
        if (k.startsWith('x-kubernetes-') || k === 'nullable' || k === 'default') continue;
        out[k] = clean(x);
      }
      return out;
    }
    return v;
  };
  const def: Json = schema ? clean(schema) : {
    type: 'object',
    properties: { spec: { type: 'object', additionalProperties: true }, status: { type: 'object', additionalProperties: true } },
  };
  def.type = 'object';
  def.properties = def.properties ?? {};
  def.properties.apiVersion = { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' };
  def.properties.kind = { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' };
  def.properties.metadata = { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' };
  def['x-kubernetes-group-version-kind'] = [{ group: GROUP, kind, version: VERSION }];
  return def;
}

function readCrdSchemas(dir: string): Map<string, Json> {
  const out = new Map<string, Json>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml') || n.endsWith('.yml')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const crd = doc.toJS();
      if (crd?.kind !== 'CustomResourceDefinition' || crd.spec?.group !== GROUP) continue;
      const v = (crd.spec.versions ?? []).find((x: Json) => x.name === VERSION);
      if (v?.schema?.openAPIV3Schema) out.set(crd.spec.names.kind, v.schema.openAPIV3Schema);
    }
  }
  return out;
}

function crdPaths(up: Json): Json {
  const p = (name: string): Json => structuredClone(up.parameters[Object.keys(up.parameters).find((k) => k.startsWith(`${name}-`))!]);
  const listParams = ['allowWatchBookmarks', 'continue', 'fieldSelector', 'labelSelector', 'limit', 'resourceVersion',
    'resourceVersionMatch', 'timeoutSeconds', 'watch'].map(p);
  const paths: Json = {};
  for (const { kind, plural } of PETREL_KINDS) {
    const gvk = { group: GROUP, kind, version: VERSION };
    const ref = { $ref: `#/definitions/${DEF_PREFIX}${kind}` };
    const nameParam = { description: `name of the ${kind}`, in: 'path', name: 'name', required: true, type: 'string', uniqueItems: true };
    const common = { consumes: ['*/*'], produces: ['application/json', 'application/yaml'], schemes: ['https'], tags: [`${GROUP.replace('.', '')}_${VERSION}`] };
    paths[`/apis/${GROUP}/${VERSION}/${plural}`] = {
      get: { ...common, produces: [...common.produces, 'application/json;stream=watch'], description: `list or watch objects of kind ${kind}`,
        operationId: `listPetrelDevV1${kind}`, parameters: listParams,
        responses: { 200: { description: 'OK', schema: { $ref: `#/definitions/${DEF_PREFIX}${kind}List` } }, 401: { description: 'Unauthorized' } },
        'x-kubernetes-action': 'list', 'x-kubernetes-group-version-kind': gvk },
    };
    paths[`/apis/${GROUP}/${VERSION}/${plural}/{name}`] = {
      get: { ...common, description: `read the specified ${kind}`, operationId: `readPetrelDevV1${kind}`,
        responses: { 200: { description: 'OK', schema: ref }, 401: { description: 'Unauthorized' } },
        'x-kubernetes-action': 'get', 'x-kubernetes-group-version-kind': gvk },
      parameters: [nameParam],
    };
    const patchBody = { in: 'body', name: 'body', required: true, schema: { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch' } };
    paths[`/apis/${GROUP}/${VERSION}/${plural}/{name}/status`] = {
      get: { ...common, description: `read status of the specified ${kind}`, operationId: `readPetrelDevV1${kind}Status`,
        responses: { 200: { description: 'OK', schema: ref }, 401: { description: 'Unauthorized' } },
        'x-kubernetes-action': 'get', 'x-kubernetes-group-version-kind': gvk },
      patch: { ...common, consumes: ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'],
        description: `partially update status of the specified ${kind}`, operationId: `patchPetrelDevV1${kind}Status`,
        parameters: [patchBody, p('fieldManager'), { in: 'query', name: 'fieldValidation', type: 'string', uniqueItems: true,
          description: 'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.' }],
        responses: { 200: { description: 'OK', schema: ref }, 401: { description: 'Unauthorized' } },
        'x-kubernetes-action': 'patch', 'x-kubernetes-group-version-kind': gvk },
      parameters: [nameParam],
    };
  }
  return paths;
}

export function extract(upstreamText: string, crdDir: string): Json {
  const up = JSON.parse(upstreamText);
  const paths: Json = {};
  for (const [path, methods] of Object.entries(CORE_OPS)) {
    const src = up.paths[path];
    if (!src) throw new Error(`upstream has no path ${path}`);
    const out: Json = {};
    for (const m of methods) {
      if (!src[m]) throw new Error(`upstream has no ${m} ${path}`);
      out[m] = { ...src[m], parameters: inlineParams(src[m].parameters, up) };
    }
    if (src.parameters) out.parameters = inlineParams(src.parameters, up);
    paths[path] = out;
  }
  Object.assign(paths, crdPaths(up));

  const definitions: Json = crdDefinitions(crdDir);
  const todo = new Set<string>();
  refsIn(paths, todo);
  refsIn(definitions, todo);
  const seen = new Set<string>(Object.keys(definitions));
  while (todo.size) {
    const [name] = todo;
    todo.delete(name);
    if (seen.has(name)) continue;
    seen.add(name);
    const def = up.definitions[name];
    if (!def) throw new Error(`upstream has no definition ${name}`);
    definitions[name] = def;
    refsIn(def, todo);
  }
  const sha = createHash('sha256').update(upstreamText).digest('hex');
  return sortKeys({
    swagger: '2.0',
    info: {
      title: 'Petrel subset of the Kubernetes API',
      version: 'v1.35.0',
      description: `Extracted by scripts/k8s-openapi.ts from kube-apiserver swagger.json (${up.info?.version ?? '?'}; sha256 ${sha}) plus petrel.dev/v1 CRD paths. Do not edit by hand.`,
    },
    paths,
    definitions,
    securityDefinitions: up.securityDefinitions,
    security: up.security,
  });
}

/** The petrel.dev/v1 definitions (objects and lists) as rendered from the CRD manifests in `crdDir`. */
export function crdDefinitions(crdDir: string): Json {
  const schemas = readCrdSchemas(crdDir);
  const definitions: Json = {};
  for (const { kind } of PETREL_KINDS) {
    definitions[`${DEF_PREFIX}${kind}`] = crdDefinition(schemas.get(kind), kind);
    definitions[`${DEF_PREFIX}${kind}List`] = {
      type: 'object', required: ['items'],
      properties: {
        apiVersion: { type: 'string' }, kind: { type: 'string' },
        items: { type: 'array', items: { $ref: `#/definitions/${DEF_PREFIX}${kind}` } },
        metadata: { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta' },
      },
      'x-kubernetes-group-version-kind': [{ group: GROUP, kind: `${kind}List`, version: VERSION }],
    };
  }
  return sortKeys(definitions);
}

/**
 * Replaces the petrel.dev definitions of the committed spec with those rendered from the CRD manifests,
 * keeping everything taken from upstream as it is (so a CRD change needs no upstream file).
 */
export function refreshCrds(specText: string, crdDir: string): Json {
  const spec = JSON.parse(specText);
  for (const k of Object.keys(spec.definitions)) if (k.startsWith(DEF_PREFIX)) delete spec.definitions[k];
  Object.assign(spec.definitions, crdDefinitions(crdDir));
  return sortKeys(spec);
}

export async function generate(outDir: string, specPath = SPEC_PATH): Promise<void> {
  const { createClient } = await import('@hey-api/openapi-ts');
  mkdirSync(outDir, { recursive: true });
  await createClient({
    input: specPath,
    output: { path: outDir, postProcess: [], clean: true },
    plugins: ['@hey-api/client-fetch', '@hey-api/typescript', '@hey-api/sdk'],
    logs: { level: 'silent' },
  } as never);
}

async function main(argv: string[]): Promise<void> {
  const opt = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (argv[0] === 'extract') {
    const from = opt('--from');
    if (!from) throw new Error('extract needs --from <upstream swagger.json>');
    const spec = extract(readFileSync(from, 'utf8'), resolve(opt('--crds') ?? join(root, 'deploy/base/crds')));
    mkdirSync(dirname(SPEC_PATH), { recursive: true });
    writeFileSync(SPEC_PATH, `${JSON.stringify(spec, null, 2)}\n`);
    console.log(`wrote ${SPEC_PATH}: ${Object.keys(spec.paths).length} paths, ${Object.keys(spec.definitions).length} definitions`);
  } else if (argv[0] === 'refresh-crds') {
    const spec = refreshCrds(readFileSync(SPEC_PATH, 'utf8'), resolve(opt('--crds') ?? join(root, 'deploy/base/crds')));
    writeFileSync(SPEC_PATH, `${JSON.stringify(spec, null, 2)}\n`);
    console.log(`refreshed petrel.dev definitions in ${SPEC_PATH}`);
  } else if (argv[0] === 'generate') {
    await generate(resolve(opt('--out') ?? GEN_DIR));
  } else {
    console.error('usage: k8s-openapi.ts extract --from FILE [--crds DIR] | refresh-crds [--crds DIR] | generate [--out DIR]');
    process.exitCode = 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
