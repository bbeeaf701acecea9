/**
 * `petrel lab up [--keep] | status | down`: the demo cluster of network namespaces (src/lab/lab.ts).
 *
 *   up      builds the lab, waits (bounded) for convergence, prints each node's `petrel status`
 *           table, its Petrel routes and a pod-to-pod ping matrix, then tears everything down —
 *           or leaves it running with --keep (state in /run/petrel-lab/<prefix>/state.json).
 *   status  lists recorded labs and, for a running one, the nodes' status tables and the ping matrix.
 *   down    stops a kept lab's processes by PID and deletes its namespaces.
 *   apiserver (hidden) the lab's API server process, started by `up` inside the api namespace.
 * Needs root (network namespaces) and says so. Exit 0 when the lab converged and every ping answered.
 */
import { readFileSync } from 'node:fs';
import { isRoot } from '../lab/netns.js';
import { describeMissing, LAB_REQUIREMENTS, missingRequirements } from '../lab/requirements.js';
import { parse, UsageError, withUsage } from './args.js';

const USAGE = `Usage: petrel lab up [--keep] [--timeout S] | petrel lab status | petrel lab down

Builds a small cluster in network namespaces on this machine (needs root): an embedded API server,
3 nodes in 2 subnets behind a router, 2 route reflectors, 2 pods per node; starts real
'petrel agent' and 'petrel reflector' processes; waits for convergence; prints each node's BGP
status, its routes and a pod-to-pod ping matrix; then tears everything down.
  --keep        leave the lab running (stop it with 'petrel lab down')
  --timeout S   how long to wait for convergence (default 90)
  --prefix P    namespace name prefix (default plab)`;

const out = (s: string) => process.stdout.write(`${s}\n`);

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'apiserver') return apiserver(rest);
  return withUsage(USAGE, async () => {
    const { values } = parse(rest, { keep: { type: 'boolean' }, timeout: { type: 'string' }, prefix: { type: 'string' } });
    if (values.help || sub === '--help' || sub === '-h') {
      out(USAGE);
      return 0;
    }
    if (sub !== 'up' && sub !== 'status' && sub !== 'down') throw new UsageError(sub ? `unknown lab command '${sub}'` : 'lab needs a command: up, status or down');
    if (!isRoot()) {
      process.stderr.write('petrel lab: network namespaces need root; run it as root (e.g. sudo npm run demo)\n');
      return 1;
    }
    const missing = missingRequirements(LAB_REQUIREMENTS);
    if (missing.length > 0 && sub !== 'down') {
      process.stderr.write(`petrel lab: missing ${describeMissing(missing)}; install with apt-get install ${missing.map((r) => r.pkg).join(' ')} (npm run demo does it)\n`);
      return 1;
    }
    const prefix = values.prefix ?? 'plab';
    if (!/^[a-z][a-z0-9]{1,7}$/.test(prefix)) throw new UsageError(`--prefix: 2-8 lowercase letters and digits, got '${prefix}'`);
    const lab = await import('../lab/lab.js');
    if (sub === 'down') {
      const labs = lab.recordedLabs().filter((l) => !values.prefix || l.prefix === prefix);
      if (labs.length === 0) out('no lab is running');
      for (const l of labs) {
        const r = await lab.downFromState(l);
        out(`lab ${l.prefix}: stopped ${r.processes} processes, deleted ${r.namespaces.length} namespaces`);
      }
      return 0;
    }
    if (sub === 'status') return status(lab, prefix);
    const timeout = Number(values.timeout ?? 90);
    if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 3600) throw new UsageError(`--timeout: seconds 1..3600, got '${values.timeout}'`);
    return up(lab, prefix, timeout * 1000, values.keep ?? false);
  });
}

type LabModule = typeof import('../lab/lab.js');

async function report(l: import('../lab/lab.js').PetrelLab): Promise<number> {
  for (const n of l.nodes.values()) {
    out(`\n=== ${n.name} (${n.role}, ${n.address}${n.block ? `, pods ${n.block}` : ''}) — petrel status`);
    const s = await l.cliIn(n.ns, ['status']);
    out((s.stdout || s.stderr).trimEnd());
    if (n.role === 'agent') {
      out(`--- ${n.name}: ip route show proto ${97}`);
      out((await l.routesText(n.name)).trimEnd());
    }
  }
  out('\n=== pods, wired by the petrel CNI plugin (CNI ADD through each node\'s agent)');
  for (const p of l.pods) {
    const ifs = (p.result.interfaces ?? []) as Array<{ name: string; sandbox?: string }>;
    out(`${p.name.padEnd(8)} on ${p.node}: ${((p.result.ips ?? []) as Array<{ address: string }>).map((i) => i.address).join(', ')}  host veth ${ifs.find((i) => !i.sandbox)?.name ?? '?'}  container ${p.containerId.slice(0, 12)}`);
  }
  const m = await l.pingMatrix();
  out(`\n=== pod-to-pod ping matrix (${m.rows.length - m.failures}/${m.rows.length} answered)`);
  out(l.renderMatrix(m.rows));
  for (const line of l.pingFailures(m.rows)) out(`FAIL ${line}`);
  return m.failures;
}

async function up(lab: LabModule, prefix: string, timeoutMs: number, keep: boolean): Promise<number> {
  if (lab.recordedLabs().some((l) => l.prefix === prefix)) {
    out(`a lab with prefix ${prefix} is recorded: tearing it down first`);
    for (const l of lab.recordedLabs().filter((x) => x.prefix === prefix)) await lab.downFromState(l);
  }
  const t0 = Date.now();
  const l = await lab.PetrelLab.up({ prefix, log: (s) => out(s) });
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    out('interrupted: tearing the lab down');
    void l.destroy().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // A closed stdout (e.g. `petrel lab up | head`) must not leave the lab behind.
  process.stdout.on('error', () => { if (!interrupted) onSignal(); });
  let code = 1;
  try {
    out(`API server ${l.apiUrl} in ${l.apiNs}; kubeconfig ${l.kubeconfig}; logs in ${l.runtimeDir}/logs`);
    out(`waiting for convergence (up to ${timeoutMs / 1000} s)...`);
    try {
      await l.waitConverged(timeoutMs);
      out(`converged ${((Date.now() - t0) / 1000).toFixed(1)} s after start`);
    } catch (e) {
      out(`NOT converged: ${(e as Error).message}`);
    }
    const failures = await report(l);
    code = failures === 0 ? 0 : 1;
    if (keep && !interrupted) {
      l.saveState();
      l.detach();
      out(`\nthe lab keeps running (state ${l.runtimeDir}/state.json). Try:\n  ip netns exec ${l.node('n1').ns} node ${l.cli} status\n  petrel lab status\n  petrel lab down`);
      return code;
    }
  } finally {
    if (!keep || interrupted) {
      await l.destroy();
      out('lab torn down');
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return code;
}

async function status(lab: LabModule, prefix: string): Promise<number> {
  const st = lab.recordedLabs().find((l) => l.prefix === prefix);
  if (!st) {
    out('no lab is running (start one with: petrel lab up --keep)');
    return 1;
  }
  out(`lab ${st.prefix} since ${st.createdAt}: ${st.namespaces.length} namespaces, processes ${st.processes.map((p) => `${p.name}=${p.pid}`).join(' ')}`);
  const { execFileSync } = await import('node:child_process');
  const cli = lab.defaultCli();
  for (const p of st.processes.filter((x) => x.name !== 'api')) {
    const ns = `${st.prefix}-${p.name}`;
    out(`\n=== ${p.name}`);
    try {
      out(execFileSync('ip', ['netns', 'exec', ns, process.execPath, cli, 'status'], { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'] }).trimEnd());
      const routes = execFileSync('ip', ['-n', ns, 'route', 'show', 'proto', '97'], { encoding: 'utf8', timeout: 5000 }).trimEnd();
      if (routes) out(routes);
    } catch (e) {
      out(`(${(e as { stderr?: string }).stderr?.trim() || (e as Error).message})`);
    }
  }
  return 0;
}

/** Hidden: the API server process inside the api namespace (see src/lab/api-process.ts). */
async function apiserver(argv: string[]): Promise<number> {
  return withUsage('Usage: petrel lab apiserver --listen ADDR:PORT --token-file FILE --control SOCKET', async () => {
    const { values } = parse(argv, { listen: { type: 'string' }, 'token-file': { type: 'string' }, control: { type: 'string' } });
    const m = /^([0-9.]+):(\d+)$/.exec(values.listen ?? '');
    if (!m || !values['token-file'] || !values.control) throw new UsageError('--listen ADDR:PORT, --token-file and --control are required');
    const { runApiProcess } = await import('../lab/api-process.js');
    let token = '';
    for (let i = 0; i < 50 && !token; i++) {
      try { token = readFileSync(values['token-file'], 'utf8').trim(); } catch { await new Promise((r) => setTimeout(r, 100)); }
    }
    if (!token) throw new UsageError(`--token-file ${values['token-file']}: empty or unreadable`);
    return runApiProcess({ host: m[1], port: Number(m[2]), token, control: values.control });
  });
}
