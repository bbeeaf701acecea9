/**
 * `petrel agent` (DaemonSet, one per node) and `petrel reflector` (route reflector Deployment on
 * nodes labelled petrel.dev/route-reflector): flags and environment → the Agent (src/agent/), the
 * metrics/health server (src/metrics/), the status API that `petrel status` reads, the node's
 * NetworkUnavailable condition, and signal handling.
 *
 * A lost API server or peer never stops the process: informers retry with jittered backoff and
 * keep their caches, sessions retry per the FSM, kernel routes stay. SIGTERM: Cease to every peer,
 * NetworkUnavailable=True (reason PetrelIsDown) when the API answers in time, routes left in place
 * (graceful restart; `petrel cleanup` removes them), exit 0.
 */
import { Agent, type AgentOptions } from '../agent/agent.js';
import { createDataplane, DEFAULT_PROTOCOL } from '../dataplane/index.js';
import { ConfigError } from '../errors.js';
import { KubeClient, loadClusterConfig, Transport } from '../k8s/index.js';
import {
  BgpMetricsAdapter, CniMetricsAdapter, ConvergenceMetricsAdapter, DataplaneMetricsAdapter, K8sMetricsAdapter, ObservabilityServer, PetrelMetrics, ProblemMetricsAdapter,
  bgpReadiness, cachesSynced, DEFAULT_HEALTH_ADDRESS, DEFAULT_METRICS_ADDRESS,
} from '../metrics/index.js';
import { parseListenAddress } from '../metrics/server.js';
import { httpUrl, oneLine, parse, UsageError, withUsage } from './args.js';
import { makeLogger } from './log.js';
import { guarded, onShutdownSignals } from './process.js';
import { startStatusApi, type StatusApi } from './status-api.js';
import { DEFAULT_RUN_DIR, DEFAULT_STATE_DIR } from '../cni/install.js';
import { startCni } from '../agent/cni.js';

const VERSION = '0.1.0';

const usage = (mode: string) => `Usage: petrel ${mode} [options]

${mode === 'agent' ? 'Runs the node agent: BGP per the cluster topology, kernel routes through netlink.' : 'Runs a BGP route reflector for the cluster (no kernel routes).'}
  --node-name NAME          this node (default: $NODE_NAME)
  --kubeconfig FILE         kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --context NAME            kubeconfig context
  --server URL              API server URL override (e.g. when the service VIP needs our routes)
  --metrics-address A       /metrics listener, HOST:PORT or :PORT ('' disables; default ${DEFAULT_METRICS_ADDRESS})
  --health-address A        /livez and /readyz listener (default ${DEFAULT_HEALTH_ADDRESS})
  --status-address A        status API for 'petrel status' (default 127.0.0.1:9179)
  --bgp-listen-address A    BGP listener address (default ::, every address)
  --connect-retry S         seconds between connection attempts to a peer (default 5)
  --ready-grace S           seconds after start during which every peer must be up to be ready (default 60)
  --watch-backoff-max S     longest wait between retries of a failed Kubernetes LIST/WATCH (default 30)
  --log-level L             trace|debug|info|warn|error (default info; $PETREL_LOG_LEVEL)${mode === 'agent' ? `
  --netns NAME              program this network namespace (tests and the lab; default: our own)
  --protocol N              rtm_protocol of Petrel's routes (default ${DEFAULT_PROTOCOL})
  --vxlan-vni N             VXLAN network identifier (default 4096)
  --veth-prefix P           prefix of pod host-side veth names (default pet)
  --state-dir DIR           CNI IPAM state (default ${DEFAULT_STATE_DIR}; the same as install-cni's)
  --run-dir DIR             directory of the CNI plugin's socket cni.sock (default ${DEFAULT_RUN_DIR})
  --no-cni                  do not serve the CNI plugin (pods wired by another plugin)` : `
  --cluster-id ID           route reflector cluster id (default: the node's annotation)`}`;

function hostPort(value: string, flag: string): { address: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  if (!m) throw new UsageError(`${flag}: expected HOST:PORT, got '${value}'`);
  return { address: m[1] ?? (m[2] || '127.0.0.1'), port: Number(m[3]) };
}

function int(value: string | undefined, dflt: number, flag: string, min = 0, max = 2 ** 32 - 1): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag}: expected an integer ${min}..${max}, got '${value}'`);
  return n;
}

export async function run(argv: string[], mode: 'agent' | 'reflector' = 'agent'): Promise<number> {
  return withUsage(usage(mode), async () => {
    const { values } = parse(argv, {
      'node-name': { type: 'string' }, kubeconfig: { type: 'string' }, context: { type: 'string' }, server: { type: 'string' },
      'metrics-address': { type: 'string' }, 'health-address': { type: 'string' }, 'status-address': { type: 'string' },
      'bgp-listen-address': { type: 'string' }, 'connect-retry': { type: 'string' }, 'ready-grace': { type: 'string' },
      'watch-backoff-max': { type: 'string' },
      'log-level': { type: 'string' }, netns: { type: 'string' }, protocol: { type: 'string' }, 'vxlan-vni': { type: 'string' },
      'veth-prefix': { type: 'string' }, 'cluster-id': { type: 'string' },
      'state-dir': { type: 'string' }, 'run-dir': { type: 'string' }, 'no-cni': { type: 'boolean' },
    });
    if (values.help) {
      process.stdout.write(`${usage(mode)}\n`);
      return 0;
    }
    const nodeName = values['node-name'] ?? process.env.NODE_NAME;
    if (!nodeName) throw new UsageError('--node-name (or $NODE_NAME) is required');
    if (mode === 'reflector' && (values.netns || values.protocol || values['state-dir'] || values['run-dir'] || values['no-cni'])) {
      throw new UsageError('--netns, --protocol, --state-dir, --run-dir and --no-cni are agent options');
    }
    for (const f of ['state-dir', 'run-dir'] as const) {
      const v = values[f];
      if (v !== undefined && !v.startsWith('/')) throw new UsageError(`--${f}: expected an absolute path, got '${v}'`);
    }
    const log = makeLogger(values['log-level'] ?? process.env.PETREL_LOG_LEVEL ?? 'info', `petrel-${mode}`);
    const statusAt = hostPort(values['status-address'] ?? '127.0.0.1:9179', '--status-address');
    if (values.server !== undefined) httpUrl(values.server, '--server');
    for (const flag of ['metrics-address', 'health-address'] as const) {
      try {
        if (values[flag] !== undefined) parseListenAddress(values[flag], `--${flag}`);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    const protocol = int(values.protocol, DEFAULT_PROTOCOL, '--protocol', 5, 255);
    const opts: AgentOptions = {
      nodeName, mode,
      bgpListenAddress: values['bgp-listen-address'] ?? '::',
      connectRetryTime: int(values['connect-retry'], 5, '--connect-retry', 1, 3600),
      readyGraceMs: int(values['ready-grace'], 60, '--ready-grace', 0, 86400) * 1000,
      vxlanVni: int(values['vxlan-vni'], 4096, '--vxlan-vni', 1, 2 ** 24 - 1),
      ...(values['veth-prefix'] ? { vethPrefix: values['veth-prefix'] } : {}),
      ...(values['cluster-id'] ? { clusterId: values['cluster-id'] } : {}),
    };
    if (values['watch-backoff-max'] !== undefined) {
      const maxMs = int(values['watch-backoff-max'], 30, '--watch-backoff-max', 1, 3600) * 1000;
      opts.reflector = { backoff: { initialMs: Math.min(800, maxMs), maxMs } };
    }

    let client: KubeClient;
    try {
      const cfg = loadClusterConfig({
        ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
        ...(values.context ? { context: values.context } : {}),
        ...(values.server ? { server: values.server } : {}),
      });
      client = new KubeClient(new Transport(cfg, { userAgent: `petrel-${mode}/${VERSION}` }));
      log.info({ server: cfg.server, source: cfg.source }, 'Kubernetes API');
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stderr.write(`petrel ${mode}: ${oneLine(e.message)}\n`);
        return 2;
      }
      throw e;
    }

    const metrics = new PetrelMetrics({ build: { version: VERSION, mode } });
    const k8sMetrics = new K8sMetricsAdapter(metrics);
    const convergence = new ConvergenceMetricsAdapter(metrics);
    const problems = new ProblemMetricsAdapter(metrics);
    const agent = new Agent(opts, {
      client, log,
      ...(process.env.POD_NAMESPACE ? { secretsNamespace: process.env.POD_NAMESPACE } : {}),
      speakerMetrics: new BgpMetricsAdapter(metrics),
      reflectorMetrics: () => k8sMetrics,
      convergence: (path, s) => convergence.observe(path, s),
      ...(mode === 'agent' ? {
        makeDataplane: (node) => createDataplane({
          ...(values.netns ? { netns: values.netns } : {}),
          protocol, nodeName,
          ...(node.ipv4 ? { nodeAddress: node.ipv4.address } : {}),
          log, metrics: new DataplaneMetricsAdapter(metrics),
        }),
      } : {}),
    });

    k8sMetrics.watchInformers(agent.cluster.informerViews());
    const startedAt = Date.now();
    const obs = new ObservabilityServer({
      metrics,
      metricsAddress: values['metrics-address'] ?? DEFAULT_METRICS_ADDRESS,
      healthAddress: values['health-address'] ?? DEFAULT_HEALTH_ADDRESS,
      log,
      readiness: () => {
        const checks = [cachesSynced(agent.cluster.syncedByResource())];
        const bgp = agent.bgp;
        if (!bgp) checks.push({ name: 'bgp-peers', ok: false, message: 'BGP speaker not started (waiting for the caches)' });
        else checks.push(bgpReadiness({
          now: Date.now(), startedAt, allPeersWithinMs: opts.readyGraceMs,
          peers: bgp.status().peers.map((p) => ({ address: p.address, established: p.state === 'Established' })),
        }));
        return checks;
      },
    });

    let api: StatusApi | undefined;
    const cni = mode === 'agent' && !values['no-cni']
      ? startCni(agent, { stateDir: values['state-dir'] ?? DEFAULT_STATE_DIR, runDir: values['run-dir'] ?? DEFAULT_RUN_DIR, ...(values.netns ? { netns: values.netns } : {}), ...(opts.vethPrefix ? { vethPrefix: opts.vethPrefix } : {}) }, log, new CniMetricsAdapter(metrics))
      : undefined;
    try {
      await cni?.start();
      await obs.start();
      // Served from the start: /agent shows what the agent waits for; /status and /routes answer 503
      // until the speaker exists (after the caches synced) and follow it if it is replaced.
      api = await startStatusApi(() => agent.bgp, statusAt, { extra: { '/agent': () => agent.status() }, log, problems: problems.http('status') });
      log.info({ address: statusAt.address, port: api.port }, 'status API listening');
      await agent.start();
    } catch (e) {
      log.error({ err: (e as Error).message }, 'cannot start');
      process.stderr.write(`petrel ${mode}: ${oneLine((e as Error).message)}\n`);
      await Promise.allSettled([agent.stop(), obs.close(), api?.close(), cni?.stop()]);
      return 1;
    }

    const condition = new NodeCondition(client, nodeName, log);
    if (mode === 'agent') {
      agent.on('converged', guarded('event_listener', log, (w) => problems.unexpected(w), () => {
        const bgp = agent.bgp;
        if (!bgp || condition.isUp) return;
        const ready = bgpReadiness({ now: Date.now(), startedAt, allPeersWithinMs: 0, peers: bgp.status().peers.map((p) => ({ address: p.address, established: p.state === 'Established' })) });
        if (ready.ok) condition.set(false, 'PetrelIsUp', 'Petrel is running and routing');
      }));
    }

    log.info({ node: nodeName, mode }, `petrel ${mode} started`);
    return new Promise<number>((resolve) => {
      const shutdown = (signal: string) => {
        log.info({ signal }, 'shutting down: Cease to every peer; kernel routes stay');
        const hard = setTimeout(() => resolve(0), 8000);
        hard.unref();
        void (async () => {
          if (mode === 'agent') await condition.setNow(true, 'PetrelIsDown', `petrel agent stopped (${signal})`);
          await Promise.allSettled([agent.stop(`petrel ${mode}: ${signal}`), obs.close(), cni?.stop()]);
          await api?.close();
          clearTimeout(hard);
          resolve(0);
        })();
      };
      onShutdownSignals(log, shutdown);
    });
  });
}

/** The node's NetworkUnavailable condition (strategic merge: conditions merge by type). */
class NodeCondition {
  private last: string | undefined;
  /** NetworkUnavailable=False has been written (nothing to do on further convergence). */
  get isUp(): boolean {
    return this.last === 'false/PetrelIsUp';
  }
  constructor(private readonly client: KubeClient, private readonly node: string, private readonly log: ReturnType<typeof makeLogger>) {}

  set(unavailable: boolean, reason: string, message: string): void {
    void this.setNow(unavailable, reason, message);
  }

  private pending: string | undefined;

  async setNow(unavailable: boolean, reason: string, message: string): Promise<void> {
    const key = `${unavailable}/${reason}`;
    // Several 'converged' events arrive while the first PATCH is in flight: send it once.
    if (this.last === key || this.pending === key) return;
    this.pending = key;
    try {
      await this.patch(unavailable, reason, message, key);
    } finally {
      if (this.pending === key) this.pending = undefined;
    }
  }

  private async patch(unavailable: boolean, reason: string, message: string, key: string): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    try {
      await this.client.patchNodeStatus(this.node, {
        status: { conditions: [{ type: 'NetworkUnavailable', status: unavailable ? 'True' : 'False', reason, message, lastTransitionTime: now, lastHeartbeatTime: now }] },
      }, 'strategic', AbortSignal.timeout(3000));
      this.last = key;
      this.log.info({ node: this.node, networkUnavailable: unavailable, reason }, 'node condition set');
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'could not set the NetworkUnavailable condition (retried on the next change)');
    }
  }
}
