/**
 * Test helpers for deploy/: build overlays with `kubectl kustomize` (offline), read YAML streams,
 * and validate objects against the schemas that would judge them in a cluster:
 *   - built-in kinds: Kubernetes' own OpenAPI schemas as compiled by kubernetes-models 4.5.1;
 *   - Petrel's custom resources: the openAPIV3Schema of our CRDs, checked the way the lab's API
 *     server checks them (src/lab/apiserver/resources.ts: JSON Schema validation + strict unknown
 *     fields, as kubectl apply asks for);
 *   - ServiceMonitor / PrometheusRule: the operator's CRDs are not available offline, so a schema
 *     of the subset we use (monitoring-schemas.ts), plus promtool on the rules themselves.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { crdResources, pruneAndDefault } from '../../src/lab/apiserver/resources.js';
import { hasCommand } from '../../src/lab/netns.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>;

export const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
export const DEPLOY = join(ROOT, 'deploy');
export const OVERLAYS = readdirSync(join(DEPLOY, 'overlays')).sort();
export const NAMESPACE = 'petrel-system';

/** Why the kustomize tests skip when haveKubectl() is false. */
export const KUBECTL_SKIP = 'needs kubectl >= 1.21 (its kustomize builds components and `labels`; Debian 12\'s kubernetes-client is 1.20)';

let kubectlOk: boolean | undefined;
/** A kubectl whose built-in kustomize can build deploy/ (1.21 and later: components, `labels`). */
export function haveKubectl(): boolean {
  if (kubectlOk !== undefined) return kubectlOk;
  if (!hasCommand('kubectl')) return (kubectlOk = false);
  const r = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8', timeout: 30_000 });
  let v: { major?: string; minor?: string } = {};
  try {
    v = (JSON.parse(r.stdout) as { clientVersion?: typeof v }).clientVersion ?? {};
  } catch { /* an unreadable answer: too old or broken */ }
  return (kubectlOk = Number(v.major) > 1 || (Number(v.major) === 1 && parseInt(v.minor ?? '', 10) >= 21));
}

export function parseYamlStream(text: string, source: string): Obj[] {
  const out: Obj[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`${source}: ${doc.errors[0].message}`);
    const v = doc.toJS();
    if (v !== null && v !== undefined) out.push(v as Obj);
  }
  return out;
}

export function readYaml(path: string): Obj[] {
  return parseYamlStream(readFileSync(path, 'utf8'), relative(ROOT, path));
}

/** `kubectl kustomize DIR`, parsed. Throws with kubectl's message on failure. */
export function kustomize(dir: string): Obj[] {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${relative(ROOT, dir)} failed: ${r.stderr || r.error}`);
  return parseYamlStream(r.stdout, `kustomize ${relative(ROOT, dir)}`);
}

/** An overlay with extra components, built from a temporary kustomization next to nothing of ours. */
export function kustomizeWith(overlay: string, components: string[]): Obj[] {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-kustomize-'));
  try {
    const rel = (p: string) => relative(dir, p);
    writeFileSync(join(dir, 'kustomization.yaml'), [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      `  - ${rel(join(DEPLOY, 'overlays', overlay))}`,
      'components:',
      ...components.map((c) => `  - ${rel(join(DEPLOY, 'components', c))}`),
      '',
    ].join('\n'));
    return kustomize(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function crdFiles(): string[] {
  const dir = join(DEPLOY, 'base', 'crds');
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(dir, f));
}

export function crds(): Obj[] {
  return crdFiles().flatMap(readYaml).filter((o) => o.kind === 'CustomResourceDefinition');
}

/** kubernetes-models module path for a built-in apiVersion/kind, e.g. apps/v1 DaemonSet → kubernetes-models/apps/v1/DaemonSet. */
function modelPath(apiVersion: string, kind: string): string {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

export const BUILTIN_GROUPS = new Set(['v1', 'apps/v1', 'policy/v1', 'rbac.authorization.k8s.io/v1', 'apiextensions.k8s.io/v1', 'scheduling.k8s.io/v1', 'networking.k8s.io/v1']);

/** Validates a built-in object with kubernetes-models; returns the error text or undefined. */
export async function validateBuiltin(o: Obj): Promise<string | undefined> {
  const mod = (await import(modelPath(o.apiVersion, o.kind))) as Record<string, new (d: Obj) => { validate(): void }>;
  const Model = mod[o.kind];
  if (!Model) return `kubernetes-models has no ${o.apiVersion} ${o.kind}`;
  try {
    new Model(o).validate();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Validates a Petrel custom resource against its CRD as the API server would (strict fields). */
export function validateCustom(o: Obj, definitions: Obj[]): string[] {
  const [group, version] = String(o.apiVersion).split('/');
  const crd = definitions.find((c) => c.spec.group === group && c.spec.names.kind === o.kind);
  if (!crd) return [`no CRD for ${o.apiVersion} ${o.kind}`];
  const rt = crdResources(crd).find((r) => r.version === version);
  if (!rt || !rt.schema || !rt.validate) return [`CRD ${crd.metadata.name} does not serve ${version} with a schema`];
  const copy = structuredClone(o);
  const unknown = pruneAndDefault(rt.schema, copy);
  const errors = rt.validate(copy).map((e: { field: string; message: string }) => `${e.field}: ${e.message}`);
  return [...unknown.map((f) => `${f}: unknown field`), ...errors];
}

/** Cluster-scoped built-in kinds we use; custom kinds take their scope from the CRD. */
export const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PriorityClass', 'Node']);

export function isClusterScoped(o: Obj, definitions: Obj[]): boolean {
  if (CLUSTER_SCOPED.has(o.kind)) return true;
  const crd = definitions.find((c) => `${c.spec.group}/${c.spec.versions[0].name}` === o.apiVersion && c.spec.names.kind === o.kind);
  return crd ? crd.spec.scope === 'Cluster' : false;
}

export function find(objs: Obj[], kind: string, name: string): Obj {
  const o = objs.find((x) => x.kind === kind && x.metadata?.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in the build`);
  return o;
}

export function sampleFiles(): string[] {
  const dir = join(DEPLOY, 'samples');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort().map((f) => join(dir, f));
}
