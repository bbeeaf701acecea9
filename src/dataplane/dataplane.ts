/**
 * The dataplane of one node: desired state in (pods, remote blocks, local blocks, tunnels, NAT
 * pools), kernel state out, kept so.
 *
 * One apply() pass, serialised (never two at once): resync if asked (dump links and our routes),
 * tunnels (links, then addresses), routes (RouteTable), VXLAN neighbour/FDB entries, the NAT table.
 * Passes are triggered by setters and kernel events (debounced), by a periodic full resync, and
 * by a NAT check period. An event-buffer overflow forces a full resync; a failed pass is retried on
 * the next trigger, with the full resync as backstop.
 *
 * Safety: with PETREL_REQUIRE_NETNS=1 (the tests and the lab set it) the dataplane refuses to
 * program the host's namespace before writing anything (rules in netns-guard.ts: PID 1's namespace
 * when readable; otherwise the process's own unless `netns` named it).
 */
import { PetrelError } from '../errors.js';
import type { KernelLink, KernelNeigh, KernelOp, KernelPort } from './kernel.js';
import { noopMetrics, silentLogger, type DataplaneMetrics, type DriftKind, type Logger, type RouteClass } from './log.js';
import { NatTable, nftRunner, type NftRunner } from './nat.js';
import { namespaceFacts, namespaceRefusal } from './netns-guard.js';
import { vtepMac } from './names.js';
import { NUD_PERMANENT, NTF_SELF } from './netlink/constants.js';
import { RtnlKernel } from './netlink/rtnl.js';
import { RouteTable, type DesiredNextHop, type DesiredRoute, type RouteError } from './route-table.js';
import { IPIP_DEVICE, IPIP_OVERHEAD, Tunnels, VXLAN_OVERHEAD_V4, type IpipWanted, type TunnelIssue, type VxlanWanted } from './tunnels.js';
import type { LocalBlock, LocalPodRoute, NatPoolSpec, RemoteBlockRoute, TunnelSettings } from '../model/routes.js';

/** Petrel's rtm_protocol: not in /etc/iproute2/rt_protos (Calico uses 80, BIRD 12, zebra 11). */
export const DEFAULT_PROTOCOL = 97;
export const DEFAULT_VXLAN_DEVICE = 'vxlan.petrel';
export const DEFAULT_VXLAN_PORT = 4789;

export class DataplaneError extends PetrelError {}

export interface DataplaneOptions {
  /** Network namespace name (/run/netns/NAME) or path; absent = this process's namespace. */
  netns?: string;
  /** rtm_protocol marking Petrel's routes (default 97). */
  protocol?: number;
  /** Routing table (default 254, main). */
  table?: number;
  /** Uplink interface name (direct routes, VXLAN underlay, tunnel MTUs). */
  uplink?: string;
  /** Node's underlay IPv4 address; finds the uplink when `uplink` is not given; VXLAN local address. */
  nodeAddress?: string;
  /** Node name (VTEP MAC derivation). */
  nodeName?: string;
  vxlanDevice?: string;
  /** nftables table name (default petrel). */
  natTable?: string;
  /** How long a route may wait for its interface before it is reported (default 10 s). */
  graceMs?: number;
  /** Full resync period (default 90 s). */
  resyncIntervalMs?: number;
  /** NAT table check period (default 60 s): a backstop, nftables netlink events trigger checks. */
  natCheckIntervalMs?: number;
  debounceMs?: number;
  log?: Logger;
  metrics?: DataplaneMetrics;
  /** Receive buffer of the event socket in bytes (default 64 MiB); an overflow forces a full resync. */
  monitorRcvbuf?: number;
  /** Injected kernel (tests); default: rtnetlink in `netns`. */
  kernel?: KernelPort;
  nft?: NftRunner;
  /** Refuse the host's namespace (default: PETREL_REQUIRE_NETNS=1; rules in netns-guard.ts). */
  requireNetns?: boolean;
}

export interface ApplyReport {
  ok: boolean;
  ms: number;
  installed: number;
  updated: number;
  deleted: number;
  pending: string[];
  repaired: number;
  errors: RouteError[];
  issues: TunnelIssue[];
}

export interface DataplaneStatus {
  running: boolean;
  netnsInode: number;
  protocol: number;
  uplink?: { name: string; mtu: number };
  ipip: { wanted: boolean; supported: boolean | undefined; mtu?: number };
  vxlan: { wanted: boolean; device: string; mtu?: number };
  routes: Record<RouteClass, number>;
  pending: string[];
  errors: RouteError[];
  issues: TunnelIssue[];
  repairs: Record<DriftKind, number>;
  resyncs: number;
  lastApply?: { at: string; ms: number; ok: boolean };
}

export interface Dataplane {
  setLocalPods(pods: LocalPodRoute[]): void;
  setRemoteBlocks(blocks: RemoteBlockRoute[]): void;
  setLocalBlocks(blocks: LocalBlock[]): void;
  setNatPools(pools: NatPoolSpec[]): void;
  setTunnels(t: TunnelSettings): void;
  /**
   * While on, routes of ours in the kernel that nothing desires (e.g. BGP-learned by the previous
   * process) are left alone instead of deleted; turning it off deletes those still not desired on
   * the next pass. The agent turns it on across a graceful restart (RFC 4724).
   */
  retainStaleRoutes?(retain: boolean): void;
  /**
   * MTU for a pod's interface: the uplink's MTU less the largest encapsulation overhead of the
   * tunnels in use (VXLAN 50, IPIP 20); undefined until the uplink is known (after the first pass).
   */
  podMtu?(): number | undefined;
  /** Links were added outside the event stream's pace (a pod's veth): the next pass re-reads them. */
  linksChanged?(): void;
  apply(): Promise<ApplyReport>;
  start(): Promise<ApplyReport>;
  stop(): Promise<void>;
  cleanup(): Promise<{ routes: number }>;
  status(): DataplaneStatus;
}

export function createDataplane(opts: DataplaneOptions = {}): Dataplane {
  return new NodeDataplane(opts);
}

class NodeDataplane implements Dataplane {
  private readonly port: KernelPort;
  private readonly protocol: number;
  private readonly log: Logger;
  private readonly metrics: DataplaneMetrics;
  private readonly routes: RouteTable;
  private readonly tunnels: Tunnels;
  private readonly nat: NatTable;
  private readonly vxlanName: string;
  private links = new Map<string, KernelLink>();
  private pods: LocalPodRoute[] = [];
  private remote: RemoteBlockRoute[] = [];
  private localBlocks: LocalBlock[] = [];
  private tunnelSettings: TunnelSettings = {};
  private needResync: 'start' | 'periodic' | 'overflow' | 'error' | undefined = 'start';
  private neighDirty = true;
  private linksDirty = false;
  private routesResync = false;
  private neighConfirmed = false;
  /**
   * The VXLAN neighbour and FDB entries the kernel is known to hold (by key, on device
   * `neighKnownDev`), from the last dump plus our own writes since; undefined when unknown (start,
   * resync, link change, a foreign or deleted entry on the device, a failed write). While known, a
   * change of the remote blocks writes the difference without dumping the device's neighbours first.
   */
  private neighKnown: Map<string, KernelNeigh> | undefined;
  private neighKnownDev = 0;
  private routesDirty = true;
  private running = false;
  private chain: Promise<unknown> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private timerDue = 0;
  private resyncTimer?: NodeJS.Timeout;
  private natTimer?: NodeJS.Timeout;
  private last?: { at: string; ms: number; ok: boolean };
  private lastIssues: TunnelIssue[] = [];
  private lastPending: string[] = [];
  private resyncs = 0;
  private neighRepairs = 0;
  private checked = false;

  constructor(private readonly opts: DataplaneOptions) {
    this.protocol = opts.protocol ?? DEFAULT_PROTOCOL;
    if (!Number.isInteger(this.protocol) || this.protocol < 5 || this.protocol > 255) {
      throw new DataplaneError('CONFIG_INVALID', `protocol ${this.protocol}: an rtm_protocol is 5..255 (0-4 belong to the kernel)`);
    }
    this.log = opts.log ?? silentLogger;
    this.metrics = opts.metrics ?? noopMetrics;
    this.vxlanName = opts.vxlanDevice ?? DEFAULT_VXLAN_DEVICE;
    this.port = opts.kernel ?? new RtnlKernel({ netns: opts.netns, monitorRcvbuf: opts.monitorRcvbuf });
    this.checkNamespace();
    this.routes = new RouteTable(this.port, { protocol: this.protocol, table: opts.table ?? 254, graceMs: opts.graceMs ?? 10_000, log: this.log, metrics: this.metrics });
    this.tunnels = new Tunnels(this.port, this.log, this.metrics);
    this.nat = new NatTable(opts.nft ?? nftRunner(opts.netns), opts.natTable ?? 'petrel', this.log, this.metrics);
  }

  private checkNamespace(): void {
    const require = this.opts.requireNetns ?? process.env.PETREL_REQUIRE_NETNS === '1';
    if (!require || this.checked) return;
    const why = namespaceRefusal(namespaceFacts(this.port.nsInode, !!this.opts.netns));
    if (why) {
      this.port.close();
      throw new DataplaneError('DP_ERR_ROOT_NETNS', `refusing to program this network namespace with PETREL_REQUIRE_NETNS=1: ${why}; pass netns`);
    }
    this.checked = true;
  }

  setLocalPods(pods: LocalPodRoute[]): void { this.pods = [...pods]; this.routesDirty = true; this.schedule(); }
  setRemoteBlocks(blocks: RemoteBlockRoute[]): void { this.remote = [...blocks]; this.routesDirty = true; this.neighDirty = true; this.schedule(); }
  setLocalBlocks(blocks: LocalBlock[]): void { this.localBlocks = [...blocks]; this.routesDirty = true; this.schedule(); }
  setNatPools(pools: NatPoolSpec[]): void { this.nat.setPools(pools); this.schedule(); }
  setTunnels(t: TunnelSettings): void { this.tunnelSettings = { ...t }; this.routesDirty = true; this.neighDirty = true; this.schedule(); }
  podMtu(): number | undefined {
    const up = this.uplink();
    if (!up) return undefined;
    let overhead = 0;
    if (this.tunnelSettings.vxlan) overhead = Math.max(overhead, VXLAN_OVERHEAD_V4);
    if (this.tunnelSettings.ipip) overhead = Math.max(overhead, IPIP_OVERHEAD);
    return up.mtu - overhead;
  }

  linksChanged(): void { this.linksDirty = true; }

  retainStaleRoutes(retain: boolean): void {
    if (this.routes.retainOrphans === retain) return;
    this.routes.retainOrphans = retain;
    if (!retain) {
      this.routes.markDirty();
      this.schedule();
    }
  }

  /** Debounced pass after a change, only while running (callers that are not running call apply()). */
  private schedule(delay = this.opts.debounceMs ?? 20): void {
    if (!this.running) return;
    const due = Date.now() + delay;
    if (this.timer) {
      if (this.timerDue <= due) return;
      clearTimeout(this.timer); // an event must not wait behind a slower retry timer
    }
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.apply().catch((e) => this.log.error({ err: (e as Error).message }, 'apply failed'));
    }, delay);
    this.timer.unref();
  }

  private uplink(): KernelLink | undefined {
    return this.opts.uplink ? this.links.get(this.opts.uplink) : this.uplinkByAddress;
  }
  private uplinkByAddress: KernelLink | undefined;

  private ipipWanted(): IpipWanted | undefined {
    const t = this.tunnelSettings.ipip;
    if (!t) return undefined;
    const up = this.uplink();
    return { address: t.address, mtu: (up?.mtu ?? 1500) - IPIP_OVERHEAD };
  }

  private vxlanWanted(): VxlanWanted | undefined {
    const t = this.tunnelSettings.vxlan;
    if (!t) return undefined;
    const up = this.uplink();
    const local = this.opts.nodeAddress;
    if (!up || !local) return undefined;
    return {
      name: this.vxlanName, vni: t.vni, port: t.port ?? DEFAULT_VXLAN_PORT, local, link: up.index,
      mac: t.mac ?? vtepMac(this.opts.nodeName ?? local), mtu: up.mtu - VXLAN_OVERHEAD_V4, address: t.address,
    };
  }

  /**
   * The desired routes by class. Remote blocks sharing a prefix are merged into one ECMP route by
   * the route table; next-hop objects are shared by every route through the same next hop (the
   * table resolves each distinct one once).
   */
  private desiredRoutes(): Map<RouteClass, DesiredRoute[]> {
    const pods: DesiredRoute[] = [];
    const blocks: DesiredRoute[] = [];
    const direct: DesiredRoute[] = [];
    const ipip: DesiredRoute[] = [];
    const vxlan: DesiredRoute[] = [];
    for (const p of this.pods) pods.push({ dst: p.prefix, cls: 'local-pod', type: 'unicast', scope: 'link', nexthops: [{ ifName: p.ifName, onlink: false }] });
    for (const b of this.localBlocks) blocks.push({ dst: b.prefix, cls: 'local-block', type: 'blackhole', scope: 'universe', nexthops: [] });
    const uplinkName = this.opts.uplink ?? this.uplinkByAddress?.name ?? '(no uplink)';
    const hops = { direct: new Map<string, DesiredNextHop>(), ipip: new Map<string, DesiredNextHop>(), vxlan: new Map<string, DesiredNextHop>() };
    for (const r of this.remote) {
      const gateway = r.mode === 'vxlan' ? r.vtep?.address ?? r.nextHop : r.nextHop;
      const cache = hops[r.mode];
      let nh = cache.get(gateway);
      if (nh === undefined) {
        nh = r.mode === 'ipip' ? { gateway, ifName: IPIP_DEVICE, onlink: true }
          : r.mode === 'vxlan' ? { gateway, ifName: this.vxlanName, onlink: true }
            : { gateway, ifName: uplinkName, onlink: false };
        cache.set(gateway, nh);
      }
      const cls: RouteClass = r.mode === 'ipip' ? 'remote-ipip' : r.mode === 'vxlan' ? 'remote-vxlan' : 'remote-direct';
      (r.mode === 'ipip' ? ipip : r.mode === 'vxlan' ? vxlan : direct).push({ dst: r.prefix, cls, type: 'unicast', scope: 'universe', nexthops: [nh] });
    }
    return new Map<RouteClass, DesiredRoute[]>([['local-pod', pods], ['remote-direct', direct], ['remote-ipip', ipip], ['remote-vxlan', vxlan], ['local-block', blocks]]);
  }

  private async loadLinks(): Promise<void> {
    const links = await this.port.dumpLinks();
    const next = new Map(links.map((l) => [l.name, l]));
    // IPv4 drops every route through a link that vanished or went down, without a route event:
    // forget those routes so the pass reinstalls them.
    for (const [name, old] of this.links) {
      const now = next.get(name);
      if (now?.index !== old.index || (old.up && !now.up)) this.routes.linkGone(name, old.index);
    }
    this.links = next;
    this.linksDirty = false;
    if (!this.opts.uplink && this.opts.nodeAddress) {
      const addrs = await this.port.dumpAddrs();
      const a = addrs.find((x) => x.address === this.opts.nodeAddress);
      const up = a ? links.find((l) => l.index === a.index) : undefined;
      if (up?.name !== this.uplinkByAddress?.name) this.routesDirty = true;
      this.uplinkByAddress = up;
    }
  }

  apply(): Promise<ApplyReport> {
    // A queued pass reads every input when it starts: a debounced pass still waiting for its timer
    // would only repeat it (the setters schedule one; the agent applies right after them).
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    const run = () => this.pass();
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async pass(): Promise<ApplyReport> {
    const t0 = performance.now();
    const report: ApplyReport = { ok: true, ms: 0, installed: 0, updated: 0, deleted: 0, pending: [], repaired: 0, errors: [], issues: [] };
    try {
      if (this.needResync) {
        const reason = this.needResync;
        this.needResync = undefined;
        this.resyncs++;
        this.metrics.resync(reason);
        this.tunnels.resyncStarted();
        await this.loadLinks();
        const n = await this.routes.resync();
        this.neighDirty = true;
        this.neighKnown = undefined;
        // A periodic resync is a backstop like the NAT timer: it re-reads wanted tables only (see NatTable).
        if (reason === 'periodic') this.nat.markPeriodic();
        else this.nat.markDirty();
        this.log.debug({ reason, routes: n, links: this.links.size }, 'resync');
      }
      if (this.linksDirty) await this.loadLinks();
      if (this.routesResync) { this.routesResync = false; await this.routes.resync(); }
      const ipip = this.ipipWanted();
      const vxlan = this.vxlanWanted();
      if (this.tunnelSettings.vxlan && !vxlan) report.issues.push({ code: 'DP_ERR_NO_UPLINK', message: 'VXLAN needs the uplink and nodeAddress: set uplink/nodeAddress' });
      const t = await this.tunnels.apply(this.links, ipip, vxlan, this.vxlanName);
      report.issues.push(...t.issues);
      if (t.changed) await this.loadLinks();
      report.issues.push(...await this.tunnels.applyAddresses(this.links, ipip, vxlan));

      // The desired routes are recomputed only when an input changed (setters, tunnels, uplink).
      if (this.routesDirty) {
        this.routesDirty = false;
        this.routes.setClasses(this.desiredRoutes());
      }
      const idx = new Map<string, number>();
      for (const [name, l] of this.links) idx.set(name, l.index);
      if (this.tunnels.ipipSupported === false) idx.delete(IPIP_DEVICE);
      const r = await this.routes.apply(idx);
      Object.assign(report, { installed: r.installed, updated: r.updated, deleted: r.deleted, pending: r.pending, errors: r.errors });
      report.repaired += r.repaired;

      if (this.neighDirty) await this.applyNeighbours(vxlan, report);
      if (this.nat.isDirty()) {
        try {
          const n = await this.nat.apply();
          report.repaired += n.repaired;
        } catch (e) {
          const err = e as PetrelError;
          report.issues.push({ code: err.code, message: err.message });
          this.metrics.error(err.code);
        }
      }
      for (const [cls, n] of Object.entries(this.routes.countsByClass())) this.metrics.routes(cls as RouteClass, n);
    } catch (e) {
      const err = e as Error & { code?: string };
      report.ok = false;
      report.issues.push({ code: err.code ?? 'DP_ERR_APPLY', message: err.message });
      this.metrics.error(err.code ?? 'DP_ERR_APPLY');
      this.needResync = 'error';
      this.log.error({ err: err.message }, 'apply failed; full resync next');
    }
    report.ms = performance.now() - t0;
    report.ok = report.ok && report.errors.length === 0 && report.issues.length === 0;
    this.metrics.applyLatency(report.ms / 1000);
    this.last = { at: new Date().toISOString(), ms: report.ms, ok: report.ok };
    this.lastIssues = report.issues;
    this.lastPending = report.pending;
    // Kernel errors are retried after a second. Conditions that only a change can cure (missing
    // veth, another protocol's route, no ipip module) wait for events or the resync; pending routes
    // get one more pass when their grace period ends, to be reported.
    if (this.running) {
      const waitOnly = new Set(['DP_ERR_NO_LINK', 'DP_ERR_CONFLICT', 'DP_ERR_IPIP_UNSUPPORTED']);
      if (report.errors.some((e) => !waitOnly.has(e.code)) || report.issues.some((i) => !waitOnly.has(i.code))) this.schedule(1000);
      else if (report.pending.length && !report.errors.some((e) => e.code === 'DP_ERR_NO_LINK')) this.schedule((this.opts.graceMs ?? 10_000) + 10);
    }
    return report;
  }

  private async applyNeighbours(vxlan: VxlanWanted | undefined, report: ApplyReport): Promise<void> {
    const dev = this.links.get(this.vxlanName);
    this.neighDirty = false;
    if (!dev || !vxlan) { this.neighKnown = undefined; return; }
    const want = new Map<string, KernelNeigh>();
    for (const r of this.remote) {
      if (r.mode !== 'vxlan' || !r.vtep) continue;
      const fam = r.vtep.address.includes(':') ? 'inet6' : 'inet';
      const arp: KernelNeigh = { family: fam, ifindex: dev.index, dst: r.vtep.address, lladdr: r.vtep.mac, state: NUD_PERMANENT, flags: 0 };
      const fdb: KernelNeigh = { family: 'bridge', ifindex: dev.index, dst: r.nextHop, lladdr: r.vtep.mac, state: NUD_PERMANENT, flags: NTF_SELF };
      want.set(neighKey(arp), arp);
      want.set(neighKey(fdb), fdb);
    }
    // What the kernel holds: what we know (no dump), or a dump of the device's permanent entries.
    const known = this.neighKnown && this.neighKnownDev === dev.index ? this.neighKnown : undefined;
    const have = known ?? new Map((await this.port.dumpNeighs(dev.index)).filter((n) => (n.state & NUD_PERMANENT) !== 0).map((n) => [neighKey(n), n]));
    const ops: KernelOp[] = [];
    for (const [k, n] of want) if (!have.has(k)) ops.push({ op: 'neigh-set', neigh: n });
    for (const [k, n] of have) if (!want.has(k) && n.lladdr && n.lladdr !== '00:00:00:00:00:00') ops.push({ op: 'neigh-delete', neigh: n });
    this.neighKnown = want;
    this.neighKnownDev = dev.index;
    if (!ops.length) { this.neighConfirmed = true; return; }
    const adds = ops.filter((o) => o.op === 'neigh-set').length;
    // Entries missing from a dump after we had confirmed the set are drift (someone removed them).
    if (!known && this.neighConfirmed && adds) {
      this.neighRepairs += adds;
      report.repaired += adds;
      for (let i = 0; i < adds; i++) this.metrics.driftRepair('neigh');
    }
    const errs = await this.port.write(ops);
    errs.forEach((e, i) => {
      if (!e) { this.log.info({ neigh: (ops[i] as { neigh: KernelNeigh }).neigh }, ops[i].op === 'neigh-set' ? 'install' : 'delete'); return; }
      report.issues.push({ code: e.code, errno: e.errno, message: e.message });
      this.neighDirty = true;
      this.neighKnown = undefined;
    });
    this.neighConfirmed = true;
  }

  async start(): Promise<ApplyReport> {
    if (this.running) return this.apply();
    this.running = true;
    this.port.watch(this.protocol, {
      route: (kind, r) => { this.routes.onRouteEvent(kind, r); if (this.routes.isDirty()) this.schedule(); },
      // Link events only say "links changed": the next pass re-reads them with a dump. Applying
      // them one by one raced our own deletes and re-creates (a stale RTM_NEWLINK for a device we had
      // just replaced made us replace it again).
      // The route table compares the next dump's indexes with the last ones itself.
      link: () => { this.linksDirty = true; this.neighDirty = true; this.neighKnown = undefined; this.schedule(); },
      neigh: (kind, n) => {
        const dev = this.links.get(this.vxlanName);
        if (!dev || n.ifindex !== dev.index || !(n.state & NUD_PERMANENT || kind === 'del')) return;
        // The echo of our own write (an entry we want appearing, one we dropped going) changes nothing.
        // A deletion may carry less than the entry (no lladdr): it is ours when its destination is.
        const known = this.neighKnown;
        if (known && (kind === 'new' ? known.has(neighKey(n)) : ![...known.values()].some((k) => k.family === n.family && k.dst === n.dst))) return;
        this.neighKnown = undefined;
        this.neighDirty = true;
        this.schedule();
      },
      // Removing a tunnel device's last address also drops its routes silently (IPv4): re-read ours.
      addr: (index) => {
        const t = this.links.get(IPIP_DEVICE);
        const v = this.links.get(this.vxlanName);
        if (t?.index === index || v?.index === index) { this.tunnels.addressEvent(index); this.routesResync = true; this.schedule(); }
      },
      nft: () => { this.nat.markDirty(); this.schedule(50); },
      overflow: () => { this.needResync = 'overflow'; this.schedule(); },
    });
    const resyncMs = this.opts.resyncIntervalMs ?? 90_000;
    // Timers do not keep the process alive on their own (the agent's servers do).
    this.resyncTimer = setInterval(() => { this.needResync ??= 'periodic'; this.schedule(0); }, resyncMs).unref();
    const natMs = this.opts.natCheckIntervalMs ?? 60_000;
    this.natTimer = setInterval(() => { this.nat.markPeriodic(); this.schedule(0); }, natMs).unref();
    this.needResync = 'start';
    return this.apply();
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of [this.timer, this.resyncTimer, this.natTimer]) if (t) { clearTimeout(t); clearInterval(t); }
    this.timer = this.resyncTimer = this.natTimer = undefined;
    await this.chain.catch(() => undefined);
    this.port.close();
  }

  /**
   * Stops the dataplane (if running) and removes everything Petrel owns: routes with our protocol,
   * the VXLAN device, tunl0's address (set down), the NAT table. It stays stopped: a running
   * reconciler would put it all back.
   */
  async cleanup(): Promise<{ routes: number }> {
    if (this.running) await this.stop();
    const routes = await this.routes.deleteAll();
    await this.loadLinks();
    this.tunnelSettings = {};
    await this.tunnels.apply(this.links, undefined, undefined, this.vxlanName);
    const t = this.links.get(IPIP_DEVICE);
    if (t && this.tunnels.ipipSupported !== false) {
      // We may not have made it this run: remove any address and set it down only if it carries one.
      const addrs = await this.port.dumpAddrs(t.index);
      if (addrs.length) await this.port.write(addrs.map((addr) => ({ op: 'addr-delete', addr })));
    }
    await this.nat.deleteAll();
    this.port.close();
    this.log.info({ routes }, 'cleanup');
    return { routes };
  }

  status(): DataplaneStatus {
    const up = this.uplink();
    const ipip = this.ipipWanted();
    const vx = this.vxlanWanted();
    return {
      running: this.running,
      netnsInode: this.port.nsInode,
      protocol: this.protocol,
      uplink: up ? { name: up.name, mtu: up.mtu } : undefined,
      ipip: { wanted: !!this.tunnelSettings.ipip, supported: this.tunnels.ipipSupported, mtu: ipip?.mtu },
      vxlan: { wanted: !!this.tunnelSettings.vxlan, device: this.vxlanName, mtu: vx?.mtu },
      routes: this.routes.countsByClass(),
      pending: this.lastPending,
      errors: this.routes.lastErrors,
      issues: this.lastIssues,
      repairs: { route: this.routes.repairs, link: this.tunnels.repairs, addr: 0, neigh: this.neighRepairs, nft: this.nat.repairs },
      resyncs: this.resyncs,
      lastApply: this.last,
    };
  }
}

/** Identity of a neighbour or FDB entry: what a dump, an event and our wanted entry agree on. */
function neighKey(n: KernelNeigh): string {
  return n.family === 'bridge' ? `b|${n.lladdr}|${n.dst}` : `${n.family}|${n.dst}|${n.lladdr}`;
}
