/**
 * Convergence in the lab scaled up: one Kubernetes event → the route in every remote kernel.
 *
 * N agent namespaces (half on each subnet, so half the routes go through VXLAN) and 2 route
 * reflectors, the real `petrel agent` / `petrel reflector` processes and the lab's API server
 * process; no pods (no pod traffic is needed). A few "source" nodes start without spec.podCIDRs;
 * each event gives one of them its /26 (an update of the Node object through the API server), which
 * travels: API server watch → that node's agent (topology → BGP UPDATE) → reflectors → every other
 * agent (best path → dataplane → netlink). An `ip -n NS monitor route` process per node reports the
 * route's arrival with its own timestamp, against a clock read just
 * before the API write (see startMonitor for which clock). Per event: the latency to each remote
 * kernel and to the last of them.
 *
 * No reference tool runs the same path (it needs a Kubernetes-driven agent); the comparison the
 * issue sets is the target, p99 ≤ 100 ms at 50 nodes. The machine's other load is recorded by run.ts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { dirname } from 'node:path';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { PetrelLab, type LabNodeSpec } from '../../src/lab/lab.js';
import { isRoot, uniquePrefix } from '../../src/lab/netns.js';

interface Monitor { node: string; proc: ChildProcess; seen: Map<string, number>; seenByIp: Map<string, number> }

/**
 * `ip -ts monitor route` in one node namespace. Two clocks per route line: when `ip` read the event
 * (its own timestamp, microseconds, wall clock, converted to this process's performance.now() scale)
 * and when the line reached this process. The first is the measurement: `ip` is a small process that
 * sleeps between events, while this one can wait behind the 52 node processes for a CPU, which would
 * add its own queueing to every figure; the second is kept to show that difference.
 */
function startMonitor(node: string, ns: string): Monitor {
  const proc = spawn('ip', ['-n', ns, '-ts', 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, TZ: 'UTC' } });
  const m: Monitor = { node, proc, seen: new Map(), seenByIp: new Map() };
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    const now = performance.now();
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      // "[2026-11-23T06:32:00.689029] 198.18.1.0/26 via … proto 97" (deletions say "Deleted" first).
      const mt = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})\] (198\.18\.\d+\.\d+\/26) .*proto 97/.exec(line);
      if (!mt || m.seen.has(mt[3])) continue;
      m.seen.set(mt[3], now);
      const wallMs = Date.parse(`${mt[1]}Z`) + Number(mt[2]) / 1000;
      m.seenByIp.set(mt[3], wallMs - performance.timeOrigin);
    }
  });
  return m;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

/** "commit abc1234" for a CLI inside a git checkout, else its path. */
function commitOf(cli: string): string {
  try {
    return `commit ${execFileSync('git', ['-C', dirname(cli), 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()}`;
  } catch {
    return cli;
  }
}

/** Sum and count of the agents' own petrel_convergence_seconds{path} histogram, over every agent. */
async function agentHistogram(lab: PetrelLab, path: string): Promise<{ sum: number; count: number }> {
  let sum = 0;
  let count = 0;
  await Promise.all([...lab.nodes.values()].filter((n) => n.role === 'agent').map(async (n) => {
    const r = await lab.httpGet(n.ns, `http://${n.address}:9476/metrics`);
    for (const line of r.body.split('\n')) {
      if (!line.includes(`path="${path}"`)) continue;
      const v = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (line.startsWith('petrel_convergence_seconds_sum')) sum += v;
      else if (line.startsWith('petrel_convergence_seconds_count')) count += v;
    }
  }));
  return { sum, count };
}

export interface CellResult {
  perKernel: number[]; perEvent: number[];
  /** The same latencies taken when the monitor's line reached the bench process (see startMonitor). */
  perKernelRead: number[]; setupS: number; bgpToKernelMs: number; k8sToBgpMs: number; busy: number;
  /** CPU time (user + system) per event, summed over the agents, and per reflector. */
  agentCpuMs: number; reflectorCpuMs: number;
}

/** utime + stime of a process in ms (/proc/PID/stat, clock ticks of 10 ms). */
function cpuMsOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

/** Share of CPU time (both cores, every process) spent busy since `from`, from /proc/stat. */
function cpuTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] ?? 0);
  return { busy: f.reduce((a, b) => a + b, 0) - idle, total: f.reduce((a, b) => a + b, 0) };
}

/**
 * One lab of `agents` nodes, `events` block assignments. `profileDir` runs the first source node,
 * the last agent and rr1 under `node --cpu-prof` (profiles written there when they stop); `cli` runs
 * another build (a before/after comparison).
 */
export async function runCell(agents: number, events: number, o: { profileDir?: string; cli?: string } = {}): Promise<CellResult> {
  const profileDir = o.profileDir;
  const nodes: LabNodeSpec[] = [];
  for (let i = 0; i < agents; i++) {
    const segment = i % 2 === 0 ? 'a' : 'b';
    const address = `${segment === 'a' ? '192.0.2' : '198.51.100'}.${30 + Math.floor(i / 2)}`;
    nodes.push({ name: `n${i + 1}`, segment, address, role: 'agent', withoutBlock: i < events });
  }
  nodes.push({ name: 'rr1', segment: 'a', address: '192.0.2.21', role: 'reflector' });
  nodes.push({ name: 'rr2', segment: 'b', address: '198.51.100.22', role: 'reflector' });
  const t0 = Date.now();
  const profiled = new Set(['n1', `n${agents}`, 'rr1']);
  const lab = await PetrelLab.up({
    prefix: uniquePrefix('pcv'), nodes, podsPerNode: 0, agentArgs: ['--log-level', 'warn'], ...(o.cli ? { cli: o.cli } : {}),
    ...(profileDir ? { nodeFlags: (name: string) => (profiled.has(name) ? ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${name}.cpuprofile`] : []) } : {}),
  });
  const monitors: Monitor[] = [];
  try {
    await lab.waitConverged(240_000);
    const setupS = (Date.now() - t0) / 1000;
    for (const n of lab.nodes.values()) if (n.role === 'agent') monitors.push(startMonitor(n.name, n.ns));
    await new Promise((r) => setTimeout(r, Number(process.env.SETTLE ?? 500))); // the monitors subscribe
    const perKernel: number[] = [];
    const perKernelRead: number[] = [];
    const perEvent: number[] = [];
    const b0 = await agentHistogram(lab, 'bgp_to_kernel');
    const k0 = await agentHistogram(lab, 'k8s_to_bgp');
    const c0 = cpuTicks();
    const procCpu = (role: string) => [...lab.nodes.values()].filter((n) => n.role === role).reduce((a, n) => a + cpuMsOf(n.proc?.pid), 0);
    const a0 = procCpu('agent');
    const r0 = procCpu('reflector');
    for (let e = 0; e < events; e++) {
      const src = lab.node(`n${e + 1}`);
      const remote = monitors.filter((m) => m.node !== src.name);
      const start = performance.now();
      await lab.assignBlock(src.name);
      const deadline = Date.now() + 30_000;
      while (remote.some((m) => !m.seen.has(src.block!)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      const lat = remote.map((m) => (m.seenByIp.get(src.block!) ?? Number.NaN) - start);
      perKernelRead.push(...remote.map((m) => (m.seen.get(src.block!) ?? Number.NaN) - start));
      if (lat.some((x) => Number.isNaN(x))) throw new Error(`event ${e}: ${lat.filter((x) => Number.isNaN(x)).length} kernels never got ${src.block}`);
      perKernel.push(...lat);
      perEvent.push(Math.max(...lat));
      await new Promise((r) => setTimeout(r, 300));
    }
    const c1 = cpuTicks();
    const agentCpuMs = (procCpu('agent') - a0) / events;
    const reflectorCpuMs = (procCpu('reflector') - r0) / events / 2;
    const b1 = await agentHistogram(lab, 'bgp_to_kernel');
    const k1 = await agentHistogram(lab, 'k8s_to_bgp');
    const mean = (a: { sum: number; count: number }, b: { sum: number; count: number }) => (b.count > a.count ? ((b.sum - a.sum) / (b.count - a.count)) * 1000 : Number.NaN);
    return { perKernel, perKernelRead, perEvent, setupS, bgpToKernelMs: mean(b0, b1), k8sToBgpMs: mean(k0, k1), busy: (c1.busy - c0.busy) / Math.max(1, c1.total - c0.total), agentCpuMs, reflectorCpuMs };
  } finally {
    for (const m of monitors) m.proc.kill('SIGTERM');
    await lab.destroy();
  }
}

const median = (xs: number[]) => pct(xs, 50);

interface Summary { p50: number; p99: number; last99: number; worst: number; k8sToBgp: number; bgpToKernel: number; agentCpu: number; rrCpu: number; busy: number; setup: number; runs: number }

/** Medians over runs of each run's figures (each run is one lab). */
function summarize(rs: CellResult[]): Summary {
  const m = (f: (r: CellResult) => number) => median(rs.map(f));
  return {
    p50: m((r) => pct(r.perKernel, 50)), p99: m((r) => pct(r.perKernel, 99)), last99: m((r) => pct(r.perEvent, 99)),
    worst: Math.max(...rs.flatMap((r) => r.perEvent)), k8sToBgp: m((r) => r.k8sToBgpMs), bgpToKernel: m((r) => r.bgpToKernelMs),
    agentCpu: m((r) => r.agentCpuMs), rrCpu: m((r) => r.reflectorCpuMs), busy: m((r) => r.busy), setup: m((r) => r.setupS), runs: rs.length,
  };
}

/**
 * Cells of 10, 20 and 50 nodes, each run `PETREL_CONVERGENCE_RUNS` times (default 3; --quick: one run of
 * 10 nodes). `PETREL_CONVERGENCE_BASELINE=/path/to/dist/cli.js` also runs another build (e.g. the commit
 * before a change), interleaved run by run so that both see the same machine load.
 */
export async function bench(opts: { quick: boolean }): Promise<{ title: string; markdown: string }> {
  const title = 'Convergence in the lab: Kubernetes event → route in every remote kernel';
  if (!isRoot()) return { title, markdown: 'Skipped: needs root (network namespaces).' };
  const cells = opts.quick ? [{ agents: 10, events: 5 }] : [{ agents: 10, events: 8 }, { agents: 20, events: 10 }, { agents: 50, events: 10 }];
  const runs = opts.quick ? 1 : Math.max(1, Number(process.env.PETREL_CONVERGENCE_RUNS ?? 3));
  const baseline = process.env.PETREL_CONVERGENCE_BASELINE;
  const builds: Array<{ name: string; cli?: string }> = [{ name: 'this build' }, ...(baseline ? [{ name: `baseline (${commitOf(baseline)})`, cli: baseline }] : [])];
  const load0 = loadavg()[0];
  const rows: string[] = [];
  for (const c of cells) {
    const results = new Map<string, CellResult[]>(builds.map((b) => [b.name, []]));
    for (let i = 0; i < runs; i++) {
      for (const b of builds) results.get(b.name)!.push(await runCell(c.agents, c.events, b.cli ? { cli: b.cli } : {}));
    }
    for (const b of builds) {
      const r = summarize(results.get(b.name)!);
      rows.push(`| ${c.agents} + 2 RR | ${b.name} | ${r.runs} × ${c.events} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.last99)} | ${fmt(r.worst)} | ${fmt(r.k8sToBgp)} | ${fmt(r.bgpToKernel)} | ${r.agentCpu.toFixed(0)} ms | ${r.rrCpu.toFixed(0)} ms | ${(r.busy * 100).toFixed(0)}% | ${r.setup.toFixed(0)} s |`);
    }
  }
  const markdown = [
    'Event: a Node\'s spec.podCIDRs gets a /26 (update through the lab API server). Path: watch → agent → BGP UPDATE → 2 route reflectors → every other agent → netlink (the nodes in the other subnet route it through VXLAN to the VTEP they derive from the Node; the owner\'s VTEP annotation patch follows and converts to the same Node view, so it moves nothing). Measured with one `ip -ts monitor route` per node namespace, by its timestamps (taken when the line reached the bench process instead, p50 moves by ~0.5 ms and p99 by ~1 ms: this process waits for a CPU too).',
    '',
    '| nodes | build | runs × events | p50 per kernel | p99 per kernel | p99 last kernel | worst | agents: k8s event → BGP (mean) | agents: BGP → kernel (mean) | CPU per event, all agents | CPU per event, per reflector | machine busy | lab setup |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    'Figures are medians over runs of each run\'s percentile; "worst" is the slowest event of all runs. CPU per event is utime + stime of the node processes (/proc/PID/stat) over the event phase divided by the events; "machine busy" is the whole machine\'s CPU (/proc/stat, both cores, every process including other engineers\' work) over the event phase.',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; load average ${load0.toFixed(2)} at start. Every node's agent runs on these ${cpus().length} cores, and every relevant Node event wakes all of them, so per-node figures include queueing behind the other agents that a real cluster (one machine per node) would not have. Target (issue 5): p99 ≤ 100 ms at 50 nodes.`,
    '',
    HISTORY,
  ].join('\n');
  return { title, markdown };
}

/** What changed and what it did, measured as described (a dated record; the table above is this run's). */
const HISTORY = [
  'History, 2026-11-23, this machine (2 cores, shared: load average 13–70 during the runs), before = the agent of commit 10a1dc4,',
  'after = c399aeb..69370f4 (Node/Pod updates that change nothing the agent reads wake nothing; conversions cached per object;',
  'the speaker and the dataplane get only what changed, so a Node event that moves no route runs no dataplane pass; the annotator',
  'runs only when its own Node or the pools change; local subnets read only for foreign prefixes). Same lab (agents write their own',
  'VXLAN annotations), builds interleaved run by run, medians of 3 runs:',
  '',
  '| nodes | build | p50 per kernel | p99 per kernel | p99 last kernel | worst | CPU per event, all agents |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  '| 10 + 2 RR | before | 45 ms | 67 ms | 67 ms | 83 ms | 116 ms |',
  '| 10 + 2 RR | after | 36 ms | 65 ms | 65 ms | 67 ms | 71 ms |',
  '| 20 + 2 RR | before | 98 ms | 198 ms | 202 ms | 212 ms | 298 ms |',
  '| 20 + 2 RR | after | 53 ms | 106 ms | 115 ms | 117 ms | 156 ms |',
  '| 50 + 2 RR | before | 320 ms | 624 ms | 747 ms | 937 ms | 1148 ms |',
  '| 50 + 2 RR | after | 171 ms | 322 ms | 355 ms | 433 ms | 620 ms |',
  '',
  'Where the rest goes (CPU profiles of n1, n50 and rr1, `node --cpu-prof`): per agent and event about 12 ms of CPU at 50 nodes, of which',
  'computeTopology over all nodes (~1.5 ms a call, two calls per event: the podCIDR update and the owner\'s VTEP annotation patch),',
  'garbage collection, the dataplane pass for the one new route, BGP UPDATE handling and the watch. On 2 cores, 52 agents × 12 ms is',
  'about 300 ms of wall time per event: the target needs roughly 4× less CPU per agent, or one machine per node as in a real cluster.',
  'The reflector spends most of its event time in the 50 socket writes of its fan-out (kernel veth/TCP work done in the writer\'s context).',
  '',
  'Second round, 2026-11-23 (builds interleaved, medians of 3; before = commit 5cb2d5d, after = d692cf5..db7dae1 and the topology memo):',
  'the dataplane no longer dumps neighbours and tunnel addresses on every pass and ignores the echoes of its own neighbour writes;',
  'an explicit apply() replaces the pending debounced pass instead of running a second one; prom-client\'s event-loop monitor samples',
  'every 100 ms instead of 10 ms (an idle agent woke 100 times a second: 50 idle agents went from ~190 to ~35 ms of CPU per second);',
  'the NAT backstop check runs every 60 s; a VXLAN peer\'s VTEP is derived from its Node (name, first IPv4 podCIDR) until its',
  'annotations appear, so the owner\'s annotation patch no longer gates the nodes behind the router and converts to the same Node view',
  '(it wakes no recompute); each node\'s share of the topology is kept while it is unchanged. Result at 50 nodes, three A/B runs:',
  'p99 per kernel 191 → 114, 217 → 120 and 218 → 132 ms (the last is the table above), CPU per event of all agents 411 → 206, 423 → 219 and 419 → 239 ms.',
  'Where the rest goes: every Node event still wakes all 52 processes at once, so the source agent and the reflectors queue behind',
  'the others; about 240 ms of CPU per event (agents ~4 ms each, reflectors, API server, the 50 `ip monitor` processes) takes ≥ 120 ms',
  'to drain on 2 cores. perf over the agents during events: V8\'s optimizing compiler threads ~14% (agents that see one event a',
  'second keep tiering up functions for hours), the watch stream (HTTP, web streams, JSON) ~25% of the main thread, the rest spread',
  'over reconcile, BGP decode/RIB, netlink and timers, none above ~10%. The target, p99 ≤ 100 ms at 50 nodes, is still missed here.',
  '',
  'Third round, 2026-11-23 (before = commit ff50fa2, after = 646f3f0..3e18786; builds interleaved, medians of 3, the table above):',
  'the lab API server serializes each watch event once for all 52 watches; remote routes are kept by deltas (a best-path change',
  'recomputes its prefix, a topology only the prefixes whose block changed; the JSON comparison of the whole set per event is gone);',
  "the topology keeps what each BGPPeer's selectors say of each node, and this node's own new block no longer recomputes every",
  "other node's share; a change of what a node advertises goes out before that reconcile's annotation patch and dataplane pass;",
  'the event-loop lag monitor samples once a second; the NAT and resync backstops no longer spawn `nft` where no table is wanted.',
  '`--trace-opt` showed why the O(N) helpers mattered beyond their own cost: all 50 agents see the same events, so they tier the same',
  'functions up to TurboFan at the same event (372 compilations in one 20-event run, 20 ms each for the costliest); after the topology',
  'and remote-route changes 57 in a 10-event run. With TurboFan off in every agent (`--no-opt`, an experiment only) p99 was 106–108 ms against',
  '129–141 ms for the same build with it on. Result at 50 nodes: p50 78 → 60 ms, p99 136 → 107 ms, CPU per event of all agents',
  '235 → 209 ms; in six other A/B runs of the last two builds p99 was 100–115 ms. Per event (`perf sched`, 10 events): the agents take',
  "85% of the CPU used until the last kernel has the route, the median agent 2.4–3.3 ms, the source agent 7–12 ms; one agent's burst",
  "(a compilation, a resync) adds 10–30 ms to the event it falls in, and that event's kernels set the p99. Target p99 ≤ 100 ms at",
  '50 nodes: met in some runs, not at the median of three.',
  '',
  'Fourth round, 2026-11-23 (before = commit 0fa23e7, after = dbad79a, the table above): watches ride node:https instead of undici\'s',
  'fetch, and the reflector applies events in the stream\'s \'data\' handler, so a watch event no longer passes fetch\'s body controller,',
  'a web ReadableStream and a read() promise per chunk (a microbenchmark of 3,000 watch lines: ~100 → ~45 µs of CPU per line, warm).',
  'The JS of a non-source agent per event (profile, 100 µs sampling) went from 2.26 to 1.76 ms. At 50 nodes, medians of 3: p50 52 → 46 ms,',
  'p99 94 → 93 ms, CPU per event of all agents 170 → 165 ms. Four more interleaved A/B runs at 50 nodes: p99 89.7 / 85.4 / 75.1 / 91.0',
  'against 98.1 / 93.2 / 87.2 / 78.6 ms, p50 44.6–45.3 against 47.5–54.4 ms, agents\' CPU per event 136–146 against 153–180 ms. The same',
  'baseline build measured p99 100–120 ms in runs earlier that day: machine load moves p99 by ±15%. At 10 nodes the table\'s CPU',
  'figures (63 against 40 ms) are noise at that size: three more A/B runs gave 39–49 against 35–51 ms. Target p99 ≤ 100 ms at 50 nodes:',
  'met at the median of three (92.9 ms) and in each of the four extra runs; the slowest single event was 109 ms.',
].join('\n');
