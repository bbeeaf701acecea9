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
 * - Watches (`watchFetch`): node:http(s) with the same TLS material, auth and 401 retry, and a 200 answer
 *   whose body stays the Node stream it arrived on (`WatchResponse.stream`). What burned us: every Node
 *   event of the cluster reaches every agent, and through undici's fetch each one went socket → llhttp →
 *   fetch's body controller → a web ReadableStream → a read() promise → the line splitter. In the
 *   50-node convergence lab (docs/benchmarks.md, fourth round) taking watches off fetch cut the agents'
 *   CPU per event by 3–20% from run to run and p50 by ~10%; a microbenchmark of 3,000 watch lines (warm
 *   code): ~100 µs of CPU per line through fetch, ~45 µs through node:http. Every other call keeps fetch.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
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

/**
 * The 2xx answer of `watchFetch`: a Response (status and headers, for the generated client) whose body
 * is not a web stream but `stream`, the Node stream it arrives on (read it, or destroy it to cancel).
 */
export class WatchResponse extends Response {
  constructor(readonly stream: IncomingMessage, init: ResponseInit) {
    super(null, init);
  }
}

/** An error answer's body is read whole for its Status; a server sending more than this is cut off. */
const MAX_ERROR_BODY = 1 << 20;

export class Transport {
  readonly server: string;
  readonly config: ClusterConfig;
  readonly stats = { requests: 0, tokenReads: 0, unauthorizedRetries: 0 };
  private readonly agent: Agent;
  /** Keep-alive agent of the watches (node:http(s)), made at the first watch. */
  private streamAgent: HttpAgent | HttpsAgent | undefined;
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
      connect: this.tlsOptions(),
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

  /** The request a fetch-style call describes: absolute URL, method, headers with ours added, body, signal. */
  private async unpack(input: string | URL | Request, init: RequestInit | undefined) {
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
    return { url, method, headers, body, signal };
  }

  /** A fetch bound to this cluster: relative URLs are resolved against the server. */
  readonly fetch: FetchFn = async (input, init) => {
    const { url, method, headers, body, signal } = await this.unpack(input, init);
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
    return this.withToken(doFetch, (r) => r.status, (r) => r.body?.cancel().catch(() => undefined));
  };

  /**
   * Sends with the current token; after a 401, when the token comes from a file, re-reads it and sends
   * once more (the token may have rotated under us). `discard` releases the 401's body first.
   */
  private async withToken<R>(send: (token: string | undefined) => Promise<R>, status: (r: R) => number, discard: (r: R) => unknown): Promise<R> {
    const res = await send(this.token());
    if (status(res) !== 401 || !this.config.tokenFile) return res;
    await discard(res);
    this.stats.unauthorizedRetries++;
    return send(this.token(true));
  }

  /**
   * A fetch for watches (GET, no body): a 2xx answer is a WatchResponse whose `stream` is the body as it
   * arrives; any other answer is an ordinary Response holding the whole (bounded) body, for the Status
   * in it. No request timeout: the caller's signal ends the watch (the reflector's idle timer aborts it).
   * Auth and the 401 retry are as for `fetch`; transport failures are K8sTransportError, an abort the
   * signal's own error.
   */
  readonly watchFetch: FetchFn = async (input, init) => {
    const { url, method, headers, signal } = await this.unpack(input, init);
    const u = new URL(url);
    const tls = u.protocol === 'https:';
    const agent = (this.streamAgent ??= tls ? new HttpsAgent({ keepAlive: true, ...this.tlsOptions() }) : new HttpAgent({ keepAlive: true }));
    const send = (token: string | undefined): Promise<IncomingMessage> => {
      if (token) headers.set('authorization', `Bearer ${token}`);
      const h: Record<string, string> = {};
      headers.forEach((v, k) => { h[k] = v; });
      this.stats.requests++;
      return new Promise((resolve, reject) => {
        const req = (tls ? httpsRequest : httpRequest)(u, { method, headers: h, agent, ...(signal ? { signal } : {}) }, resolve);
        req.on('error', (e) => {
          if (e.name === 'AbortError') reject(e);
          else reject(new K8sTransportError(`${method} ${url}: ${e.message}`, { cause: e }));
        });
        req.end();
      });
    };
    const res = await this.withToken(send, (r) => r.statusCode ?? 0, (r) => r.resume());
    const status = res.statusCode ?? 0;
    const init2 = { status, statusText: res.statusMessage ?? '', headers: toHeaders(res.headers) };
    if (status >= 200 && status < 300) return new WatchResponse(res, init2);
    return new Response(await readBounded(res, MAX_ERROR_BODY), init2);
  };

  private tlsOptions() {
    const cfg = this.config;
    return {
      ...(cfg.ca ? { ca: cfg.ca } : {}),
      ...(cfg.clientCert ? { cert: cfg.clientCert, key: cfg.clientKey } : {}),
      ...(cfg.insecureSkipTlsVerify ? { rejectUnauthorized: false } : {}),
      ...(cfg.tlsServerName ? { servername: cfg.tlsServerName } : {}),
    };
  }

  async close(): Promise<void> {
    // destroy, not close: close() waits for open watches to finish, which they never do by themselves.
    this.streamAgent?.destroy();
    await this.agent.destroy().catch(() => undefined);
  }
}

function toHeaders(h: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(h)) {
    if (Array.isArray(v)) for (const x of v) out.append(k, x);
    else if (v !== undefined) out.set(k, v);
  }
  return out;
}

/** The body as text, at most `max` bytes (the rest is dropped and the connection closed). */
function readBounded(res: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    res.on('data', (b: Buffer) => {
      if (n >= max) return;
      parts.push(b);
      n += b.length;
      if (n >= max) { res.destroy(); resolve(Buffer.concat(parts).subarray(0, max).toString('utf8')); }
    });
    res.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    res.on('error', reject);
  });
}
