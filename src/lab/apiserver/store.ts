/**
 * The test API server's storage: a small MVCC store shaped like etcd under kube-apiserver.
 *
 * - One global revision counter: every write (create, update, delete) of any resource takes the next
 *   revision, which becomes the object's metadata.resourceVersion (a delete's event carries the revision
 *   of the delete). Lists report the current revision.
 * - Every version of every object since the last compaction is kept, so a paged list can serve every page
 *   from the snapshot at the revision of its first page (as etcd does), and a watch can replay from any
 *   revision still held.
 * - compact(rev) forgets history up to rev: continue tokens and watches from older revisions then fail
 *   with 410 (Expired / "too old resource version"), which is exactly what a real cluster does to a
 *   client after etcd compaction (every 5 minutes by default) — the case list-watch clients get wrong.
 * Keys are `namespace/name` (or `name` for cluster-scoped objects); lists come out sorted by key.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { ApiStatusError } from './status.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  rv: number;
  resource: string; // ResourceType.id, e.g. "/v1/nodes" or "petrel.dev/v1/ippools"
  key: string;
  type: WatchEventType;
  object: Obj;
  previous?: Obj;
}

interface Version { rv: number; object: Obj | null }

export function objectKey(obj: Obj): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata.name}` : String(obj.metadata?.name);
}

export class Store extends EventEmitter {
  private rev: number;
  private compacted = 0;
  private readonly versions = new Map<string, Map<string, Version[]>>();
  private log: StoreEvent[] = [];

  constructor(startRevision = 1000) {
    super();
    this.setMaxListeners(0);
    this.rev = startRevision;
  }

  get revision(): number { return this.rev; }
  get compactedRevision(): number { return this.compacted; }

  private table(resource: string): Map<string, Version[]> {
    let t = this.versions.get(resource);
    if (!t) this.versions.set(resource, (t = new Map()));
    return t;
  }

  get(resource: string, key: string): Obj | undefined {
    const vs = this.versions.get(resource)?.get(key);
    const last = vs?.[vs.length - 1];
    return last?.object ? structuredClone(last.object) : undefined;
  }

  /** Objects of `resource` as of revision `at` (default: now), sorted by key. */
  list(resource: string, at = this.rev): Array<{ key: string; object: Obj }> {
    if (at < this.compacted) throw ApiStatusError.expired(`too old resource version: ${at} (${this.compacted})`);
    const out: Array<{ key: string; object: Obj }> = [];
    for (const [key, vs] of this.versions.get(resource) ?? []) {
      let v: Version | undefined;
      for (let i = vs.length - 1; i >= 0; i--) if (vs[i].rv <= at) { v = vs[i]; break; }
      if (v?.object) out.push({ key, object: v.object });
    }
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out.map((e) => ({ key: e.key, object: structuredClone(e.object) }));
  }

  private write(resource: string, key: string, type: WatchEventType, object: Obj | null, previous?: Obj): Obj {
    const rv = ++this.rev;
    const t = this.table(resource);
    let stored: Obj;
    if (object) {
      stored = structuredClone(object);
      stored.metadata.resourceVersion = String(rv);
    } else {
      stored = structuredClone(previous!);
      stored.metadata.resourceVersion = String(rv);
    }
    const vs = t.get(key) ?? [];
    vs.push({ rv, object: object ? stored : null });
    t.set(key, vs);
    const ev: StoreEvent = { rv, resource, key, type, object: stored, ...(previous ? { previous } : {}) };
    this.log.push(ev);
    this.emit('event', ev);
    return structuredClone(stored);
  }

  create(resource: string, obj: Obj, now = new Date()): Obj {
    const key = objectKey(obj);
    if (this.get(resource, key)) throw new ApiStatusError(409, 'AlreadyExists', `"${obj.metadata.name}" already exists`);
    const o = structuredClone(obj);
    o.metadata.uid = o.metadata.uid ?? randomUUID();
    o.metadata.creationTimestamp = now.toISOString().replace(/\.\d+Z$/, 'Z');
    o.metadata.generation = 1;
    return this.write(resource, key, 'ADDED', o);
  }

  /** Replaces the object; `expectRv` (when given) must equal the stored resourceVersion (optimistic concurrency). */
  update(resource: string, obj: Obj, expectRv?: string): Obj {
    const key = objectKey(obj);
    const cur = this.get(resource, key);
    if (!cur) throw new ApiStatusError(404, 'NotFound', `"${obj.metadata.name}" not found`);
    if (expectRv !== undefined && expectRv !== '' && expectRv !== cur.metadata.resourceVersion) {
      throw new ApiStatusError(409, 'Conflict', 'the object has been modified');
    }
    const o = structuredClone(obj);
    o.metadata.uid = cur.metadata.uid;
    o.metadata.creationTimestamp = cur.metadata.creationTimestamp;
    o.metadata.generation = cur.metadata.generation ?? 1;
    if (JSON.stringify(o.spec) !== JSON.stringify(cur.spec)) o.metadata.generation += 1;
    // An update that changes nothing writes nothing and keeps the resourceVersion (as the apiserver does).
    const a = { ...o, metadata: { ...o.metadata, resourceVersion: undefined, managedFields: undefined } };
    const b = { ...cur, metadata: { ...cur.metadata, resourceVersion: undefined, managedFields: undefined } };
    if (JSON.stringify(canon(a)) === JSON.stringify(canon(b))) return cur;
    return this.write(resource, key, 'MODIFIED', o, cur);
  }

  delete(resource: string, key: string, expectRv?: string): Obj {
    const cur = this.get(resource, key);
    if (!cur) throw new ApiStatusError(404, 'NotFound', `"${key}" not found`);
    if (expectRv && expectRv !== cur.metadata.resourceVersion) throw new ApiStatusError(409, 'Conflict', 'the object has been modified');
    return this.write(resource, key, 'DELETED', null, cur);
  }

  /** Drops every object of a resource (a deleted CRD takes its objects with it), with DELETED events. */
  dropResource(resource: string): void {
    for (const { key } of this.list(resource)) this.delete(resource, key);
    this.versions.delete(resource);
  }

  /** Events after revision `from`; 410 if `from` is older than the compacted revision. */
  eventsAfter(from: number, resource?: string): StoreEvent[] {
    if (from < this.compacted) throw ApiStatusError.expired(`too old resource version: ${from} (${this.compacted})`);
    const out: StoreEvent[] = [];
    for (const e of this.log) if (e.rv > from && (!resource || e.resource === resource)) out.push(e);
    return out;
  }

  /** etcd compaction: history at or before `upTo` is gone (only each object's current state survives). */
  compact(upTo = this.rev): void {
    if (upTo <= this.compacted) return;
    this.compacted = upTo;
    this.log = this.log.filter((e) => e.rv > upTo);
    for (const t of this.versions.values()) {
      for (const [key, vs] of t) {
        let keepFrom = 0;
        for (let i = 0; i < vs.length; i++) if (vs[i].rv <= upTo) keepFrom = i;
        const kept = vs.slice(keepFrom);
        if (kept.length === 1 && kept[0].object === null && kept[0].rv <= upTo) t.delete(key);
        else t.set(key, kept);
      }
    }
  }
}

export function canon(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().filter((k) => (v as Obj)[k] !== undefined).map((k) => [k, canon((v as Obj)[k])]));
  }
  return v;
}
