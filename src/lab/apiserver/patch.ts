/**
 * The three PATCH flavours kube-apiserver accepts (apply-patch is not served here):
 *   application/merge-patch+json          RFC 7386: objects merge recursively, null deletes, arrays replace.
 *   application/json-patch+json           RFC 6902: add/remove/replace/move/copy/test over JSON Pointers (RFC 6901).
 *   application/strategic-merge-patch+json  Kubernetes' own: like merge patch, but lists tagged
 *       `patchStrategy:"merge"` in the Go types merge element-wise by their `patchMergeKey` (Node
 *       status.conditions and status.addresses by `type`, pod containers by `name`, ...), with the directives
 *       `$patch: replace|delete`, `$deleteFromPrimitiveList/<f>`, `$setElementOrder/<f>` and `$retainKeys`.
 *       Custom resources have no Go types, so the apiserver refuses strategic merge for them (415).
 * What burned us: a naive merge patch of node conditions replaces the whole list, wiping the kubelet's
 * Ready condition; kubectl and the agent both rely on merge-by-type.
 */
import { ApiStatusError } from './status.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const isObj = (v: unknown): v is Record<string, Json> => !!v && typeof v === 'object' && !Array.isArray(v);

/** RFC 7386 §2 MergePatch(Target, Patch). */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObj(target) ? structuredClone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function unescapePointer(tok: string): string {
  return tok.replace(/~1/g, '/').replace(/~0/g, '~'); // RFC 6901 §4: ~1 before ~0
}

function parsePointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw ApiStatusError.badRequest(`json patch: invalid pointer ${p}`);
  return p.slice(1).split('/').map(unescapePointer);
}

function resolveParent(doc: Json, toks: string[]): { parent: Json; key: string } {
  let cur = doc;
  for (const t of toks.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(t)] : isObj(cur) ? cur[t] : undefined;
    if (cur === undefined) throw ApiStatusError.badRequest(`json patch: path not found: /${toks.join('/')}`);
  }
  return { parent: cur, key: toks[toks.length - 1] };
}

function getAt(doc: Json, toks: string[]): Json {
  let cur = doc;
  for (const t of toks) {
    cur = Array.isArray(cur) ? cur[Number(t)] : isObj(cur) ? cur[t] : undefined;
    if (cur === undefined) throw ApiStatusError.badRequest(`json patch: path not found: /${toks.join('/')}`);
  }
  return cur;
}

function addAt(doc: Json, toks: string[], value: Json): Json {
  if (toks.length === 0) return value;
  const { parent, key } = resolveParent(doc, toks);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(i) || i < 0 || i > parent.length) throw ApiStatusError.badRequest(`json patch: bad array index ${key}`);
    parent.splice(i, 0, value);
  } else if (isObj(parent)) parent[key] = value;
  else throw ApiStatusError.badRequest('json patch: parent is not a container');
  return doc;
}

function removeAt(doc: Json, toks: string[]): Json {
  const { parent, key } = resolveParent(doc, toks);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!(i >= 0 && i < parent.length)) throw ApiStatusError.badRequest(`json patch: bad array index ${key}`);
    parent.splice(i, 1);
  } else if (isObj(parent) && key in parent) delete parent[key];
  else throw ApiStatusError.badRequest(`json patch: path not found: /${toks.join('/')}`);
  return doc;
}

function deepEqual(a: Json, b: Json): boolean {
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}
function canon(v: Json): Json {
  if (Array.isArray(v)) return v.map(canon);
  if (isObj(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]));
  return v;
}

/** RFC 6902 §4: operations apply in order; any failure aborts the whole patch. */
export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw ApiStatusError.badRequest('json patch: the patch must be an array of operations');
  let doc = structuredClone(target);
  for (const op of ops) {
    const path = parsePointer(String(op.path ?? ''));
    switch (op.op) {
      case 'add': doc = addAt(doc, path, structuredClone(op.value)); break;
      case 'remove': doc = removeAt(doc, path); break;
      case 'replace': getAt(doc, path); doc = path.length ? addAt(removeAt(doc, path), path, structuredClone(op.value)) : structuredClone(op.value); break;
      case 'move': { const from = parsePointer(op.from); const v = getAt(doc, from); doc = addAt(removeAt(doc, from), path, v); break; }
      case 'copy': doc = addAt(doc, path, structuredClone(getAt(doc, parsePointer(op.from)))); break;
      case 'test': if (!deepEqual(getAt(doc, path), op.value)) throw new ApiStatusError(422, 'Invalid', `json patch: test failed at ${op.path}`); break;
      default: throw ApiStatusError.badRequest(`json patch: unknown op ${String(op.op)}`);
    }
  }
  return doc;
}

/**
 * Merge keys of the lists we serve, from the Go struct tags (`patchStrategy:"merge" patchMergeKey:"..."`)
 * in k8s.io/api core/v1 and apimachinery meta/v1. A key of '' marks a merged list of primitives.
 */
const MERGE_KEYS: Record<string, string> = {
  'metadata.ownerReferences': 'uid',
  'metadata.finalizers': '',
  'status.conditions': 'type',
  'status.addresses': 'type',
  'status.volumesAttached': 'name',
  'spec.containers': 'name',
  'spec.initContainers': 'name',
  'spec.ephemeralContainers': 'name',
  'spec.volumes': 'name',
  'spec.imagePullSecrets': 'name',
  'spec.tolerations': '',
  'status.podIPs': 'ip',
  'spec.containers.env': 'name',
  'spec.containers.ports': 'containerPort',
  'spec.containers.volumeMounts': 'mountPath',
};
// NodeSpec.Taints carries no patchStrategy in k8s.io/api: a taint list is replaced, as here.

/** Strategic merge patch of `target` (a built-in object) with `patch`. */
export function strategicMergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) throw ApiStatusError.badRequest('strategic merge patch: the patch must be a JSON object');
  return smpObject(isObj(target) ? target : {}, patch, '');
}

function smpObject(orig: Record<string, Json>, patch: Record<string, Json>, path: string): Json {
  if (patch.$patch === 'replace') {
    const { $patch: _drop, ...rest } = patch;
    return stripDirectives(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out = structuredClone(orig);
  const retain = Array.isArray(patch.$retainKeys) ? new Set<string>(patch.$retainKeys) : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[f]) && Array.isArray(v)) out[f] = out[f].filter((x: Json) => !v.includes(x));
      continue;
    }
    const p = path ? `${path}.${k}` : k;
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v) && p in MERGE_KEYS && Array.isArray(out[k])) {
      out[k] = smpList(out[k], v, MERGE_KEYS[p], p);
    } else if (isObj(v)) {
      const merged = smpObject(isObj(out[k]) ? out[k] : {}, v, p);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else {
      out[k] = stripDirectives(structuredClone(v));
    }
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.has(k)) delete out[k];
  return out;
}

function smpList(orig: Json[], patch: Json[], key: string, path: string): Json[] {
  if (patch.length === 1 && isObj(patch[0]) && patch[0].$patch === 'replace') return [];
  if (key === '') {
    const out = [...orig];
    for (const v of patch) if (!out.some((x) => deepEqual(x, v))) out.push(v);
    return out;
  }
  const out = structuredClone(orig);
  for (const el of patch) {
    if (!isObj(el) || !(key in el)) throw ApiStatusError.badRequest(`strategic merge patch: element of ${path} has no merge key ${key}`);
    const i = out.findIndex((x: Json) => isObj(x) && x[key] === el[key]);
    if (el.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) {
      out[i] = smpObject(out[i], el, path);
    } else {
      out.push(stripDirectives(structuredClone(el)));
    }
  }
  return out;
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (isObj(v)) {
    const out: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x);
    return out;
  }
  return v;
}

export type PatchType = 'merge' | 'json' | 'strategic';

export function patchTypeOf(contentType: string | undefined): PatchType {
  const ct = (contentType ?? '').split(';')[0].trim();
  if (ct === 'application/merge-patch+json') return 'merge';
  if (ct === 'application/json-patch+json') return 'json';
  if (ct === 'application/strategic-merge-patch+json') return 'strategic';
  throw ApiStatusError.unsupportedMediaType(ct);
}

export function applyPatch(type: PatchType, target: Json, patch: Json): Json {
  if (type === 'merge') return mergePatch(target, patch);
  if (type === 'json') return jsonPatch(target, patch);
  return strategicMergePatch(target, patch);
}
