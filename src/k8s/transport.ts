/**
 * HTTP transport to the API server: a `fetch` the generated client and the reflector both use.
 *
 * - TLS: an undici@7 Agent with `connect: { ca, cert, key }`. Node's global fetch has no way to pass a CA,
 *   which is why this is undici's own fetch with a dispatcher (and why a Request built by the generated
 *   client with the global Request class is unpacked here: undici's fetch does not accept a foreign Request).
 * - Timeouts: `bodyTimeout: 0`, because undici's 300 s default kills a quiet watch; the reflector keeps its
 *   own idle timer instead. Plain requests get `requestTimeoutMs` unless the caller passes a signal.
 * - Auth: a bearer token from the kubeconfig, or from a token file re-read at least every
 *   `tokenRefreshMs` (60 s; bound service-account tokens rotate about hourly and the kubelet rewrites the
 *   file) and at once after a 401, retrying that request once with the new token. Client certificates
 *   come from the kubeconfig.
 */
import { readFileSync } from 'node:fs';
import { Agent, fetch as undiciFetch } from 'undici';
import { PetrelError } from '../errors.js';
import type { ClusterConfig } from './kubeconfig.js';

export class K8sTransportError extends PetrelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('K8S_ERR_TRANSPORT', message, options);
  }
}

export interface TransportOptions {
  tokenRefreshMs?: number;
  requestTimeoutMs?: number;
  userAgent?: string;
  now?: () => number;
}

export type FetchFn = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export class Transport {
  readonly server: string;
  readonly config: ClusterConfig;
  readonly stats = { requests: 0, tokenReads: 0, unauthorizedRetries: 0 };
  private readonly agent: Agent;
  private readonly opts: Required<Omit<TransportOptions, 'now'>> & { now: () => number };
  private cachedToken: string | undefined;
  private tokenReadAt = -Infinity;

  constructor(cfg: ClusterConfig, opts: TransportOptions = {}) {
    this.config = cfg;
    this.server = cfg.server.replace(/\/+$/, '');
    this.opts = {
      tokenRefreshMs: opts.tokenRefreshMs ?? 60_000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
      userAgent: opts.userAgent ?? 'petrel/0.1.0',
      now: opts.now ?? Date.now,
    };
    this.agent = new Agent({
      bodyTimeout: 0,
      headersTimeout: 60_000,
      keepAliveTimeout: 30_000,
      connect: {
        ...(cfg.ca ? { ca: cfg.ca } : {}),
        ...(cfg.clientCert ? { cert: cfg.clientCert, key: cfg.clientKey } : {}),
        ...(cfg.insecureSkipTlsVerify ? { rejectUnauthorized: false } : {}),
        ...(cfg.tlsServerName ? { servername: cfg.tlsServerName } : {}),
      },
    });
  }

  /** The bearer token to send now (re-read from the token file when older than tokenRefreshMs). */
  token(force = false): string | undefined {
    if (!this.config.tokenFile) return this.config.token;
    const now = this.opts.now();
    if (force || this.cachedToken === undefined || now - this.tokenReadAt >= this.opts.tokenRefreshMs) {
      try {
        this.cachedToken = readFileSync(this.config.tokenFile, 'utf8').trim();
        this.stats.tokenReads++;
        this.tokenReadAt = now;
      } catch (e) {
        if (this.cachedToken === undefined) throw new K8sTransportError(`cannot read token file ${this.config.tokenFile}`, { cause: e });
        // Keep the last token while the file is being rewritten; the next request retries the read.
      }
    }
    return this.cachedToken;
  }

  /** A fetch bound to this cluster: relative URLs are resolved against the server. */
  readonly fetch: FetchFn = async (input, init) => {
    let url: string;
    let method = init?.method ?? 'GET';
    const headers = new Headers(init?.headers);
    let body: ArrayBuffer | string | undefined = init?.body as string | undefined;
    let signal = init?.signal ?? undefined;
    if (typeof input === 'object' && 'url' in input && typeof (input as Request).arrayBuffer === 'function') {
      const req = input as Request;
      url = req.url;
      method = init?.method ?? req.method;
      req.headers.forEach((v, k) => { if (!headers.has(k)) headers.set(k, v); });
      if (method !== 'GET' && method !== 'HEAD') body = await req.arrayBuffer();
      signal = signal ?? req.signal;
    } else {
      url = String(input);
    }
    if (url.startsWith('/')) url = `${this.server}${url}`;
    if (!headers.has('user-agent')) headers.set('user-agent', this.opts.userAgent);
    if (!headers.has('accept')) headers.set('accept', 'application/json');
    const isWatch = /[?&]watch=(true|1)\b/.test(url);
    const doFetch = async (token: string | undefined): Promise<Response> => {
      if (token) headers.set('authorization', `Bearer ${token}`);
      this.stats.requests++;
      try {
        return (await undiciFetch(url, {
          method, headers: headers as never, body: body as never, dispatcher: this.agent,
          // A Request always carries a signal (one that never fires unless its creator aborts), so the
          // request timeout is added to it rather than used only when there is none.
          signal: isWatch ? signal : signal ? AbortSignal.any([signal, AbortSignal.timeout(this.opts.requestTimeoutMs)]) : AbortSignal.timeout(this.opts.requestTimeoutMs),
        })) as unknown as Response;
      } catch (e) {
        if ((e as Error)?.name === 'AbortError' || (e as Error)?.name === 'TimeoutError') throw e;
        throw new K8sTransportError(`${method} ${url}: ${(e as Error)?.message ?? e}${(e as { cause?: Error }).cause ? ` (${(e as { cause: Error }).cause.message})` : ''}`, { cause: e });
      }
    };
    let res = await doFetch(this.token());
    if (res.status === 401 && this.config.tokenFile) {
      // The token may have rotated under us: re-read it now and retry once.
      await res.body?.cancel().catch(() => undefined);
      this.stats.unauthorizedRetries++;
      res = await doFetch(this.token(true));
    }
    return res;
  };

  async close(): Promise<void> {
    // destroy, not close: close() waits for open watches to finish, which they never do by themselves.
    await this.agent.destroy().catch(() => undefined);
  }
}
