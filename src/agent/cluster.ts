/**
 * The cluster as one node's agent sees it: five list-watch informers (all Nodes, the Pods on this
 * node, and Petrel's three CRDs), each object converted and validated by k8s/resources.ts.
 *
 * Every informer event marks the view dirty and schedules one `changed` emission on the next turn of
 * the event loop (setImmediate): a burst of events — a relist, a rollout — becomes one recompute, and
 * nothing waits on a timer or a poll. Objects that do not convert are skipped and reported in
 * `problems` (the agent logs each once); the rest of the cluster keeps working.
 */
import { EventEmitter } from 'node:events';
import { Informer, type KubeClient, type KubeObject, type Logger, type ReflectorMetrics } from '../k8s/index.js';
import {
  convertAll, convertBgpPeer, convertIpPool, convertNode, convertPod, selectBgpConfiguration,
  type BgpConfiguration, type BgpPeer, type IpPool, type NodeInfo, type PodInfo, type ResourceError,
} from '../k8s/resources.js';

export interface ClusterView {
  nodes: NodeInfo[];
  pods: PodInfo[];
  bgpConfiguration?: BgpConfiguration;
  bgpPeers: BgpPeer[];
  ipPools: IpPool[];
  problems: ResourceError[];
  /** performance.now() of the oldest event not yet seen by a `changed` listener. */
  oldestEventAt?: number;
}

export interface ClusterWatchOptions {
  nodeName: string;
  /** Watch pods of this node (false for the reflector, which needs none). */
  pods: boolean;
  log: Logger;
  metrics?: (resource: string) => ReflectorMetrics;
  reflector?: { idleTimeoutMs?: number; backoff?: { initialMs?: number; maxMs?: number } };
}

type Resource = 'nodes' | 'pods' | 'bgpconfigurations' | 'bgppeers' | 'ippools';

export class ClusterWatch extends EventEmitter<{ changed: [] }> {
  private readonly informers = new Map<Resource, Informer<KubeObject>>();
  private scheduled = false;
  private oldest: number | undefined;

  constructor(client: KubeClient, private readonly o: ClusterWatchOptions) {
    super();
    const add = (r: Resource, lw: ReturnType<KubeClient['listWatcher']>) => {
      const inf = new Informer<KubeObject>(lw as never, {
        log: o.log,
        ...(o.metrics ? { metrics: plainResource(r, o.metrics(r)) } : {}),
        ...(o.reflector?.idleTimeoutMs ? { idleTimeoutMs: o.reflector.idleTimeoutMs } : {}),
        ...(o.reflector?.backoff ? { backoff: o.reflector.backoff } : {}),
      });
      const touch = () => this.touch();
      inf.addHandlers({ add: touch, update: touch, delete: touch });
      this.informers.set(r, inf);
    };
    add('nodes', client.listWatcher('nodes'));
    if (o.pods) add('pods', client.listWatcher('pods', { fieldSelector: `spec.nodeName=${o.nodeName}` }));
    add('bgpconfigurations', client.listWatcher('bgpconfigurations'));
    add('bgppeers', client.listWatcher('bgppeers'));
    add('ippools', client.listWatcher('ippools'));
  }

  private touch(): void {
    this.oldest ??= performance.now();
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.emit('changed');
    });
  }

  start(): void {
    for (const inf of this.informers.values()) {
      inf.start();
      // An empty LIST fires no handler, yet completing the set of synced caches must recompute.
      void inf.synced.then(() => this.touch());
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }

  /** Resolves once every informer has applied its first complete LIST. */
  async synced(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.synced));
  }

  syncedByResource(): Record<string, boolean> {
    const out: Record<string, boolean> = {};
    for (const [r, i] of this.informers) out[r] = i.hasSynced;
    return out;
  }

  stats(): Record<string, Informer<KubeObject>['stats'] & { objects: number }> {
    const out: Record<string, Informer<KubeObject>['stats'] & { objects: number }> = {};
    for (const [r, i] of this.informers) out[r] = { ...i.stats, objects: i.keys().length };
    return out;
  }

  /** The converted view; takes (and clears) the oldest-unseen-event mark. */
  view(): ClusterView {
    const list = (r: Resource) => this.informers.get(r)?.list() ?? [];
    const nodes = convertAll(list('nodes'), convertNode);
    const pods = convertAll(list('pods'), convertPod);
    const cfg = selectBgpConfiguration(list('bgpconfigurations'));
    const peers = convertAll(list('bgppeers'), convertBgpPeer);
    const pools = convertAll(list('ippools'), convertIpPool);
    const v: ClusterView = {
      nodes: nodes.ok,
      pods: pods.ok,
      bgpPeers: peers.ok,
      ipPools: pools.ok,
      problems: [...nodes.errors, ...pods.errors, ...cfg.errors, ...peers.errors, ...pools.errors],
    };
    if (cfg.config) v.bgpConfiguration = cfg.config;
    if (this.oldest !== undefined) v.oldestEventAt = this.oldest;
    this.oldest = undefined;
    return v;
  }

  informerViews(): InformerView[] {
    return [...this.informers].map(([resource, inf]) => ({ resource, get hasSynced() { return inf.hasSynced; }, list: () => inf.list() }));
  }

  /** Raw object of this node (for annotations the agent itself maintains). */
  rawNode(name: string): KubeObject | undefined {
    return this.informers.get('nodes')?.get(name);
  }
}

/** What metrics read from an informer at scrape time, named by the plain resource. */
export interface InformerView {
  readonly resource: string;
  readonly hasSynced: boolean;
  list(): readonly unknown[];
}

/**
 * The informer names its resource with its selector ("pods(spec.nodeName=n1)", for logs); metrics
 * want the plain resource, or every pod metric of the agent lands in resource="other".
 */
function plainResource(resource: Resource, sink: ReflectorMetrics): ReflectorMetrics {
  return {
    event: (_r, type) => sink.event(resource, type),
    relist: (_r, reason) => sink.relist(resource, reason),
    restart: (_r, reason) => sink.restart(resource, reason),
    error: (_r, code) => sink.error(resource, code),
  };
}
