/**
 * "Peer comes up → Established" (issue 12): K BIRD 2 clients are started with their session to the
 * route reflector disabled, so the RR's first attempts to reach them are refused; then all of them
 * are enabled at once (`birdc enable prr`) and the clock runs until (a) the RR has every client
 * session Established and (b) a BIRD 2 monitor (iBGP non-client) holds all K×M reflected routes.
 * Petrel and BIRD 2 take turns as the RR in the same run, interleaved run by run.
 *
 * This is the situation of a router or agent restart and of a rollout: before issue 12, Petrel's
 * refused first attempt left it in Idle with a 5 s idle hold, and it closed the clients' own
 * connections meanwhile (RFC 4271 §8.2.2 Idle), so every client waited for Petrel's retry.
 *
 * Method: "Established" is measured where it is seen by both RR implementations alike, at the
 * clients: each client's BIRD logs its session's state changes (`debug { states }`, millisecond
 * timestamps), and the latest "State changed to up" across the clients, minus the moment they were
 * enabled, is the time. (Polling the RR instead measured how soon its CLI or status API answered
 * while it was busy taking routes — seconds, not the session.) The monitor's route count is polled
 * every 50 ms (`birdc show protocols all prr`). Clients use BIRD's `connect delay time 1`
 * (test/helpers), so no RR can be faster than ~1 s unless it calls the clients itself. Read the
 * ratios: the machine is shared.
 *
 * Knobs: PETREL_BENCH_CELLS="2x100000,100x10", PETREL_BENCH_RUNS=N, PETREL_BENCH_IMPLS=petrel,
 * PETREL_BENCH_LOG=debug (Petrel's log level; its log is printed after each run, to see who
 * connected when).
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { cellsFromEnv, hostRoute, nsExecAsync as nsExec, poll, type Cell } from './bird-rr.js';
import { NetnsLab, uniquePrefix } from '../../src/lab/netns.js';
import { birdConfig, lan, petrelSpeakerAvailable, startBird, startPetrel, type BirdDaemon, type Daemon, type LanNode } from '../helpers/daemons.js';

type Impl = 'petrel' | 'bird';
const IMPLS: Impl[] = (process.env.PETREL_BENCH_IMPLS?.split(',') as Impl[] | undefined) ?? ['petrel', 'bird'];
const ASN = 64512;
const POLL_MS = 50;

type Outcome = { ok: true; established: number; routes: number } | { ok: false; reason: string };

const FULL: Cell[] = [{ k: 2, m: 100_000 }, { k: 10, m: 100_000 }, { k: 50, m: 2000 }, { k: 100, m: 10 }];
const QUICK: Cell[] = [{ k: 2, m: 20_000 }, { k: 20, m: 100 }];

/**
 * BIRD's config for a client: the shared builder's, with state changes of `prr` logged (trace) with
 * millisecond timestamps (BIRD's default log time format).
 */
function clientConf(spec: Parameters<typeof birdConfig>[0]): string {
  return birdConfig(spec)
    .replace(/^log stderr [^\n]*$/m, 'log stderr { error, fatal, bug, trace };')
    .replace('protocol bgp prr {\n', 'protocol bgp prr {\n  debug { states };\n');
}

/** The wall-clock time (ms) of the last "prr: State changed to up" in a client's log, or NaN. */
function upAt(client: BirdDaemon): number {
  let t = NaN;
  for (const line of client.log().split('\n')) {
    const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) .*prr: State changed to up/.exec(line);
    if (m) t = new Date(`${m[1]}T${m[2]}`).getTime(); // BIRD logs local time; so does this parse
  }
  return t;
}

async function monitorRoutes(mon: BirdDaemon): Promise<number> {
  const out = await nsExec(mon.ns, 'birdc', ['-s', mon.ctl, 'show', 'protocols', 'all', 'prr']);
  const m = /Routes:\s+(\d+) imported/.exec(out);
  return m ? Number(m[1]) : 0;
}

async function runOnce(impl: Impl, lab: NetnsLab, nodes: Record<string, LanNode>, cell: Cell): Promise<Outcome> {
  const rrNode = nodes.rr;
  const mon = nodes.mon;
  const clients = Array.from({ length: cell.k }, (_, i) => nodes[`c${i}`]);
  const started: Daemon[] = [];
  try {
    // Clients first, their session to the RR disabled (BIRD then does not even listen on 179).
    const birds = await Promise.all(clients.map((c, i) => startBird(lab, c.ns, clientConf({
      routerId: c.v4, asn: ASN, verbose: false,
      originate: Array.from({ length: cell.m }, (_, j) => hostRoute(i * cell.m + j)),
      peers: [{ name: 'prr', address: rrNode.v4, localAddress: c.v4, asn: ASN, import: 'none', holdTime: 90, disabled: true }],
    }), { name: `c${i}` })));
    started.push(...birds);
    const monitor = await startBird(lab, mon.ns, {
      routerId: mon.v4, asn: ASN, verbose: false,
      peers: [{ name: 'prr', address: rrNode.v4, localAddress: mon.v4, asn: ASN, export: 'none', holdTime: 90 }],
    }, { name: 'monitor' });
    started.push(monitor);
    const peers = [...clients.map((c) => ({ address: c.v4, asn: ASN, rrClient: true })), { address: mon.v4, asn: ASN, rrClient: false }];
    const rr: Daemon = impl === 'petrel'
      ? await startPetrel(lab, rrNode.ns, {
        asn: ASN, routerId: rrNode.v4, clusterId: rrNode.v4, listen: { address: rrNode.v4, port: 179 }, holdTime: 90,
        peers: peers.map((p) => ({ ...p, families: ['ipv4' as const], holdTime: 90 })),
      }, { name: 'rr-petrel', env: { PETREL_LOG_LEVEL: process.env.PETREL_BENCH_LOG ?? 'warn' } })
      : await startBird(lab, rrNode.ns, {
        routerId: rrNode.v4, asn: ASN, clusterId: rrNode.v4, verbose: false,
        peers: peers.map((p) => ({ ...p, localAddress: rrNode.v4, holdTime: 90, name: `n${p.address.split('.')[3]}` })),
      }, { name: 'rr-bird' });
    started.push(rr);
    await poll('the monitor Established', async () => (await nsExec(mon.ns, 'birdc', ['-s', monitor.ctl, 'show', 'protocols', 'all', 'prr'])).match(/BGP state:\s+Established/) !== null, 60_000, 100);
    // Let the RR's first attempts to the disabled clients be refused, as after a restart.
    await new Promise((r) => setTimeout(r, 2_000));
    const want = cell.k * cell.m;
    const wall0 = Date.now();
    const t0 = performance.now();
    await Promise.all(birds.map((b) => nsExec(b.ns, 'birdc', ['-s', b.ctl, 'enable', 'prr'])));
    const timeoutMs = 120_000 + want * 0.3;
    await poll(`${want} routes at the monitor`, async () => (await monitorRoutes(monitor)) >= want, timeoutMs, POLL_MS);
    const routes = (performance.now() - t0) / 1000;
    // Every client logged its session up by now (the monitor holds all routes); give the pipes a moment.
    const ups = await poll('every client\'s "State changed to up" in its log', async () => {
      const xs = birds.map(upAt);
      return xs.every((x) => Number.isFinite(x)) && xs;
    }, 10_000, 100);
    const established = (Math.max(...ups) - wall0) / 1000;
    if (process.env.PETREL_BENCH_LOG) process.stderr.write(`--- ${impl} RR log, t0 = ${wall0}\n${rr.log()}\n`);
    return { ok: true, established, routes };
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

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

export async function bench(opts: { quick: boolean }): Promise<{ title: string; markdown: string }> {
  const title = 'Peer comes up → Established (route reflector, clients enabled after the RR started)';
  const cells = cellsFromEnv() ?? (opts.quick ? QUICK : FULL);
  const runs = Number(process.env.PETREL_BENCH_RUNS) || (opts.quick ? 1 : 3);
  const petrelReady = petrelSpeakerAvailable();
  const load0 = loadavg()[0];
  const cpu0 = cpuTimes();
  const results = new Map<string, Outcome[]>();
  for (const cell of cells) {
    const lab = new NetnsLab(uniquePrefix('pc'));
    try {
      const nodes = lan(lab, ['rr', 'mon', ...Array.from({ length: cell.k }, (_, i) => `c${i}`)], 1);
      for (let r = 0; r < runs; r++) {
        for (const impl of IMPLS) {
          const key = `${cell.k}x${cell.m}:${impl}`;
          const o: Outcome = impl === 'petrel' && !petrelReady ? { ok: false, reason: 'petrel speaker not available' } : await runOnce(impl, lab, nodes, cell);
          results.set(key, [...(results.get(key) ?? []), o]);
          process.stderr.write(`comeup bench ${key} run ${r + 1}: ${o.ok ? `Established ${o.established.toFixed(2)} s, routes ${o.routes.toFixed(2)} s` : `failed: ${o.reason}`}\n`);
        }
      }
    } finally {
      await lab.destroy();
    }
  }
  const cpu1 = cpuTimes();
  const busy = (cpu1.busy - cpu0.busy) / Math.max(1, cpu1.total - cpu0.total);
  const rows: string[] = [];
  const notes: string[] = [];
  for (const cell of cells) {
    const c = `${cell.k}x${cell.m}`;
    const med = (impl: Impl) => {
      const xs = results.get(`${c}:${impl}`) ?? [];
      const ok = xs.filter((x): x is Extract<Outcome, { ok: true }> => x.ok);
      for (const x of xs) if (!x.ok) notes.push(`${impl} ${c}: ${x.reason}`);
      const range = (f: (o: Extract<Outcome, { ok: true }>) => number) => ok.length > 1 ? ` (${fmt(Math.min(...ok.map(f)))}–${fmt(Math.max(...ok.map(f)))})` : '';
      return ok.length === 0
        ? { est: NaN, routes: NaN, text: ['failed', 'failed'] }
        : { est: median(ok.map((o) => o.established)), routes: median(ok.map((o) => o.routes)), text: [`${fmt(median(ok.map((o) => o.established)))}${range((o) => o.established)}`, `${fmt(median(ok.map((o) => o.routes)))}${range((o) => o.routes)}`] };
    };
    const p = med('petrel');
    const b = med('bird');
    rows.push(`| ${cell.k} × ${cell.m.toLocaleString('en-US')} | ${p.text[0]} | ${b.text[0]} | ${fmt(p.est / b.est)} | ${p.text[1]} | ${b.text[1]} | ${fmt(p.routes / b.routes)} |`);
  }
  const markdown = [
    'K BIRD 2 clients start with their session to the route reflector disabled; the RR (Petrel or BIRD 2, same run,',
    'interleaved) has tried them and been refused. Clock: from enabling all clients at once until every client logged',
    'its session up (BIRD `debug { states }`, ms timestamps), and until a BIRD 2 monitor holds all K×M routes (polled every 50 ms).',
    'Clients connect 1 s after being enabled (`connect delay time 1`), so ~1 s is the floor for an RR that waits to be',
    `called. ${opts.quick ? 'Quick mode; m' : 'M'}edian of ${runs} run${runs > 1 ? 's' : ''} (min–max). Target (issue 12): Petrel ≤ BIRD in every cell.`,
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; load average before start ${load0.toFixed(2)}; CPU busy during the benchmark ${(busy * 100).toFixed(0)} % (all processes, /proc/stat).`,
    '',
    '| K × M | Petrel → Established s | BIRD → Established s | Petrel/BIRD | Petrel → all routes s | BIRD → all routes s | Petrel/BIRD |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    ...(notes.length ? ['', 'Failures:', ...[...new Set(notes)].map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
  return { title, markdown };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  bench({ quick: process.argv.includes('--quick') }).then((r) => process.stdout.write(`## ${r.title}\n\n${r.markdown}`), (e) => { console.error(e); process.exit(1); });
}
