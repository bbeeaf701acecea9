/**
 * RouteTable: desired routes in, kernel routes out (after Calico Felix's routetable and BIRD's krt).
 *
 * The caller sets the full desired set; apply() compares it with the kernel's routes that carry our
 * rtm_protocol and sends only the difference, in one batch: `install` (create, exclusive), `update`
 * (replace a route we own), `delete` (ours and no longer wanted). Errors are collected per route,
 * never abort the batch, and are retried on the next apply.
 *
 * Ownership: only routes with our protocol number are read as ours and deleted; an install uses
 * NLM_F_EXCL, so a route another protocol holds at the same destination answers EEXIST and is
 * logged `ignore` — we never replace what is not ours.
 *
 * Complicating factors that shaped it:
 * - The CNI plugin may create a pod's veth after we learn of the pod: a route whose interface does
 *   not exist yet waits (pending) and is applied when a link event shows the interface; after the
 *   grace period it is reported as an error (DP_ERR_NO_LINK) but keeps waiting.
 * - When an interface disappears the kernel drops its routes without asking us: that is not drift
 *   (it is not counted as a repair), the route simply goes back to pending.
 * - Our own writes come back as events; the cache is updated from both, and an event that agrees
 *   with the desired state changes nothing.
 */
import { routeKey, sameRoute, compareNextHops, type KernelOp, type KernelPort, type KernelRoute } from './kernel.js';
import { NetlinkError } from './netlink/errors.js';
import { RT_SCOPE_LINK, RT_SCOPE_UNIVERSE } from './netlink/constants.js';
import type { DataplaneMetrics, Logger, RouteClass } from './log.js';

export interface DesiredNextHop {
  gateway?: string;
  ifName: string;
  onlink: boolean;
}

export interface DesiredRoute {
  dst: string;
  cls: RouteClass;
  type: 'unicast' | 'blackhole';
  scope: 'link' | 'universe';
  nexthops: DesiredNextHop[];
}

export interface RouteError {
  dst: string;
  code: string;
  errno?: number;
  op: string;
  message: string;
}

export interface RouteApplyResult {
  installed: number;
  updated: number;
  deleted: number;
  unchanged: number;
  pending: string[];
  repaired: number;
  errors: RouteError[];
}

interface Entry {
  want: DesiredRoute;
  /** Set once the kernel held exactly this route; a later loss is drift. */
  confirmed: boolean;
  pendingSince?: number;
}

export interface RouteTableOptions {
  protocol: number;
  table: number;
  graceMs: number;
  log: Logger;
  metrics: DataplaneMetrics;
  now?: () => number;
}

export class RouteTable {
  private desired = new Map<string, Entry>();
  private byClass = new Map<RouteClass, Set<string>>();
  private kernel = new Map<string, KernelRoute>();
  private dirty = true;
  private readonly now: () => number;
  repairs = 0;
  lastErrors: RouteError[] = [];

  constructor(private readonly port: KernelPort, private readonly opts: RouteTableOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Replaces the desired routes of one class (other classes keep theirs). */
  setClass(cls: RouteClass, routes: DesiredRoute[]): void {
    const keep = new Set<string>();
    const table = this.opts.table;
    for (const r of routes) {
      const key = table === 254 ? r.dst : `${table}:${r.dst}`; // routeKey() without an object per route
      keep.add(key);
      const e = this.desired.get(key);
      if (e && e.want.cls !== cls) {
        // Two classes want one destination: the later class wins; logged so it is visible.
        this.opts.log.warn({ dst: r.dst, was: e.want.cls, now: cls }, 'route claimed by two classes');
        this.byClass.get(e.want.cls)?.delete(key);
      }
      if (!e || !sameDesired(e.want, r)) {
        this.desired.set(key, { want: r, confirmed: false });
        this.dirty = true;
      }
    }
    for (const key of this.byClass.get(cls) ?? []) {
      if (!keep.has(key) && this.desired.get(key)?.want.cls === cls) {
        this.desired.delete(key);
        this.dirty = true;
      }
    }
    this.byClass.set(cls, keep);
  }

  desiredRoutes(): DesiredRoute[] {
    return [...this.desired.values()].map((e) => e.want);
  }

  kernelRoutes(): KernelRoute[] {
    return [...this.kernel.values()];
  }

  isDirty(): boolean {
    return this.dirty;
  }

  /** Replaces the cache with a fresh dump of our routes (full resync). Returns how many were read. */
  async resync(): Promise<number> {
    const routes = await this.port.dumpRoutes(this.opts.protocol);
    this.kernel.clear();
    for (const r of routes) if (r.table === this.opts.table) this.kernel.set(routeKey(r), r);
    this.dirty = true;
    return this.kernel.size;
  }

  /** A route event with our protocol (from the monitor socket). */
  onRouteEvent(kind: 'new' | 'del', r: KernelRoute): void {
    if (r.table !== this.opts.table) return;
    const key = routeKey(r);
    if (kind === 'new') this.kernel.set(key, r);
    else {
      const had = this.kernel.get(key);
      if (had && sameRoute(had, r)) this.kernel.delete(key);
    }
    const e = this.desired.get(key);
    if (kind === 'del' ? e !== undefined : !e || !this.matches(e, r)) this.dirty = true;
  }

  /** Called when links change: pending routes may now resolve, others may have lost their link. */
  markDirty(): void {
    this.dirty = true;
  }

  /**
   * A link went away: the kernel dropped its routes without an event (IPv4 flushes silently), so
   * forget them from the cache, and do not count their later reinstallation as drift.
   */
  linkGone(name: string, index: number): void {
    for (const [key, r] of this.kernel) if (r.nexthops.some((n) => n.ifindex === index)) this.kernel.delete(key);
    for (const e of this.desired.values()) if (e.want.nexthops.some((n) => n.ifName === name)) e.confirmed = false;
    this.dirty = true;
  }

  private matches(e: Entry, r: KernelRoute, links?: Map<string, number>): boolean {
    const k = this.toKernel(e.want, links ?? this.lastLinks);
    return k !== undefined && sameRoute(k, r);
  }

  private lastLinks = new Map<string, number>();

  private toKernel(d: DesiredRoute, links: Map<string, number>): KernelRoute | undefined {
    const nexthops = [];
    for (const nh of d.nexthops) {
      const ifindex = links.get(nh.ifName);
      if (ifindex === undefined) return undefined;
      nexthops.push(nh.gateway ? { gateway: nh.gateway, ifindex, onlink: nh.onlink } : { ifindex, onlink: nh.onlink });
    }
    nexthops.sort(compareNextHops);
    return {
      dst: d.dst, table: this.opts.table, protocol: this.opts.protocol, type: d.type,
      // IPv6 routes have no scope: the kernel reports universe whatever was sent, so we send that.
      scope: d.scope === 'link' && !d.dst.includes(':') ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE, nexthops,
    };
  }

  /**
   * One reconciliation pass. `links` maps interface names to indexes as the kernel has them now.
   */
  async apply(links: Map<string, number>): Promise<RouteApplyResult> {
    this.lastLinks = links;
    const res: RouteApplyResult = { installed: 0, updated: 0, deleted: 0, unchanged: 0, pending: [], repaired: 0, errors: [] };
    const ops: KernelOp[] = [];
    const opKeys: string[] = [];
    const opEntries: Array<Entry | undefined> = [];
    const counts = emptyCounts();
    const now = this.now();
    const log = this.opts.log;
    for (const [key, e] of this.desired) {
      const want = this.toKernel(e.want, links);
      const have = this.kernel.get(key);
      if (!want) {
        if (e.pendingSince === undefined) e.pendingSince = now;
        res.pending.push(e.want.dst);
        const missing = e.want.nexthops.filter((nh) => !links.has(nh.ifName)).map((nh) => nh.ifName);
        if (now - e.pendingSince >= this.opts.graceMs) {
          res.errors.push({ dst: e.want.dst, code: 'DP_ERR_NO_LINK', op: 'resolve', message: `interface ${missing.join(', ')} still missing after ${this.opts.graceMs} ms` });
        }
        // A route of ours still in the kernel for a vanished interface is left alone until the link returns.
        continue;
      }
      e.pendingSince = undefined;
      if (have && sameRoute(have, want)) {
        if (!e.confirmed) log.debug({ dst: e.want.dst, cls: e.want.cls }, 'seen');
        e.confirmed = true;
        res.unchanged++;
        counts[e.want.cls]++;
        continue;
      }
      ops.push(have ? { op: 'route-replace', route: want } : { op: 'route-create', route: want });
      opKeys.push(key);
      opEntries.push(e);
    }
    for (const [key, have] of this.kernel) {
      if (this.desired.has(key)) continue;
      ops.push({ op: 'route-delete', route: have });
      opKeys.push(key);
      opEntries.push(undefined);
    }
    this.counts = counts;
    if (ops.length === 0) {
      this.dirty = false;
      this.lastErrors = res.errors;
      return res;
    }
    let results: Array<NetlinkError | undefined>;
    try {
      results = await this.port.write(ops);
    } catch (e) {
      // The whole batch failed (socket error, timeout): nothing is known; resync before the next pass.
      this.dirty = true;
      const err = e as Error & { code?: string; errno?: number };
      for (let i = 0; i < ops.length; i++) res.errors.push({ dst: (ops[i] as { route: KernelRoute }).route.dst, code: err.code ?? 'NL_ERR_UNKNOWN', errno: err.errno, op: ops[i].op, message: err.message });
      this.lastErrors = res.errors;
      throw e;
    }
    // Per-route log lines for ordinary batches; one summary line per verb for bulk changes (a full
    // table of 100k routes would otherwise cost more in logging than in the kernel).
    const perRoute = ops.length <= 1000;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as Extract<KernelOp, { route: KernelRoute }>;
      const key = opKeys[i];
      const err = results[i];
      const e = opEntries[i];
      if (err) {
        if (op.op === 'route-delete' && (err.errno === 3 || err.errno === 2)) {
          this.kernel.delete(key); // already gone (ESRCH/ENOENT): the goal is reached
          res.deleted++;
          continue;
        }
        const ignored = op.op === 'route-create' && err.errno === 17;
        if (ignored) log.info({ dst: op.route.dst, cls: e?.want.cls }, 'ignore: a route of another protocol holds this destination');
        else log.warn({ dst: op.route.dst, cls: e?.want.cls, err: err.message }, `${verbOf(op.op)} failed`);
        res.errors.push({ dst: op.route.dst, code: ignored ? 'DP_ERR_CONFLICT' : err.code, errno: err.errno, op: err.op, message: err.message });
        this.opts.metrics.error(ignored ? 'DP_ERR_CONFLICT' : err.code);
        continue;
      }
      if (op.op === 'route-delete') {
        this.kernel.delete(key);
        res.deleted++;
        if (perRoute) log.info({ dst: op.route.dst }, 'delete');
        continue;
      }
      this.kernel.set(key, op.route);
      if (op.op === 'route-create') res.installed++; else res.updated++;
      if (e) counts[e.want.cls]++;
      if (e?.confirmed) {
        res.repaired++;
        this.repairs++;
        this.opts.metrics.driftRepair('route');
      }
      if (e) e.confirmed = true;
      if (perRoute) log.info({ dst: op.route.dst, cls: e?.want.cls, via: op.route.nexthops.map((n) => n.gateway ?? n.ifindex) }, verbOf(op.op));
    }
    if (!perRoute) {
      if (res.installed) log.info({ routes: res.installed }, 'install');
      if (res.updated) log.info({ routes: res.updated }, 'update');
      if (res.deleted) log.info({ routes: res.deleted }, 'delete');
    }
    this.dirty = res.errors.length > 0 || res.pending.length > 0;
    this.lastErrors = res.errors;
    return res;
  }

  private counts = emptyCounts();

  /** Our routes in the kernel by class, as of the last apply (for metrics and status). */
  countsByClass(): Record<RouteClass, number> {
    return { ...this.counts };
  }

  /** Deletes every route with our protocol from the kernel (cleanup). */
  async deleteAll(): Promise<number> {
    await this.resync();
    const ops: KernelOp[] = [...this.kernel.values()].map((route) => ({ op: 'route-delete', route }));
    const res = await this.port.write(ops);
    const failed = res.filter((e) => e && e.errno !== 3 && e.errno !== 2);
    if (failed.length) throw failed[0];
    this.kernel.clear();
    this.counts = emptyCounts();
    return ops.length;
  }
}

function emptyCounts(): Record<RouteClass, number> {
  return { 'local-pod': 0, 'remote-direct': 0, 'remote-ipip': 0, 'remote-vxlan': 0, 'local-block': 0 };
}

function verbOf(op: string): 'install' | 'update' | 'delete' {
  return op === 'route-create' ? 'install' : op === 'route-replace' ? 'update' : 'delete';
}

function sameDesired(a: DesiredRoute, b: DesiredRoute): boolean {
  if (a.cls !== b.cls || a.type !== b.type || a.scope !== b.scope || a.nexthops.length !== b.nexthops.length) return false;
  return a.nexthops.every((n, i) => n.gateway === b.nexthops[i].gateway && n.ifName === b.nexthops[i].ifName && n.onlink === b.nexthops[i].onlink);
}
