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
 *
 * Cost (docs/dataplane.md has the measurements): a pass touches only what changed. Every desired
 * route is one Entry holding its resolved kernel form (`route`, built once, reused as the kernel
 * state `have` after a successful write, so a later comparison is often an identity check) and
 * what the kernel holds there (`have`: no second Map per route; our routes where nothing is wanted
 * are `orphans`). Changes mark entries dirty (a flag and a push onto a list: no Set per route);
 * a removed entry stays, dead, until its delete is done; destinations without an entry go to a
 * small key set (events); apply() looks at those, the pending entries and nothing else. A full diff happens only after a resync. Link changes: a new interface can only
 * resolve pending entries; an interface that vanished or changed index makes one scan over the
 * entries for its name (rare, no kernel work for the others). Writes go to the kernel as one
 * RouteBatch of reused arrays — verbs and the cached route objects — encoded straight into the
 * socket's send buffer.
 */
import { routeKey, sameRoute, compareNextHops, VERB_CREATE, VERB_DELETE, VERB_REPLACE, type KernelNextHop, type KernelPort, type KernelRoute, type RouteBatch } from './kernel.js';
import type { NetlinkError } from './netlink/errors.js';
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
  key: string;
  want: DesiredRoute;
  /** What the kernel holds at this destination (our protocol), as last read or written. */
  have: KernelRoute | undefined;
  /** The kernel form with today's link indexes; undefined until resolved or while a link is missing. */
  route: KernelRoute | undefined;
  /** Set once the kernel held exactly this route; a later loss is drift. */
  confirmed: boolean;
  /** Counted in the by-class counts (the kernel holds exactly `route`). */
  counted: boolean;
  /** On the dirty list already. */
  dirty: boolean;
  /** Still desired. A removed entry stays in the map (holding `have`) until its delete is done, so
   *  re-adding the destination before that revives it instead of creating a second object. */
  live: boolean;
  /** setClasses generation that last saw it (unchanged entries are stamped, not copied). */
  gen: number;
  /** The route asked for in the running setClasses call (ECMP next hops merged), compared after it. */
  next: DesiredRoute | undefined;
  /** In the pending set. */
  pending: boolean;
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

const NO_ERRORS = new Map<number, never>();

export class RouteTable {
  private desired = new Map<string, Entry>();
  /** Our routes in the kernel at destinations without an entry (entries hold theirs in `have`). */
  private orphans = new Map<string, KernelRoute>();
  /** Entries to look at in the next pass (flag `dirty` set). */
  private dirtyEntries: Entry[] = [];
  /** Destinations without an entry to look at (kernel events); removed entries go on dirtyEntries. */
  private dirtyKeys = new Set<string>();
  /** Compare everything (after a resync or markDirty()). */
  private full = true;
  private pending = new Set<Entry>();
  private links = new Map<string, number>();
  /** Resolved next-hop lists by desired next hop (callers share those objects); cleared when links change. */
  private nhCache = new Map<DesiredNextHop, KernelNextHop[]>();
  private touched: Entry[] = [];
  private gen = 0;
  private readonly now: () => number;
  private counts = emptyCounts();
  /** The batch handed to the kernel, reused from pass to pass. */
  private batch: RouteBatch = { length: 0, verbs: new Uint8Array(1024), routes: [] };
  private batchEntries: Array<Entry | string> = [];
  repairs = 0;
  /**
   * While true, our routes at destinations nothing desires are left in the kernel (a restarted agent
   * keeps the previous process's BGP-learned routes until its peers have re-sent theirs, RFC 4724);
   * setting it back to false and markDirty() deletes the ones still unwanted.
   */
  retainOrphans = false;
  lastErrors: RouteError[] = [];
  /** Destinations examined by the last pass (tests: a pass after one change looks at one route). */
  lastExamined = 0;

  constructor(private readonly port: KernelPort, private readonly opts: RouteTableOptions) {
    this.now = opts.now ?? Date.now;
  }

  private markEntry(e: Entry): void {
    if (e.dirty) return;
    e.dirty = true;
    this.dirtyEntries.push(e);
  }

  private setCounted(e: Entry, v: boolean): void {
    if (e.counted === v) return;
    e.counted = v;
    this.counts[e.want.cls] += v ? 1 : -1;
  }

  /** Replaces the desired routes of one class (other classes keep theirs). */
  setClass(cls: RouteClass, routes: readonly DesiredRoute[]): void {
    this.setClasses(new Map([[cls, routes]]));
  }

  /**
   * Replaces the desired routes of the given classes (others keep theirs), in one generation.
   * Remote-block routes sharing a destination become one route with all their next hops (ECMP,
   * in input order, duplicates dropped); any other two claims of one destination: the later wins,
   * with a warning. Unchanged routes are stamped, changed ones go on the dirty list.
   */
  setClasses(byClass: ReadonlyMap<RouteClass, readonly DesiredRoute[]>): void {
    const gen = ++this.gen;
    const table = this.opts.table;
    const touched = this.touched;
    for (const [cls, routes] of byClass) {
      for (let i = 0; i < routes.length; i++) {
        const r = routes[i];
        const key = table === 254 ? r.dst : `${table}:${r.dst}`; // routeKey() without an object per route
        let e = this.desired.get(key);
        if (e === undefined) {
          e = { key, want: r, have: undefined, route: undefined, confirmed: false, counted: false, dirty: false, live: true, gen: 0, next: undefined, pending: false };
          if (this.orphans.size > 0) {
            const o = this.orphans.get(key);
            if (o !== undefined) { e.have = o; this.orphans.delete(key); }
          }
          this.desired.set(key, e);
          this.markEntry(e);
        } else if (!e.live) {
          // Removed and wanted again before its delete went out: revived, looked at afresh.
          e.live = true;
          e.want = r;
          e.route = undefined;
          e.confirmed = false;
          this.markEntry(e);
        }
        if (e.gen !== gen) {
          e.gen = gen;
          e.next = r;
          touched.push(e);
          continue;
        }
        const first = e.next!;
        if (first.cls.startsWith('remote-') && cls.startsWith('remote-')) e.next = mergeNextHops(first, r);
        else {
          this.opts.log.warn({ dst: r.dst, was: first.cls, now: cls }, 'route claimed by two classes');
          e.next = r;
        }
      }
    }
    for (let i = 0; i < touched.length; i++) {
      const e = touched[i];
      const r = e.next!;
      e.next = undefined;
      // Same object (the caller kept it, or the entry was created just now and is listed already).
      if (e.want === r || sameDesired(e.want, r)) continue;
      this.setCounted(e, false);
      e.want = r;
      e.route = undefined;
      e.confirmed = false;
      this.markEntry(e);
    }
    touched.length = 0;
    for (const e of this.desired.values()) {
      if (e.live && e.gen !== gen && byClass.has(e.want.cls)) this.removeEntry(e);
    }
  }

  private removeEntry(e: Entry): void {
    this.setCounted(e, false);
    e.live = false;
    if (e.pending) { e.pending = false; this.pending.delete(e); }
    // Its destination is looked at in the next pass (a delete unless a new entry took the key).
    this.markEntry(e);
  }

  desiredRoutes(): DesiredRoute[] {
    const out: DesiredRoute[] = [];
    for (const e of this.desired.values()) if (e.live) out.push(e.want);
    return out;
  }

  kernelRoutes(): KernelRoute[] {
    const out: KernelRoute[] = [...this.orphans.values()];
    for (const e of this.desired.values()) if (e.have !== undefined) out.push(e.have);
    return out;
  }

  isDirty(): boolean {
    return this.full || this.dirtyEntries.length > 0 || this.dirtyKeys.size > 0 || this.pending.size > 0;
  }

  /** Replaces the cache with a fresh dump of our routes (full resync). Returns how many were read. */
  async resync(): Promise<number> {
    const routes = await this.port.dumpRoutes(this.opts.protocol);
    for (const e of this.desired.values()) e.have = undefined;
    this.orphans.clear();
    let n = 0;
    for (const r of routes) {
      if (r.table !== this.opts.table) continue;
      n++;
      const key = routeKey(r);
      const e = this.desired.get(key);
      if (e !== undefined) e.have = r;
      else this.orphans.set(key, r);
    }
    this.full = true;
    return n;
  }

  /** A route event with our protocol (from the monitor socket). */
  onRouteEvent(kind: 'new' | 'del', r: KernelRoute): void {
    if (r.table !== this.opts.table) return;
    const key = routeKey(r);
    const e = this.desired.get(key);
    if (e === undefined) {
      if (kind === 'new') {
        this.orphans.set(key, r);
        this.dirtyKeys.add(key);
      } else {
        const had = this.orphans.get(key);
        if (had && sameRoute(had, r)) this.orphans.delete(key);
      }
      return;
    }
    if (kind === 'new') e.have = r;
    else if (e.have !== undefined && sameRoute(e.have, r)) e.have = undefined;
    if (!e.live || kind === 'del' || e.route === undefined || !sameRoute(e.route, r)) this.markEntry(e);
  }

  /** Compare every desired route with the cache in the next pass (not needed for link changes). */
  markDirty(): void {
    this.full = true;
  }

  /**
   * A link went away: the kernel dropped its routes without an event (IPv4 flushes silently), so
   * forget them from the cache, and do not count their later reinstallation as drift.
   */
  linkGone(name: string, index: number): void {
    for (const [key, r] of this.orphans) if (r.nexthops.some((n) => n.ifindex === index)) this.orphans.delete(key);
    for (const e of this.desired.values()) {
      if (e.have !== undefined && e.have.nexthops.some((n) => n.ifindex === index)) {
        e.have = undefined;
        this.markEntry(e);
      }
      if (!e.live || !e.want.nexthops.some((n) => n.ifName === name)) continue;
      e.confirmed = false;
      this.setCounted(e, false);
      this.markEntry(e);
    }
  }

  private toKernel(d: DesiredRoute, links: Map<string, number>): KernelRoute | undefined {
    let nexthops: KernelNextHop[];
    if (d.nexthops.length === 1) {
      // One resolved list per distinct next hop, shared by every route through it (never mutated).
      const nh = d.nexthops[0];
      const hit = this.nhCache.get(nh);
      if (hit !== undefined) nexthops = hit;
      else {
        const ifindex = links.get(nh.ifName);
        if (ifindex === undefined) return undefined;
        nexthops = [nh.gateway ? { gateway: nh.gateway, ifindex, onlink: nh.onlink } : { ifindex, onlink: nh.onlink }];
        this.nhCache.set(nh, nexthops);
      }
    } else {
      nexthops = [];
      for (const nh of d.nexthops) {
        const ifindex = links.get(nh.ifName);
        if (ifindex === undefined) return undefined;
        nexthops.push(nh.gateway ? { gateway: nh.gateway, ifindex, onlink: nh.onlink } : { ifindex, onlink: nh.onlink });
      }
      if (nexthops.length > 1) nexthops.sort(compareNextHops);
    }
    return {
      dst: d.dst, table: this.opts.table, protocol: this.opts.protocol, type: d.type,
      // IPv6 routes have no scope: the kernel reports universe whatever was sent, so we send that.
      scope: d.scope === 'link' && !d.dst.includes(':') ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE, nexthops,
    };
  }

  /**
   * Link indexes changed since the last pass: a new name can only resolve pending entries; a name
   * that vanished or moved to another index invalidates the entries through it (one scan, rare).
   */
  private diffLinks(links: Map<string, number>): void {
    const old = this.links;
    this.links = links;
    let moved: Set<string> | undefined;
    let appeared = false;
    for (const [name, idx] of links) {
      const was = old.get(name);
      if (was === undefined) appeared = true;
      else if (was !== idx) (moved ??= new Set()).add(name);
    }
    for (const name of old.keys()) if (!links.has(name)) (moved ??= new Set()).add(name);
    if (appeared || moved) this.nhCache.clear();
    if (appeared) for (const e of this.pending) this.markEntry(e);
    if (!moved) return;
    for (const e of this.desired.values()) {
      if (!e.live || (e.route === undefined && !e.dirty)) continue;
      for (const nh of e.want.nexthops) {
        if (!moved.has(nh.ifName)) continue;
        e.route = undefined;
        this.setCounted(e, false);
        this.markEntry(e);
        break;
      }
    }
  }

  /**
   * One reconciliation pass. `links` maps interface names to indexes as the kernel has them now.
   */
  async apply(links: Map<string, number>): Promise<RouteApplyResult> {
    this.diffLinks(links);
    const res: RouteApplyResult = { installed: 0, updated: 0, deleted: 0, unchanged: 0, pending: [], repaired: 0, errors: [] };
    const b = this.batch;
    b.length = 0;
    const bEntries = this.batchEntries;
    const log = this.opts.log;
    let examined = 0;

    const look = (e: Entry): void => {
      e.dirty = false;
      let want = e.route;
      if (want === undefined) want = e.route = this.toKernel(e.want, links);
      if (want === undefined) {
        if (!e.pending) { e.pending = true; this.pending.add(e); }
        return;
      }
      if (e.pending) { e.pending = false; e.pendingSince = undefined; this.pending.delete(e); }
      const have = e.have;
      if (have !== undefined && (have === want || sameRoute(have, want))) {
        if (!e.confirmed) log.debug({ dst: e.want.dst, cls: e.want.cls }, 'seen');
        e.confirmed = true;
        this.setCounted(e, true);
        res.unchanged++;
        return;
      }
      this.setCounted(e, false);
      this.push(have === undefined ? VERB_CREATE : VERB_REPLACE, want, e);
    };

    if (this.full) {
      this.full = false;
      for (const e of this.dirtyEntries) e.dirty = false;
      this.dirtyEntries.length = 0;
      this.dirtyKeys.clear();
      for (const e of this.desired.values()) {
        examined++;
        if (e.live) look(e); else this.gone(e);
      }
      if (!this.retainOrphans) {
        for (const [key, have] of this.orphans) {
          examined++;
          this.push(VERB_DELETE, have, key);
        }
      }
    } else {
      const list = this.dirtyEntries;
      this.dirtyEntries = [];
      for (let i = 0; i < list.length; i++) {
        const e = list[i];
        if (!e.dirty) continue; // looked at already (also listed twice)
        examined++;
        if (e.live) look(e);
        else this.gone(e);
      }
      for (const key of this.dirtyKeys) {
        const e = this.desired.get(key);
        if (e !== undefined) {
          if (!e.dirty) continue;
          examined++;
          if (e.live) look(e); else this.gone(e);
          continue;
        }
        examined++;
        const have = this.orphans.get(key);
        if (have !== undefined && !this.retainOrphans) this.push(VERB_DELETE, have, key);
      }
      this.dirtyKeys.clear();
    }
    this.lastExamined = examined;

    // Pending entries: listed every pass, reported once their grace period is over.
    const now = this.now();
    for (const e of this.pending) {
      if (e.pendingSince === undefined) e.pendingSince = now;
      res.pending.push(e.want.dst);
      if (now - e.pendingSince >= this.opts.graceMs) {
        const missing = e.want.nexthops.filter((nh) => !links.has(nh.ifName)).map((nh) => nh.ifName);
        res.errors.push({ dst: e.want.dst, code: 'DP_ERR_NO_LINK', op: 'resolve', message: `interface ${missing.join(', ')} still missing after ${this.opts.graceMs} ms` });
      }
      // A route of ours still in the kernel for a vanished interface is left alone until the link returns.
    }

    const n = b.length;
    if (n === 0) {
      this.lastErrors = res.errors;
      return res;
    }
    let errs: Map<number, NetlinkError>;
    try {
      errs = await this.port.writeRoutes(b);
    } catch (e) {
      // The whole batch failed (socket error, timeout): nothing is known; resync before the next pass.
      this.full = true;
      const err = e as Error & { code?: string; errno?: number };
      for (let i = 0; i < n; i++) res.errors.push({ dst: b.routes[i].dst, code: err.code ?? 'NL_ERR_UNKNOWN', errno: err.errno, op: verbOf(b.verbs[i]), message: err.message });
      this.lastErrors = res.errors;
      this.clearBatch(n);
      throw e;
    }
    if (errs.size === 0) errs = NO_ERRORS;
    // Per-route log lines for ordinary batches; one summary line per verb for bulk changes (a full
    // table of 100k routes would otherwise cost more in logging than in the kernel).
    const perRoute = n <= 1000;
    for (let i = 0; i < n; i++) {
      const verb = b.verbs[i];
      const route = b.routes[i];
      const who = bEntries[i];
      const e = typeof who === 'string' ? undefined : who;
      const err = errs === NO_ERRORS ? undefined : errs.get(i);
      if (err !== undefined) {
        if (verb === VERB_DELETE && (err.errno === 3 || err.errno === 2)) {
          this.deleted(who, route); // already gone (ESRCH/ENOENT): the goal is reached
          res.deleted++;
          continue;
        }
        const ignored = verb === VERB_CREATE && err.errno === 17;
        if (ignored) log.info({ dst: route.dst, cls: e?.want.cls }, 'ignore: a route of another protocol holds this destination');
        else log.warn({ dst: route.dst, cls: e?.want.cls, err: err.message }, `${verbOf(verb)} failed`);
        res.errors.push({ dst: route.dst, code: ignored ? 'DP_ERR_CONFLICT' : err.code, errno: err.errno, op: err.op, message: err.message });
        this.opts.metrics.error(ignored ? 'DP_ERR_CONFLICT' : err.code);
        // Retried in the next pass.
        if (e !== undefined) this.markEntry(e); else this.dirtyKeys.add(who as string);
        continue;
      }
      if (verb === VERB_DELETE) {
        this.deleted(who, route);
        res.deleted++;
        if (perRoute) log.info({ dst: route.dst }, 'delete');
        continue;
      }
      if (verb === VERB_CREATE) res.installed++; else res.updated++;
      if (e === undefined) continue;
      e.have = route;
      if (e.live) this.setCounted(e, true);
      if (e.confirmed) {
        res.repaired++;
        this.repairs++;
        this.opts.metrics.driftRepair('route');
      }
      e.confirmed = true;
      if (perRoute) log.info({ dst: route.dst, cls: e.want.cls, via: route.nexthops.map((x) => x.gateway ?? x.ifindex) }, verbOf(verb));
    }
    this.clearBatch(n);
    if (!perRoute) {
      if (res.installed) log.info({ routes: res.installed }, 'install');
      if (res.updated) log.info({ routes: res.updated }, 'update');
      if (res.deleted) log.info({ routes: res.deleted }, 'delete');
    }
    this.lastErrors = res.errors;
    return res;
  }

  /** A removed entry: delete what the kernel holds there, or forget the entry if nothing. */
  private gone(e: Entry): void {
    e.dirty = false;
    if (e.have !== undefined) this.push(VERB_DELETE, e.have, e);
    else if (this.desired.get(e.key) === e) this.desired.delete(e.key);
  }

  /** A delete of `key` is done (or was not needed): drop what we knew of the kernel there. */
  private deleted(who: Entry | string, route: KernelRoute): void {
    if (typeof who === 'string') {
      if (this.orphans.get(who) === route) this.orphans.delete(who);
      return;
    }
    if (who.have === route) who.have = undefined;
    if (!who.live && this.desired.get(who.key) === who) this.desired.delete(who.key);
  }

  private push(verb: number, route: KernelRoute, who: Entry | string): void {
    const b = this.batch;
    if (b.length === b.verbs.length) {
      const next = new Uint8Array(b.verbs.length * 2);
      next.set(b.verbs);
      b.verbs = next;
    }
    b.verbs[b.length] = verb;
    b.routes[b.length] = route;
    this.batchEntries[b.length] = who;
    b.length++;
  }

  /** Drops the batch's references (the arrays stay allocated for the next pass). */
  private clearBatch(n: number): void {
    this.batch.length = 0;
    if (n > 4096) { this.batch.routes = []; this.batchEntries = []; return; }
    this.batch.routes.length = 0;
    this.batchEntries.length = 0;
  }

  /** Our routes in the kernel by class, as of the last apply (for metrics and status). */
  countsByClass(): Record<RouteClass, number> {
    return { ...this.counts };
  }

  /** Deletes every route with our protocol from the kernel (cleanup). */
  async deleteAll(): Promise<number> {
    await this.resync();
    const routes = this.kernelRoutes();
    const res = await this.port.writeRoutes({ length: routes.length, verbs: new Uint8Array(routes.length).fill(VERB_DELETE), routes });
    for (const err of res.values()) if (err.errno !== 3 && err.errno !== 2) throw err;
    this.orphans.clear();
    for (const e of this.desired.values()) {
      e.have = undefined;
      if (!e.live) { this.desired.delete(e.key); continue; }
      this.setCounted(e, false);
      e.confirmed = false;
    }
    this.counts = emptyCounts();
    this.full = true;
    return routes.length;
  }
}

function emptyCounts(): Record<RouteClass, number> {
  return { 'local-pod': 0, 'remote-direct': 0, 'remote-ipip': 0, 'remote-vxlan': 0, 'local-block': 0 };
}

function verbOf(verb: number): 'install' | 'update' | 'delete' {
  return verb === VERB_CREATE ? 'install' : verb === VERB_REPLACE ? 'update' : 'delete';
}

/** `a` with `b`'s next hops appended (those it lacks): a new object, the inputs stay as given. */
function mergeNextHops(a: DesiredRoute, b: DesiredRoute): DesiredRoute {
  let out: DesiredRoute | undefined;
  for (const nh of b.nexthops) {
    const cur = out ?? a;
    if (cur.nexthops.some((x) => x.ifName === nh.ifName && x.gateway === nh.gateway)) continue;
    out ??= { ...a, nexthops: [...a.nexthops] };
    out.nexthops.push(nh);
  }
  return out ?? a;
}

function sameDesired(a: DesiredRoute, b: DesiredRoute): boolean {
  if (a === b) return true;
  if (a.cls !== b.cls || a.type !== b.type || a.scope !== b.scope || a.nexthops.length !== b.nexthops.length) return false;
  for (let i = 0; i < a.nexthops.length; i++) {
    const x = a.nexthops[i];
    const y = b.nexthops[i];
    if (x !== y && (x.gateway !== y.gateway || x.ifName !== y.ifName || x.onlink !== y.onlink)) return false;
  }
  return true;
}
