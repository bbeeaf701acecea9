/**
 * The speaker's status API: GET /status (SpeakerStatus JSON, what `petrel status --json` prints) and
 * GET /routes[?prefix=P] ({ routes: RouteView[] }). Read-only, JSON only, bound to the configured
 * address (127.0.0.1 by default — it is not authenticated).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Speaker } from '../bgp/speaker.js';
import { canonicalPrefix } from '../model/ip.js';

export interface StatusApi {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * `speaker` may be a getter: the agent replaces its speaker when the BGP identity changes, and the
 * API must follow. `extra` adds read-only JSON paths (the agent serves its own state at /agent).
 */
export async function startStatusApi(
  speakerOrGetter: Speaker | (() => Speaker | undefined),
  at: { address: string; port: number },
  extra: Record<string, () => unknown> = {},
): Promise<StatusApi> {
  const current = typeof speakerOrGetter === 'function' ? speakerOrGetter : () => speakerOrGetter;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const reply = (code: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method !== 'GET') return reply(405, { error: 'only GET' });
    try {
      const more = extra[url.pathname];
      if (more) return reply(200, more());
      const speaker = current();
      if (!speaker) return reply(503, { error: 'the BGP speaker is not running yet (waiting for the Kubernetes caches)' });
      if (url.pathname === '/status') return reply(200, speaker.status());
      if (url.pathname === '/routes') {
        const p = url.searchParams.get('prefix');
        let prefix: string | undefined;
        if (p) {
          try {
            prefix = canonicalPrefix(p, true);
          } catch (e) {
            return reply(400, { error: (e as Error).message });
          }
        }
        return reply(200, { routes: speaker.routes(prefix ? { prefix } : undefined) });
      }
      return reply(404, { error: `no such path ${url.pathname}; try ${['/status', '/routes', ...Object.keys(extra)].join(', ')}` });
    } catch (e) {
      return reply(500, { error: (e as Error).message });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
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
