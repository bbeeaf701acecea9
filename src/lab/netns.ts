/**
 * Network-namespace plumbing shared by the lab demo, the kernel tests, the interop tests and the
 * benchmarks. Everything made here carries a per-run name prefix, is recorded, and is removed by
 * `destroy()` (namespaces deleted, processes stopped by PID) — call it from a `finally`/`after`.
 * It never touches the root namespace's links, routes, addresses or nftables: every `ip` command
 * that changes state runs with `-n <ns>` or inside `ip netns exec <ns>`, and a veth is created
 * directly with both ends in named namespaces.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { PetrelError } from '../errors.js';

export class NetnsError extends PetrelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NETNS_ERR', message, options);
  }
}

function run(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new NetnsError(`${cmd} ${args.join(' ')}: ${err.stderr?.trim() || err.message}`, { cause: e });
  }
}

/** A short unique prefix for this run: `pt` + 6 base36 chars (namespace and link names stay short). */
export function uniquePrefix(tag = 'pt'): string {
  return `${tag}${(Date.now() % 2 ** 30).toString(36).slice(-4)}${Math.floor(Math.random() * 1296).toString(36).padStart(2, '0')}`;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Deletes namespaces left by an earlier crashed run whose names start with `prefix`. */
export function removeStaleNamespaces(prefix: string): string[] {
  const removed: string[] = [];
  for (const name of listNamespaces()) {
    if (name.startsWith(prefix)) {
      try { run('ip', ['netns', 'pids', name]).split('\n').filter(Boolean).forEach((p) => { try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ } }); } catch { /* ignore */ }
      try { run('ip', ['netns', 'del', name]); removed.push(name); } catch { /* ignore */ }
    }
  }
  return removed;
}

export function listNamespaces(): string[] {
  let out = '';
  try { out = run('ip', ['netns', 'list']); } catch { return []; }
  return out.split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
}

export interface LabProcess {
  name: string;
  ns: string | undefined;
  child: ChildProcess;
  pid: number;
  /** Everything the process wrote to stdout and stderr, kept for assertions and failure reports. */
  output: () => string;
  exited: Promise<number | null>;
}

export class NetnsLab {
  readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly procs: LabProcess[] = [];
  private destroyed = false;

  constructor(prefix = uniquePrefix()) {
    if (!isRoot()) throw new NetnsError('network namespaces need root (run as root, or under sudo)');
    this.prefix = prefix;
  }

  /** Full namespace name for a short name. */
  ns(short: string): string {
    return `${this.prefix}-${short}`;
  }

  addNs(short: string): string {
    const name = this.ns(short);
    run('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  /** Deletes one namespace this lab made (a pod's, when the pod goes). */
  deleteNs(name: string): void {
    const i = this.namespaces.indexOf(name);
    if (i < 0) throw new NetnsError(`namespace ${name} was not made by this lab`);
    try { run('ip', ['netns', 'del', name]); } catch { /* already gone */ }
    this.namespaces.splice(i, 1);
  }

  /** Runs `ip -n ns ...args`. */
  ip(ns: string, ...args: string[]): string {
    return run('ip', ['-n', ns, ...args]);
  }

  /** Runs a command inside the namespace, waits, returns stdout (throws on non-zero exit). */
  exec(ns: string, cmd: string, args: string[] = [], input?: string): string {
    return run('ip', ['netns', 'exec', ns, cmd, ...args], input);
  }

  /** Runs a command inside the namespace, returns { status, stdout, stderr } without throwing. */
  tryExec(ns: string, cmd: string, args: string[] = []): { status: number; stdout: string; stderr: string } {
    try {
      const stdout = execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
      return { status: 0, stdout, stderr: '' };
    } catch (e) {
      const err = e as { status?: number; stdout?: string; stderr?: string };
      return { status: err.status ?? 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
    }
  }

  /** A veth pair with one end in each namespace (both ends up). Names must be ≤ 15 chars. */
  veth(nsA: string, ifA: string, nsB: string, ifB: string, mtu?: number): void {
    const tmp = `${this.prefix}v${this.namespaces.length}${Math.floor(Math.random() * 1e4)}`.slice(-15);
    // Created inside nsA with the peer moved straight into nsB: nothing appears in the root namespace.
    run('ip', ['-n', nsA, 'link', 'add', ifA, ...(mtu ? ['mtu', String(mtu)] : []), 'type', 'veth', 'peer', 'name', tmp, 'netns', nsB]);
    run('ip', ['-n', nsB, 'link', 'set', tmp, 'name', ifB]);
    run('ip', ['-n', nsA, 'link', 'set', ifA, 'up']);
    run('ip', ['-n', nsB, 'link', 'set', ifB, 'up']);
  }

  bridge(ns: string, name: string): void {
    run('ip', ['-n', ns, 'link', 'add', name, 'type', 'bridge']);
    run('ip', ['-n', ns, 'link', 'set', name, 'up']);
  }

  /** Attaches `ifName` (in ns) to bridge `br` (in the same ns). */
  attach(ns: string, ifName: string, br: string): void {
    run('ip', ['-n', ns, 'link', 'set', ifName, 'master', br]);
  }

  addr(ns: string, ifName: string, cidr: string): void {
    run('ip', ['-n', ns, 'addr', 'add', cidr, 'dev', ifName, ...(cidr.includes(':') ? ['nodad'] : [])]);
  }

  /** Writes /proc/sys/<key> inside the namespace (coreutils' tee: no procps needed). */
  sysctl(ns: string, key: string, value: string): void {
    run('ip', ['netns', 'exec', ns, 'tee', `/proc/sys/${key.replaceAll('.', '/')}`], `${value}\n`);
  }

  /**
   * Starts a long-running process inside `ns` (or in the root namespace when ns is undefined) and
   * records it so destroy() stops it by PID.
   */
  spawn(name: string, ns: string | undefined, cmd: string, args: string[], opts: SpawnOptions = {}): LabProcess {
    const argv = ns ? ['netns', 'exec', ns, cmd, ...args] : [cmd, ...args];
    const child = spawn(ns ? 'ip' : cmd, ns ? argv : args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    if (child.pid === undefined) throw new NetnsError(`could not start ${cmd}`);
    let buf = '';
    const keep = (d: Buffer) => {
      buf += d.toString();
      if (buf.length > 4_000_000) buf = buf.slice(-2_000_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const p: LabProcess = { name, ns, child, pid: child.pid, output: () => buf, exited };
    this.procs.push(p);
    return p;
  }

  /** Stops one process: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(p: LabProcess, graceMs = 3000): Promise<void> {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return;
    try { process.kill(p.pid, 'SIGTERM'); } catch { return; }
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([p.exited, timer])) === 'timeout') {
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
      await Promise.race([p.exited, new Promise((r) => setTimeout(r, 2000).unref())]);
    }
  }

  /** Stops every process (by PID) and deletes every namespace this lab made. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all(this.procs.map((p) => this.stop(p, 2000)));
    for (const name of this.namespaces.reverse()) {
      // Daemons that double-forked (not ours to track) are killed by namespace membership.
      try { run('ip', ['netns', 'pids', name]).split('\n').filter(Boolean).forEach((pid) => { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }); } catch { /* ignore */ }
      try { run('ip', ['netns', 'del', name]); } catch { /* already gone */ }
    }
  }

  namespacesMade(): readonly string[] {
    return this.namespaces;
  }
}

/** Resolves when `check()` returns a truthy value; polls every `intervalMs`, gives up after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 200): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; i < Math.ceil(timeoutMs / intervalMs) + 1; i++) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new NetnsError(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export function hasCommand(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) if (existsSync(`${dir}/${cmd}`)) return true;
  return ['/usr/sbin', '/usr/lib/frr'].some((d) => existsSync(`${d}/${cmd}`));
}
