/**
 * What the route-reflector benchmarks with BIRD clients share (rr.ts, comeup.ts, withdrawal.ts):
 * the cells to run, a bounded command inside a namespace, the clients' prefixes, BIRD's imported
 * count and a bounded poll.
 */
import { execFile } from 'node:child_process';
import type { BirdDaemon } from '../helpers/daemons.js';

export interface Cell { k: number; m: number }

/** PETREL_BENCH_CELLS="2x100000,10x100000" runs just those cells. */
export function cellsFromEnv(): Cell[] | undefined {
  const v = process.env.PETREL_BENCH_CELLS;
  if (!v) return undefined;
  return v.split(',').map((c) => {
    const [k, m] = c.toLowerCase().split('x').map(Number);
    if (!(k > 0 && m > 0 && k <= 200 && k * m <= 4_000_000)) throw new Error(`PETREL_BENCH_CELLS: bad cell ${c}`);
    return { k, m };
  });
}

export function nsExecAsync(ns: string, cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', ns, cmd, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/** The i-th /32 of 100.64.0.0/10. */
export function hostRoute(i: number): string {
  const n = (100 << 24 | 64 << 16) + i;
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/32`;
}

/** Imported-route count of one BIRD protocol, from `show protocols all NAME`. */
export async function imported(bird: BirdDaemon, protocol: string): Promise<{ state: string; n: number }> {
  const out = await nsExecAsync(bird.ns, 'birdc', ['-s', bird.ctl, 'show', 'protocols', 'all', protocol]);
  const m = /Routes:\s+(\d+) imported/.exec(out);
  const st = /BGP state:\s+(\S+)/.exec(out);
  return { state: st?.[1] ?? 'unknown', n: m ? Number(m[1]) : 0 };
}

export async function poll<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, intervalMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < Math.ceil(timeoutMs / intervalMs) + 1 && Date.now() <= deadline; i++) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
}
