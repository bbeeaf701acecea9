/**
 * CPU time of the main thread, in milliseconds, to tell how long a piece of work held the event
 * loop even when the machine is busy with other processes (wall time then includes preemption).
 * Linux: the first field of /proc/thread-self/schedstat (nanoseconds on the CPU), read through one
 * open descriptor with pread (~6 µs). process.cpuUsage() is not a substitute: it adds every thread
 * of the process, and V8's concurrent GC threads ran up hundreds of ms during one 700 ms slice of a
 * loaded machine. Elsewhere (no such file) it falls back to process.cpuUsage().
 */
import { openSync, readSync } from 'node:fs';

let shared: (() => number) | undefined;

/** The clock (one descriptor for the whole process, opened on first use). */
export function threadCpuClock(): () => number {
  shared ??= makeClock();
  return shared;
}

function makeClock(): () => number {
  let fd = -1;
  try {
    fd = openSync('/proc/thread-self/schedstat', 'r');
  } catch {
    fd = -1;
  }
  if (fd >= 0) {
    const buf = Buffer.alloc(96);
    return () => {
      const n = readSync(fd, buf, 0, buf.length, 0);
      const s = buf.toString('latin1', 0, n);
      const sp = s.indexOf(' ');
      return Number(sp > 0 ? s.slice(0, sp) : s) / 1e6;
    };
  }
  return () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
}
