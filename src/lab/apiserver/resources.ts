/**
 * The resource types the test API server serves: the built-ins Petrel and kubectl touch, and whatever
 * CustomResourceDefinitions are created at run time.
 *
 * Custom resources follow apiextensions-apiserver: the CRD's openAPIV3Schema is structural, so on write the
 * server (1) prunes fields the schema does not declare (unless x-kubernetes-preserve-unknown-fields), or
 * refuses them when the client asked for fieldValidation=Strict (kubectl apply does), (2) applies `default`s,
 * (3) validates — here with typebox's JSON Schema checker (`typebox/schema`), which runs offline and
 * understands the draft-4-style keywords CRDs use (type, properties, required, enum, pattern, minimum,
 * maximum, minLength, items, format...). Validation failures are 422 Invalid with one cause per field.
 */
import { isIP } from 'node:net';
import Schema from 'typebox/schema';
import { Format } from 'typebox/format';
import { ApiStatusError } from './status.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface PrinterColumn { name: string; type: string; jsonPath: string; description?: string; priority?: number }

export interface ResourceType {
  id: string; // "<group>/<version>/<plural>"; the core group is ""
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  statusSubresource: boolean;
  fieldSelectors: readonly string[];
  verbs: string[];
  schema?: Obj; // openAPIV3Schema for custom resources
  printerColumns?: PrinterColumn[];
  crd?: string; // name of the CRD that defined it
  validate?: (obj: Obj) => Array<{ field: string; message: string }>;
}

// Formats kube-openapi checks that JSON Schema does not define (k8s.io/kube-openapi/pkg/validation/strfmt).
// `cidr` follows Go's net.ParseCIDR: an IP literal, '/', a prefix length within the family's width.
if (!Format.Has('cidr')) {
  Format.Set('cidr', (v) => {
    const m = /^([^/]+)\/(\d{1,3})$/.exec(v);
    const fam = m ? isIP(m[1]) : 0;
    return fam !== 0 && Number(m![2]) <= (fam === 4 ? 32 : 128);
  });
}
if (!Format.Has('mac')) Format.Set('mac', (v) => /^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(v));

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
const META_FIELDS = ['metadata.name', 'metadata.namespace'];

function builtin(group: string, plural: string, singular: string, kind: string, namespaced: boolean, extra: Partial<ResourceType> = {}): ResourceType {
  const version = 'v1';
  return { id: `${group}/${version}/${plural}`, group, version, plural, singular, kind, listKind: `${kind}List`, namespaced,
    shortNames: [], statusSubresource: false, fieldSelectors: META_FIELDS, verbs: VERBS, ...extra };
}

function requireName(obj: Obj): Array<{ field: string; message: string }> {
  const n = obj.metadata?.name;
  const out: Array<{ field: string; message: string }> = [];
  if (typeof n !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(n) || n.length > 253) {
    out.push({ field: 'metadata.name', message: `Invalid value: ${JSON.stringify(n)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'` });
  }
  return out;
}

export function builtinResources(): ResourceType[] {
  return [
    builtin('', 'namespaces', 'namespace', 'Namespace', false, { shortNames: ['ns'], statusSubresource: true, fieldSelectors: ['metadata.name', 'status.phase'] }),
    builtin('', 'nodes', 'node', 'Node', false, { shortNames: ['no'], statusSubresource: true, fieldSelectors: ['metadata.name', 'spec.unschedulable'] }),
    builtin('', 'pods', 'pod', 'Pod', true, { shortNames: ['po'], statusSubresource: true,
      fieldSelectors: [...META_FIELDS, 'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'] }),
    builtin('', 'secrets', 'secret', 'Secret', true, { fieldSelectors: [...META_FIELDS, 'type'] }),
    builtin('', 'events', 'event', 'Event', true, { shortNames: ['ev'],
      fieldSelectors: [...META_FIELDS, 'involvedObject.kind', 'involvedObject.name', 'involvedObject.namespace', 'involvedObject.uid', 'reason', 'type', 'source'] }),
    builtin('coordination.k8s.io', 'leases', 'lease', 'Lease', true),
    builtin('apiextensions.k8s.io', 'customresourcedefinitions', 'customresourcedefinition', 'CustomResourceDefinition', false,
      { shortNames: ['crd', 'crds'], statusSubresource: true, validate: validateCrd }),
  ].map((r) => ({ ...r, validate: r.validate ?? requireName }));
}

function validateCrd(crd: Obj): Array<{ field: string; message: string }> {
  const out = requireName(crd);
  const s = crd.spec ?? {};
  if (!s.group) out.push({ field: 'spec.group', message: 'Required value' });
  if (!s.names?.plural) out.push({ field: 'spec.names.plural', message: 'Required value' });
  if (!s.names?.kind) out.push({ field: 'spec.names.kind', message: 'Required value' });
  if (s.scope !== 'Cluster' && s.scope !== 'Namespaced') out.push({ field: 'spec.scope', message: 'Unsupported value: must be Cluster or Namespaced' });
  if (s.names?.plural && s.group && crd.metadata?.name !== `${s.names.plural}.${s.group}`) {
    out.push({ field: 'metadata.name', message: `Invalid value: "${crd.metadata?.name}": must be spec.names.plural+"."+spec.group` });
  }
  const versions: Obj[] = s.versions ?? [];
  if (!versions.length) out.push({ field: 'spec.versions', message: 'Required value' });
  if (versions.filter((v) => v.storage).length !== 1) out.push({ field: 'spec.versions', message: 'Invalid value: must have exactly one version marked as storage version' });
  versions.forEach((v, i) => {
    if (!v.schema?.openAPIV3Schema) out.push({ field: `spec.versions[${i}].schema.openAPIV3Schema`, message: 'Required value: schemas are required' });
  });
  return out;
}

/** Resource types for each served version of a CRD. */
export function crdResources(crd: Obj): ResourceType[] {
  const s = crd.spec;
  return (s.versions as Obj[]).filter((v) => v.served !== false).map((v) => ({
    id: `${s.group}/${v.name}/${s.names.plural}`,
    group: s.group, version: v.name, plural: s.names.plural, singular: s.names.singular ?? s.names.kind.toLowerCase(),
    kind: s.names.kind, listKind: s.names.listKind ?? `${s.names.kind}List`, namespaced: s.scope === 'Namespaced',
    shortNames: s.names.shortNames ?? [], statusSubresource: !!v.subresources?.status,
    fieldSelectors: META_FIELDS, verbs: VERBS, schema: v.schema.openAPIV3Schema,
    printerColumns: v.additionalPrinterColumns ?? [], crd: crd.metadata.name,
    validate: (obj: Obj) => [...requireName(obj), ...validateAgainstSchema(v.schema.openAPIV3Schema, obj)],
  }));
}

/** kube's structural-schema extensions are not JSON Schema keywords: remove them and `nullable`. */
function toJsonSchema(s: Obj): Obj {
  if (Array.isArray(s)) return s.map(toJsonSchema);
  if (!s || typeof s !== 'object') return s;
  const out: Obj = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith('x-kubernetes-') || k === 'nullable' || k === 'default' || k === 'description' || k === 'example') continue;
    if (k === 'properties') out[k] = Object.fromEntries(Object.entries(v as Obj).map(([pk, pv]) => [pk, toJsonSchema(pv as Obj)]));
    else out[k] = toJsonSchema(v as Obj);
  }
  if (s.nullable && typeof out.type === 'string') out.type = [out.type, 'null'];
  return out;
}

function validateAgainstSchema(schema: Obj, obj: Obj): Array<{ field: string; message: string }> {
  const js = toJsonSchema(schema);
  if (js.properties) delete js.properties.metadata; // metadata is validated by the server itself
  const { metadata: _m, ...rest } = obj;
  const [ok, errors] = Schema.Errors(js, rest);
  if (ok) return [];
  return errors
    .filter((e) => e.keyword !== 'boolean')
    .map((e) => ({ field: e.instancePath.slice(1).replace(/\//g, '.') || '<root>', message: e.message }));
}

/**
 * Structural pruning and defaulting (apiextensions "pruning" and "defaulting"). Returns the paths of the
 * fields that were dropped, so Strict field validation can refuse them instead.
 */
export function pruneAndDefault(schema: Obj, obj: Obj): string[] {
  const dropped: string[] = [];
  walk(schema, obj, '');
  return dropped;

  function walk(s: Obj | undefined, v: unknown, path: string): void {
    if (!s || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(s.items, x, `${path}[${i}]`));
      return;
    }
    const o = v as Obj;
    const props: Obj | undefined = s.properties;
    if (props) {
      for (const [k, ps] of Object.entries(props)) {
        if (o[k] === undefined && (ps as Obj).default !== undefined) o[k] = structuredClone((ps as Obj).default);
      }
    }
    for (const k of Object.keys(o)) {
      const p = path ? `${path}.${k}` : k;
      if (path === '' && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) continue;
      if (props && k in props) walk(props[k], o[k], p);
      else if (s.additionalProperties && typeof s.additionalProperties === 'object') walk(s.additionalProperties, o[k], p);
      else if (!s['x-kubernetes-preserve-unknown-fields'] && !s.additionalProperties) {
        dropped.push(p);
        delete o[k];
      }
    }
  }
}

export function invalidUnknownFields(kind: string, name: string, fields: string[]): ApiStatusError {
  return new ApiStatusError(400, 'BadRequest', `${kind} in version "v1" cannot be handled as a ${kind}: strict decoding error: ${fields.map((f) => `unknown field "${f}"`).join(', ')}`);
}
