/**
 * One call for agent/ and cli/ to get everything observable: the registry, the adapters the domain
 * layers take (speaker + sessions, dataplane, informers, convergence) and the HTTP server.
 *
 *   const obs = createObservability({ mode: 'agent', version, metricsAddress, healthAddress,
 *     readiness: () => [cachesSynced(...), bgpReadiness({...})] });
 *   new Speaker(cfg, { metrics: obs.bgp }); createDataplane({ metrics: obs.dataplane });
 *   new Informer(..., { metrics: obs.k8s }); obs.k8s.watchInformers(informers);
 *   obs.metrics.onScrape(() => speaker.reportMetrics());
 *   await obs.server.start(); … await obs.server.close();
 *
 * The dataplane adapter is created on first use: it presets its series to zero, which a reflector
 * (no dataplane) must not export, or "no remote routes" would read as true for it.
 */
import { BgpMetricsAdapter, ConvergenceMetricsAdapter, DataplaneMetricsAdapter, K8sMetricsAdapter } from './adapters.js';
import type { CheckSource } from './health.js';
import { PetrelMetrics, type PetrelMetricsOptions } from './registry.js';
import { ObservabilityServer, type Logger } from './server.js';

export interface ObservabilityOptions {
  mode: NonNullable<PetrelMetricsOptions['build']>['mode'];
  version: string;
  /** Defaults DEFAULT_METRICS_ADDRESS / DEFAULT_HEALTH_ADDRESS; '' turns an endpoint off. */
  metricsAddress?: string;
  healthAddress?: string;
  readiness: CheckSource;
  liveness?: CheckSource;
  log?: Logger;
  processMetrics?: boolean;
}

export interface Observability {
  metrics: PetrelMetrics;
  bgp: BgpMetricsAdapter;
  readonly dataplane: DataplaneMetricsAdapter;
  k8s: K8sMetricsAdapter;
  convergence: ConvergenceMetricsAdapter;
  server: ObservabilityServer;
}

export function createObservability(o: ObservabilityOptions): Observability {
  const metrics = new PetrelMetrics({ build: { version: o.version, mode: o.mode }, processMetrics: o.processMetrics });
  let dataplane: DataplaneMetricsAdapter | undefined;
  return {
    metrics,
    bgp: new BgpMetricsAdapter(metrics),
    get dataplane() {
      return (dataplane ??= new DataplaneMetricsAdapter(metrics));
    },
    k8s: new K8sMetricsAdapter(metrics),
    convergence: new ConvergenceMetricsAdapter(metrics),
    server: new ObservabilityServer({
      metrics, metricsAddress: o.metricsAddress, healthAddress: o.healthAddress,
      readiness: o.readiness, liveness: o.liveness, log: o.log,
    }),
  };
}
