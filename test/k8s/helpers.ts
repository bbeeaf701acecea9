// Shared by the k8s tests: a test API server with a token file and a KubeClient pointed at it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestApiServer, type ApiServerOptions } from '../../src/lab/apiserver/index.js';
import { Transport, type TransportOptions } from '../../src/k8s/transport.js';
import { KubeClient } from '../../src/k8s/client/index.js';

export interface Harness {
  server: TestApiServer;
  transport: Transport;
  client: KubeClient;
  dir: string;
  tokenFile: string;
  /** Rotates the token: the server accepts only the new one, the file holds the new one. */
  rotateToken(): string;
  close(): Promise<void>;
}

export async function startHarness(opts: ApiServerOptions & { transport?: TransportOptions } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-k8s-'));
  const tokenFile = join(dir, 'token');
  let n = 0;
  const token = () => `token-${n}-${Math.random().toString(36).slice(2)}`;
  let current = token();
  writeFileSync(tokenFile, current);
  const server = new TestApiServer({ tls: true, tokens: [current], bookmarkIntervalMs: 200, ...opts });
  await server.start();
  const transport = new Transport({ server: server.url, ca: server.pki?.caCert, tokenFile, source: 'test' }, opts.transport);
  const client = new KubeClient(transport);
  return {
    server, transport, client, dir, tokenFile,
    rotateToken() {
      n++;
      current = token();
      writeFileSync(tokenFile, current);
      server.rotateTokens([current]);
      return current;
    },
    async close() {
      await transport.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits (bounded) until `cond` holds; returns false on timeout. */
export async function waitUntil(cond: () => boolean, timeoutMs = 10_000, stepMs = 10): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}

export function node(name: string, labels: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Node', metadata: { name, labels },
    spec: { podCIDRs: [] },
    status: { conditions: [{ type: 'Ready', status: 'True' }], addresses: [{ type: 'InternalIP', address: '192.0.2.1' }] },
  };
}

export function pod(namespace: string, name: string, nodeName: string, labels: Record<string, string> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }] } };
}

/** A small deterministic PRNG (mulberry32) so a failing fault run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
