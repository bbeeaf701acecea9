/**
 * The cluster as one node's agent sees it: five list-watch informers (all Nodes, the Pods on this
 * node, and Petrel's three CRDs), each object converted and validated by k8s/resources.ts.
 *
 * Every relevant informer event marks the view dirty and schedules one `changed` emission on the next
 * turn of the event loop (setImmediate): a burst of events — a relist, a rollout — becomes one
 * recompute, and nothing waits on a timer or a poll. Objects that do not convert are skipped and
 * reported in `problems` (the agent logs each once); the rest of the cluster keeps working.
 *
 * What burned us (the convergence benchmark, 50 agents on 2 cores): every Node write wakes every agent
 * in the cluster, and most Node writes are nothing any agent reads — the kubelet's heartbeats and
 * conditions, our own NetworkUnavailable patch, another controller's annotation. So:
 *   - an update is relevant only when the converted object (NodeInfo, PodInfo: what the topology and
 *     the dataplane read) differs; for this agent's own Node also its annotations, labels, podCIDRs and
 *     addresses, the raw inputs of the node annotator. Anything else is counted in `skipped` and wakes
 *     nothing. Adds, deletes and CRD updates are always relevant.
 *   - conversions are cached per object (the informer replaces the object on every update, so the
 *     object's identity is its version): view() converts only what changed since the last view instead
 *     of every object of the cluster.
 */
import { EventEmitter } from 'node:events';
import { Informer, type KubeClient, type KubeObject, type Logger, type ReflectorMetrics } from '../k8s/index.js';
import {
  convertBgpPeer, convertIpPool, convertNode, convertPod, selectBgpConfiguration,
  type BgpConfiguration, type BgpPeer, type Converted, type IpPool, type NodeInfo, type PodInfo, type ResourceError,
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
  /** Conversion of each raw object, by identity (a new version is a new object). */
  private readonly converted = new WeakMap<object, Converted<unknown>>();
  /** selectBgpConfiguration of the last list of BGPConfigurations (same objects: same answer). */
  private cfgMemo: { objs: readonly unknown[]; result: ReturnType<typeof selectBgpConfiguration> } | undefined;
  /** Updates that changed nothing the agent reads (no recompute). */
  skipped = 0;

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
      const update = (oldObj: KubeObject, newObj: KubeObject) => {
        if (this.relevant(r, oldObj, newObj)) this.touch();
        else this.skipped++;
      };
      inf.addHandlers({ add: touch, update, delete: touch });
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

  /** Whether an update changes anything the agent reads (see the header). */
  private relevant(r: Resource, oldObj: KubeObject, newObj: KubeObject): boolean {
    if (r === 'nodes') {
      if (newObj.metadata?.name === this.o.nodeName && ownNodeKey(oldObj) !== ownNodeKey(newObj)) return true;
      return !sameConversion(this.convert(oldObj, convertNode), this.convert(newObj, convertNode));
    }
    if (r === 'pods') return !sameConversion(this.convert(oldObj, convertPod), this.convert(newObj, convertPod));
    return true;
  }

  private convert<T>(obj: unknown, fn: (o: unknown) => Converted<T>): Converted<T> {
    if (!obj || typeof obj !== 'object') return fn(obj);
    let c = this.converted.get(obj) as Converted<T> | undefined;
    if (!c) {
      c = fn(obj);
      this.converted.set(obj, c);
    }
    return c;
  }

  private convertList<T>(objs: readonly unknown[], fn: (o: unknown) => Converted<T>): { ok: T[]; errors: ResourceError[] } {
    const ok: T[] = [];
    const errors: ResourceError[] = [];
    for (const o of objs) {
      const c = this.convert(o, fn);
      if ('ok' in c) ok.push(c.ok);
      else errors.push(c.error);
    }
    return { ok, errors };
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
    const nodes = this.convertList(list('nodes'), convertNode);
    const pods = this.convertList(list('pods'), convertPod);
    const cfgObjs = list('bgpconfigurations');
    const memo = this.cfgMemo;
    const cfg = memo && memo.objs.length === cfgObjs.length && memo.objs.every((o, i) => o === cfgObjs[i]) ? memo.result : selectBgpConfiguration(cfgObjs);
    this.cfgMemo = { objs: cfgObjs, result: cfg };
    const peers = this.convertList(list('bgppeers'), convertBgpPeer);
    const pools = this.convertList(list('ippools'), convertIpPool);
    const v: ClusterView = {
      nodes: nodes.ok,
      pods: pods.ok,
      bgpPeers: peers.ok,
      ipPools: pools.ok,
      // A copy: the agent appends its own problems to the view's list.
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

/** Converted objects compare by value; their fields are built in a fixed order, so JSON is a faithful key. */
function sameConversion(a: Converted<unknown>, b: Converted<unknown>): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** What the node annotator reads from this agent's own Node, beyond its NodeInfo. */
function ownNodeKey(obj: KubeObject): string {
  const o = obj as { metadata?: { annotations?: unknown; labels?: unknown }; spec?: { podCIDR?: unknown; podCIDRs?: unknown }; status?: { addresses?: unknown } };
  return JSON.stringify([o.metadata?.annotations, o.metadata?.labels, o.spec?.podCIDR, o.spec?.podCIDRs, o.status?.addresses]);
}
