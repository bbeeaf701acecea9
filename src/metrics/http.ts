/**
 * The one way Petrel serves HTTP (the status API of `petrel status`/`petrel routes`, /metrics,
 * /livez, /readyz): node:http with bounds, and nothing a client sends can end the process.
 *
 * - A request target that is not a URL (`GET //[ HTTP/1.1`, `GET http://[ HTTP/1.1`) is a 400, never a
 *   TypeError out of `new URL()`: the handler gets a parsed URL or is not called at all.
 * - Every handler runs inside a try/catch (sync throws and rejected promises): the client gets a 500,
 *   the log gets the stack, `problems.handlerError` counts it. A bug in a handler is loud but costs
 *   one request, not the node's routing.
 * - Requests node:http refuses itself (bad syntax, headers over `maxHeaderSize`, timeouts) are
 *   answered 400/431/408 and counted; an 'error' event of a listening server is logged and counted
 *   instead of being thrown by the EventEmitter.
 * - Bounds: `maxConnections` open connections per listener (more are closed on accept, counted);
 *   a connection that has not sent its headers within `headersTimeoutMs` or its request within
 *   `requestTimeoutMs` is closed; an idle keep-alive connection after `keepAliveTimeoutMs`; any
 *   socket without traffic for `idleTimeoutMs` (one that never sends a byte: node:http starts the
 *   header clock only at the first byte; a client that stopped reading).
 *
 * What burned us: node:http checks headersTimeout/requestTimeout only every
 * `connectionsCheckingInterval` (30 s by default), so 200 idle connections were held 65–95 s with
 * the defaults; the interval here follows the timeouts. And node:http emits the request before the
 * URL is parsed: `new URL(req.url, base)` outside a try killed the process on one malformed line.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../model/log.js';

export interface HttpLimits {
  /** Open connections per listener; further ones are closed on accept. */
  maxConnections: number;
  /** Longest wait for the complete request headers of a connection (also a connection that sends nothing). */
  headersTimeoutMs: number;
  /** Longest wait for the complete request. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open after a response. */
  keepAliveTimeoutMs: number;
  /**
   * A socket with no traffic either way for this long is closed: a connection that never sends a
   * byte (headersTimeout only starts with the first one) and a client that stopped reading.
   */
  idleTimeoutMs: number;
  /** Bytes of request line + headers; more is answered 431. */
  maxHeaderSize: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  maxConnections: 64,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 10_000,
  maxHeaderSize: 8192,
});

/** Why a request or connection was refused before a handler saw it. */
export type HttpRejectReason = 'bad_request' | 'header_too_large' | 'timeout' | 'connection_limit';

/** Counters the server reports to (metrics/adapters.ts HttpMetricsAdapter); all optional. */
export interface HttpProblems {
  rejected?(reason: HttpRejectReason): void;
  /** A handler threw or rejected (answered 500). */
  handlerError?(): void;
  /** The listening server emitted 'error' (e.g. EMFILE on accept). */
  serverError?(): void;
}

export interface BoundedServerOptions {
  /** Names the server in logs ('status API', 'metrics', 'health'). */
  name: string;
  limits?: Partial<HttpLimits>;
  log?: Logger;
  problems?: HttpProblems;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/**
 * The request target as a URL, or undefined when it is not one. Origin form (`/path?q`) is the norm;
 * absolute form (`http://host/path`) is accepted as node:http does; anything else is refused.
 */
export function requestUrl(target: string | undefined): URL | undefined {
  if (!target || (target[0] !== '/' && !/^https?:\/\//i.test(target))) return undefined;
  // `//host/path` in origin form would make URL() read a host: a path may not start with `//`.
  if (target.startsWith('//')) return undefined;
  try {
    return new URL(target, 'http://localhost');
  } catch {
    return undefined;
  }
}

/** Writes a small plain-text or JSON answer, unless the response is already under way. */
export function answer(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', close = false): void {
  if (res.headersSent || res.writableEnded) return;
  const headers: Record<string, string | number> = { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' };
  if (close) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}

/** At most one line per `everyMs` for a repeated condition (refused connections, bad requests). */
function rateLimited(everyMs: number): () => boolean {
  let last = -Infinity;
  return () => {
    const now = Date.now();
    if (now - last < everyMs) return false;
    last = now;
    return true;
  };
}

export function createBoundedServer(opts: BoundedServerOptions, handler: Handler): Server {
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...opts.limits };
  const { log, problems = {}, name } = opts;
  const server = createServer({
    maxHeaderSize: limits.maxHeaderSize,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // node:http checks the two timeouts above only this often (30 s by default).
    connectionsCheckingInterval: Math.max(100, Math.min(5000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 2))),
  }, (req, res) => {
    // A response stream error (client gone mid-write) must not become an unhandled 'error'.
    res.on('error', () => res.destroy());
    const url = requestUrl(req.url);
    if (!url) {
      problems.rejected?.('bad_request');
      if (logBadRequest()) log?.warn({ server: name, target: clip(req.url ?? '') }, 'HTTP request refused: the request target is not a URL (answered 400)');
      return answer(res, 400, 'bad request: the request target is not a URL\n', undefined, true);
    }
    const fail = (err: unknown) => {
      problems.handlerError?.();
      log?.error({ server: name, path: url.pathname, err: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 'HTTP handler failed (answered 500); the process continues');
      if (!res.headersSent) answer(res, 500, 'internal error\n', undefined, true);
      else res.destroy();
    };
    try {
      const r = handler(req, res, url);
      if (r && typeof r.then === 'function') r.then(undefined, fail);
    } catch (err) {
      fail(err);
    }
  });
  server.maxConnections = limits.maxConnections;
  server.setTimeout(limits.idleTimeoutMs);
  server.maxHeadersCount = 100;
  const logBadRequest = rateLimited(10_000);
  const logDrop = rateLimited(10_000);
  server.on('drop', () => {
    problems.rejected?.('connection_limit');
    if (logDrop()) log?.warn({ server: name, maxConnections: limits.maxConnections }, 'HTTP connection refused: too many open connections');
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const code = err.code ?? '';
    let status = 400;
    let reason: HttpRejectReason = 'bad_request';
    if (code === 'HPE_HEADER_OVERFLOW') [status, reason] = [431, 'header_too_large'];
    else if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'HPE_HEADERS_TIMEOUT') [status, reason] = [408, 'timeout'];
    else if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    problems.rejected?.(reason);
    if (reason !== 'timeout' && logBadRequest()) log?.warn({ server: name, code }, `HTTP request refused (answered ${status})`);
    const text = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
    // What node:http itself writes when nobody listens for 'clientError', plus the count and the log.
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroySoon();
  });
  return server;
}

/**
 * Binds the server; an 'error' before listening rejects (EADDRINUSE), one afterwards is logged and
 * counted (an EventEmitter 'error' without a listener would end the process).
 */
export async function listen(server: Server, port: number, host: string, opts: BoundedServerOptions): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err: Error) => {
    opts.problems?.serverError?.();
    opts.log?.error({ server: opts.name, err: err.message }, 'HTTP server error; it keeps listening');
  });
}

function clip(s: string, max = 100): string {
  return s.length <= max ? s : `${s.slice(0, max)}… (${s.length} chars)`;
}
