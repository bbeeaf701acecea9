/**
 * Full-table withdrawal (issue 13): an eBGP peer (the bulk sender of test/helpers/daemons/
 * bulkpeer.ts, AS 64530) has announced N /32s to the route reflector under test (AS 64512), which
 * passed them to two BIRD 2 route-reflector clients. Then the peer's process is killed (SIGKILL):
 * the kernel closes its TCP connection. Time: from the stop until both clients hold none of the N routes (BIRD's
 * imported counters, polled every 100 ms), i.e. until every other peer has been told.
 *
 * Petrel and BIRD 2 take turns as the RR in the same run, on the same lab, with the same sender and
 * clients. The ratio Petrel/BIRD and Petrel's 4M/1M ratio (linear would be 4) are reported. Also the
 * longest single piece of RIB work Petrel measured during the withdrawal (`rib.longestSliceCpuMs`).
 * The machine is shared and small: read the ratios. PETREL_BENCH_WITHDRAW_SIZES="1000000,2000000"
 * picks the sizes; PETREL_BENCH_RUNS the runs per size (default 1: each run moves millions of routes).
 */
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { imported, poll } from './bird-rr.js';
import { NetnsLab, uniquePrefix } from '../../src/lab/netns.js';
import {
  lan, makeDir, petrelSpeakerAvailable, startBird, startBulkPeer, startPetrel, writeTableFile,
  type Daemon, type LanNode, type PetrelDaemon,
} from '../helpers/daemons.js';

type Impl = 'petrel' | 'bird';
const IMPLS: Impl[] = ['petrel', 'bird'];
const ASN = 64512;
const BULK_AS = 64530;
const FIRST = (100 << 24 | 64 << 16) >>> 0; // 100.64.0.0/10

interface Sample { ok: true; seconds: number; loadSeconds: number; sliceCpuMs?: number }
interface Failure { ok: false; reason: string }
type Outcome = Sample | Failure;

async function startRr(impl: Impl, lab: NetnsLab, rr: LanNode, big: LanNode, clients: LanNode[]): Promise<Daemon> {
  const clientPeers = clients.map((c) => ({ address: c.v4, asn: ASN, rrClient: true, families: ['ipv4' as const], holdTime: 90 }));
  const bigPeer = { address: big.v4, asn: BULK_AS, families: ['ipv4' as const], passive: true, holdTime: 90 };
  if (impl === 'petrel') {
    return startPetrel(lab, rr.ns, {
      asn: ASN, routerId: rr.v4, clusterId: rr.v4, listen: { address: rr.v4, port: 179 }, holdTime: 90, peers: [bigPeer, ...clientPeers],
    }, { name: 'rr-petrel', env: { PETREL_LOG_LEVEL: 'warn' } });
  }
  return startBird(lab, rr.ns, {
    routerId: rr.v4, asn: ASN, clusterId: rr.v4, verbose: false,
    peers: [bigPeer, ...clientPeers].map((p) => ({ ...p, localAddress: rr.v4, name: `n${p.address.split('.')[3]}` })),
  }, { name: 'rr-bird' });
}

async function runOnce(impl: Impl, lab: NetnsLab, nodes: Record<string, LanNode>, n: number, tableFile: string): Promise<Outcome> {
  const clients = [nodes.m0, nodes.m1];
  const started: Daemon[] = [];
  const timeoutMs = 120_000 + n * 0.05;
  try {
    const rr = await startRr(impl, lab, nodes.rr, nodes.big, clients);
    started.push(rr);
    const monitors = await Promise.all(clients.map((c, i) => startBird(lab, c.ns, {
      routerId: c.v4, asn: ASN, verbose: false,
      peers: [{ name: 'prr', address: nodes.rr.v4, localAddress: c.v4, asn: ASN, export: 'none', holdTime: 90 }],
    }, { name: `m${i}` })));
    started.push(...monitors);
    await poll('the clients Established', async () => (await Promise.all(monitors.map((m) => imported(m, 'prr')))).every((s) => s.state === 'Established'), 60_000, 250);
    const tLoad = performance.now();
    const bulk = await startBulkPeer(lab, nodes.big.ns, { peer: nodes.rr.v4, localAddress: nodes.big.v4, asn: BULK_AS, routerId: nodes.big.v4, tableFile });
    started.push(bulk);
    await poll(`both clients to hold ${n} routes`, async () => (await Promise.all(monitors.map((m) => imported(m, 'prr')))).every((s) => s.n >= n), timeoutMs, 500);
    const loadSeconds = (performance.now() - tLoad) / 1000;
    // SIGKILL: the kernel closes the peer's connection at once (a SIGTERM is not always obeyed at
    // once here, and lab.stop() would then wait its 3 s grace period inside the measurement).
    const t0 = performance.now();
    process.kill(bulk.pid, 'SIGKILL');
    await poll('both clients to hold no route', async () => (await Promise.all(monitors.map((m) => imported(m, 'prr')))).every((s) => s.n === 0), timeoutMs, 100);
    const seconds = (performance.now() - t0) / 1000;
    let sliceCpuMs: number | undefined;
    if (impl === 'petrel') {
      const st = (rr as PetrelDaemon).status() as unknown as { rib?: { longestSliceCpuMs?: number } };
      sliceCpuMs = st.rib?.longestSliceCpuMs;
    }
    return { ok: true, seconds, loadSeconds, ...(sliceCpuMs !== undefined ? { sliceCpuMs } : {}) };
  } catch (e) {
    return { ok: false, reason: (e as Error).message.split('\n')[0].slice(0, 300) };
  } finally {
    await Promise.all(started.map((d) => d.stop().catch(() => undefined)));
  }
}

const fmt = (x: number | undefined, d = 2) => (x !== undefined && Number.isFinite(x) ? x.toFixed(d) : 'n/a');

export async function bench(opts: { quick: boolean }): Promise<{ title: string; markdown: string }> {
  const title = 'Full-table withdrawal';
  const sizes = (process.env.PETREL_BENCH_WITHDRAW_SIZES ?? (opts.quick ? '100000,400000' : '1000000,2000000,4000000')).split(',').map(Number)
    .filter((x) => x > 0 && x <= 4_000_000);
  const runs = Number(process.env.PETREL_BENCH_RUNS) || 1;
  const petrelReady = petrelSpeakerAvailable();
  const load0 = loadavg()[0];
  const results = new Map<string, Outcome[]>();
  const lab = new NetnsLab(uniquePrefix('pw'));
  try {
    const nodes = lan(lab, ['rr', 'big', 'm0', 'm1'], 1);
    for (const n of sizes) {
      const tableFile = join(makeDir(lab, 'table'), `table-${n}.bin`);
      writeTableFile(tableFile, { first: FIRST, count: n, asn: BULK_AS, nextHop: nodes.big.v4 });
      for (let r = 0; r < runs; r++) {
        for (const impl of IMPLS) {
          const key = `${n}:${impl}`;
          const o: Outcome = impl === 'petrel' && !petrelReady ? { ok: false, reason: 'petrel speaker not available' } : await runOnce(impl, lab, nodes, n, tableFile);
          results.set(key, [...(results.get(key) ?? []), o]);
          process.stderr.write(`withdrawal bench ${key} run ${r + 1}: ${o.ok ? `${o.seconds.toFixed(2)} s (load ${o.loadSeconds.toFixed(1)} s${o.sliceCpuMs !== undefined ? `, longest RIB slice ${o.sliceCpuMs} ms CPU` : ''})` : `failed: ${o.reason}`}\n`);
        }
      }
    }
  } finally {
    await lab.destroy();
  }
  const med = (key: string): Sample | Failure => {
    const xs = results.get(key) ?? [];
    const ok = xs.filter((x): x is Sample => x.ok).sort((a, b) => a.seconds - b.seconds);
    return ok.length ? ok[(ok.length - 1) >> 1] : (xs[0] ?? { ok: false, reason: 'not run' });
  };
  const rows: string[] = [];
  const notes: string[] = [];
  for (const n of sizes) {
    const p = med(`${n}:petrel`);
    const b = med(`${n}:bird`);
    if (!p.ok) notes.push(`petrel ${n}: ${p.reason}`);
    if (!b.ok) notes.push(`bird ${n}: ${b.reason}`);
    rows.push(`| ${n.toLocaleString('en-US')} | ${p.ok ? fmt(p.seconds) : 'failed'} | ${b.ok ? fmt(b.seconds) : 'failed'} | ${p.ok && b.ok ? fmt(p.seconds / b.seconds) : '–'} | ` +
      `${p.ok ? fmt(p.loadSeconds, 1) : '–'} | ${b.ok ? fmt(b.loadSeconds, 1) : '–'} | ${p.ok ? fmt(p.sliceCpuMs, 0) : '–'} |`);
  }
  const first = sizes[0];
  const last = sizes[sizes.length - 1];
  const lin = (impl: Impl) => {
    const a = med(`${first}:${impl}`);
    const z = med(`${last}:${impl}`);
    return a.ok && z.ok ? fmt(z.seconds / a.seconds) : 'n/a';
  };
  const markdown = [
    'An eBGP peer with N /32s goes down (its process is killed, so its TCP connection closes) behind the route reflector under test; two BIRD 2',
    'route-reflector clients hold the N routes. Time: from the peer\'s stop until both clients hold none of them (BIRD\'s',
    `imported counters polled every 100 ms). One L2 segment of network namespaces; ${runs === 1 ? 'one run per size (each run moves millions of routes)' : `median of ${runs} runs`}; Petrel and BIRD interleaved.`,
    `Target (issue 13): Petrel ≤ BIRD, and linear: the ${(last / first).toFixed(0)}×-size time ratio ≤ ${(last / first * 1.125).toFixed(1)}.`,
    '"Load" is the time for the table to reach both clients first; "longest slice" the longest single piece of RIB work Petrel measured (main-thread CPU), i.e. how long its event loop was held.',
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; load average before start ${load0.toFixed(2)}.`,
    '',
    '| N | Petrel s | BIRD 2 s | Petrel/BIRD | Petrel load s | BIRD load s | Petrel longest slice ms CPU |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Linearity (time at ${last.toLocaleString('en-US')} / time at ${first.toLocaleString('en-US')}): Petrel ${lin('petrel')}, BIRD ${lin('bird')}.`,
    ...(notes.length ? ['', 'Failures:', ...notes.map((x) => `- ${x}`)] : []),
    '',
  ].join('\n');
  return { title, markdown };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  bench({ quick: process.argv.includes('--quick') }).then((r) => process.stdout.write(`## ${r.title}\n\n${r.markdown}`), (e) => { console.error(e); process.exit(1); });
}
