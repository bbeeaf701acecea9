/**
 * An IPv4 prefix → value hash table over typed arrays, for the Loc-RIB of a route reflector that
 * holds a million IPv4 prefixes.
 *
 * Why not a Map<string, Slot>: each entry there costs the key string (a heap object of ~32 bytes
 * for "100.64.1.2/32", promoted to old space after two scavenges) plus ~30 bytes of map slot, and
 * every insert hashes the string. Here a prefix is two 32-bit words side by side in one Uint32Array
 * (the address; the length + 1 and a 26-bit value, a path id the Loc-RIB resolves) — 8 bytes a
 * slot, 11-21 bytes per entry by load factor, one cache line per probe, and nothing for the garbage
 * collector to trace (a plain array of value pointers would be 8 bytes a slot more, and traced). Measured at 10 clients × 100k /32s (Node 20): the RR's peak RSS fell from ~175 MB
 * to the figure in docs/benchmarks.md.
 *
 * Open addressing with linear probing, at most 3/4 full, grown by doubling; deletion shifts the
 * rest of the cluster back (no tombstones, so lookups never slow down after churn). Iteration order
 * is slot order, not insertion order.
 *
 * Keys must round-trip exactly: `parseV4Key` accepts only the text `formatV4Key` would write back
 * (no leading zeros, length 0..32); anything else (IPv6, odd spellings) is the caller's to keep in
 * an ordinary map.
 */

let parsedLen = 0;

/**
 * Parses "a.b.c.d/len" into an unsigned 32-bit address (returned) and its length (in `parsedLen`,
 * read it right after). Returns -1 for anything else.
 */
export function parseV4Key(s: string): number {
  const n = s.length;
  let addr = 0;
  let v = 0;
  let digits = 0;
  let part = 0;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && v === 0) return -1; // a leading zero would not round-trip
      v = v * 10 + (c - 48);
      if (++digits > 3 || v > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || part > 2) return -1;
      addr = addr * 256 + v;
      part++;
      v = 0;
      digits = 0;
    } else if (c === 47) break;
    else return -1;
  }
  if (i >= n || digits === 0 || part !== 3) return -1;
  addr = addr * 256 + v;
  let len = 0;
  let ld = 0;
  for (i++; i < n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9 || (ld === 1 && len === 0)) return -1;
    len = len * 10 + c;
    if (++ld > 2) return -1;
  }
  if (ld === 0 || len > 32) return -1;
  parsedLen = len;
  return addr;
}

/** The length of the prefix `parseV4Key` parsed last. */
export function lastParsedLen(): number {
  return parsedLen;
}

export function formatV4Key(addr: number, len: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}/${len}`;
}

function hash(addr: number, len: number): number {
  let h = Math.imul(addr ^ (addr >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16) ^ len, 0x45d9f3b);
  return h ^ (h >>> 16);
}

/** Values are numbers in 1..VALUE_MAX (the Loc-RIB stores path ids); 0 means absent. */
export const VALUE_MAX = 0x3ffffff;

/**
 * Slot i is cells[2i] = address and cells[2i+1] = (length + 1) << 26 | value, so one probe reads
 * one cache line (three parallel arrays cost three misses per probe in a table of tens of MB).
 * A meta word of 0 marks a free slot.
 */
export class V4Table {
  private cells: Uint32Array;
  private mask: number;
  size = 0;
  /** Bumped by every growth (every entry moves): a walk by slot position must start again. */
  generation = 0;

  /**
   * `seed` changes the hash: a table filled in the slot order of another table with the same hash
   * and fewer slots gets one long cluster (keys arrive sorted by their home slot modulo the smaller
   * size), and every insert then walks it. The Loc-RIB's dirty table uses a different seed from the
   * main table for that reason: a peer going down with 3M prefixes took 30 s instead of 3 s.
   */
  constructor(capacity = 1024, private readonly seed = 0) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    this.cells = new Uint32Array(cap * 2);
    this.mask = cap - 1;
  }

  /** The slot holding (addr, len) if present (≥ 0), else ~(the free slot where it would go). */
  locate(addr: number, len: number): number {
    const cells = this.cells;
    const mask = this.mask;
    const want = len + 1;
    for (let i = hash(addr ^ this.seed, len) & mask; ; i = (i + 1) & mask) {
      const meta = cells[2 * i + 1];
      if (meta === 0) return ~i;
      if (meta >>> 26 === want && cells[2 * i] === addr) return i;
    }
  }

  /** The value in a slot `locate` found. */
  valueAt(i: number): number {
    return this.cells[2 * i + 1] & VALUE_MAX;
  }

  /** Replaces the value in a slot `locate` found. */
  setAt(i: number, v: number): void {
    const m = 2 * i + 1;
    this.cells[m] = ((this.cells[m] >>> 26) << 26 | v) >>> 0;
  }

  /** Fills the free slot ~`where` (from `locate`, nothing changed since) with (addr, len) → v. */
  insertAt(where: number, addr: number, len: number, v: number): void {
    const i = ~where;
    this.cells[2 * i] = addr;
    this.cells[2 * i + 1] = ((len + 1) << 26 | v) >>> 0;
    if (++this.size * 4 > (this.mask + 1) * 3) this.grow();
  }

  /** The value of (addr, len), 0 when absent. */
  get(addr: number, len: number): number {
    const i = this.locate(addr, len);
    return i < 0 ? 0 : this.valueAt(i);
  }

  set(addr: number, len: number, v: number): void {
    const i = this.locate(addr, len);
    if (i >= 0) this.setAt(i, v);
    else this.insertAt(i, addr, len, v);
  }

  /** Removes (addr, len); true when it was there. */
  delete(addr: number, len: number): boolean {
    const found = this.locate(addr, len);
    if (found < 0) return false;
    this.deleteAt(found);
    return true;
  }

  /** Empties a slot `locate` found. */
  deleteAt(found: number): void {
    const cells = this.cells;
    const mask = this.mask;
    let i = found;
    // Backward-shift deletion: move later members of the cluster into the hole when their home
    // slot does not lie (cyclically) between the hole and where they sit.
    for (let j = (i + 1) & mask; cells[2 * j + 1] !== 0; j = (j + 1) & mask) {
      const home = hash(cells[2 * j] ^ this.seed, (cells[2 * j + 1] >>> 26) - 1) & mask;
      const between = i <= j ? home > i && home <= j : home > i || home <= j;
      if (between) continue;
      cells[2 * i] = cells[2 * j];
      cells[2 * i + 1] = cells[2 * j + 1];
      i = j;
    }
    cells[2 * i] = 0;
    cells[2 * i + 1] = 0;
    this.size--;
  }

  private grow(): void {
    this.generation++;
    const old = this.cells;
    const cap = (this.mask + 1) * 2;
    this.cells = new Uint32Array(cap * 2);
    this.mask = cap - 1;
    this.size = 0;
    for (let i = 0; i < old.length; i += 2) {
      const meta = old[i + 1];
      if (meta !== 0) this.set(old[i], (meta >>> 26) - 1, meta & VALUE_MAX);
    }
  }

  /** The number of slots (positions 0 .. slots-1; see `addrAt`, `lenAt`, `valueAt`). */
  get slots(): number {
    return this.mask + 1;
  }

  /** The length of the entry in slot i, or -1 when the slot is free. */
  lenAt(i: number): number {
    return (this.cells[2 * i + 1] >>> 26) - 1;
  }

  /** The address of the entry in slot i (meaningful when lenAt(i) >= 0). */
  addrAt(i: number): number {
    return this.cells[2 * i];
  }

  /** The mean distance (in slots) of the entries from their home slots: the probe run of a lookup. */
  meanProbe(): number {
    const cells = this.cells;
    const mask = this.mask;
    let sum = 0;
    for (let i = 0; i <= mask; i++) {
      const meta = cells[2 * i + 1];
      if (meta !== 0) sum += (i - (hash(cells[2 * i] ^ this.seed, (meta >>> 26) - 1) & mask)) & mask;
    }
    return this.size === 0 ? 0 : sum / this.size;
  }

  /** Calls `fn` for every entry (slot order). `fn` must not change the table. */
  forEach(fn: (addr: number, len: number, v: number) => void): void {
    const cells = this.cells;
    for (let i = 0; i < cells.length; i += 2) {
      const meta = cells[i + 1];
      if (meta !== 0) fn(cells[i], (meta >>> 26) - 1, meta & VALUE_MAX);
    }
  }

  *entries(): IterableIterator<[string, number]> {
    const cells = this.cells;
    for (let i = 0; i < cells.length; i += 2) {
      const meta = cells[i + 1];
      if (meta !== 0) yield [formatV4Key(cells[i], (meta >>> 26) - 1), meta & VALUE_MAX];
    }
  }
}
