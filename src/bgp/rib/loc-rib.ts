/**
 * Adj-RIB-In and Loc-RIB in one map: prefix → that prefix's paths (the Adj-RIB-Ins, after RFC 7606
 * handling by the codec and loop detection in rib.ts), the best one first.
 *
 * Changes are not pushed out one by one: the first time a prefix is touched after a flush, its best
 * path is remembered in `dirty`; `flush()` returns one change per prefix whose best path differs —
 * so a burst of UPDATEs (a peer's full table, a flap) costs one pass, and a prefix that changes and
 * changes back costs nothing. The caller (rib.ts) schedules flushes with setImmediate.
 *
 * Memory is what shaped this (1M paths within 150 MB RSS; an earlier version with an entry object
 * per prefix and a path object per prefix took ~125 bytes of heap per path, the next one with a
 * Map<string, Slot> ~61 bytes):
 * - IPv4 prefixes live in a typed-array hash table (prefix-table.ts): no key string per prefix,
 *   9-18 bytes per entry (values are path ids, see `byId`); IPv6 prefixes (and any IPv4 text that would not round-trip) in a Map keyed
 *   by flat strings;
 * - a slot is the Path itself when the prefix has one path, an array (best at [0]) otherwise;
 * - Path objects are interned (one per peer × attribute set, rib.ts), so 100k prefixes from one
 *   peer with one attribute set share a single Path;
 * - "what was best before" is kept only while the prefix is dirty (IPv4: in typed lists, see
 *   dirtyV4; others in a map);
 * - there is no per-peer index: a peer going down is one scan of the table, done in slices
 *   (removePeer/sweep).
 * Iteration order is table order for IPv4, then insertion order for the rest.
 */
import type { Family } from '../../model/ip.js';
import { better, selectBest } from './best-path.js';
import { V4Table, formatV4Key, lastParsedLen, parseV4Key } from './prefix-table.js';
import type { Path, RibPeer } from './types.js';

/** Table values at or above this are multi-path slots (prefix-table.ts keeps 26 bits of value). */
const MULTI = 0x2000000;
/** The dirty table's hash seed: anything but the main table's 0 (see V4Table's constructor). */
const DIRTY_SEED = 0x9e3779b9;
const ADDED = Object.freeze({ replaced: undefined, added: true });
const NOTHING = Object.freeze({ replaced: undefined, added: false });

/** One queued peer removal: where its pass over the IPv4 table (then the other map) stands. */
interface Sweep {
  peer: RibPeer;
  onRemoved: (p: Path) => void;
  done: (() => boolean) | undefined;
  pos: number;
  generation: number;
  other: Iterator<string> | undefined;
  passes: number;
}

/** A prefix's paths: one Path, or an array of two or more with the best at index 0. */
export type Slot = Path | Path[];

export interface Change {
  prefix: string;
  before: Path | undefined;
  after: Path | undefined;
}

export function bestOf(s: Slot | undefined): Path | undefined {
  return s === undefined ? undefined : Array.isArray(s) ? s[0] : s;
}

export function pathsOf(s: Slot | undefined): readonly Path[] {
  return s === undefined ? [] : Array.isArray(s) ? s : [s];
}

/** Moves the best path of a multi-path array to index 0. */
function reorder(ps: Path[]): void {
  const best = selectBest(ps) as Path;
  if (ps[0] !== best) {
    const i = ps.indexOf(best);
    ps[i] = ps[0];
    ps[0] = best;
  }
}

/** A prefix as the Loc-RIB hands it out: IPv4 as address × 64 + length (exact in a double), others as text. */
export type PrefixKey = number | string;
type DirtyKey = PrefixKey;

export function prefixKeyText(key: PrefixKey): string {
  if (typeof key === 'string') return key;
  const len = key % 64;
  return formatV4Key((key - len) / 64, len);
}

/** The Loc-RIB key of a prefix given as text or as an IPv4 key (the key the table stores it under). */
export function keyOfPrefix(prefix: string | number): PrefixKey {
  if (typeof prefix === 'number') return prefix;
  const addr = parseV4Key(prefix);
  return addr >= 0 ? addr * 64 + lastParsedLen() : prefix.normalize();
}

export function familyOfKey(key: PrefixKey): Family {
  return typeof key === 'number' ? 'ipv4' : familyOf(key);
}

export class LocRib {
  /** IPv4 prefixes that round-trip through parseV4Key (prefix-table.ts). */
  private readonly v4 = new V4Table(1024);
  /** Everything else (IPv6, and IPv4 text spelled in a way the table cannot give back). */
  private readonly other = new Map<string, Slot>();
  /** Dirty prefixes that are not in the IPv4 table, with their best path before. */
  private dirty = new Map<string, Path | undefined>();
  /**
   * Dirty IPv4 prefixes: their keys and best paths before, in first-touch order, and a small table
   * (key → position + 1) to tell whether a prefix is dirty already. A Map keyed by the numeric keys
   * boxed each one (they exceed the small-integer range); this saved ~8% of the RIB's CPU at 10 × 100k.
   */
  private dirtyV4 = new V4Table(64, DIRTY_SEED);
  private dirtyV4Keys: number[] = [];
  private dirtyV4Before: Array<Path | undefined> = [];
  /** Peer removals under way (see removePeer). */
  private readonly sweeps: Sweep[] = [];
  /** upsertSlot's new slot (a field, not a returned pair: no allocation per prefix). */
  private slotOut: Slot | undefined;
  /**
   * What the IPv4 table's numbers stand for: a path id (index into `byId`, set in Path.lid while
   * the path is stored), or MULTI | index into `multi` for a prefix with several paths.
   */
  private readonly byId: Array<Path | undefined> = [undefined];
  private readonly freeIds: number[] = [];
  private readonly multi: Array<Path[] | undefined> = [];
  private readonly freeMulti: number[] = [];

  private slotOfNum(v: number): Slot | undefined {
    if (v === 0) return undefined;
    return v >= MULTI ? this.multi[v - MULTI] : this.byId[v];
  }

  /** The number standing for `s` in the table, given the number `old` it replaces (0 for none). */
  private numOfSlot(s: Slot, old: number): number {
    if (Array.isArray(s)) {
      if (old >= MULTI && this.multi[old - MULTI] === s) return old;
      if (old >= MULTI) this.freeMulti.push(old - MULTI);
      const i = this.freeMulti.pop() ?? this.multi.length;
      if (i >= MULTI) throw new Error('Loc-RIB: too many multi-path prefixes');
      this.multi[i] = s;
      return MULTI + i;
    }
    if (old >= MULTI) {
      this.multi[old - MULTI] = undefined;
      this.freeMulti.push(old - MULTI);
    }
    let id = s.lid;
    if (id === 0) {
      id = this.freeIds.pop() ?? this.byId.length;
      if (id >= MULTI) throw new Error('Loc-RIB: too many distinct paths');
      this.byId[id] = s;
      s.lid = id;
    }
    return id;
  }

  /** The path is no longer stored under any prefix (rib.ts calls this when its refs reach 0). */
  forget(p: Path): void {
    if (p.lid === 0) return;
    this.byId[p.lid] = undefined;
    this.freeIds.push(p.lid);
    p.lid = 0;
  }

  /** The dirty table's mean probe run (a diagnostic for tests, see V4Table's seed). */
  get dirtyMeanProbe(): number {
    return this.dirtyV4.meanProbe();
  }

  get dirtyCount(): number {
    return this.dirty.size + this.dirtyV4Keys.length;
  }

  /** Every prefix and its paths (IPv4 in table order, then the rest); `size` is the prefix count. */
  get entries(): Iterable<[string, Slot]> & { readonly size: number } {
    const { v4, other } = this;
    const slotOf = (v: number) => this.slotOfNum(v) as Slot;
    return {
      size: v4.size + other.size,
      *[Symbol.iterator]() {
        for (const [prefix, v] of v4.entries()) yield [prefix, slotOf(v)] as [string, Slot];
        yield* other;
      },
    };
  }

  /**
   * Every prefix and its slot, IPv4 ones by key (address × 64 + length; prefixKeyText gives the
   * text) so that a dump to a new peer formats no strings.
   */
  forEachKey(fn: (key: PrefixKey, s: Slot) => void): void {
    this.v4.forEach((addr, len, v) => fn(addr * 64 + len, this.slotOfNum(v) as Slot));
    for (const [prefix, s] of this.other) fn(prefix, s);
  }

  /** Like iterating `entries`, without an iterator object per entry. */
  forEachEntry(fn: (prefix: string, s: Slot) => void): void {
    this.v4.forEach((addr, len, v) => fn(formatV4Key(addr, len), this.slotOfNum(v) as Slot));
    for (const [prefix, s] of this.other) fn(prefix, s);
  }

  get(prefix: string): Slot | undefined {
    const addr = parseV4Key(prefix);
    return addr >= 0 ? this.slotOfNum(this.v4.get(addr, lastParsedLen())) : this.other.get(prefix);
  }

  private touch(key: DirtyKey, s: Slot | undefined): void {
    if (typeof key === 'number') {
      const len = key % 64;
      const addr = (key - len) / 64;
      const at = this.dirtyV4.locate(addr, len);
      if (at >= 0) return;
      this.dirtyV4Keys.push(key);
      this.dirtyV4Before.push(bestOf(s));
      this.dirtyV4.insertAt(at, addr, len, this.dirtyV4Keys.length);
    } else if (!this.dirty.has(key)) this.dirty.set(key, bestOf(s));
  }

  /**
   * Adds or replaces `path.peer`'s path for `prefix`. Returns the path it replaced (its reference is
   * the caller's to drop) and whether a path was added. Setting the path already held changes nothing.
   */
  upsert(text: string, path: Path): { replaced: Path | undefined; added: boolean } {
    const addr = parseV4Key(text);
    if (addr >= 0) return this.upsertV4(addr, lastParsedLen(), path);
    return this.upsertOther(text, path);
  }

  /** upsert() for an IPv4 prefix given as its key (address × 64 + length). */
  upsertKey(key: number, path: Path): { replaced: Path | undefined; added: boolean } {
    const len = key % 64;
    return this.upsertV4((key - len) / 64, len, path);
  }

  private upsertV4(addr: number, len: number, path: Path): { replaced: Path | undefined; added: boolean } {
    {
      const key = addr * 64 + len;
      const at = this.v4.locate(addr, len);
      const v = at >= 0 ? this.v4.valueAt(at) : 0;
      const s = this.slotOfNum(v);
      const r = this.upsertSlot(key, s, path);
      if (this.slotOut !== s) {
        // numOfSlot may register the path; the table itself is unchanged since locate().
        const nv = this.numOfSlot(this.slotOut as Slot, v);
        if (at >= 0) this.v4.setAt(at, nv);
        else this.v4.insertAt(at, addr, len, nv);
      }
      return r;
    }
  }

  private upsertOther(text: string, path: Path): { replaced: Path | undefined; added: boolean } {
    // The decoder builds IPv6 prefixes with template literals: V8 ConsStrings (a tree of pieces)
    // that cost ~130 bytes each when kept as a map key; normalize() returns a flat copy.
    const prefix = text.normalize();
    const s = this.other.get(prefix);
    const r = this.upsertSlot(prefix, s, path);
    if (this.slotOut !== s) this.other.set(prefix, this.slotOut as Slot);
    return r;
  }

  /** Adds `path` to `s`, leaving the new slot in `slotOut`; `touch`es the key when the best path may change. */
  private upsertSlot(key: DirtyKey, s: Slot | undefined, path: Path): { replaced: Path | undefined; added: boolean } {
    if (s === undefined) {
      this.touch(key, undefined);
      this.slotOut = path;
      return ADDED;
    }
    this.slotOut = s;
    if (!Array.isArray(s)) {
      if (s === path) return NOTHING;
      this.touch(key, s);
      if (s.peer === path.peer) {
        this.slotOut = path;
        return { replaced: s, added: false };
      }
      this.slotOut = better(path, s) ? [path, s] : [s, path];
      return ADDED;
    }
    for (let i = 0; i < s.length; i++) {
      const old = s[i];
      if (old.peer !== path.peer) continue;
      if (old === path) return NOTHING;
      this.touch(key, s);
      s[i] = path;
      reorder(s);
      return { replaced: old, added: false };
    }
    this.touch(key, s);
    s.push(path);
    if (better(path, s[0])) {
      s[s.length - 1] = s[0];
      s[0] = path;
    }
    return ADDED;
  }

  /** Removes `peer`'s path for `prefix`; returns it, or undefined when there was none. */
  remove(text: string, peer: RibPeer): Path | undefined {
    const addr = parseV4Key(text);
    if (addr >= 0) return this.removeV4(addr, lastParsedLen(), peer);
    return this.removeOther(text, peer);
  }

  /** remove() for an IPv4 prefix given as its key (address × 64 + length). */
  removeKey(key: number, peer: RibPeer): Path | undefined {
    const len = key % 64;
    return this.removeV4((key - len) / 64, len, peer);
  }

  private removeV4(addr: number, len: number, peer: RibPeer): Path | undefined {
    {
      const at = this.v4.locate(addr, len);
      if (at < 0) return undefined;
      const v = this.v4.valueAt(at);
      const s = this.slotOfNum(v) as Slot;
      const r = this.removeFromSlot(addr * 64 + len, s, peer);
      if (r.slot === undefined) {
        this.v4.deleteAt(at);
        if (v >= MULTI) {
          this.multi[v - MULTI] = undefined;
          this.freeMulti.push(v - MULTI);
        }
      } else if (r.slot !== s) this.v4.setAt(at, this.numOfSlot(r.slot, v));
      return r.old;
    }
  }

  private removeOther(text: string, peer: RibPeer): Path | undefined {
    const prefix = text.normalize();
    const s = this.other.get(prefix);
    if (s === undefined) return undefined;
    const r = this.removeFromSlot(prefix, s, peer);
    if (r.slot === undefined) this.other.delete(prefix);
    else if (r.slot !== s) this.other.set(prefix, r.slot);
    return r.old;
  }

  private removeFromSlot(key: DirtyKey, s: Slot, peer: RibPeer): { slot: Slot | undefined; old: Path | undefined } {
    if (!Array.isArray(s)) {
      if (s.peer !== peer) return { slot: s, old: undefined };
      this.touch(key, s);
      return { slot: undefined, old: s };
    }
    const i = s.findIndex((p) => p.peer === peer);
    if (i < 0) return { slot: s, old: undefined };
    this.touch(key, s);
    const [old] = s.splice(i, 1);
    if (s.length === 1) return { slot: s[0], old };
    if (i === 0) reorder(s);
    return { slot: s, old };
  }

  /** Every prefix key where `peer` has a path, by family. */
  keysOfPeer(peer: RibPeer): Map<Family, PrefixKey[]> {
    const out = new Map<Family, PrefixKey[]>();
    this.forEachKey((key, s) => {
      if (Array.isArray(s) ? !s.some((p) => p.peer === peer && !p.gone) : s.peer !== peer || s.gone) return;
      const f = familyOfKey(key);
      let l = out.get(f);
      if (!l) out.set(f, (l = []));
      l.push(key);
    });
    return out;
  }

  /**
   * Removes `peer`'s paths marked `gone` (peer down; rib.ts marks them), calling `onRemoved` for
   * each. The removal is queued and done by `sweep()` in slices, so a peer with millions of
   * prefixes never holds the event loop: between slices UPDATEs, timers and keepalives run. Until a
   * prefix is reached its gone path stays (and loses to any live path, best-path.ts), so the
   * deltas are the same as a removal at once, spread over several flushes. `done` tells whether
   * every gone path has been removed; a pass that ends with some left (the table grew or entries
   * moved under the cursor) is followed by another.
   */
  removePeer(peer: RibPeer, onRemoved: (p: Path) => void, done?: () => boolean): void {
    this.sweeps.push({ peer, onRemoved, done, pos: 0, generation: this.v4.generation, other: undefined, passes: 0 });
  }

  /** Peer removals still under way. */
  get sweeping(): boolean {
    return this.sweeps.length > 0;
  }

  /**
   * Advances the queued peer removals by about `budget` units of work (a slot looked at is 1, a
   * path removed 8), or until `expired()` (asked every 1,024 units) says the slice is over; returns
   * the units left. `between` runs whenever `batch` prefixes are dirty, so the caller can flush in
   * bounded batches.
   */
  sweep(budget: number, batch: number, between: () => void, expired?: () => boolean): number {
    while (this.sweeps.length > 0 && budget > 0) {
      const job = this.sweeps[0];
      budget = this.sweepJob(job, budget, batch, between, expired);
      if (budget <= 0) break;
      // A pass is over.
      job.passes++;
      if (job.done === undefined || job.done() || job.passes >= 4) this.sweeps.shift();
      else {
        job.pos = 0;
        job.generation = this.v4.generation;
        job.other = undefined;
      }
    }
    return budget;
  }

  /** One job's pass, from where it stopped; returns the budget left (≤ 0: the pass is not over). */
  private sweepJob(job: Sweep, budget: number, batch: number, between: () => void, expired?: () => boolean): number {
    let check = budget - 1024;
    const { peer } = job;
    const v4 = this.v4;
    if (job.generation !== v4.generation) {
      // The table grew since the last slice: every entry moved. Start the pass again.
      job.pos = 0;
      job.generation = v4.generation;
    }
    while (job.pos < v4.slots) {
      if (budget <= check) {
        if (expired?.()) return 0;
        check = budget - 1024;
      }
      if (budget <= 0) return budget;
      const i = job.pos;
      const len = v4.lenAt(i);
      budget--;
      if (len < 0) {
        job.pos++;
        continue;
      }
      const v = v4.valueAt(i);
      const s = this.slotOfNum(v) as Slot;
      const addr = v4.addrAt(i);
      const r = this.removeGone(addr * 64 + len, s, peer);
      if (r === undefined) {
        job.pos++;
        continue;
      }
      budget -= 8;
      if (r.slot === undefined) {
        // Backward-shift deletion may move the next entry into slot i: look at it again.
        v4.deleteAt(i);
        if (v >= MULTI) {
          this.multi[v - MULTI] = undefined;
          this.freeMulti.push(v - MULTI);
        }
      } else {
        if (r.slot !== s) v4.setAt(i, this.numOfSlot(r.slot, v));
        job.pos++;
      }
      job.onRemoved(r.old);
      if (this.dirtyCount >= batch) between();
    }
    // Map iterators see deletions and additions made while they are open, so this one can span slices.
    job.other ??= this.other.keys();
    for (;;) {
      if (budget <= check) {
        if (expired?.()) return 0;
        check = budget - 1024;
      }
      if (budget <= 0) return budget;
      const next = job.other.next();
      if (next.done) return budget;
      budget--;
      const prefix = next.value;
      const s = this.other.get(prefix) as Slot;
      const r = this.removeGone(prefix, s, peer);
      if (r === undefined) continue;
      budget -= 8;
      if (r.slot === undefined) this.other.delete(prefix);
      else if (r.slot !== s) this.other.set(prefix, r.slot);
      job.onRemoved(r.old);
      if (this.dirtyCount >= batch) between();
    }
  }

  /** Removes `peer`'s path from a slot if it is gone; undefined when the slot has none. */
  private removeGone(key: DirtyKey, s: Slot, peer: RibPeer): { slot: Slot | undefined; old: Path } | undefined {
    if (!Array.isArray(s)) {
      if (s.peer !== peer || !s.gone) return undefined;
      this.touch(key, s);
      return { slot: undefined, old: s };
    }
    const i = s.findIndex((p) => p.peer === peer && p.gone);
    if (i < 0) return undefined;
    this.touch(key, s);
    const [old] = s.splice(i, 1);
    if (s.length === 1) return { slot: s[0], old };
    if (i === 0) reorder(s);
    return { slot: s, old };
  }

  /**
   * Hands every prefix whose best path changed since the last flush to `visit` (no list is built:
   * at 1M changed prefixes a list of change objects alone was ~50 MB) and forgets them. IPv4
   * prefixes come as numeric keys (see PrefixKey). Returns the number of changes.
   */
  flush(visit: (key: PrefixKey, before: Path | undefined, after: Path | undefined) => void): number {
    const dirty = this.dirty;
    const keys = this.dirtyV4Keys;
    const befores = this.dirtyV4Before;
    if (dirty.size === 0 && keys.length === 0) return 0;
    this.dirty = new Map();
    this.dirtyV4Keys = [];
    this.dirtyV4Before = [];
    this.dirtyV4 = new V4Table(Math.min(keys.length, 16_384) * 2, DIRTY_SEED);
    let n = 0;
    const one = (key: PrefixKey, before: Path | undefined, after: Path | undefined) => {
      if (before === after) return;
      if (before) before.peer.bestCount--;
      if (after) after.peer.bestCount++;
      n++;
      visit(key, before, after);
    };
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const len = key % 64;
      one(key, befores[i], bestOf(this.slotOfNum(this.v4.get((key - len) / 64, len))));
    }
    for (const [key, before] of dirty) one(key, before, bestOf(this.other.get(key)));
    return n;
  }
}

export function familyOf(prefix: string): Family {
  return prefix.includes(':') ? 'ipv6' : 'ipv4';
}
