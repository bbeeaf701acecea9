/**
 * Adj-RIB-In and Loc-RIB in one map: prefix → entry holding every peer's path for that prefix (the
 * Adj-RIB-Ins, after RFC 7606 handling by the codec and loop detection here) and the best one.
 *
 * Changes are not pushed out one by one: an entry touched since the last flush is marked dirty with
 * the best path it had before, and `flush()` returns one change per prefix whose best path differs —
 * so a burst of UPDATEs (a peer's full table, a flap) costs one pass, and a prefix that changes and
 * changes back costs nothing. The caller (rib.ts) schedules flushes with setImmediate.
 *
 * Memory: an entry is { prefix, paths, best, prev }, `paths` being a single Path in the common
 * one-path case and an array only when several peers announce the prefix. There is no per-peer
 * index: a peer going down is one scan of the map (what a peer-down costs anyway in withdrawals).
 */
import type { Family } from '../../model/ip.js';
import { selectBest } from './best-path.js';
import type { Path, RibPeer } from './types.js';

const CLEAN: unique symbol = Symbol('clean');

export interface Entry {
  readonly prefix: string;
  paths: Path | Path[] | undefined;
  best: Path | undefined;
  /** Best path before the first change since the last flush; CLEAN when untouched. */
  prev: Path | undefined | typeof CLEAN;
}

export interface Change {
  prefix: string;
  before: Path | undefined;
  after: Path | undefined;
}

export class LocRib {
  readonly entries = new Map<string, Entry>();
  private dirty: Entry[] = [];

  get dirtyCount(): number {
    return this.dirty.length;
  }

  get(prefix: string): Entry | undefined {
    return this.entries.get(prefix);
  }

  private touch(e: Entry): void {
    if (e.prev === CLEAN) {
      e.prev = e.best;
      this.dirty.push(e);
    }
  }

  /**
   * Adds or replaces `peer`'s path for `prefix`. Returns the path it replaced (for reference
   * counting), or undefined. A path equal to the one held (same peer, same interned attributes)
   * changes nothing.
   */
  upsert(prefix: string, path: Path): { replaced: Path | undefined; added: boolean } {
    let e = this.entries.get(prefix);
    if (!e) {
      e = { prefix, paths: path, best: undefined, prev: CLEAN };
      this.entries.set(prefix, e);
      this.touch(e);
      e.best = path;
      return { replaced: undefined, added: true };
    }
    const ps = e.paths;
    if (ps === undefined) {
      this.touch(e);
      e.paths = path;
      e.best = path;
      return { replaced: undefined, added: true };
    }
    if (!Array.isArray(ps)) {
      if (ps.peer === path.peer) {
        if (ps.attrs === path.attrs) return { replaced: undefined, added: false };
        this.touch(e);
        e.paths = path;
        e.best = path;
        return { replaced: ps, added: false };
      }
      this.touch(e);
      e.paths = [ps, path];
      e.best = selectBest(e.paths);
      return { replaced: undefined, added: true };
    }
    for (let i = 0; i < ps.length; i++) {
      const old = ps[i];
      if (old.peer !== path.peer) continue;
      if (old.attrs === path.attrs) return { replaced: undefined, added: false };
      this.touch(e);
      ps[i] = path;
      e.best = selectBest(ps);
      return { replaced: old, added: false };
    }
    this.touch(e);
    ps.push(path);
    e.best = selectBest(ps);
    return { replaced: undefined, added: true };
  }

  /** Removes `peer`'s path for `prefix`; returns it, or undefined when there was none. */
  remove(prefix: string, peer: RibPeer): Path | undefined {
    const e = this.entries.get(prefix);
    if (!e || e.paths === undefined) return undefined;
    return this.removeFrom(e, peer);
  }

  private removeFrom(e: Entry, peer: RibPeer): Path | undefined {
    const ps = e.paths;
    if (ps === undefined) return undefined;
    if (!Array.isArray(ps)) {
      if (ps.peer !== peer) return undefined;
      this.touch(e);
      e.paths = undefined;
      e.best = undefined; // the empty entry stays until flush, which deletes it
      return ps;
    }
    const i = ps.findIndex((p) => p.peer === peer);
    if (i < 0) return undefined;
    this.touch(e);
    const [old] = ps.splice(i, 1);
    e.paths = ps.length === 1 ? ps[0] : ps;
    e.best = ps.length === 1 ? ps[0] : selectBest(ps);
    return old;
  }

  /** Removes every path of `peer` (peer down); calls `onRemoved` for each. */
  removePeer(peer: RibPeer, onRemoved: (p: Path) => void): void {
    for (const e of this.entries.values()) {
      const old = this.removeFrom(e, peer);
      if (old) onRemoved(old);
    }
  }

  /** Returns the best-path changes since the last flush and forgets them. */
  flush(): Change[] {
    const dirty = this.dirty;
    this.dirty = [];
    const out: Change[] = [];
    for (const e of dirty) {
      const before = e.prev as Path | undefined;
      e.prev = CLEAN;
      if (e.paths === undefined) this.entries.delete(e.prefix);
      if (before === e.best) continue;
      if (before) before.peer.bestCount--;
      if (e.best) e.best.peer.bestCount++;
      out.push({ prefix: e.prefix, before, after: e.best });
    }
    return out;
  }

  /** All paths of an entry as an array. */
  static pathsOf(e: Entry): readonly Path[] {
    return e.paths === undefined ? [] : Array.isArray(e.paths) ? e.paths : [e.paths];
  }
}

export function familyOf(prefix: string): Family {
  return prefix.includes(':') ? 'ipv6' : 'ipv4';
}
