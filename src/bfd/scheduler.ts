/**
 * One scheduler for every BFD timer (issue 12: "one monotonic scheduler for all sessions"). A
 * hundred sessions at 100 ms with two timers each would otherwise keep two hundred Node timers
 * churning (every received packet restarts a detection timer); here each timer is an entry in a
 * binary min-heap and only the earliest deadline holds a real timer on the injected Clock.
 *
 * Restarting a timer only records its new deadline (O(1)); the stale heap entry is skipped when it
 * surfaces, and the heap is rebuilt when stale entries outnumber live ones. Deadlines are
 * milliseconds on the Clock's monotonic time (`now()`); callbacks run in deadline order, those due
 * at the same moment in the order they were set.
 */
export interface SchedulerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

interface Entry {
  key: string;
  due: number;
  seq: number;
}

export class TimerScheduler {
  private heap: Entry[] = [];
  /** The live entry of each key; a heap entry that is not its key's live one is stale. */
  private readonly live = new Map<string, { entry: Entry; fn: () => void }>();
  private seq = 0;
  private armed: { handle: unknown; due: number } | undefined;

  constructor(private readonly clock: SchedulerClock) {}

  /** Number of timers set. */
  get size(): number {
    return this.live.size;
  }

  /** Sets (or moves) timer `key` to fire `ms` from now. */
  set(key: string, ms: number, fn: () => void): void {
    const entry: Entry = { key, due: this.clock.now() + Math.max(0, ms), seq: ++this.seq };
    this.live.set(key, { entry, fn });
    this.push(entry);
    if (this.heap.length > 64 && this.heap.length > 2 * this.live.size) this.rebuild();
    this.rearm();
  }

  cancel(key: string): void {
    if (this.live.delete(key) && this.live.size === 0) this.disarm();
  }

  /** When timer `key` fires (clock ms), or undefined. */
  dueOf(key: string): number | undefined {
    return this.live.get(key)?.entry.due;
  }

  private fire(): void {
    this.armed = undefined;
    const now = this.clock.now();
    // Bounded: each live timer fires at most once per pass (a callback that sets its timer anew
    // for "now" waits for the next pass).
    for (let n = this.live.size + this.heap.length; n > 0 && this.heap.length > 0 && this.heap[0].due <= now; n--) {
      const top = this.pop()!;
      const cur = this.live.get(top.key);
      if (!cur || cur.entry !== top) continue;
      this.live.delete(top.key);
      cur.fn();
    }
    this.rearm();
  }

  private rearm(): void {
    while (this.heap.length > 0 && this.live.get(this.heap[0].key)?.entry !== this.heap[0]) this.pop();
    const next = this.heap[0];
    if (!next) return this.disarm();
    if (this.armed && this.armed.due === next.due) return;
    this.disarm();
    this.armed = { due: next.due, handle: this.clock.setTimeout(() => this.fire(), next.due - this.clock.now()) };
  }

  private disarm(): void {
    if (this.armed) this.clock.clearTimeout(this.armed.handle);
    this.armed = undefined;
  }

  private rebuild(): void {
    this.heap = [...this.live.values()].map((v) => v.entry);
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private less(a: Entry, b: Entry): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      this.down(0);
    }
    return top;
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l], h[m])) m = l;
      if (r < h.length && this.less(h[r], h[m])) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}
