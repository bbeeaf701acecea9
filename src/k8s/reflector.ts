/**
 * List-watch reflector and informer cache, with client-go's semantics (tools/cache/reflector.go).
 *
 *   LIST (paged: limit/continue) → replace the cache, diffing against it (add/update/delete handlers fire
 *   only for real differences) → WATCH from the list's resourceVersion with allowWatchBookmarks and a
 *   timeoutSeconds drawn at random from [minWatchTimeout, 2·minWatchTimeout) so that a fleet of agents
 *   does not re-watch in lockstep → apply events in order → when the watch ends:
 *     - closed normally (server timeout) or idle for idleTimeoutMs (no byte, not even a BOOKMARK): re-watch
 *       from the last resourceVersion, no relist;
 *     - 410 Gone, either as an HTTP 410 or as a 200 stream carrying an ERROR event with code 410
 *       (etcd compacted past our resourceVersion): relist and diff;
 *     - an expired continue token during a paged LIST (410): restart the LIST from the first page;
 *     - any other error (connection reset, 5xx, 401 after the transport's own retry): back off with jitter
 *       (exponential, capped) and re-watch; repeated 410s back off too — a naive relist loop hammers the
 *       apiserver exactly when it is struggling.
 *   A BOOKMARK only moves the resourceVersion. Events are JSON lines that may be split across chunks or
 *   packed several per chunk; a trailing partial line at end of stream is discarded.
 * What burned us: @kubernetes/client-node's informer dropped the fieldSelector on its watch, never asked
 * for bookmarks and stopped on any non-410 error. Every one of those is a test in test/k8s/reflector*.
 */
import type { Readable } from 'node:stream';
import { PetrelError } from '../errors.js';
import { K8sApiError, type ListWatcher } from './client/index.js';
import { silentLogger, type Logger } from '../model/log.js';

export interface KubeObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string };
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** The reflector's counters; the agent wires them to prom-client (src/metrics). */
export interface ReflectorMetrics {
  event(resource: string, type: WatchEventType): void;
  relist(resource: string, reason: 'initial' | 'expired' | 'error'): void;
  restart(resource: string, reason: 'closed' | 'idle' | 'error'): void;
  error(resource: string, code: string): void;
}

export const noopReflectorMetrics: ReflectorMetrics = { event() {}, relist() {}, restart() {}, error() {} };

export type { Logger } from '../model/log.js';

export interface Handlers<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export interface ReflectorOptions {
  pageSize?: number;
  minWatchTimeoutS?: number;
  idleTimeoutMs?: number;
  backoff?: { initialMs?: number; maxMs?: number; factor?: number };
  random?: () => number;
  metrics?: ReflectorMetrics;
  log?: Logger;
  /** Upper bound on pages in one LIST (a safety net against a server that never ends a list). */
  maxPages?: number;
}

export class ReflectorError extends PetrelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('K8S_ERR_REFLECTOR', message, options);
  }
}

export function objectKey(o: KubeObject): string {
  const ns = o.metadata?.namespace;
  return ns ? `${ns}/${o.metadata?.name}` : String(o.metadata?.name);
}

type WatchOutcome = 'closed' | 'idle' | 'expired' | 'stopped';

export class Informer<T extends KubeObject> {
  readonly resource: string;
  /** Resolves after the first complete LIST has been applied. */
  readonly synced: Promise<void>;
  private syncedFlag = false;
  private resolveSynced!: () => void;
  private readonly cache = new Map<string, T>();
  private readonly handlers: Handlers<T>[] = [];
  private rv = '';
  private stopped = true;
  private loop: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private readonly o: Required<Omit<ReflectorOptions, 'backoff'>> & { backoff: Required<NonNullable<ReflectorOptions['backoff']>> };
  /** Counters for status output and tests (the metrics interface gets the same facts). */
  readonly stats = { lists: 0, pages: 0, relists: 0, watches: 0, events: 0, bookmarks: 0, errors: 0, expired: 0 };

  constructor(private readonly lw: ListWatcher<T>, opts: ReflectorOptions = {}) {
    this.resource = lw.description;
    this.o = {
      pageSize: opts.pageSize ?? 500,
      minWatchTimeoutS: opts.minWatchTimeoutS ?? 300,
      idleTimeoutMs: opts.idleTimeoutMs ?? 120_000,
      backoff: { initialMs: opts.backoff?.initialMs ?? 800, maxMs: opts.backoff?.maxMs ?? 30_000, factor: opts.backoff?.factor ?? 2 },
      random: opts.random ?? Math.random,
      metrics: opts.metrics ?? noopReflectorMetrics,
      log: opts.log ?? silentLogger,
      maxPages: opts.maxPages ?? 100_000,
    };
    this.synced = new Promise((r) => { this.resolveSynced = r; });
  }

  get hasSynced(): boolean { return this.syncedFlag; }
  get resourceVersion(): string { return this.rv; }
  get(key: string): T | undefined { return this.cache.get(key); }
  list(): T[] { return [...this.cache.values()]; }
  keys(): string[] { return [...this.cache.keys()]; }

  /** Adds handlers; once synced, the new handler first gets an `add` for every cached object (as client-go). */
  addHandlers(h: Handlers<T>): void {
    this.handlers.push(h);
    if (this.syncedFlag) for (const o of this.cache.values()) this.safe(() => h.add?.(o));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
    await this.loop;
  }

  private safe(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.o.log.error({ resource: this.resource, err: e }, 'informer handler threw');
    }
  }

  private emitAdd(o: T): void { for (const h of this.handlers) this.safe(() => h.add?.(o)); }
  private emitUpdate(a: T, b: T): void { for (const h of this.handlers) this.safe(() => h.update?.(a, b)); }
  private emitDelete(o: T): void { for (const h of this.handlers) this.safe(() => h.delete?.(o)); }

  private backoffMs(n: number): number {
    const { initialMs, maxMs, factor } = this.o.backoff;
    const base = Math.min(maxMs, initialMs * factor ** Math.max(0, n - 1));
    return base * (0.5 + this.o.random() * 0.5); // jitter: [50%, 100%] of the step
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() { clearTimeout(t); resolve(); }
      this.wake = done;
    });
  }

  private async run(): Promise<void> {
    let needList = true;
    let failures = 0; // consecutive failed attempts (errors, or 410s without progress in between)
    let reason: 'initial' | 'expired' | 'error' = 'initial';
    while (!this.stopped) {
      try {
        if (needList) {
          this.o.metrics.relist(this.resource, reason);
          if (reason !== 'initial') this.stats.relists++;
          await this.relist();
          needList = false;
        }
        const started = Date.now();
        const { outcome, progressed } = await this.watchOnce();
        if (outcome === 'stopped') break;
        if (progressed) failures = 0;
        if (outcome === 'expired') {
          this.stats.expired++;
          needList = true;
          reason = 'expired';
          if (!progressed) failures++;
        } else {
          this.o.metrics.restart(this.resource, outcome);
          // A watch that ends at once having delivered nothing counts as a failure, or we would spin.
          if (!progressed && Date.now() - started < 1000) failures++;
        }
        if (failures > 0) await this.sleep(this.backoffMs(failures));
      } catch (e) {
        if (this.stopped) break;
        failures++;
        this.stats.errors++;
        const code = e instanceof PetrelError ? e.code : 'K8S_ERR_UNKNOWN';
        this.o.metrics.error(this.resource, code);
        if (e instanceof K8sApiError && e.status === 410) {
          this.stats.expired++;
          needList = true;
          reason = 'expired';
        } else if (needList) {
          reason = reason === 'initial' && !this.syncedFlag ? 'initial' : 'error';
        } else {
          this.o.metrics.restart(this.resource, 'error');
        }
        this.o.log.warn({ resource: this.resource, err: (e as Error).message, failures }, 'list/watch failed; backing off');
        // A first 410 relists at once (as client-go); errors, and 410s in a row, wait.
        if (!(e instanceof K8sApiError && e.status === 410 && failures === 1)) await this.sleep(this.backoffMs(failures));
      }
    }
  }

  /** Paged LIST; restarts from the first page when the continue token expired (410), at most a few times. */
  private async relist(): Promise<void> {
    this.stats.lists++;
    let restarts = 0;
    for (;;) {
      if (this.stopped) return;
      this.abort = new AbortController();
      const items: T[] = [];
      let rv = '';
      let cont: string | undefined;
      let pages = 0;
      try {
        do {
          const page = await this.lw.list({ limit: this.o.pageSize, continue: cont, signal: this.abort.signal });
          this.stats.pages++;
          items.push(...page.items);
          if (!cont) rv = page.resourceVersion; // every page of one list is served from the first page's snapshot
          cont = page.continue;
          if (++pages > this.o.maxPages) throw new ReflectorError(`list ${this.resource}: more than ${this.o.maxPages} pages`);
        } while (cont && !this.stopped);
      } catch (e) {
        if (e instanceof K8sApiError && e.status === 410 && cont && restarts < 3 && !this.stopped) {
          restarts++;
          this.o.log.info({ resource: this.resource }, 'continue token expired; restarting the list');
          continue;
        }
        throw e;
      }
      if (this.stopped) return;
      this.replace(items, rv);
      return;
    }
  }

  /** Replaces the cache with a full listing, emitting only the differences. */
  private replace(items: T[], rv: string): void {
    const seen = new Set<string>();
    for (const o of items) {
      const k = objectKey(o);
      seen.add(k);
      const old = this.cache.get(k);
      this.cache.set(k, o);
      if (!old) this.emitAdd(o);
      else if (old.metadata?.resourceVersion !== o.metadata?.resourceVersion) this.emitUpdate(old, o);
    }
    for (const [k, old] of [...this.cache]) {
      if (!seen.has(k)) {
        this.cache.delete(k);
        this.emitDelete(old);
      }
    }
    this.rv = rv;
    if (!this.syncedFlag) {
      this.syncedFlag = true;
      this.resolveSynced();
    }
  }

  private async watchOnce(): Promise<{ outcome: WatchOutcome; progressed: boolean }> {
    const ac = new AbortController();
    this.abort = ac;
    let idle = false;
    let progressed = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      // Every chunk re-arms the idle timer: refresh() moves the one timer instead of making a new one.
      if (timer) timer.refresh();
      else timer = setTimeout(() => { idle = true; ac.abort(); }, this.o.idleTimeoutMs);
    };
    // stop() may have run between the LIST and here, aborting the LIST's controller, not this one.
    if (this.stopped) return { outcome: 'stopped', progressed };
    const timeoutSeconds = Math.floor(this.o.minWatchTimeoutS * (1 + this.o.random()));
    this.stats.watches++;
    arm();
    try {
      const body = await this.lw.watch({ resourceVersion: this.rv, timeoutSeconds, signal: ac.signal });
      const outcome = await this.consume(body, arm, () => { progressed = true; });
      return { outcome, progressed };
    } catch (e) {
      if (this.stopped) return { outcome: 'stopped', progressed };
      if (idle) return { outcome: 'idle', progressed };
      throw e;
    } finally {
      clearTimeout(timer);
      if (!ac.signal.aborted) ac.abort();
    }
  }

  /**
   * Reads one watch body to its end: events are applied in the 'data' handler itself, chunk by chunk
   * (no promise per chunk). Resolves 'closed' at the end of the stream (a trailing partial line is
   * dropped), 'expired' at an ERROR 410, 'stopped' once stop() ran; rejects when the stream fails
   * (including our own abort) or an event cannot be applied. The body is destroyed either way.
   */
  private consume(body: Readable, arm: () => void, progressed: () => void): Promise<Exclude<WatchOutcome, 'idle'>> {
    return new Promise((resolve, reject) => {
      let buf = '';
      let settled = false;
      const finish = (f: () => void) => {
        if (settled) return;
        settled = true;
        body.destroy();
        f();
      };
      body.setEncoding('utf8'); // a multi-byte character split across chunks is kept whole
      body.on('data', (chunk: string) => {
        if (settled) return;
        if (this.stopped) return finish(() => resolve('stopped'));
        arm();
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          let r: 'ok' | 'expired';
          try {
            r = this.apply(line);
          } catch (e) {
            return finish(() => reject(e));
          }
          if (r === 'expired') return finish(() => resolve('expired'));
          progressed();
        }
      });
      body.on('end', () => finish(() => resolve(this.stopped ? 'stopped' : 'closed')));
      body.on('error', (e) => finish(() => reject(e)));
      // Destroyed without an error or an end (the server reset the connection): a failed watch.
      body.on('close', () => finish(() => reject(new ReflectorError(`watch ${this.resource}: the stream closed before its end`))));
    });
  }

  /** Applies one watch event line; returns 'expired' for an ERROR 410. */
  private apply(line: string): 'ok' | 'expired' {
    let ev: { type?: WatchEventType; object?: T & { code?: number; reason?: string; message?: string } };
    try {
      ev = JSON.parse(line);
    } catch (e) {
      throw new ReflectorError(`watch ${this.resource}: undecodable event line`, { cause: e });
    }
    const type = ev.type;
    const obj = ev.object;
    if (!type || !obj) throw new ReflectorError(`watch ${this.resource}: event without type or object`);
    this.o.metrics.event(this.resource, type);
    if (type === 'ERROR') {
      const code = Number(obj.code ?? 0);
      if (code === 410) return 'expired';
      throw new K8sApiError(code, `watch ${this.resource}: ERROR event ${code} ${obj.reason ?? ''} ${obj.message ?? ''}`.trim(), obj.reason, obj);
    }
    const rv = obj.metadata?.resourceVersion;
    if (type === 'BOOKMARK') {
      this.stats.bookmarks++;
      if (rv) this.rv = rv;
      return 'ok';
    }
    this.stats.events++;
    const k = objectKey(obj);
    const old = this.cache.get(k);
    if (type === 'DELETED') {
      if (old) {
        this.cache.delete(k);
        this.emitDelete(obj);
      }
    } else {
      this.cache.set(k, obj);
      if (old) this.emitUpdate(old, obj);
      else this.emitAdd(obj);
    }
    if (rv) this.rv = rv;
    return 'ok';
  }
}
