/**
 * A Clock (src/bgp/session/types.ts) whose time moves only when a test calls advance(ms). Timers due
 * within the advanced span fire in due order (ties in creation order), each seeing now() equal to its
 * due time; a timer set by a firing callback fires in the same advance() if it falls due in the span.
 * No sleeps: FSM and session tests stay deterministic and fast.
 */
import type { Clock } from '../../src/bgp/session/types.js';

interface Timer {
  id: number;
  due: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers = new Map<number, Timer>();

  constructor(start = 1_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { id, due: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Number of timers pending. */
  get pending(): number {
    return this.timers.size;
  }

  /** Milliseconds until the next timer is due, or undefined when none is pending. */
  nextIn(): number | undefined {
    let min: number | undefined;
    for (const t of this.timers.values()) if (min === undefined || t.due < min) min = t.due;
    return min === undefined ? undefined : min - this.t;
  }

  /** Moves time forward by ms, firing every timer that falls due (bounded: at most 100,000 firings). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (let n = 0; n < 100_000; n++) {
      let next: Timer | undefined;
      for (const t of this.timers.values()) {
        if (t.due <= end && (!next || t.due < next.due || (t.due === next.due && t.id < next.id))) next = t;
      }
      if (!next) break;
      this.timers.delete(next.id);
      this.t = next.due;
      next.fn();
    }
    this.t = end;
  }
}
