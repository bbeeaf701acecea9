/**
 * The speaker's status API: GET /status (SpeakerStatus JSON, what `petrel status --json` prints) and
 * GET /routes ({ routes: RouteView[], continue? }: the Loc-RIB in pages of `limit` prefixes, default
 * 1000, see route-pages.ts; `?prefix=P` gives one prefix). Read-only, JSON only, bound to the
 * configured address (127.0.0.1 by default — it is not authenticated).
 *
 * Served by metrics/http.ts: malformed requests are 400s, a throwing handler a 500, and connections,
 * header size and idle time are bounded; nothing a client sends ends the process.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Speaker } from '../bgp/speaker.js';
import { createBoundedServer, listen, type HttpLimits, type HttpProblems } from '../metrics/http.js';
import { canonicalPrefix } from '../model/ip.js';
import type { Logger } from '../model/log.js';
import { BadContinueToken, decodeContinue, DEFAULT_ROUTES_LIMIT, MAX_ROUTES_LIMIT, routesPage } from './route-pages.js';

export interface StatusApi {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export interface StatusApiOptions {
  /** Read-only JSON paths besides /status and /routes (the agent serves its own state at /agent). */
  extra?: Record<string, () => unknown>;
  log?: Logger;
  problems?: HttpProblems;
  limits?: Partial<HttpLimits>;
  /** Prefixes per /routes page when the request names no limit. */
  routesLimit?: number;
}

/**
 * `speaker` may be a getter: the agent replaces its speaker when the BGP identity changes, and the
 * API must follow.
 */
export async function startStatusApi(
  speakerOrGetter: Speaker | (() => Speaker | undefined),
  at: { address: string; port: number },
  opts: StatusApiOptions = {},
): Promise<StatusApi> {
  const current = typeof speakerOrGetter === 'function' ? speakerOrGetter : () => speakerOrGetter;
  const extra = opts.extra ?? {};
  const defaultLimit = opts.routesLimit ?? DEFAULT_ROUTES_LIMIT;
  const serverOpts = { name: 'status API', log: opts.log, problems: opts.problems, limits: opts.limits };
  const server = createBoundedServer(serverOpts, (req, res, url) => {
    const reply = (code: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method !== 'GET') {
      res.setHeader('connection', 'close');
      return reply(405, { error: 'only GET' });
    }
    const more = extra[url.pathname];
    if (more) return reply(200, more());
    const speaker = current();
    if (url.pathname !== '/status' && url.pathname !== '/routes') {
      return reply(404, { error: `no such path ${url.pathname.slice(0, 100)}; try ${['/status', '/routes', ...Object.keys(extra)].join(', ')}` });
    }
    const unavailable = { error: 'the BGP speaker is not running yet (waiting for the Kubernetes caches)' };
    if (url.pathname === '/status') return speaker ? reply(200, speaker.status()) : reply(503, unavailable);
    // /routes: the query is checked first, so a malformed one is a 400 whether or not a speaker runs.
    const q = url.searchParams;
    const p = q.get('prefix');
    let prefix: string | undefined;
    if (p) {
      try {
        prefix = canonicalPrefix(p, true);
      } catch (e) {
        return reply(400, { error: (e as Error).message.slice(0, 200) });
      }
    }
    let limit = defaultLimit;
    const l = q.get('limit');
    if (l !== null) {
      limit = /^\d{1,6}$/.test(l) ? Number(l) : NaN;
      if (!(limit >= 1 && limit <= MAX_ROUTES_LIMIT)) return reply(400, { error: `limit: expected an integer 1..${MAX_ROUTES_LIMIT}` });
    }
    const c = q.get('continue');
    let after;
    if (c) {
      try {
        after = decodeContinue(c);
      } catch (e) {
        if (e instanceof BadContinueToken) return reply(400, { error: `continue: ${e.message}` });
        throw e;
      }
    }
    if (!speaker) return reply(503, unavailable);
    if (prefix) return reply(200, { routes: speaker.routes({ prefix }) });
    return reply(200, routesPage(speaker, after, limit));
  });
  await listen(server, at.port, at.address, serverOpts);
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
