/**
 * The RIB: peers, Adj-RIB-In/Loc-RIB (loc-rib.ts), export and update groups (adj-rib-out.ts).
 * Pure: no sockets, no timers. UPDATEs go in through `applyUpdate`, encoded frames come out through
 * each established peer's `send`, best-path changes come out through `onChanges`.
 *
 * Work is batched: every input only marks prefixes dirty and asks the injected scheduler (setImmediate
 * in production) for one flush; the flush computes the changes once, exports them per update group
 * and runs the initial dumps of peers that came up. Tests call `flush()` directly.
 *
 * Loop detection on import (the path is dropped — treated as a withdrawal of that peer's previous
 * path — and counted): our AS in AS_PATH (RFC 4271 §9.1.2), ORIGINATOR_ID equal to our router id
 * (RFC 4456 §8), our cluster id in CLUSTER_LIST (RFC 4456 §8).
 */
import { familyOfIp, parseIp, type Family } from '../../model/ip.js';
import type { PathAttributes, UpdateMessage } from '../wire/types.js';
import { AdjRibOut } from './adj-rib-out.js';
import { AttrStore, ipv4ToNum } from './attrs.js';
import { bestReason, comparePaths } from './best-path.js';
import { LocRib, bestOf, keyOfPrefix, pathsOf, prefixKeyText, type Change } from './loc-rib.js';
import type { AttrSet, OutPeerState, Path, PeerKind, RibPeer, RouteView, UpdateEncoder } from './types.js';
import { isLoopback, nextHopProblem } from './next-hop.js';
import { threadCpuClock } from './thread-cpu.js';
import { toBestRoute, toRouteView } from './views.js';

export interface RibOptions {
  localAsn: number;
  routerId: string;
  /** Makes rrClient peers route-reflector clients (RFC 4456). */
  clusterId?: string;
  encoder: UpdateEncoder;
  /** Runs a flush soon; default setImmediate. */
  schedule?: (fn: () => void) => void;
  /**
   * Flush at once when this many prefixes are dirty (default 10,000). libuv reads a busy socket up
   * to 32 times per poll phase, so ten peers sending full tables can deliver 1M prefixes before a
   * setImmediate runs; without this bound the dirty set, the change list and the update buckets of
   * one flush grow with the whole table (measured at 10 clients × 100k: 1M dirty prefixes at once).
   * In the RR benchmark (10 × 100k) 10k gave a peak RSS of ~185 MB against ~210-235 MB at 100k and
   * ~280 MB unbounded, and converged no slower (2 × 100k: 0.61 s against 0.75 s at 100k).
   */
  maxBatch?: number;
  /**
   * Work units of a peer removal done per scheduled turn at most (a slot of the table looked at is
   * 1, a path removed 8; default 200,000), and its time limit (default 15 ms, read from `now`): a
   * peer with millions of prefixes going down is removed in slices, with UPDATEs, timers and
   * keepalives running between them (each slice's flushes add up to one batch of maxBatch).
   */
  sliceBudget?: number;
  sliceMs?: number;
  /** Milliseconds, monotonic; default performance.now. */
  now?: () => number;
  /** CPU milliseconds of this thread; default thread-cpu.ts. */
  cpuNow?: () => number;
}

export interface LocalRoute {
  prefix: string;
  /** Explicit next hop; absent = next hop self. */
  nextHop?: string;
  communities?: number[];
}

const NO_KEYS: readonly number[] = [];

function pathKey(p: Path): number {
  return p.attrs.id * 1_048_576 + p.peer.id;
}

export function addressKey(address: string): string {
  if (address === 'local') return '';
  const b = parseIp(address);
  return (b.length === 4 ? '4' : '6') + Buffer.from(b).toString('hex');
}

export class Rib {
  readonly loc = new LocRib();
  readonly attrs: AttrStore;
  readonly out: AdjRibOut;
  readonly localPeer: RibPeer;
  /** Called after each flush with the best-path changes (empty flushes are not reported). */
  onChanges: ((changes: Change[]) => void) | undefined;
  private readonly peers = new Map<number, RibPeer>();
  private nextPeerId = 1;
  private scheduled = false;
  private readonly schedule: (fn: () => void) => void;
  private readonly maxBatch: number;
  private readonly sliceBudget: number;
  private readonly sliceMs: number;
  private readonly now: () => number;
  private readonly cpuNow: () => number;
  private local = new Map<string, string>(); // prefix → canonical text of the local route
  /** Interned paths, keyed by attribute set id and peer id. */
  private readonly paths = new Map<number, Path>();
  flushes = 0;
  /** Best-path changes so far (for metrics). */
  bestChanges = 0;
  /**
   * The longest single piece of RIB work so far (a peer going down, a scheduled turn), in wall and
   * in CPU milliseconds of the main thread (thread-cpu.ts: under load from elsewhere the CPU figure
   * is the one that says how long the event loop was held). Shown by `petrel status`.
   */
  readonly longest = { wallMs: 0, cpuMs: 0, what: '' };

  constructor(readonly opts: RibOptions) {
    this.attrs = new AttrStore(opts.localAsn);
    this.out = new AdjRibOut({ localAsn: opts.localAsn, clusterId: opts.clusterId }, opts.encoder);
    this.schedule = opts.schedule ?? ((fn) => setImmediate(fn));
    this.maxBatch = opts.maxBatch ?? 10_000;
    this.sliceBudget = opts.sliceBudget ?? 200_000;
    this.sliceMs = opts.sliceMs ?? 15;
    this.now = opts.now ?? (() => performance.now());
    this.cpuNow = opts.cpuNow ?? threadCpuClock();
    this.localPeer = this.makePeer(0, 'local', opts.localAsn, 'local', false);
    this.localPeer.routerId = opts.routerId;
    this.localPeer.routerIdNum = ipv4ToNum(opts.routerId);
  }

  private makePeer(id: number, address: string, asn: number, kind: PeerKind, rrClient: boolean): RibPeer {
    const p: RibPeer = {
      id,
      address,
      asn,
      kind,
      rrClient,
      routerId: '0.0.0.0',
      routerIdNum: 0,
      addressKey: addressKey(address),
      received: 0,
      receivedByFamily: { ipv4: 0, ipv6: 0 },
      bestCount: 0,
      loopsDropped: 0,
      nextHopsRejected: 0,
    };
    this.peers.set(id, p);
    return p;
  }

  addPeer(spec: { address: string; asn: number; rrClient?: boolean }): RibPeer {
    const kind: PeerKind = spec.asn === this.opts.localAsn ? 'ibgp' : 'ebgp';
    return this.makePeer(this.nextPeerId++, spec.address, spec.asn, kind, spec.rrClient ?? false);
  }

  /** Forgets a peer (deconfigured): its paths are withdrawn. */
  removePeer(peer: RibPeer): void {
    this.peerDown(peer);
    this.peers.delete(peer.id);
  }

  /** The session reached Established: the peer gets the Loc-RIB and then follows changes. */
  peerUp(peer: RibPeer, routerId: string, out: Omit<OutPeerState, 'advertised' | 'joining'>): void {
    peer.routerId = routerId;
    peer.routerIdNum = ipv4ToNum(routerId);
    this.out.leave(peer);
    peer.out = { ...out, advertised: 0, joining: true };
    this.out.join(peer);
    this.kick();
  }

  /** ROUTE-REFRESH (RFC 2918) from the peer: send it the whole Loc-RIB again, then End-of-RIB. */
  refresh(peer: RibPeer): void {
    if (!peer.out) return;
    this.out.leave(peer);
    this.out.join(peer);
    this.kick();
  }

  /**
   * The session left Established: it leaves its update group and its paths are removed — except,
   * with `retain` (RFC 4724 §4.2, the peer is restarting gracefully), the paths of the listed
   * families, which stay in the Loc-RIB (still selected, still exported: no change goes anywhere)
   * and are marked stale until `sweepStale`. Paths already stale from an earlier restart stay so.
   */
  peerDown(peer: RibPeer, retain?: readonly Family[]): void {
    const t = this.startTiming();
    this.peerDownNow(peer, retain);
    this.endTiming(t, 'peer down');
  }

  private startTiming(): { wall: number; cpu: number } {
    return { wall: this.now(), cpu: this.cpuNow() };
  }

  private endTiming(t: { wall: number; cpu: number }, what: string): void {
    const wall = this.now() - t.wall;
    const cpu = this.cpuNow() - t.cpu;
    if (wall > this.longest.wallMs) this.longest.wallMs = wall;
    if (cpu > this.longest.cpuMs) {
      this.longest.cpuMs = cpu;
      this.longest.what = what;
    }
  }

  private peerDownNow(peer: RibPeer, retain?: readonly Family[]): void {
    this.out.leave(peer);
    peer.out = undefined;
    if (retain && retain.length > 0 && peer.received > 0) {
      const stale = peer.stale ?? new Map<Family, Set<string | number>>();
      peer.stale = stale;
      // One scan of the Loc-RIB: retained families become stale, the others go now (stale or not).
      for (const [family, keys] of this.loc.keysOfPeer(peer)) {
        if (retain.includes(family)) {
          let set = stale.get(family);
          if (!set) stale.set(family, (set = new Set()));
          for (const k of keys) set.add(k);
        } else {
          for (const k of keys) this.withdraw(peer, k);
          stale.delete(family);
        }
      }
      if (stale.size === 0) peer.stale = undefined;
      this.kick();
      return;
    }
    peer.stale = undefined;
    // A scan of the whole Loc-RIB, so only when the peer has paths: a peer that keeps failing to
    // connect must not cost a 1M-entry scan per attempt. The paths are marked gone and removed in
    // slices by the scheduled turns (loc-rib.ts removePeer); what the peer announces meanwhile
    // (after it comes back) makes new paths.
    if (peer.received > 0) {
      const gone: Path[] = [];
      for (const p of this.paths.values()) {
        if (p.peer !== peer) continue;
        p.gone = true;
        gone.push(p);
      }
      for (const p of gone) this.paths.delete(pathKey(p));
      this.loc.removePeer(peer, (p) => this.unrefPath(p), () => gone.every((p) => p.refs === 0));
      // The first slice now: a small table is gone before this returns.
      this.sweepSlice();
    }
    peer.received = 0;
    peer.receivedByFamily.ipv4 = 0;
    peer.receivedByFamily.ipv6 = 0;
    this.kick();
  }

  /**
   * Removes `peer`'s stale paths (RFC 4724 §4.2): of one family (End-of-RIB from the peer, or the
   * family is no longer preserved), or of all (restart or stale timer expired). Returns how many
   * paths were removed.
   */
  sweepStale(peer: RibPeer, family?: Family): number {
    let n = 0;
    if (peer.stale) {
      for (const [f, keys] of peer.stale) {
        if (family && f !== family) continue;
        peer.stale.delete(f);
        for (const k of keys) n += this.withdraw(peer, k);
      }
    }
    if (peer.stale && peer.stale.size === 0) peer.stale = undefined;
    if (n > 0) this.kick();
    return n;
  }

  /** Stale paths held for `peer` (RFC 4724), per family and in all. */
  staleCount(peer: RibPeer): number {
    let n = 0;
    if (peer.stale) for (const s of peer.stale.values()) n += s.size;
    return n;
  }

  /** Imports one decoded UPDATE from `peer` (RFC 7606 outcomes already applied by the codec). */
  applyUpdate(peer: RibPeer, u: UpdateMessage, raw?: Uint8Array): void {
    for (const prefix of u.withdrawn) this.withdraw(peer, prefix);
    if (u.withdrawnKeys) for (const key of u.withdrawnKeys) this.withdraw(peer, key);
    if (u.attrs.mpUnreach) for (const prefix of u.attrs.mpUnreach.withdrawn) this.withdraw(peer, prefix);
    const keys = u.nlriKeys ?? NO_KEYS;
    if (u.nlri.length + keys.length > 0) {
      if (u.attrs.nextHop !== undefined) this.announce(peer, 'ipv4', u.nlri, u.attrs, [u.attrs.nextHop], raw, keys);
      else {
        // No NEXT_HOP: cannot use (RFC 7606 §7.3).
        for (const prefix of u.nlri) this.withdraw(peer, prefix);
        for (const key of keys) this.withdraw(peer, key);
      }
    }
    const mp = u.attrs.mpReach;
    if (mp && mp.nlri.length > 0) {
      const family: Family = mp.afi === 2 ? 'ipv6' : 'ipv4';
      this.announce(peer, family, mp.nlri, u.attrs, mp.nextHops, raw);
    }
    if (this.loc.dirtyCount >= this.maxBatch) this.flushChanges(this.onChanges !== undefined);
    else this.kick();
  }

  /** A next hop that is no host address, or one of ours on this session (next-hop.ts). */
  private unusableNextHop(peer: RibPeer, nh: string): boolean {
    if (nextHopProblem(nh) !== undefined) return true;
    const out = peer.out;
    // The peer's own address is a next hop it may always give; a loopback address cannot tell one
    // host from another (on a single-host lab every speaker's address is 127.0.0.1 or ::1).
    if (!out || nh === peer.address || isLoopback(nh)) return false;
    return nh === out.nextHopSelf.ipv4 || (out.nextHopSelf.ipv6?.includes(nh) ?? false) || (out.ownAddresses?.includes(nh) ?? false);
  }

  private isLoop(attrs: PathAttributes, hasOwnAs: boolean): boolean {
    if (hasOwnAs) return true; // RFC 4271 §9.1.2
    if (attrs.originatorId === this.opts.routerId) return true; // RFC 4456 §8
    const cid = this.opts.clusterId;
    return cid !== undefined && attrs.clusterList !== undefined && attrs.clusterList.includes(cid); // RFC 4456 §8
  }

  /** `keys`: more IPv4 prefixes as Loc-RIB keys (address × 64 + length), from the codec. */
  private announce(peer: RibPeer, family: Family, nlri: string[], attrs: PathAttributes, nextHops: string[], raw?: Uint8Array, keys: readonly number[] = NO_KEYS): void {
    if (peer.kind !== 'local' && nextHops.length > 0 && this.unusableNextHop(peer, nextHops[0])) {
      // RFC 4271 §6.3 / RFC 7606 §7.3 (next-hop.ts): not used, and the previous path goes.
      peer.nextHopsRejected += nlri.length + keys.length;
      for (const prefix of nlri) this.withdraw(peer, prefix);
      for (const key of keys) this.withdraw(peer, key);
      return;
    }
    const set = this.attrs.intern(family, attrs, nextHops, raw);
    if (this.isLoop(set.attrs, set.hasOwnAs)) {
      peer.loopsDropped += nlri.length + keys.length;
      for (const prefix of nlri) this.withdraw(peer, prefix);
      for (const key of keys) this.withdraw(peer, key);
      this.attrs.release(set);
      return;
    }
    const path = this.pathFor(peer, set);
    const stale = peer.stale?.get(family);
    if (stale) {
      // Re-announced: no longer stale. An identical path is the same interned object, so the
      // Loc-RIB sees no change and nothing is sent anywhere.
      for (const prefix of nlri) stale.delete(keyOfPrefix(prefix));
      for (let i = 0; i < keys.length; i++) stale.delete(keys[i]);
    }
    for (const prefix of nlri) this.took(peer, family, path, this.loc.upsert(prefix, path));
    for (let i = 0; i < keys.length; i++) this.took(peer, family, path, this.loc.upsertKey(keys[i], path));
    if (path.refs === 0) this.unrefPath(path, true);
  }

  /** Reference counting after one Loc-RIB upsert of `path`. */
  private took(peer: RibPeer, family: Family, path: Path, r: { replaced: Path | undefined; added: boolean }): void {
    if (r.added || r.replaced?.gone) {
      // Replacing a path left from before the peer went down adds one for the new session.
      peer.received++;
      peer.receivedByFamily[family]++;
      path.refs++;
      if (r.replaced) this.unrefPath(r.replaced);
    } else if (r.replaced) {
      path.refs++;
      this.unrefPath(r.replaced);
    }
  }

  private pathFor(peer: RibPeer, set: AttrSet): Path {
    const key = set.id * 1_048_576 + peer.id;
    let p = this.paths.get(key);
    if (!p) {
      p = { peer, attrs: set, refs: 0, lid: 0, gone: false };
      this.paths.set(key, p);
      set.refs++;
    }
    return p;
  }

  /** Drops one prefix's reference to a path (or, with `unused`, a path nobody took). */
  private unrefPath(p: Path, unused = false): void {
    if (!unused) p.refs--;
    if (p.refs > 0) return;
    if (!p.gone) this.paths.delete(pathKey(p));
    this.loc.forget(p);
    this.attrs.unref(p.attrs);
  }

  private withdraw(peer: RibPeer, prefix: string | number): number {
    const old = typeof prefix === 'number' ? this.loc.removeKey(prefix, peer) : this.loc.remove(prefix, peer);
    if (!old) return 0;
    if (old.gone) {
      // Left from before the peer went down (being removed in slices): not counted any more.
      this.unrefPath(old);
      return 0;
    }
    peer.received--;
    peer.receivedByFamily[old.attrs.family]--;
    peer.stale?.get(old.attrs.family)?.delete(keyOfPrefix(prefix));
    this.unrefPath(old);
    return 1;
  }

  /** Desired originated routes; diffed against the current ones. */
  setLocalRoutes(routes: readonly LocalRoute[]): void {
    const next = new Map<string, string>();
    const byPrefix = new Map<string, LocalRoute>();
    for (const r of routes) {
      next.set(r.prefix, `${r.nextHop ?? ''}|${(r.communities ?? []).join(',')}`);
      byPrefix.set(r.prefix, r);
    }
    for (const prefix of this.local.keys()) if (!next.has(prefix)) this.withdraw(this.localPeer, prefix);
    for (const [prefix, text] of next) {
      if (this.local.get(prefix) === text) continue;
      const r = byPrefix.get(prefix) as LocalRoute;
      const family = familyOfIp(prefix.slice(0, prefix.indexOf('/')));
      const attrs: PathAttributes = { origin: 0, asPath: [] };
      if (r.communities && r.communities.length > 0) attrs.communities = [...r.communities];
      this.announce(this.localPeer, family, [prefix], attrs, r.nextHop ? [r.nextHop] : []);
    }
    this.local = next;
    this.kick();
  }

  private kick(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      this.turn();
    });
  }

  /**
   * One scheduled turn: a slice of the peer removals under way (flushed in batches of maxBatch),
   * then a flush; another turn is scheduled while removals remain.
   */
  private turn(): void {
    const t = this.startTiming();
    if (this.loc.sweeping) this.sweepSlice();
    this.flushChanges(this.onChanges !== undefined);
    if (this.loc.sweeping) this.kick();
    this.endTiming(t, 'flush');
  }

  private sweepSlice(): void {
    const end = this.now() + this.sliceMs;
    this.loc.sweep(this.sliceBudget, this.maxBatch, () => this.flushChanges(this.onChanges !== undefined), () => this.now() >= end);
  }

  /** True while a peer's paths are still being removed (turn by turn). */
  get busy(): boolean {
    return this.loc.sweeping;
  }

  /**
   * Completes the peer removals under way, computes best-path changes, sends them to the update
   * groups, runs initial dumps (tests call this; the scheduled turns do the same in slices). The
   * changes are returned (and given to onChanges) as a list only when `collect` — a route
   * reflector with nobody listening builds no per-change objects.
   */
  flush(collect = true): Change[] {
    if (this.loc.sweeping) this.loc.sweep(Infinity, Infinity, () => {});
    return this.flushChanges(collect);
  }

  private flushChanges(collect: boolean): Change[] {
    const out: Change[] = [];
    this.flushes++;
    this.out.begin();
    const n = this.loc.flush((key, before, after) => {
      this.out.change(key, before, after);
      if (collect) out.push({ prefix: prefixKeyText(key), before, after });
    });
    this.out.end();
    this.bestChanges += n;
    this.out.dumpJoiners(this.loc);
    if (n > 0 && collect && this.onChanges) this.onChanges(out);
    return out;
  }

  peerList(): RibPeer[] {
    return [...this.peers.values()].filter((p) => p.kind !== 'local');
  }

  advertised(peer: RibPeer): number {
    return this.out.advertised(peer);
  }

  /** Every path of the Loc-RIB, best first per prefix (prefixes in map order). */
  routes(filter?: { prefix?: string }): RouteView[] {
    const rows: RouteView[] = [];
    const add = (prefix: string, paths: readonly Path[], best: Path | undefined) => {
      for (const p of paths) {
        const isBest = p === best;
        const reason = isBest ? bestReason(p, paths) : best ? `lost: ${comparePaths(best, p).reason}` : 'not eligible';
        rows.push(toRouteView(prefix, p, isBest, reason));
      }
    };
    if (filter?.prefix) {
      const s = this.loc.get(filter.prefix);
      if (s) add(filter.prefix, pathsOf(s), bestOf(s));
      return rows;
    }
    for (const [prefix, s] of this.loc.entries) add(prefix, pathsOf(s), bestOf(s));
    return rows;
  }

  /** Best route of one prefix as plain data. */
  best(prefix: string): ReturnType<typeof toBestRoute> | undefined {
    const b = bestOf(this.loc.get(prefix));
    return b ? toBestRoute(prefix, b) : undefined;
  }

  get size(): { prefixes: number; paths: number; attrSets: number; pathObjects: number } {
    let paths = 0;
    for (const p of this.peers.values()) paths += p.received;
    return { prefixes: this.loc.entries.size, paths, attrSets: this.attrs.size, pathObjects: this.paths.size };
  }
}
