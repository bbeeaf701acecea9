/**
 * BGP passwords: BGPPeer password.secretKeyRef {name, key} → the TCP-MD5 key (RFC 2385), read from
 * Secrets in the agent's namespace with `get` by name (the RBAC grant names each Secret; there is no
 * list or watch, so the agent cannot enumerate the namespace — deploy/base/rbac-secrets.yaml).
 *
 *   cache.want(refs)      the refs the topology currently needs (called on every reconcile; cheap when
 *                         unchanged): new Secret names are fetched, Secrets no longer named are forgotten.
 *   cache.get(ref)        { state: 'ok', value } | { state: 'pending' } | { state: 'error', message }
 *   onResolved()          called whenever what get() answers changes for a wanted ref: the agent then
 *                         recomputes its peers (a peer with a password is started only once it is 'ok').
 *
 * One GET per Secret, however many keys are used from it. Without a watch, a rotated password is picked
 * up by re-reading every `refreshMs` (default 60 s; a password change needs both ends anyway).
 *
 * Complicating factors: an API outage must not take sessions down, so a failed re-read keeps the last
 * good data; but a 404 is the operator deleting the Secret, and drops it. Each read is retried with
 * bounded exponential backoff (attempts and delay capped); after that the state is 'error' until the
 * next refresh. The value is never logged, never put in an error message, never in status: logs carry
 * namespace, Secret name and key only.
 */
import type { Logger } from '../bgp/speaker.js';
import type { KubeClient } from '../k8s/index.js';
import type { SecretKeyRef } from '../model/topology.js';

export type SecretLookup = { state: 'ok'; value: string } | { state: 'pending' } | { state: 'error'; message: string };

export interface SecretCacheOptions {
  /** Namespace of the Secrets (the agent's own, petrel-system). */
  namespace: string;
  log: Logger;
  onResolved?: () => void;
  /** Re-read period for rotation (ms); 0 disables. Default 60 000. */
  refreshMs?: number;
  retry?: { attempts?: number; initialMs?: number; maxMs?: number };
}

/** Linux TCP_MD5SIG_MAXKEYLEN; RFC 2385 §4.5 leaves the length to the implementation. */
export const MAX_TCP_MD5_KEY_BYTES = 80;

interface Entry {
  /** Decoded data (key → UTF-8 text) of the last good read; undefined before one or after a 404. */
  data: Record<string, string> | undefined;
  error: string | undefined;
  reading: boolean;
  timer: NodeJS.Timeout | undefined;
  /** Bumped when forgotten, so a read in flight does not resurrect it. */
  generation: number;
}

export class SecretCache {
  private readonly entries = new Map<string, Entry>();
  private wanted: SecretKeyRef[] = [];
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly inflight = new Set<Promise<void>>();
  private readonly sleeps = new Set<{ t: NodeJS.Timeout; resolve: () => void }>();
  private gen = 0;

  constructor(private readonly client: Pick<KubeClient, 'readSecret'>, private readonly o: SecretCacheOptions) {}

  /** Declares the refs in use; fetches Secrets seen for the first time, forgets those no longer named. */
  want(refs: readonly SecretKeyRef[]): void {
    if (this.stopped) return;
    this.wanted = refs.map((r) => ({ name: r.name, key: r.key }));
    const names = new Set(refs.map((r) => r.name));
    for (const [name, e] of this.entries) {
      if (names.has(name)) continue;
      if (e.timer) clearTimeout(e.timer);
      e.generation = -1;
      this.entries.delete(name);
    }
    for (const name of names) {
      if (this.entries.has(name)) continue;
      const e: Entry = { data: undefined, error: undefined, reading: false, timer: undefined, generation: ++this.gen };
      this.entries.set(name, e);
      this.read(name, e);
    }
  }

  get(ref: SecretKeyRef): SecretLookup {
    const e = this.entries.get(ref.name);
    const where = `Secret ${this.o.namespace}/${ref.name}`;
    if (!e) return { state: 'pending' };
    if (!e.data) return e.error ? { state: 'error', message: `${where}: ${e.error}` } : { state: 'pending' };
    const value = e.data[ref.key];
    if (value === undefined) return { state: 'error', message: `${where} has no key '${ref.key}'` };
    const n = Buffer.byteLength(value);
    if (n < 1 || n > MAX_TCP_MD5_KEY_BYTES) return { state: 'error', message: `${where} key '${ref.key}': a TCP-MD5 key must be 1-${MAX_TCP_MD5_KEY_BYTES} bytes, this one has ${n}` };
    return { state: 'ok', value };
  }

  /** Resolves when no read is in flight (tests). */
  async idle(): Promise<void> {
    for (let i = 0; i < 1000 && this.inflight.size; i++) await Promise.allSettled([...this.inflight]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    for (const e of this.entries.values()) if (e.timer) clearTimeout(e.timer);
    for (const s of this.sleeps) {
      clearTimeout(s.t);
      s.resolve();
    }
    await this.idle();
    this.entries.clear();
  }

  private snapshot(): string {
    return JSON.stringify(this.wanted.map((r) => { const l = this.get(r); return l.state === 'ok' ? ['ok', l.value] : [l.state]; }));
  }

  private read(name: string, e: Entry): void {
    if (e.reading || this.stopped) return;
    e.reading = true;
    const p = this.readWithRetry(name, e).finally(() => {
      e.reading = false;
      this.inflight.delete(p);
      const every = this.o.refreshMs ?? 60_000;
      if (!this.stopped && every > 0 && this.entries.get(name) === e) {
        e.timer = setTimeout(() => { e.timer = undefined; this.read(name, e); }, every);
        e.timer.unref();
      }
    });
    this.inflight.add(p);
  }

  private async readWithRetry(name: string, e: Entry): Promise<void> {
    const attempts = this.o.retry?.attempts ?? 5;
    let delay = this.o.retry?.initialMs ?? 250;
    const maxMs = this.o.retry?.maxMs ?? 5000;
    const gen = e.generation;
    const where = { namespace: this.o.namespace, secret: name };
    for (let i = 1; i <= attempts && !this.stopped; i++) {
      try {
        const s = await this.client.readSecret(this.o.namespace, name, this.abort.signal);
        if (e.generation !== gen || this.stopped) return;
        const data: Record<string, string> = {};
        for (const [k, v] of Object.entries(s.data ?? {})) data[k] = Buffer.from(v, 'base64').toString('utf8');
        this.update(e, data, undefined);
        return;
      } catch (err) {
        if (e.generation !== gen || this.stopped) return;
        const status = (err as { status?: number }).status;
        const message = status === 404 ? 'not found'
          : status === 403 ? 'forbidden (is it listed in Role petrel-bgp-passwords?)'
          : (err as Error).message;
        const last = i === attempts;
        this.o.log[last ? 'error' : 'warn']({ ...where, attempt: i, err: message },
          last ? 'could not read BGP password Secret (retried at the next refresh)' : 'reading BGP password Secret failed; retrying');
        if (last) {
          // A 404 is authoritative (the Secret was deleted); anything else keeps the last good data.
          this.update(e, status === 404 ? undefined : e.data, message);
          return;
        }
        await this.sleep(delay);
        delay = Math.min(delay * 2, maxMs);
      }
    }
  }

  private update(e: Entry, data: Record<string, string> | undefined, error: string | undefined): void {
    const before = this.snapshot();
    e.data = data;
    e.error = error;
    if (this.snapshot() !== before) this.o.onResolved?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const s = { t: setTimeout(() => { this.sleeps.delete(s); resolve(); }, ms), resolve };
      this.sleeps.add(s);
    });
  }
}
