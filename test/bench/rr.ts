/**
 * Route-reflector convergence, bgperf-style. K BIRD 2 clients each originate M /32s (from
 * 100.64.0.0/10) towards the route reflector under test, which reflects them to a BIRD 2 monitor
 * (an iBGP non-client). Every session is Established before the clock starts; the clock starts when
 * the clients' static protocols are enabled (all at once) and stops when the monitor's channel has
 * imported all K×M routes. We also record the RR's peak RSS (VmHWM of its process).
 *
 * Petrel, BIRD 2 and FRR 8 (bgpd, no zebra) take turns as the RR in the same run, interleaved run
 * by run so a burst of outside load hits all of them alike. A Petrel that is missing or fails shows
 * as `failed` in the table with its reason; the benchmark never throws because of it.
 *
 * Design notes: clients import nothing (`import none`), so their CPU goes to parsing, not to
 * storing K×M routes each — the RR still has to send every reflected route to every client, as a
 * real RR does. Polling uses BIRD's per-protocol counters (`show protocols all`), never a route
 * dump. The machine has few cores and is shared: read the ratios, not the absolute times.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { cellsFromEnv, hostRoute, imported, nsExecAsync, poll, type Cell } from './bird-rr.js';
import { NetnsLab, uniquePrefix } from '../../src/lab/netns.js';
import {
  lan, petrelSpeakerAvailable, startBird, startFrr, startPetrel,
  type Daemon, type LanNode,
} from '../helpers/daemons.js';

type Impl = 'petrel' | 'bird' | 'frr';
const IMPLS: Impl[] = ['petrel', 'bird', 'frr'];
const ASN = 64512;

interface Sample { ok: true; seconds: number; rssMb: number }
interface Failure { ok: false; reason: string }
type Outcome = Sample | Failure;

const FULL: Cell[] = [{ k: 2, m: 100_000 }, { k: 10, m: 100_000 }, { k: 50, m: 2000 }, { k: 100, m: 10 }];
const QUICK: Cell[] = [{ k: 2, m: 20_000 }, { k: 5, m: 5000 }, { k: 20, m: 100 }];

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function startRr(impl: Impl, lab: NetnsLab, rr: LanNode, peers: LanNode[], mon: LanNode): Promise<Daemon> {
  const clientPeers = peers.map((c) => ({ address: c.v4, asn: ASN, rrClient: true, families: ['ipv4' as const] }));
  const monitorPeer = { address: mon.v4, asn: ASN, families: ['ipv4' as const] };
  if (impl === 'petrel') {
    return startPetrel(lab, rr.ns, {
      asn: ASN, routerId: rr.v4, clusterId: rr.v4, listen: { address: rr.v4, port: 179 }, holdTime: 90,
      peers: [...clientPeers, monitorPeer].map((p) => ({ ...p, holdTime: 90 })),
    }, { name: 'rr-petrel', env: { PETREL_LOG_LEVEL: 'warn', LOG_LEVEL: 'warn' } });
  }
  const spec = {
    routerId: rr.v4, asn: ASN, clusterId: rr.v4, verbose: false,
    peers: [...clientPeers, monitorPeer].map((p) => ({ ...p, localAddress: rr.v4, holdTime: 90, name: `n${p.address.split('.')[3]}` })),
  };
  return impl === 'bird' ? startBird(lab, rr.ns, spec, { name: 'rr-bird' }) : startFrr(lab, rr.ns, { ...spec, hostname: 'rr' }, { name: 'rrfrr' });
}

async function runOnce(impl: Impl, lab: NetnsLab, nodes: Record<string, LanNode>, cell: Cell): Promise<Outcome> {
  const rrNode = nodes.rr;
  const mon = nodes.mon;
  const clients = Array.from({ length: cell.k }, (_, i) => nodes[`c${i}`]);
  const started: Daemon[] = [];
  const timeoutMs = 60_000 + cell.k * cell.m * 0.3;
  try {
    const rr = await startRr(impl, lab, rrNode, clients, mon);
    started.push(rr);
    const monitor = await startBird(lab, mon.ns, {
      routerId: mon.v4, asn: ASN, verbose: false,
      peers: [{ name: 'prr', address: rrNode.v4, localAddress: mon.v4, asn: ASN, export: 'none', holdTime: 90 }],
    }, { name: 'monitor' });
    started.push(monitor);
    const birds = await Promise.all(clients.map((c, i) => startBird(lab, c.ns, {
      routerId: c.v4, asn: ASN, verbose: false, staticDisabled: true,
      originate: Array.from({ length: cell.m }, (_, j) => hostRoute(i * cell.m + j)),
      peers: [{ name: 'prr', address: rrNode.v4, localAddress: c.v4, asn: ASN, import: 'none', holdTime: 90 }],
    }, { name: `c${i}` })));
    started.push(...birds);
    await poll('every session Established', async () => {
      const states = await Promise.all([monitor, ...birds].map((b) => imported(b, 'prr')));
      return states.every((s) => s.state === 'Established');
    }, 60_000, 250);
    const want = cell.k * cell.m;
    const t0 = performance.now();
    await Promise.all(birds.map((b) => nsExecAsync(b.ns, 'birdc', ['-s', b.ctl, 'enable', 's4'])));
    const interval = want > 100_000 ? 100 : 20;
    await poll(`the monitor to hold ${want} routes`, async () => (await imported(monitor, 'prr')).n >= want, timeoutMs, interval);
    const seconds = (performance.now() - t0) / 1000;
    return { ok: true, seconds, rssMb: peakRssMb(rr.pid) };
  } catch (e) {
    return { ok: false, reason: (e as Error).message.split('\n')[0].slice(0, 300) };
  } finally {
    await Promise.all(started.map((d) => d.stop().catch(() => undefined)));
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function cpuTimes(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - (f[4] ?? 0), total };
}

function versions(): string {
  const out = (cmd: string, args: string[]): string => {
    const r = commandOutput(cmd, args);
    return r.split('\n')[0].trim();
  };
  let git = '';
  try { git = commandOutput('git', ['rev-parse', '--short', 'HEAD']).trim(); } catch { /* not a checkout */ }
  return `BIRD ${out('bird', ['--version']).replace(/^BIRD version /, '')}, FRR ${out('/usr/lib/frr/bgpd', ['--version']).replace(/^bgpd version /, '')}, ` +
    `Node ${process.version}, Petrel ${git || 'unknown commit'}`;
}

function commandOutput(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

export async function bench(opts: { quick: boolean }): Promise<{ title: string; markdown: string }> {
  const title = 'Route-reflector convergence (bgperf-style)';
  const cells = cellsFromEnv() ?? (opts.quick ? QUICK : FULL);
  const runs = Number(process.env.PETREL_BENCH_RUNS) || (opts.quick ? 1 : 3);
  const petrelReady = petrelSpeakerAvailable();
  const load0 = loadavg()[0];
  const cpu0 = cpuTimes();
  const results = new Map<string, Outcome[]>();
  for (const cell of cells) {
    const lab = new NetnsLab(uniquePrefix('pb'));
    try {
      const names = ['rr', 'mon', ...Array.from({ length: cell.k }, (_, i) => `c${i}`)];
      const nodes = lan(lab, names, 1);
      for (let r = 0; r < runs; r++) {
        for (const impl of IMPLS) {
          const key = `${cell.k}x${cell.m}:${impl}`;
          const outcome: Outcome = impl === 'petrel' && !petrelReady
            ? { ok: false, reason: 'petrel speaker not available (dist/cli.js has no speaker command)' }
            : await runOnce(impl, lab, nodes, cell);
          results.set(key, [...(results.get(key) ?? []), outcome]);
          process.stderr.write(`rr bench ${key} run ${r + 1}: ${outcome.ok ? `${outcome.seconds.toFixed(2)} s, ${outcome.rssMb.toFixed(1)} MB` : `failed: ${outcome.reason}`}\n`);
        }
      }
    } finally {
      await lab.destroy();
    }
  }
  const cpu1 = cpuTimes();
  const busy = (cpu1.busy - cpu0.busy) / Math.max(1, cpu1.total - cpu0.total);

  const summary = (key: string): { s?: number; rss?: number; fail?: string } => {
    const xs = results.get(key) ?? [];
    const ok = xs.filter((x): x is Sample => x.ok);
    if (ok.length === 0) return { fail: (xs.find((x) => !x.ok) as Failure | undefined)?.reason ?? 'not run' };
    return { s: median(ok.map((x) => x.seconds)), rss: Math.max(...ok.map((x) => x.rssMb)) };
  };
  const rows: string[] = [];
  const notes: string[] = [];
  for (const cell of cells) {
    const c = `${cell.k}x${cell.m}`;
    const [p, b, f] = IMPLS.map((i) => summary(`${c}:${i}`));
    const cellTxt = (x: { s?: number; fail?: string }, impl: Impl) => {
      if (x.s !== undefined) {
        const n = (results.get(`${c}:${impl}`) ?? []).filter((o) => o.ok).length;
        return `${fmt(x.s)}${n < runs ? ` (${n}/${runs} ok)` : ''}`;
      }
      notes.push(`${impl} ${c}: ${x.fail}`);
      return 'failed';
    };
    const ratio = (a?: number, z?: number) => (a !== undefined && z !== undefined ? fmt(a / z) : '–');
    rows.push(`| ${cell.k} × ${cell.m.toLocaleString('en-US')} | ${cellTxt(p, 'petrel')} | ${cellTxt(b, 'bird')} | ${cellTxt(f, 'frr')} | ` +
      `${ratio(p.s, b.s)} | ${ratio(p.s, f.s)} | ${fmt(p.rss ?? NaN, 1)} | ${fmt(b.rss ?? NaN, 1)} | ${fmt(f.rss ?? NaN, 1)} |`);
  }
  // test/bench/run.ts adds the `## title` heading.
  const markdown = [
    `K BIRD 2 clients each announce M /32s through the route reflector to a BIRD 2 monitor (iBGP, one L2 segment of`,
    `network namespaces). Time: from enabling the clients' routes (sessions already Established) until the monitor`,
    `holds all K×M routes. RSS: the RR process's peak resident set (VmHWM). ${opts.quick ? 'Quick mode (smaller cells); m' : 'M'}edian of ${runs} run${runs > 1 ? 's' : ''}; implementations interleaved.`,
    'Target (issue 2): Petrel’s time ≤ BIRD’s on every cell; Petrel’s peak RSS ≤ 150 MB at 10 × 100,000. Times under ~0.2 s are at the resolution of the method.',
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; load average before start ${load0.toFixed(2)}; CPU busy during the benchmark ${(busy * 100).toFixed(0)} % (all processes, /proc/stat).`,
    `Versions: ${versions()}.`,
    '',
    '| K × M | Petrel s | BIRD 2 s | FRR 8 s | Petrel/BIRD | Petrel/FRR | Petrel peak RSS MB | BIRD RSS MB | FRR RSS MB |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    ...(notes.length ? ['', 'Failures:', ...[...new Set(notes)].map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
  return { title, markdown };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  bench({ quick: process.argv.includes('--quick') }).then((r) => process.stdout.write(`## ${r.title}\n\n${r.markdown}`), (e) => { console.error(e); process.exit(1); });
}
