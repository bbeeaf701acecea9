/**
 * Discovery documents (legacy, unaggregated form) and server-side Table printing, as kubectl reads them.
 * kubectl asks for aggregated discovery (Accept: ...;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList) and
 * falls back to these documents when the answer is plain application/json, as with pre-1.26 servers.
 * `kubectl get` asks for `as=Table`; a Table carries column definitions and one row per object with its
 * metadata (PartialObjectMetadata), which kubectl prints as-is. CRD printer columns use simple JSONPaths.
 */
import type { ResourceType } from './resources.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const SERVER_VERSION = {
  major: '1', minor: '32', gitVersion: 'v1.32.4-petrel-test', gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.25', compiler: 'gc', platform: 'linux/amd64',
};

export function groupVersions(types: ResourceType[]): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const t of types) {
    if (!m.has(t.group)) m.set(t.group, new Set());
    m.get(t.group)!.add(t.version);
  }
  return m;
}

export function apiVersions(address: string): Obj {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: address }] };
}

function groupDoc(name: string, versions: string[]): Obj {
  const sorted = [...versions].sort().reverse();
  return { name, versions: sorted.map((v) => ({ groupVersion: `${name}/${v}`, version: v })), preferredVersion: { groupVersion: `${name}/${sorted[0]}`, version: sorted[0] } };
}

export function apiGroupList(types: ResourceType[]): Obj {
  const groups = [...groupVersions(types)].filter(([g]) => g !== '').sort(([a], [b]) => a.localeCompare(b));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(([g, vs]) => groupDoc(g, [...vs])) };
}

export function apiGroup(types: ResourceType[], group: string): Obj | undefined {
  const vs = groupVersions(types).get(group);
  return vs ? { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(group, [...vs]) } : undefined;
}

export function apiResourceList(types: ResourceType[], group: string, version: string): Obj | undefined {
  const rs = types.filter((t) => t.group === group && t.version === version);
  if (!rs.length) return undefined;
  const resources: Obj[] = [];
  for (const t of rs) {
    resources.push({ name: t.plural, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: t.verbs,
      ...(t.shortNames.length ? { shortNames: t.shortNames } : {}), ...(t.crd ? { categories: ['petrel'] } : {}) });
    if (t.statusSubresource) resources.push({ name: `${t.plural}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] });
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

function age(ts: string | undefined, now: number): string {
  if (!ts) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h`;
}

function jsonPath(obj: Obj, path: string): unknown {
  let cur: unknown = obj;
  for (const p of path.replace(/^\./, '').split('.')) {
    const m = p.match(/^([^[]+)(?:\[(\d+)\])?$/);
    if (!m) return undefined;
    cur = cur && typeof cur === 'object' ? (cur as Obj)[m[1]] : undefined;
    if (m[2] !== undefined) cur = Array.isArray(cur) ? cur[Number(m[2])] : undefined;
  }
  return cur;
}

export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /as=Table/.test(accept.split(',')[0] ?? '');
}

export function toTable(t: ResourceType, objects: Obj[], listMeta: Obj | undefined, now = Date.now()): Obj {
  const cols = [{ name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 }];
  const extra = (t.printerColumns ?? []).filter((c) => c.name !== 'Age');
  for (const c of extra) cols.push({ name: c.name, type: c.type, format: '', description: c.description ?? '', priority: c.priority ?? 0 });
  cols.push({ name: 'Age', type: 'string', format: '', description: 'CreationTimestamp', priority: 0 });
  const rows = objects.map((o) => ({
    cells: [o.metadata?.name, ...extra.map((c) => { const v = jsonPath(o, c.jsonPath); return v === undefined ? null : v; }), age(o.metadata?.creationTimestamp, now)],
    object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
  }));
  return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: listMeta ?? {}, columnDefinitions: cols, rows };
}

/**
 * OpenAPI v3 discovery: `/openapi/v3` lists one document per group-version, and each document lists the
 * resource paths with their operations. kubectl reads it to decide whether the server validates fields
 * itself (a PATCH operation for the GVK with a `fieldValidation` query parameter); when it does, kubectl
 * sends fieldValidation=Strict and skips client-side validation, which would need the large /openapi/v2.
 */
export function openApiV3Root(types: ResourceType[]): Obj {
  const paths: Obj = {};
  for (const [g, vs] of groupVersions(types)) {
    for (const v of vs) {
      const gv = g ? `apis/${g}/${v}` : `api/${v}`;
      paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${hashOf(types, g, v)}` };
    }
  }
  return { paths };
}

function hashOf(types: ResourceType[], g: string, v: string): string {
  let h = 0;
  for (const t of types) if (t.group === g && t.version === v) for (const c of t.id + JSON.stringify(t.schema ?? '')) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h.toString(16).toUpperCase().padStart(8, '0');
}

export function openApiV3Doc(types: ResourceType[], group: string, version: string): Obj | undefined {
  const rs = types.filter((t) => t.group === group && t.version === version);
  if (!rs.length) return undefined;
  const paths: Obj = {};
  const schemas: Obj = {};
  const q = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });
  for (const t of rs) {
    const gvk = [{ group: t.group, version: t.version, kind: t.kind }];
    const base = `/${group ? `apis/${group}` : 'api'}/${version}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.plural}`;
    const op = (id: string, extra: Obj = {}) => ({ operationId: id, 'x-kubernetes-group-version-kind': gvk[0], ...extra });
    paths[base] = { get: op(`list${t.kind}`), post: op(`create${t.kind}`, { parameters: [q('fieldValidation'), q('fieldManager'), q('dryRun')] }) };
    paths[`${base}/{name}`] = {
      get: op(`read${t.kind}`),
      put: op(`replace${t.kind}`, { parameters: [q('fieldValidation'), q('fieldManager'), q('dryRun')] }),
      patch: op(`patch${t.kind}`, { parameters: [q('fieldValidation'), q('fieldManager'), q('dryRun'), q('force')] }),
      delete: op(`delete${t.kind}`),
    };
    if (t.schema) {
      const name = `${t.group.split('.').reverse().join('.')}.${t.version}.${t.kind}`;
      schemas[name] = { ...t.schema, 'x-kubernetes-group-version-kind': gvk };
    }
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: SERVER_VERSION.gitVersion }, paths, components: { schemas } };
}
