/**
 * An in-memory Kubernetes API server for tests and the lab demo, written to behave as kube-apiserver
 * documents (api-concepts: "Efficient detection of changes", "Retrieving large results sets in chunks",
 * "Resource versions"; and the patch/CRD/discovery docs), checked against Debian's kubectl.
 *
 *   - REST: get/list/create/update(PUT)/patch/delete, /status subresources (the main endpoint ignores status
 *     changes and /status ignores everything else, as the registry strategies do — but a Node's /status
 *     also takes metadata edits, as kube-apiserver's node status strategy does), 409 on a stale
 *     metadata.resourceVersion, 404 for objects in namespaces that do not exist.
 *   - list: limit/continue paging from one snapshot; an expired continue token is an HTTP 410.
 *   - watch: from resourceVersion (replaying history), or from "now" with synthetic ADDED events when the
 *     resourceVersion is "" or "0"; selector transitions become ADDED/DELETED; BOOKMARKs every
 *     bookmarkIntervalMs when allowWatchBookmarks; closes after timeoutSeconds; a resourceVersion older
 *     than the compacted revision gets a 200 stream whose only event is ERROR with a 410 Status.
 *   - field selectors per resource, label selectors (=, ==, !=, in, notin, exists, !exists).
 *   - CRDs: served as soon as created; objects pruned, defaulted and validated against the schema.
 *   - auth: bearer tokens (rotatable) and, over HTTPS, client certificates from its own CA.
 *   - an optional hook sees every resource request's RBAC attributes (verb, group, resource, subresource).
 *   - faults (see `Faults`): watch ERROR 410s and HTTP 410s, silent stalls, connection resets, restarts,
 *     500s, token rotation. Tests drive them; nothing here fires on its own.
 * Everything is single-threaded and synchronous between awaits, so a watch never misses an event that
 * happens between its replay and its live subscription.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { randomBytes } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { ApiStatusError } from './status.js';
import { Store, objectKey } from './store.js';
import { builtinResources, crdResources, invalidUnknownFields, pruneAndDefault, type ResourceType } from './resources.js';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { applyPatch, patchTypeOf } from './patch.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, openApiV3Doc, openApiV3Root, SERVER_VERSION, toTable, wantsTable } from './discovery.js';
import { makeTestPki, type TestPki } from './tls.js';
import { serveWatch, type WatchConn } from './watch.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ApiServerOptions {
  host?: string;
  port?: number;
  /** Serve HTTPS with a fresh test PKI (true) or the given one. */
  tls?: boolean | TestPki;
  /** Accepted bearer tokens; empty = anonymous requests are allowed. */
  tokens?: string[];
  bookmarkIntervalMs?: number;
  startRevision?: number;
  /** Namespaces that exist from the start. */
  namespaces?: string[];
  /**
   * Called for every resource request the server understood, with the request's RBAC attributes (what an
   * authorizer sees: verb, API group, resource, subresource), before it is answered. Tests use it to
   * compare what a component asks for with what its ClusterRole grants.
   */
  onResourceRequest?: (r: ResourceRequest) => void;
}

/** The RBAC attributes of one request (kube-apiserver's authorizer.Attributes, as far as Petrel needs them). */
export interface ResourceRequest {
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';
  apiGroup: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}


/** Fault injection, for tests. Each call acts once, on what is open or on the next N requests. */
export class Faults {
  /** Next N requests (optionally only those whose path and query match) are answered with `code`. */
  failNext(n: number, code = 500, match?: RegExp): void { this.rules.push({ n, code, match }); }
  /** Next N matching requests are never answered (the connection stays open): a hung apiserver. */
  hangNext(n: number, match?: RegExp): void { this.rules.push({ n, code: 0, match }); }
  /** @internal */ rules: Array<{ n: number; code: number; match?: RegExp }> = [];
  /** @internal */ take(url: string): number | undefined {
    for (const r of this.rules) {
      if (r.n > 0 && (!r.match || r.match.test(url))) {
        r.n--;
        return r.code;
      }
    }
    this.rules = this.rules.filter((r) => r.n > 0);
    return undefined;
  }
}

export class TestApiServer {
  readonly store: Store;
  readonly faults = new Faults();
  readonly pki: TestPki | undefined;
  private readonly types = new Map<string, ResourceType>();
  private readonly tokens: Set<string>;
  private readonly opts: ApiServerOptions;
  private server: Server | undefined;
  private port = 0;
  private readonly sockets = new Set<Socket>();
  private readonly watches = new Set<WatchConn>();
  /** How watch events are written (see watch()); tests change it to exercise client line splitting. */
  watchWrites: { pieceBytes?: number; batch?: boolean } = {};
  /** The last 2000 requests as "METHOD path?query", for tests that check what a client asked for. */
  readonly requestLog: string[] = [];
  /** Counters, for tests that need to know a fault was actually hit. */
  readonly stats = { requests: 0, watches: 0, lists: 0, unauthorized: 0, injected: 0 };

  constructor(opts: ApiServerOptions = {}) {
    this.opts = opts;
    this.store = new Store(opts.startRevision ?? 1000);
    this.tokens = new Set(opts.tokens ?? []);
    this.pki = opts.tls === true ? makeTestPki(opts.host ?? '127.0.0.1') : opts.tls || undefined;
    for (const t of builtinResources()) this.types.set(t.id, t);
    for (const ns of opts.namespaces ?? ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.store.create('/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
    }
  }

  /** Watches open right now (tests wait for a client's watch before injecting a fault into it). */
  get openWatches(): number { return this.watches.size; }

  get url(): string {
    const host = this.opts.host ?? '127.0.0.1';
    return `${this.pki ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
  }

  async start(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) => { void this.handle(req, res); };
    this.server = this.pki
      ? createHttpsServer({ cert: this.pki.serverCert, key: this.pki.serverKey, ca: this.pki.caCert, requestCert: true, rejectUnauthorized: false }, handler)
      : createHttpServer(handler);
    this.server.keepAliveTimeout = 30_000;
    // The raw TCP 'connection' (also for HTTPS, so sockets still in their TLS handshake are tracked too).
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port || this.opts.port || 0, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const w of [...this.watches]) w.close('destroy');
    for (const s of this.sockets) s.destroy();
    const srv = this.server;
    this.server = undefined;
    if (srv) {
      const closed = new Promise<void>((resolve) => srv.close(() => resolve()));
      srv.closeAllConnections();
      await closed;
    }
  }

  /** Stop and listen again on the same port; the stored state survives (it lives in "etcd"). */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  // ---- faults on open connections ----------------------------------------------------------------

  /** Every open watch gets `ERROR` with a 410 Status (the 200-stream form of "Gone") and is closed. */
  expireWatches(): number { return this.closeWatches('expire'); }
  /** Every open watch ends normally (as at its timeoutSeconds). */
  endWatches(): number { return this.closeWatches('end'); }
  /** Every open watch stops receiving anything (no events, no bookmarks) until the client gives up. */
  stallWatches(): number {
    for (const w of this.watches) w.stalled = true;
    return this.watches.size;
  }
  /** Destroys every TCP connection (watches and idle keep-alive sockets alike). */
  resetConnections(): number {
    const n = this.sockets.size;
    for (const s of this.sockets) s.destroy();
    return n;
  }
  private closeWatches(how: 'end' | 'expire'): number {
    const n = this.watches.size;
    for (const w of [...this.watches]) w.close(how);
    return n;
  }
  /** etcd compaction at the current revision; optionally expire open watches at once. */
  compact(expireOpenWatches = false): void {
    this.store.compact();
    if (expireOpenWatches) this.expireWatches();
  }
  /** Replaces the accepted tokens: requests still using an old one get 401. */
  rotateTokens(tokens: string[]): void {
    this.tokens.clear();
    for (const t of tokens) this.tokens.add(t);
  }

  // ---- direct access for tests and the lab ----------------------------------------------------------

  resourceFor(apiVersion: string, kind: string): ResourceType {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    for (const t of this.types.values()) if (t.group === group && t.version === version && t.kind === kind) return t;
    throw ApiStatusError.notFound('resource', `${apiVersion} ${kind}`);
  }
  /** Writes through the same path as a REST create (validation included). */
  create(obj: Obj): Obj { return this.doCreate(this.resourceFor(obj.apiVersion, obj.kind), structuredClone(obj), false); }
  update(obj: Obj, opts: { status?: boolean } = {}): Obj {
    const t = this.resourceFor(obj.apiVersion, obj.kind);
    return this.doUpdate(t, structuredClone(obj), opts.status ?? false, false);
  }
  delete(apiVersion: string, kind: string, name: string, namespace?: string): Obj {
    const t = this.resourceFor(apiVersion, kind);
    const key = namespace ? `${namespace}/${name}` : name;
    return this.afterDelete(t, this.store.delete(t.id, key));
  }
  get(apiVersion: string, kind: string, name: string, namespace?: string): Obj | undefined {
    return this.store.get(this.resourceFor(apiVersion, kind).id, namespace ? `${namespace}/${name}` : name);
  }
  list(apiVersion: string, kind: string): Obj[] {
    return this.store.list(this.resourceFor(apiVersion, kind).id).map((e) => e.object);
  }

  // ---- HTTP ------------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.requests++;
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      this.requestLog.push(`${req.method} ${url.pathname}${url.search}`);
      if (this.requestLog.length > 2000) this.requestLog.splice(0, this.requestLog.length - 2000);
      const injected = this.faults.take(`${req.method} ${url.pathname}${url.search}`);
      if (injected !== undefined) {
        this.stats.injected++;
        await drain(req);
        if (injected === 0) return; // hang: no answer at all
        if (injected === 410) throw ApiStatusError.expired('too old resource version (injected)');
        if (injected === 401) throw ApiStatusError.unauthorized();
        throw new ApiStatusError(injected, injected >= 500 ? 'InternalError' : 'BadRequest', `injected failure ${injected}`);
      }
      this.authenticate(req);
      await this.route(req, res, url);
    } catch (e) {
      const err = e instanceof ApiStatusError ? e : ApiStatusError.internal(String((e as Error)?.message ?? e));
      if (err.httpCode === 401) this.stats.unauthorized++;
      if (!res.headersSent) send(res, err.httpCode, err.toStatus());
      else res.destroy();
    }
  }

  private authenticate(req: IncomingMessage): void {
    const path = (req.url ?? '').split('?')[0];
    if (['/healthz', '/readyz', '/livez', '/version'].includes(path)) return;
    const sock = req.socket as TLSSocket;
    if (this.pki && sock.authorized && sock.getPeerCertificate?.()?.subject) return;
    if (this.tokens.size === 0) return;
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m || !this.tokens.has(m[1])) throw ApiStatusError.unauthorized();
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const p = url.pathname.replace(/\/+$/, '') || '/';
    const types = [...this.types.values()];
    const method = req.method ?? 'GET';
    if (method === 'GET') {
      if (p === '/healthz' || p === '/readyz' || p === '/livez') return void sendText(res, 200, 'ok');
      if (p === '/version') return void send(res, 200, SERVER_VERSION);
      if (p === '/api') return void send(res, 200, apiVersions(`${this.opts.host ?? '127.0.0.1'}:${this.port}`));
      if (p === '/apis') return void send(res, 200, apiGroupList(types));
      if (p === '/openapi/v3') return void send(res, 200, openApiV3Root(types));
      const o = /^\/openapi\/v3\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(p);
      if (o) {
        const doc = openApiV3Doc(types, o[1] ? '' : o[2], o[1] ?? o[3]);
        if (!doc) throw new ApiStatusError(404, 'NotFound', 'the server could not find the requested resource');
        return void send(res, 200, doc);
      }
      if (p === '/api/v1') return void send(res, 200, apiResourceList(types, '', 'v1'));
      let m = /^\/apis\/([^/]+)$/.exec(p);
      if (m) {
        const g = apiGroup(types, m[1]);
        if (!g) throw new ApiStatusError(404, 'NotFound', 'the server could not find the requested resource');
        return void send(res, 200, g);
      }
      m = /^\/apis\/([^/]+)\/([^/]+)$/.exec(p);
      if (m) {
        const l = apiResourceList(types, m[1], m[2]);
        if (!l) throw new ApiStatusError(404, 'NotFound', 'the server could not find the requested resource');
        return void send(res, 200, l);
      }
    }
    const r = this.parseResourcePath(p);
    if (!r) throw new ApiStatusError(404, 'NotFound', 'the server could not find the requested resource');
    const { t, namespace, name, sub } = r;
    const q = url.searchParams;
    if (this.opts.onResourceRequest) {
      const watch = q.get('watch') === 'true' || q.get('watch') === '1';
      const verb = ({ GET: name ? 'get' : watch ? 'watch' : 'list', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as const)[method as 'GET'];
      if (verb) this.opts.onResourceRequest({ verb, apiGroup: t.group, resource: t.plural, ...(sub ? { subresource: sub } : {}), ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) });
    }
    if (method === 'GET' && !name) {
      if (q.get('watch') === 'true' || q.get('watch') === '1') return this.watch(req, res, t, namespace, q);
      return this.listHandler(req, res, t, namespace, q);
    }
    if (method === 'POST' && !name) {
      const obj = await readBody(req);
      if (namespace) {
        obj.metadata = obj.metadata ?? {};
        if (obj.metadata.namespace && obj.metadata.namespace !== namespace) throw ApiStatusError.badRequest('the namespace of the provided object does not match the namespace sent on the request');
        obj.metadata.namespace = namespace;
      }
      return void send(res, 201, this.doCreate(t, obj, q.get('fieldValidation') === 'Strict'));
    }
    if (!name) throw ApiStatusError.methodNotAllowed(`${method} is not supported on a collection`);
    const key = namespace ? `${namespace}/${name}` : name;
    if (method === 'GET') {
      const o = this.store.get(t.id, key);
      if (!o) throw ApiStatusError.notFound(t.plural, name, t.group);
      if (wantsTable(req.headers.accept)) return void send(res, 200, toTable(t, [o], { resourceVersion: o.metadata.resourceVersion }));
      return void send(res, 200, o);
    }
    if (method === 'PUT') {
      const obj = await readBody(req);
      if (obj.metadata?.name !== name) throw ApiStatusError.badRequest('the name of the object does not match the name on the URL');
      if (namespace) obj.metadata.namespace = namespace;
      return void send(res, 200, this.doUpdate(t, obj, sub === 'status', q.get('fieldValidation') === 'Strict'));
    }
    if (method === 'PATCH') {
      const type = patchTypeOf(req.headers['content-type']);
      if (type === 'strategic' && t.crd) throw ApiStatusError.unsupportedMediaType('application/strategic-merge-patch+json (not supported for custom resources)');
      const patch = await readBody(req, true);
      const cur = this.store.get(t.id, key);
      if (!cur) throw ApiStatusError.notFound(t.plural, name, t.group);
      const next = applyPatch(type, cur, patch);
      if (!next || typeof next !== 'object' || next.metadata?.name !== name) throw ApiStatusError.badRequest('the patch may not change the name of the object');
      return void send(res, 200, this.doUpdate(t, next, sub === 'status', q.get('fieldValidation') === 'Strict'));
    }
    if (method === 'DELETE') {
      await drain(req);
      const cur = this.store.get(t.id, key);
      if (!cur) throw ApiStatusError.notFound(t.plural, name, t.group);
      return void send(res, 200, this.afterDelete(t, this.store.delete(t.id, key)));
    }
    throw ApiStatusError.methodNotAllowed(`${method} is not supported`);
  }

  private parseResourcePath(p: string): { t: ResourceType; namespace?: string; name?: string; sub?: string } | undefined {
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.+)$/.exec(p);
    if (!m) return undefined;
    const group = m[1] ? '' : m[2];
    const version = m[1] ?? m[3];
    const parts = m[4].split('/');
    let namespace: string | undefined;
    // /api/v1/namespaces/<ns>/<plural>/... names a namespaced resource; /api/v1/namespaces/<ns>[/status] the namespace itself.
    if (parts[0] === 'namespaces' && parts.length >= 3 && this.types.get(`${group}/${version}/${parts[2]}`)?.namespaced) {
      namespace = parts[1];
      parts.splice(0, 2);
    }
    const t = this.types.get(`${group}/${version}/${parts[0]}`);
    if (!t || parts.length > 3) return undefined;
    if (t.namespaced && !namespace && parts.length > 1) return undefined; // items need their namespace
    const sub = parts[2];
    if (sub !== undefined && !(sub === 'status' && t.statusSubresource)) return undefined;
    return { t, namespace, name: parts[1], sub };
  }

  private doCreate(t: ResourceType, obj: Obj, strict: boolean): Obj {
    obj.metadata = obj.metadata ?? {};
    this.checkTypeMeta(t, obj);
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = `${obj.metadata.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
    if (t.namespaced) {
      obj.metadata.namespace = obj.metadata.namespace || 'default';
      if (!this.store.get('/v1/namespaces', obj.metadata.namespace)) throw ApiStatusError.notFound('namespaces', obj.metadata.namespace);
    } else delete obj.metadata.namespace;
    delete obj.metadata.resourceVersion;
    if (t.crd && t.statusSubresource) delete obj.status;
    if (t.kind === 'Pod') obj.status = { phase: 'Pending' };
    if (t.kind === 'CustomResourceDefinition') obj.status = crdStatus(obj);
    this.prepareCustom(t, obj, strict);
    this.validate(t, obj);
    if (this.store.get(t.id, objectKey(obj))) throw ApiStatusError.alreadyExists(t.plural, obj.metadata.name, t.group);
    const created = this.store.create(t.id, obj);
    if (t.kind === 'CustomResourceDefinition') this.registerCrd(created);
    return created;
  }

  private doUpdate(t: ResourceType, obj: Obj, statusOnly: boolean, strict: boolean): Obj {
    obj.metadata = obj.metadata ?? {};
    this.checkTypeMeta(t, obj);
    const key = objectKey(obj);
    const cur = this.store.get(t.id, key);
    if (!cur) throw ApiStatusError.notFound(t.plural, obj.metadata.name, t.group);
    let next: Obj;
    // kube-apiserver's node status strategy resets only the spec (pkg/registry/core/node/strategy.go,
    // nodeStatusStrategy.PrepareForUpdate and GetResetFields): a Node's /status also takes metadata edits,
    // which is how node agents (flannel, calico-node, Petrel) write their own annotations with
    // nodes/status rights only. Every other status subresource keeps all but the status.
    if (statusOnly && t.kind === 'Node' && t.group === '') next = { ...obj, spec: cur.spec };
    else if (statusOnly) next = { ...cur, status: obj.status, metadata: { ...cur.metadata, resourceVersion: obj.metadata.resourceVersion } };
    else if (t.statusSubresource) next = { ...obj, status: cur.status };
    else next = obj;
    if (t.kind === 'CustomResourceDefinition') next.status = crdStatus(next);
    this.prepareCustom(t, next, strict);
    this.validate(t, next);
    let updated: Obj;
    try {
      updated = this.store.update(t.id, next, next.metadata.resourceVersion);
    } catch (e) {
      if (e instanceof ApiStatusError && e.httpCode === 409) throw ApiStatusError.conflict(t.plural, obj.metadata.name, t.group);
      throw e;
    }
    if (t.kind === 'CustomResourceDefinition') this.registerCrd(updated);
    return updated;
  }

  private afterDelete(t: ResourceType, deleted: Obj): Obj {
    if (t.kind === 'CustomResourceDefinition') {
      for (const [id, rt] of this.types) {
        if (rt.crd === deleted.metadata.name) {
          this.store.dropResource(id);
          this.types.delete(id);
        }
      }
    }
    return deleted;
  }

  private checkTypeMeta(t: ResourceType, obj: Obj): void {
    const apiVersion = t.group ? `${t.group}/${t.version}` : t.version;
    if ((obj.apiVersion && obj.apiVersion !== apiVersion) || (obj.kind && obj.kind !== t.kind)) {
      throw ApiStatusError.badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersion})`);
    }
    obj.apiVersion = apiVersion;
    obj.kind = t.kind;
  }

  private prepareCustom(t: ResourceType, obj: Obj, strict: boolean): void {
    if (!t.schema) return;
    const dropped = pruneAndDefault(t.schema, obj);
    if (strict && dropped.length) throw invalidUnknownFields(t.kind, obj.metadata.name, dropped);
  }

  private validate(t: ResourceType, obj: Obj): void {
    const causes = t.validate?.(obj) ?? [];
    if (causes.length) throw ApiStatusError.invalid(t.kind, String(obj.metadata?.name), causes, t.group);
  }

  private registerCrd(crd: Obj): void {
    for (const [id, rt] of this.types) if (rt.crd === crd.metadata.name) this.types.delete(id);
    for (const rt of crdResources(crd)) this.types.set(rt.id, rt);
  }

  private selectors(t: ResourceType, namespace: string | undefined, q: URLSearchParams): (o: Obj) => boolean {
    const fields = parseFieldSelector(q.get('fieldSelector'), t.fieldSelectors);
    const labels = parseLabelSelector(q.get('labelSelector'));
    return (o) => (!namespace || o.metadata?.namespace === namespace) && matchFields(fields, o) && matchLabels(labels, o.metadata?.labels);
  }

  private listHandler(req: IncomingMessage, res: ServerResponse, t: ResourceType, namespace: string | undefined, q: URLSearchParams): void {
    this.stats.lists++;
    const match = this.selectors(t, namespace, q);
    const limit = Number(q.get('limit') ?? 0);
    let at = this.store.revision;
    let after = '';
    const cont = q.get('continue');
    if (cont) {
      let tok: { rv: number; start: string };
      try {
        tok = JSON.parse(Buffer.from(cont, 'base64url').toString('utf8'));
      } catch {
        throw ApiStatusError.badRequest('continue key is not valid');
      }
      if (tok.rv < this.store.compactedRevision) {
        throw ApiStatusError.expired('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
      }
      at = tok.rv;
      after = tok.start;
    } else if (q.get('resourceVersionMatch') === 'Exact' && q.get('resourceVersion')) {
      at = Number(q.get('resourceVersion'));
    }
    const all = this.store.list(t.id, at).filter((e) => e.key > after && match(e.object));
    const page = limit > 0 ? all.slice(0, limit) : all;
    const meta: Obj = { resourceVersion: String(at) };
    if (limit > 0 && all.length > limit) {
      meta.continue = Buffer.from(JSON.stringify({ rv: at, start: page[page.length - 1].key })).toString('base64url');
      meta.remainingItemCount = all.length - limit;
    }
    const items = page.map((e) => e.object);
    if (wantsTable(req.headers.accept)) return void send(res, 200, toTable(t, items, meta));
    const apiVersion = t.group ? `${t.group}/${t.version}` : t.version;
    // Built-in lists carry no per-item kind/apiVersion (the apiserver strips TypeMeta); custom resources keep them.
    const out = t.crd ? items : items.map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
    send(res, 200, { kind: t.listKind, apiVersion, metadata: meta, items: out });
  }

  private watch(req: IncomingMessage, res: ServerResponse, t: ResourceType, namespace: string | undefined, q: URLSearchParams): void {
    this.stats.watches++;
    serveWatch({ store: this.store, watches: this.watches, writes: this.watchWrites, bookmarkIntervalMs: this.opts.bookmarkIntervalMs ?? 60_000 },
      req, res, t, this.selectors(t, namespace, q), q);
  }
}

function crdStatus(crd: Obj): Obj {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    acceptedNames: crd.spec?.names ?? {},
    storedVersions: (crd.spec?.versions ?? []).filter((v: Obj) => v.storage).map((v: Obj) => v.name),
    conditions: [
      { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: now },
      { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: now },
    ],
  };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
  res.end(text);
}

function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function drain(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function readBody(req: IncomingMessage, allowArray = false): Promise<Obj> {
  const raw = (await drain(req)).toString('utf8');
  const ct = (req.headers['content-type'] ?? '').split(';')[0].trim();
  let v: unknown;
  try {
    v = ct === 'application/yaml' || ct === 'application/apply-patch+yaml' ? parseYaml(raw) : JSON.parse(raw);
  } catch (e) {
    throw ApiStatusError.badRequest(`unable to decode the request body: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || (Array.isArray(v) && !allowArray)) throw ApiStatusError.badRequest('the request body must be an object');
  return v as Obj;
}
