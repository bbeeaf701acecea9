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
 * per prefix and a path object per prefix took ~125 bytes of heap per path):
 * - a map value is the Path itself when the prefix has one path, an array (best at [0]) otherwise;
 * - Path objects are interned (one per peer × attribute set, paths.ts), so 100k prefixes from one
 *   peer with one attribute set share a single Path; what a prefix costs is its key string and its
 *   map slot;
 * - keys are stored as flat strings (see upsert);
 * - "what was best before" lives in a separate map only while the prefix is dirty;
 * - there is no per-peer index: a peer going down is one scan of the map.
 */
import type { Family } from '../../model/ip.js';
import { better, selectBest } from './best-path.js';
import type { Path, RibPeer } from './types.js';

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

export class LocRib {
  readonly entries = new Map<string, Slot>();
  private dirty = new Map<string, Path | undefined>();

  get dirtyCount(): number {
    return this.dirty.size;
  }

  get(prefix: string): Slot | undefined {
    return this.entries.get(prefix);
  }

  private touch(prefix: string, s: Slot | undefined): void {
    if (!this.dirty.has(prefix)) this.dirty.set(prefix, bestOf(s));
  }

  /**
   * Adds or replaces `path.peer`'s path for `prefix`. Returns the path it replaced (its reference is
   * the caller's to drop) and whether a path was added. Setting the path already held changes nothing.
   */
  upsert(text: string, path: Path): { replaced: Path | undefined; added: boolean } {
    // The decoder builds prefixes with template literals: V8 ConsStrings (a tree of pieces) that
    // cost ~130 bytes each when kept as a map key (here or in `dirty`). normalize() returns a flat
    // copy (~60 bytes) at no measurable cost (hashing the key flattens it anyway), and the pieces
    // die young. Measured with 1M /32 keys, Node 20. Copying first is ~15% faster than looking the
    // cons string up (V8 flattens it to hash it) and copying after: one copy, one hash.
    const prefix = text.normalize();
    const s = this.entries.get(prefix);
    if (s === undefined) {
      if (!this.dirty.has(prefix)) this.dirty.set(prefix, undefined);
      this.entries.set(prefix, path);
      return { replaced: undefined, added: true };
    }
    if (!Array.isArray(s)) {
      if (s === path) return { replaced: undefined, added: false };
      this.touch(prefix, s);
      if (s.peer === path.peer) {
        this.entries.set(prefix, path);
        return { replaced: s, added: false };
      }
      this.entries.set(prefix, better(path, s) ? [path, s] : [s, path]);
      return { replaced: undefined, added: true };
    }
    for (let i = 0; i < s.length; i++) {
      const old = s[i];
      if (old.peer !== path.peer) continue;
      if (old === path) return { replaced: undefined, added: false };
      this.touch(prefix, s);
      s[i] = path;
      reorder(s);
      return { replaced: old, added: false };
    }
    this.touch(prefix, s);
    s.push(path);
    if (better(path, s[0])) {
      s[s.length - 1] = s[0];
      s[0] = path;
    }
    return { replaced: undefined, added: true };
  }

  /** Removes `peer`'s path for `prefix`; returns it, or undefined when there was none. */
  remove(text: string, peer: RibPeer): Path | undefined {
    const prefix = text.normalize();
    const s = this.entries.get(prefix);
    if (s === undefined) return undefined;
    if (!Array.isArray(s)) {
      if (s.peer !== peer) return undefined;
      this.touch(prefix, s);
      this.entries.delete(prefix);
      return s;
    }
    const i = s.findIndex((p) => p.peer === peer);
    if (i < 0) return undefined;
    this.touch(prefix, s);
    const [old] = s.splice(i, 1);
    if (s.length === 1) this.entries.set(prefix, s[0]);
    else if (i === 0) reorder(s);
    return old;
  }

  /** Removes every path of `peer` (peer down); calls `onRemoved` for each. */
  removePeer(peer: RibPeer, onRemoved: (p: Path) => void): void {
    for (const [prefix, s] of this.entries) {
      if (Array.isArray(s) ? !s.some((p) => p.peer === peer) : s.peer !== peer) continue;
      const old = this.remove(prefix, peer);
      if (old) onRemoved(old);
    }
  }

  /**
   * Hands every prefix whose best path changed since the last flush to `visit` (no list is built:
   * at 1M changed prefixes a list of change objects alone was ~50 MB) and forgets them.
   * Returns the number of changes.
   */
  flush(visit: (prefix: string, before: Path | undefined, after: Path | undefined) => void): number {
    const dirty = this.dirty;
    if (dirty.size === 0) return 0;
    this.dirty = new Map();
    let n = 0;
    for (const [prefix, before] of dirty) {
      const after = bestOf(this.entries.get(prefix));
      if (before === after) continue;
      if (before) before.peer.bestCount--;
      if (after) after.peer.bestCount++;
      n++;
      visit(prefix, before, after);
    }
    return n;
  }
}

export function familyOf(prefix: string): Family {
  return prefix.includes(':') ? 'ipv6' : 'ipv4';
}
