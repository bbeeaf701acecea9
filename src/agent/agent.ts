/**
 * One node's agent (and, without a dataplane, the route reflector): composes the cluster watch
 * (k8s), the topology (pure), the BGP speaker and the dataplane. Only this file and cli/ know all
 * three; each of them knows nothing of the others.
 *
 *   informer event ─▶ ClusterWatch 'changed' (setImmediate) ─▶ reconcile():
 *       computeTopology → speaker.setPeers / setLocalRoutes          (what we peer with and announce)
 *                       → dataplane.setLocalPods / setLocalBlocks / setTunnels / setNatPools
 *   speaker 'bestChanged' ─▶ RemoteRouteTable.learn (deltas) ─▶ dataplane.setRemoteBlocks
 *
 * Event-driven end to end: a Pod or Node change reaches the local kernel and the BGP UPDATEs to every
 * peer within the same few event-loop turns; no poll or timer is in the path (the dataplane's own
 * periodic resync only repairs drift).
 *
 * Complicating factors: the API server can vanish (the informers keep their caches and retry with
 * backoff; we keep the last good state — routes and sessions stay); the speaker's identity (AS,
 * router id, cluster id, port) can only change by restarting it; a BGPPeer with a password is
 * started only once its Secret has been read (TCP-MD5, RFC 2385) — never without its password;
 * the agent writes its own Node's BGP address (CIDR) and VXLAN VTEP annotations (node-annotator.ts),
 * which every other node's topology reads.
 */
import { networkInterfaces } from 'node:os';
import { EventEmitter } from 'node:events';
import { Speaker, type Logger, type SpeakerMetrics, type SpeakerPeer } from '../bgp/speaker.js';
import type { ApplyReport, Dataplane } from '../dataplane/index.js';
import { hostVethName } from '../dataplane/index.js';
import type { KubeClient, ReflectorMetrics } from '../k8s/index.js';
import { computeTopology } from '../k8s/topology.js';
import { defaultBgpConfiguration, type NodeInfo, type ResourceError } from '../k8s/resources.js';
import { canonicalPrefix } from '../model/ip.js';
import type { LocalPodRoute, TunnelSettings } from '../model/routes.js';
import type { RemoteBlockRoute, Topology, TopologyProblem } from '../model/topology.js';
import { ClusterWatch } from './cluster.js';
import { RemoteRouteTable } from './remote-routes.js';
import { NodeAnnotator } from './node-annotator.js';
import type { LocalInterfaceAddress } from './node-identity.js';
import { SecretCache } from './secrets.js';

export interface AgentOptions {
  nodeName: string;
  /** 'agent' programs the kernel; 'reflector' only reflects routes. */
  mode: 'agent' | 'reflector';
  /** Overrides the node's route-reflector cluster id (reflector mode). */
  clusterId?: string;
  /** Address the BGP listener binds ('::' = every address, both families). */
  bgpListenAddress: string;
  /** Seconds between active connection attempts to a peer (RFC 4271 ConnectRetryTimer). */
  connectRetryTime: number;
  /** Grace period after start during which readiness wants every peer Established. */
  readyGraceMs: number;
  /** VXLAN network identifier for pools with vxlanMode. */
  vxlanVni: number;
  /** Prefix of host-side pod veth names (dataplane/names.ts). */
  vethPrefix?: string;
  reflector?: { idleTimeoutMs?: number; backoff?: { initialMs?: number; maxMs?: number } };
}

export interface AgentDeps {
  client: KubeClient;
  log: Logger;
  /** Agent mode: makes the dataplane once this node's Node object is known (its address finds the uplink). */
  makeDataplane?: (node: NodeInfo) => Dataplane;
  speakerMetrics?: SpeakerMetrics;
  reflectorMetrics?: (resource: string) => ReflectorMetrics;
  /** Observes convergence latencies in seconds ('k8s_to_kernel', 'bgp_to_kernel', 'k8s_to_bgp'). */
  convergence?: (path: string, seconds: number) => void;
  /** This host's subnets (CIDR); default: read from the interfaces of the process's namespace. */
  localSubnets?: () => string[];
  /** Local interface addresses for the BGP address annotation (default: os.networkInterfaces()). */
  interfaces?: () => LocalInterfaceAddress[];
  /** Namespace of the BGPPeer password Secrets (default petrel-system). */
  secretsNamespace?: string;
}

export interface AgentStatus {
  node: string;
  mode: 'agent' | 'reflector';
  startedAt: string;
  caches: Record<string, boolean>;
  topology?: { localAsn: number; routerId: string; clusterId?: string; peers: number; advertise: string[]; remoteBlocks: number; localBlocks: string[] };
  remoteRoutes: number;
  ignoredRoutes: Array<{ prefix: string; reason: string }>;
  problems: Array<TopologyProblem | ResourceError>;
  /** Why the dataplane could not be opened, while it cannot. */
  dataplaneError?: string;
  /**
   * BGPConfiguration spec.gracefulRestart in force, and whether the kernel routes the previous
   * process learned by BGP are still kept, waiting for the peers' End-of-RIB (RFC 4724).
   */
  gracefulRestart: { enabled: boolean; restartTime: number; keepingStaleKernelRoutes: boolean };
}

/** BGPConfiguration's gracefulRestart defaults, for a cluster without a BGPConfiguration. */
const DEFAULT_GR = defaultBgpConfiguration().gracefulRestart;

export function hostSubnets(): string[] {
  const out: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.internal || !a.cidr || a.address.startsWith('fe80')) continue;
      try { out.push(canonicalPrefix(a.cidr, true)); } catch { /* odd interface address: skip */ }
    }
  }
  return out;
}

export class Agent extends EventEmitter<{ converged: []; dataplane: [] }> {
  readonly cluster: ClusterWatch;
  private speaker: Speaker | undefined;
  private topo: Topology | undefined;
  /** The remote routes, from the speaker's best-path deltas and the topology (both incremental). */
  private readonly remote: RemoteRouteTable;
  /** The remote routes last handed to the dataplane, and the dataplane they went to. */
  private handedRemote: readonly RemoteBlockRoute[] | undefined;
  private remoteHandedTo: Dataplane | undefined;
  private problems: Array<TopologyProblem | ResourceError> = [];
  private readonly reported = new Set<string>();
  private readonly startedAt = Date.now();
  private stopped = false;
  private applying: Promise<void> = Promise.resolve();
  private dataplane: Dataplane | undefined;
  private readonly annotator: NodeAnnotator | undefined;
  private readonly secrets: SecretCache;
  private dataplaneError: string | undefined;
  /** What was last handed to the speaker and the dataplane, by setter (see `differs`). */
  private readonly handed = new Map<string, { target: object; json: string }>();
  private lastApplyOk = false;
  private annotated: { raw: unknown; pools: string } | undefined;
  private retryMs = 1000;
  private retryTimer: NodeJS.Timeout | undefined;
  /** BGPConfiguration spec.gracefulRestart as the running speaker was built with (RFC 4724). */
  private gr: { enabled: boolean; restartTime: number } = DEFAULT_GR;
  /** Speakers made by this process so far: the first one is a restart (R bit), later ones are not. */
  private speakersMade = 0;
  /** The dataplane keeps the previous process's BGP-learned kernel routes until the speaker's initial sync. */
  private retaining = false;
  /**
   * Host routes of the CNI plugin's live attachments (src/cni/), by attachment: desired for as long
   * as the attachment lives, whether or not a Pod object names it (a runtime outside Kubernetes).
   */
  private readonly cniRoutes = new Map<string, LocalPodRoute[]>();
  /** Pods of the last complete view, and this node as it last saw it. */
  private lastPods: ReturnType<ClusterWatch['view']>['pods'] = [];
  private me: NodeInfo | undefined;

  constructor(readonly opts: AgentOptions, private readonly deps: AgentDeps) {
    super();
    this.remote = new RemoteRouteTable(deps.localSubnets ?? hostSubnets);
    this.cluster = new ClusterWatch(deps.client, {
      nodeName: opts.nodeName,
      pods: opts.mode === 'agent',
      log: deps.log,
      ...(deps.reflectorMetrics ? { metrics: deps.reflectorMetrics } : {}),
      ...(opts.reflector ? { reflector: opts.reflector } : {}),
    });
    this.cluster.on('changed', () => this.reconcile());
    // Agent mode publishes this node's BGP address (CIDR form) and VTEP; the reflector writes nothing.
    if (opts.mode === 'agent') {
      this.annotator = new NodeAnnotator(deps.client, { nodeName: opts.nodeName, log: deps.log, ...(deps.interfaces ? { interfaces: deps.interfaces } : {}) });
    }
    this.secrets = new SecretCache(deps.client, { namespace: deps.secretsNamespace ?? 'petrel-system', log: deps.log, onResolved: () => this.reconcile() });
  }

  get bgp(): Speaker | undefined {
    return this.speaker;
  }

  async start(): Promise<void> {
    this.cluster.start();
  }

  get dp(): Dataplane | undefined {
    return this.dataplane;
  }

  /** Resolves when the caches hold a complete LIST (readiness reports it, nothing waits on it). */
  synced(): Promise<void> {
    return this.cluster.synced();
  }

  private reconcile(): void {
    if (this.stopped) return;
    const view = this.cluster.view();
    if (Object.values(this.cluster.syncedByResource()).some((s) => !s)) return; // no partial views
    const topo = computeTopology({
      nodes: view.nodes,
      ...(view.bgpConfiguration ? { bgpConfiguration: view.bgpConfiguration } : {}),
      bgpPeers: view.bgpPeers,
      ipPools: view.ipPools,
      thisNode: this.opts.nodeName,
    });
    if (this.opts.clusterId) topo.clusterId = this.opts.clusterId;
    const before = this.topo;
    this.topo = topo;
    this.remote.setTopology(topo);
    this.reportProblems([...view.problems, ...topo.problems]);
    this.secrets.want(topo.peers.flatMap((p) => (p.password ? [p.password] : [])));

    const gr = view.bgpConfiguration?.gracefulRestart ?? DEFAULT_GR;
    const grChanged = gr.enabled !== this.gr.enabled || gr.restartTime !== this.gr.restartTime;
    this.gr = { enabled: gr.enabled, restartTime: gr.restartTime };
    if (!this.speaker || (before && identityChanged(before, topo)) || grChanged) this.restartSpeaker(topo);
    const speaker = this.speaker!;
    const peers = this.peersFor(topo);
    if (this.differs('peers', peers, speaker)) speaker.setPeers(peers);
    const local = topo.advertise.map((a) => ({ prefix: a.prefix, ...(a.communities.length ? { communities: a.communities } : {}) }));
    // A change of what we advertise goes out first: the speaker sends it when its RIB flushes (the next
    // setImmediate), and the rest of this reconcile (the Node annotation patch, the local dataplane
    // pass) would otherwise run before that, as promise callbacks do. So that work waits one turn.
    const advertising = this.differs('localRoutes', local, speaker);
    if (advertising) speaker.setLocalRoutes(local);
    if (view.oldestEventAt !== undefined) this.deps.convergence?.('k8s_to_bgp', (performance.now() - view.oldestEventAt) / 1000);
    const afterBgp = (f: () => void) => (advertising ? setImmediate(() => { if (!this.stopped) f(); }) : f());
    afterBgp(() => { if (this.topo === topo) this.syncAnnotations(topo); });

    const me = view.nodes.find((n) => n.name === this.opts.nodeName);
    this.me = me;
    this.lastPods = view.pods;
    if (!this.dataplane && me && this.deps.makeDataplane) {
      try {
        const made = this.deps.makeDataplane(me);
        this.dataplane = made;
        this.dataplaneError = undefined;
        // RFC 4724 §4.1 on the restarting side: the kernel routes the previous process learned by BGP
        // stay until our peers have re-sent their routes (End-of-RIB) or the restart time passed;
        // then whatever was not learned again is deleted.
        if (this.gr.enabled && !speaker.initiallySynced && made.retainStaleRoutes) {
          made.retainStaleRoutes(true);
          this.retaining = true;
          this.deps.log.info({ restartTime: this.gr.restartTime }, 'graceful restart: keeping BGP-learned kernel routes until the peers\' End-of-RIB');
        }
        this.applying = this.applying.then(async () => { await made.start(); });
        this.emit('dataplane');
      } catch (e) {
        // E.g. the netlink addon cannot load or the namespace is refused: say so, keep BGP running,
        // and try again after a backoff (the next cluster change also retries).
        this.dataplaneError = `${(e as { code?: string }).code ?? 'DP_ERR'}: ${(e as Error).message}`;
        this.deps.log.error({ err: this.dataplaneError }, 'cannot open the dataplane; kernel routes are not programmed');
        this.retryLater();
      }
    }
    const dp = this.dataplane;
    if (!dp) return;
    // Each setter marks the dataplane dirty (a recompute of its desired routes, a neighbour dump):
    // only what differs from what it was last given is handed over (see `differs`).
    let changed = false;
    const localPods = this.localPods(view.pods);
    const tunnels = this.tunnels(topo, me?.vxlanTunnelAddress, me?.vxlanTunnelMac); // annotated or derived
    if (this.differs('localBlocks', topo.localBlocks, dp)) { dp.setLocalBlocks(topo.localBlocks); changed = true; }
    if (this.differs('localPods', localPods, dp)) { dp.setLocalPods(localPods); changed = true; }
    if (this.differs('natPools', topo.pools, dp)) { dp.setNatPools(topo.pools); changed = true; }
    if (this.differs('tunnels', tunnels, dp)) { dp.setTunnels(tunnels); changed = true; }
    if (this.updateRemote()) changed = true;
    afterBgp(() => this.applyDataplane('k8s_to_kernel', view.oldestEventAt, changed));
  }

  /**
   * Hands this node's raw object and the pools to the annotator when either changed since the last
   * time (or its last patch failed: the next reconcile retries it). Its answer depends on nothing
   * else the watch brings, and working it out reads every local interface (getifaddrs).
   */
  private syncAnnotations(topo: Topology): void {
    if (!this.annotator) return;
    const raw = this.cluster.rawNode(this.opts.nodeName);
    const pools = JSON.stringify(topo.pools);
    const last = this.annotated;
    if (last && last.raw === raw && last.pools === pools && this.annotator.lastError === undefined) return;
    this.annotated = { raw, pools };
    this.annotator.sync(raw, topo.pools);
  }

  /**
   * True when `value` differs from what was last handed to `target` under `key` (and records it).
   * What burned us: every Node event in the cluster reached every agent's speaker and dataplane as a
   * full set of "new" desired state, and the dataplane, whose setters mark everything dirty, redid its
   * whole pass — at 50 nodes on 2 cores that queueing was most of the convergence time. The values
   * are small (a node's peers, blocks, pods): their JSON is the comparison. A new speaker or dataplane
   * (`target`) always gets everything.
   */
  private differs(key: string, value: unknown, target: object): boolean {
    const json = JSON.stringify(value);
    const last = this.handed.get(key);
    if (last && last.target === target && last.json === json) return false;
    this.handed.set(key, { target, json });
    return true;
  }

  private reportProblems(problems: Array<TopologyProblem | ResourceError>): void {
    this.problems = problems;
    const now = new Set<string>();
    for (const p of problems) {
      const key = `${p.kind}/${p.name}/${p.field}/${p.message}`;
      now.add(key);
      if (!this.reported.has(key)) this.deps.log.warn({ kind: p.kind, name: p.name, field: p.field }, `skipped: ${p.message}`);
    }
    this.reported.clear();
    for (const k of now) this.reported.add(k);
  }

  private peersFor(topo: Topology): SpeakerPeer[] {
    const out: SpeakerPeer[] = [];
    for (const p of topo.peers) {
      let password: string | undefined;
      if (p.password) {
        const l = this.secrets.get(p.password);
        if (l.state !== 'ok') {
          const why = l.state === 'pending' ? 'waiting for its password Secret' : l.message;
          this.problems.push({ kind: 'BGPPeer', name: p.bgpPeer ?? p.name, field: 'spec.password.secretKeyRef', message: `peer ${p.address}: ${why}: session not started` });
          continue;
        }
        password = l.value;
      }
      const s: SpeakerPeer = {
        name: p.name, type: p.type, address: p.address, port: p.port, asn: p.asn, passive: p.passive, rrClient: p.rrClient,
        holdTime: p.holdTime, keepaliveTime: p.keepaliveTime, families: p.families, connectRetryTime: this.opts.connectRetryTime,
      };
      if (p.localAddress) s.localAddress = p.localAddress;
      // BGPPeer spec.maxPrefixes: the limit for each address family (RFC 4486 Cease subcode 1).
      if (p.maxPrefixes !== undefined) s.maxPrefixes = { ipv4: p.maxPrefixes, ipv6: p.maxPrefixes };
      if (password) s.password = password;
      out.push(s);
    }
    return out;
  }

  private restartSpeaker(topo: Topology): void {
    const old = this.speaker;
    if (old) {
      this.deps.log.info({ asn: topo.localAsn, routerId: topo.routerId, clusterId: topo.clusterId }, 'BGP identity changed: restarting the speaker');
      old.removeAllListeners('bestChanged');
      old.removeAllListeners('initialSync');
      void old.stop('petrel: BGP identity changed').catch(() => {});
      this.remote.clearLearned();
    }
    const speaker = new Speaker(
      {
        asn: topo.localAsn,
        routerId: topo.routerId,
        ...(topo.clusterId ? { clusterId: topo.clusterId } : {}),
        listen: { address: this.opts.bgpListenAddress, port: topo.listenPort },
        // A refused connect (the peer's agent not listening yet) is retried after the idle hold: 1 s
        // (jittered), then doubling up to this connect retry time; a peer that calls us is taken at once.
        connectRetryTime: this.opts.connectRetryTime,
        gracefulRestart: {
          enabled: this.gr.enabled,
          restartTime: this.gr.restartTime,
          // The first speaker of this process comes after a restart of the agent, whose kernel
          // routes (agent mode) stayed; a reflector forwards nothing, so it has nothing to lose.
          restarting: this.speakersMade === 0,
          forwardingPreserved: true,
        },
      },
      { log: this.deps.log, ...(this.deps.speakerMetrics ? { metrics: this.deps.speakerMetrics } : {}) },
    );
    // A reflector programs no kernel: it does not listen, so its speaker builds no best-route deltas.
    if (this.opts.mode === 'agent') {
      speaker.on('bestChanged', (deltas) => {
        // Stopping closes every session, which withdraws every learned route: those withdrawals must
        // not reach the kernel (routes stay for graceful restart; `petrel cleanup` removes them).
        if (this.stopped) return;
        const t0 = performance.now();
        this.remote.learn(deltas);
        if (this.updateRemote()) this.applyDataplane('bgp_to_kernel', t0, true);
      });
    }
    this.speakersMade++;
    speaker.on('initialSync', (reason) => {
      if (this.speaker !== speaker || this.stopped) return;
      this.releaseStaleRoutes(reason);
    });
    this.speaker = speaker;
    speaker.start().catch((e: unknown) => {
      // E.g. the BGP port is taken (another routing daemon on the host): say so and try again later.
      this.deps.log.error({ err: (e as Error).message }, 'BGP speaker failed to start (retrying with backoff)');
      if (this.speaker !== speaker) return;
      speaker.removeAllListeners('bestChanged');
      void speaker.stop('petrel: start failed').catch(() => {});
      this.speaker = undefined;
      this.retryLater();
    });
  }

  /** The speaker's initial exchange is over: kernel routes of ours that BGP did not bring back go. */
  private releaseStaleRoutes(reason: string): void {
    const dp = this.dataplane;
    if (!this.retaining || !dp?.retainStaleRoutes) return;
    this.retaining = false;
    this.deps.log.info({ reason }, 'graceful restart: initial BGP exchange complete, sweeping kernel routes not learned again');
    dp.retainStaleRoutes(false);
    this.applyDataplane('bgp_to_kernel', undefined, true);
  }

  /**
   * Hands the remote routes to the dataplane when they changed since it last got them (the table
   * returns the same list while nothing changed); true when it did.
   */
  private updateRemote(): boolean {
    const dp = this.dataplane;
    if (!dp || !this.topo) return false;
    const routes = this.remote.current.routes;
    if (this.remoteHandedTo === dp && this.handedRemote === routes) return false;
    this.remoteHandedTo = dp;
    this.handedRemote = routes;
    dp.setRemoteBlocks(routes);
    return true;
  }

  /**
   * Runs a dataplane pass after the setters (serialised). With nothing handed over (`changed` false)
   * the pass is skipped unless the last one left errors (those are retried on the next change, as
   * before); 'converged' is emitted either way, in order.
   */
  private applyDataplane(path: string, since: number | undefined, changed: boolean): void {
    const dp = this.dataplane;
    if (!dp) return;
    this.applying = this.applying.then(async () => {
      if (!changed && this.lastApplyOk) {
        this.emit('converged');
        return;
      }
      const report = await dp.apply();
      this.lastApplyOk = report.ok;
      if (since !== undefined) this.deps.convergence?.(path, (performance.now() - since) / 1000);
      if (!report.ok) this.deps.log.warn({ errors: report.errors.length, pending: report.pending.length, issues: report.issues.map((i) => i.message) }, 'dataplane apply left errors (retried on the next change and at resync)');
      this.emit('converged');
    }).catch((e: unknown) => this.deps.log.error({ err: (e as Error).message }, 'dataplane apply failed'));
  }

  /** Pod routes: the CNI plugin's attachments, then Pod objects for addresses no attachment holds. */
  private localPods(pods: ReturnType<ClusterWatch['view']>['pods']): LocalPodRoute[] {
    const out: LocalPodRoute[] = [];
    const seen = new Set<string>();
    for (const routes of this.cniRoutes.values()) {
      for (const r of routes) if (!seen.has(r.prefix)) { seen.add(r.prefix); out.push(r); }
    }
    for (const p of pods) {
      if (p.hostNetwork || p.node !== this.opts.nodeName || p.deleting) continue;
      const ifName = hostVethName(p.namespace, p.name, this.opts.vethPrefix);
      for (const ip of p.ips) {
        const prefix = ip.includes(':') ? `${ip}/128` : `${ip}/32`;
        if (!seen.has(prefix)) { seen.add(prefix); out.push({ prefix, ifName }); }
      }
    }
    return out;
  }

  // ---- the CNI plugin's host (src/cni/plugin.ts CniHost) ------------------------------------------

  /** This node's pod CIDRs and pod MTU, or why a CNI ADD cannot be served yet. */
  cniNode(): { ready: true; podCidrs: string[]; mtu: number } | { ready: false; reason: string } {
    if (this.opts.mode !== 'agent') return { ready: false, reason: 'a reflector wires no pods' };
    const dp = this.dataplane;
    if (!dp || !this.me) return { ready: false, reason: this.dataplaneError ?? 'waiting for the Kubernetes caches and this Node object' };
    if (this.me.podCIDRs.length === 0) return { ready: false, reason: `Node ${this.opts.nodeName} has no spec.podCIDRs yet` };
    const mtu = dp.podMtu?.();
    if (mtu === undefined) return { ready: false, reason: 'the uplink interface (the one holding the Node\'s InternalIP) is not known yet' };
    return { ready: true, podCidrs: this.me.podCIDRs, mtu };
  }

  /** Makes an attachment's host routes desired and resolves once the kernel holds them. */
  async cniAttach(key: string, routes: LocalPodRoute[]): Promise<void> {
    const dp = this.dataplane;
    if (!dp) throw new Error('the dataplane is not open');
    this.cniRoutes.set(key, routes);
    const pods = this.localPods(this.lastPods);
    if (this.differs('localPods', pods, dp)) dp.setLocalPods(pods);
    dp.linksChanged?.();
    const report = await this.cniPass(dp);
    const stuck = routes.filter((r) => report.pending.includes(r.prefix) || report.errors.some((e) => e.dst === r.prefix));
    if (stuck.length) throw new Error(`host route ${stuck.map((r) => `${r.prefix} dev ${r.ifName}`).join(', ')} not installed: ${report.errors.find((e) => stuck.some((r) => r.prefix === e.dst))?.message ?? 'interface not seen'}`);
  }

  /**
   * One dataplane pass for every attachment made before it starts: concurrent ADDs join the pass
   * that is queued (a pass reads its inputs when it starts), instead of one pass — and one dump of
   * the node's links — each.
   */
  private cniPass(dp: Dataplane): Promise<ApplyReport> {
    if (this.cniQueued) return this.cniQueued;
    const p = this.cniRunning.then(() => {
      this.cniQueued = undefined;
      return dp.apply();
    });
    this.cniQueued = p;
    this.cniRunning = p.catch(() => undefined);
    return p;
  }
  private cniQueued: Promise<ApplyReport> | undefined;
  private cniRunning: Promise<unknown> = Promise.resolve();

  /** An attachment is gone: its host routes are no longer desired (the kernel dropped them with the veth). */
  cniDetach(key: string): void {
    if (!this.cniRoutes.delete(key)) return;
    const dp = this.dataplane;
    if (!dp) return;
    const pods = this.localPods(this.lastPods);
    // The kernel dropped the route with the veth; the pass only forgets it. Detaches that come
    // together (a node draining its pods) share one queued pass, as attaches do.
    if (this.differs('localPods', pods, dp)) {
      dp.setLocalPods(pods);
      this.cniPass(dp).catch((e: unknown) => this.deps.log.error({ err: (e as Error).message }, 'dataplane apply failed'));
    }
  }

  /** Addresses of this node's live Pod objects; undefined until the Pod cache is synced. */
  livePodIps(): Set<string> | undefined {
    if (this.opts.mode !== 'agent' || !this.cluster.syncedByResource().pods) return undefined;
    const out = new Set<string>();
    for (const p of this.lastPods) if (p.node === this.opts.nodeName && !p.deleting) for (const ip of p.ips) out.add(ip);
    return out;
  }

  private tunnels(topo: Topology, vtepAddress: string | undefined, vtepMac: string | undefined): TunnelSettings {
    const enabled = topo.pools.filter((p) => !p.disabled);
    const t: TunnelSettings = {};
    if (enabled.some((p) => p.ipipMode !== 'Never')) t.ipip = {};
    if (enabled.some((p) => p.vxlanMode !== 'Never')) {
      t.vxlan = { vni: this.opts.vxlanVni, ...(vtepAddress ? { address: vtepAddress } : {}), ...(vtepMac ? { mac: vtepMac } : {}) };
    }
    return t;
  }

  /** True once the caches synced and a speaker exists (readiness adds the BGP rule on top). */
  get started(): boolean {
    return this.speaker !== undefined;
  }

  /** Recomputes after a backoff (1 s doubling to 30 s): a failed dataplane open or speaker start. */
  private retryLater(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.reconcile();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 30_000);
  }

  status(): AgentStatus {
    const s: AgentStatus = {
      node: this.opts.nodeName,
      mode: this.opts.mode,
      startedAt: new Date(this.startedAt).toISOString(),
      caches: this.cluster.syncedByResource(),
      remoteRoutes: this.remote.current.routes.length,
      ignoredRoutes: this.remote.current.ignored,
      problems: this.problems,
      ...(this.dataplaneError ? { dataplaneError: this.dataplaneError } : {}),
      gracefulRestart: { ...this.gr, keepingStaleKernelRoutes: this.retaining },
    };
    if (this.topo) {
      s.topology = {
        localAsn: this.topo.localAsn, routerId: this.topo.routerId, peers: this.topo.peers.length,
        advertise: this.topo.advertise.map((a) => a.prefix), remoteBlocks: this.topo.remoteBlocks.length,
        localBlocks: this.topo.localBlocks.map((b) => b.prefix),
        ...(this.topo.clusterId ? { clusterId: this.topo.clusterId } : {}),
      };
    }
    return s;
  }

  /**
   * Stops watching and closes BGP sessions. Kernel routes stay. With graceful restart enabled
   * (RFC 4724) sessions close without a NOTIFICATION, so peers keep this node's routes while it
   * restarts; otherwise each peer gets a Cease.
   */
  async stop(reason = 'petrel agent shutting down'): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.speaker?.removeAllListeners('bestChanged');
    this.speaker?.removeAllListeners('initialSync');
    const graceful = this.gr.enabled;
    await Promise.allSettled([this.cluster.stop(), this.speaker?.stop(reason, { graceful }), this.applying, this.annotator?.stop(), this.secrets.stop()]);
    await this.dataplane?.stop();
  }
}

/** The speaker's identity (RFC 4271 OPEN: AS, BGP Identifier; RFC 4456 CLUSTER_ID) or its port changed: it must restart. */
function identityChanged(a: Topology, b: Topology): boolean {
  return a.localAsn !== b.localAsn || a.routerId !== b.routerId || a.clusterId !== b.clusterId || a.listenPort !== b.listenPort;
}
