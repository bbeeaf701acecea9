/**
 * The observability HTTP server (node:http): GET /metrics on the metrics address, GET /livez and
 * GET /readyz on the health address. When both addresses are equal one listener serves all three.
 *
 * Default ports (documented in docs/operations.md and used by deploy/): metrics 9476, health 9477.
 * They were chosen not to collide with what else commonly listens on a Kubernetes node's host
 * network — Calico (Felix metrics 9091, health 9099, Typha 9093/9098, kube-controllers 9094),
 * kube-router (20241/20244), MetalLB (7472/7473/7946), Cilium (9962–9965, 9879, 9890/9891),
 * node-exporter 9100, kube-proxy 10249/10256, kubelet 10248/10250 — so Petrel can run beside
 * Calico during a migration. The DaemonSet runs on the host network, so the defaults bind every
 * address (the kubelet probes the pod IP, which is the node's); tests bind 127.0.0.1:0.
 *
 * Readiness is evaluated on every /readyz request and every scrape (so petrel_ready is current);
 * a check source that throws or hangs longer than `checkTimeoutMs` fails that request, never the
 * process. Only GET and HEAD are served; anything else is 405, an unknown path 404. The listeners
 * are metrics/http.ts servers: a malformed request is a 400, connections and idle time are bounded.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../errors.js';
import { renderChecks, runChecks, type CheckSource } from './health.js';
import { ProblemMetricsAdapter } from './adapters.js';
import { createBoundedServer, listen, type HttpLimits, type HttpProblems } from './http.js';
import type { PetrelMetrics } from './registry.js';
import { type Logger } from '../model/log.js';

export const DEFAULT_METRICS_PORT = 9476;
export const DEFAULT_HEALTH_PORT = 9477;
export const DEFAULT_METRICS_ADDRESS = `0.0.0.0:${DEFAULT_METRICS_PORT}`;
export const DEFAULT_HEALTH_ADDRESS = `0.0.0.0:${DEFAULT_HEALTH_PORT}`;

export type { Logger } from '../model/log.js';

export interface ListenAddress { host: string; port: number }

/**
 * Parses `HOST:PORT`, `[V6]:PORT` or `:PORT` (every address). `flag` names the option in errors.
 * An empty string means "disabled" and returns undefined.
 */
export function parseListenAddress(value: string, flag: string): ListenAddress | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]*)):(\d{1,5})$/.exec(v);
  if (!m) throw new ConfigError(flag, `'${value}' is not HOST:PORT, [IPV6]:PORT or :PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(flag, `port ${port} is out of range 0..65535`);
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]);
  return { host, port };
}

export interface ObservabilityServerOptions {
  metrics: PetrelMetrics;
  /** Default DEFAULT_METRICS_ADDRESS; '' disables /metrics. */
  metricsAddress?: string;
  /** Default DEFAULT_HEALTH_ADDRESS; '' disables /livez and /readyz. */
  healthAddress?: string;
  readiness: CheckSource;
  /** Default: live whenever the event loop answers. */
  liveness?: CheckSource;
  checkTimeoutMs?: number;
  log?: Logger;
  /** Where refused requests and handler errors are counted (default: `metrics`'s own counters). */
  problems?: (server: 'metrics' | 'health') => HttpProblems;
  limits?: Partial<HttpLimits>;
}

type Route = 'metrics' | 'health';

export class ObservabilityServer {
  private readonly servers: Array<{ server: Server; routes: Set<Route>; address: ListenAddress; opts: Parameters<typeof listen>[3] }> = [];
  private readonly opts: ObservabilityServerOptions;
  private readonly checkTimeoutMs: number;

  constructor(opts: ObservabilityServerOptions) {
    this.opts = opts;
    this.checkTimeoutMs = opts.checkTimeoutMs ?? 5000;
    const metrics = parseListenAddress(opts.metricsAddress ?? DEFAULT_METRICS_ADDRESS, '--metrics-address');
    const health = parseListenAddress(opts.healthAddress ?? DEFAULT_HEALTH_ADDRESS, '--health-address');
    const same = metrics && health && metrics.host === health.host && metrics.port === health.port && metrics.port !== 0;
    if (same) this.add(metrics, ['metrics', 'health']);
    else {
      if (metrics) this.add(metrics, ['metrics']);
      if (health) this.add(health, ['health']);
    }
  }

  private add(address: ListenAddress, routes: Route[]): void {
    const set = new Set(routes);
    const name = set.has('metrics') ? 'metrics' : 'health';
    const problems = this.opts.problems?.(name) ?? new ProblemMetricsAdapter(this.opts.metrics).http(name);
    const opts = { name, log: this.opts.log, problems, limits: { keepAliveTimeoutMs: 5000, ...this.opts.limits } };
    const server = createBoundedServer(opts, (req, res, url) => this.handle(set, req, res, url));
    this.servers.push({ server, routes: set, address, opts });
  }

  /** Binds every listener; returns where each route is served (useful with port 0). */
  async start(): Promise<{ metrics?: AddressInfo; health?: AddressInfo }> {
    const out: { metrics?: AddressInfo; health?: AddressInfo } = {};
    for (const s of this.servers) {
      await listen(s.server, s.address.port, s.address.host, s.opts);
      const info = s.server.address() as AddressInfo;
      if (s.routes.has('metrics')) out.metrics = info;
      if (s.routes.has('health')) out.health = info;
      this.opts.log?.info({ address: `${info.address}:${info.port}`, routes: [...s.routes] }, 'observability server listening');
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => {
      if (!s.server.listening) return resolve();
      s.server.close(() => resolve());
      s.server.closeIdleConnections();
    })));
  }

  private async readiness() {
    const checks = await runChecks(this.opts.readiness, this.checkTimeoutMs);
    const r = renderChecks(checks, false);
    this.opts.metrics.ready.set(r.ok ? 1 : 0);
    return checks;
  }

  private async handle(routes: Set<Route>, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const known = (routes.has('metrics') && path === '/metrics') || (routes.has('health') && (path === '/livez' || path === '/readyz'));
    if (!known) return void send(res, 404, 'text/plain; charset=utf-8', 'not found\n', req.method);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return void send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', req.method);
    }
    if (path === '/metrics') {
      await this.readiness();
      const { contentType, body } = await this.opts.metrics.scrape();
      return void send(res, 200, contentType, body, req.method);
    }
    const verbose = url.searchParams.has('verbose');
    const checks = path === '/livez'
      ? (this.opts.liveness ? await runChecks(this.opts.liveness, this.checkTimeoutMs) : [{ name: 'event-loop', ok: true }])
      : await this.readiness();
    const r = renderChecks(checks, verbose);
    send(res, r.ok ? 200 : 503, 'text/plain; charset=utf-8', r.body, req.method);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string, method: string | undefined): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(method === 'HEAD' ? undefined : body);
}
