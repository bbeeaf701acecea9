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

export async function startStatusApi(speaker: Speaker, at: { address: string; port: number }): Promise<StatusApi> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const reply = (code: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method !== 'GET') return reply(405, { error: 'only GET' });
    try {
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
      return reply(404, { error: `no such path ${url.pathname}; try /status or /routes` });
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
