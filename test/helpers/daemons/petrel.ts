/**
 * Petrel itself: `petrel speaker --config FILE.yaml` (schema in issue 2), queried with
 * `petrel routes --json --api URL` / `petrel status --json --api URL` run inside the same namespace
 * (its HTTP API listens on 127.0.0.1 there, unreachable from the root namespace by design).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as stringifyYaml } from 'yaml';
import { waitFor, type NetnsLab } from '../../../src/lab/netns.js';
import {
  assertAlive, baseHandle, familyOf, makeDir, nsExec, signal,
  type Daemon, type DaemonRoute, type Family,
} from './common.js';

/** The standalone speaker's config file, as issue 2 defines it. */
export interface PetrelConfig {
  asn: number;
  routerId: string;
  listen?: { address: string; port?: number };
  clusterId?: string;
  holdTime?: number;
  peers: Array<{ address: string; asn: number; port?: number; passive?: boolean; rrClient?: boolean; holdTime?: number; keepaliveTime?: number; families?: Family[]; localAddress?: string; [more: string]: unknown }>;
  originate?: string[];
  http?: { address: string; port: number };
  [more: string]: unknown;
}

export const PETREL_CLI = fileURLToPath(new URL('../../../dist/cli.js', import.meta.url));

/** True when dist/cli.js exists and lists a `speaker` command (the interop tests need nothing else). */
export function petrelSpeakerAvailable(): boolean {
  if (!existsSync(PETREL_CLI)) return false;
  const r = spawnSync(process.execPath, [PETREL_CLI, '--help'], { encoding: 'utf8', timeout: 20_000 });
  return /^\s+speaker\s/m.test(`${r.stdout}${r.stderr}`);
}

export interface PetrelRouteRow {
  prefix: string; nextHop?: string; asPath?: unknown; localPref?: number; med?: number; origin?: unknown;
  communities?: unknown[]; originatorId?: string | null; clusterList?: string[]; peer?: string; best?: boolean; reason?: string;
}

export interface PetrelPeerStatus {
  address: string; asn?: number; state: string; since?: unknown; received?: number; advertised?: number;
  info?: string; lastError?: unknown; [more: string]: unknown;
}

export interface PetrelStatus { asn: number; routerId: string; peers: PetrelPeerStatus[]; [more: string]: unknown }

export interface PetrelDaemon extends Daemon {
  readonly kind: 'petrel';
  readonly configPath: string;
  readonly api: string;
  /** Runs `petrel ARGS` inside the namespace; returns stdout. */
  cli(...args: string[]): string;
  status(): PetrelStatus;
  /** The rows of `petrel routes --json`. */
  routeRows(): PetrelRouteRow[];
  /** Rewrites the config file and sends SIGHUP. */
  reload(cfg: PetrelConfig): void;
  /** SIGTERM; resolves with the exit code. */
  terminate(): Promise<number | null>;
  /** NOTIFICATIONs Petrel logged as sent (its JSON log lines `"msg":"NOTIFICATION sent"`). */
  notificationsSent(peer?: string): Array<{ peer: string; code: number; subcode: number }>;
}

export async function startPetrel(lab: NetnsLab, ns: string, cfg: PetrelConfig, opts: { name?: string; env?: Record<string, string>; waitHttp?: boolean } = {}): Promise<PetrelDaemon> {
  const name = opts.name ?? 'petrel';
  const dir = makeDir(lab, name);
  const configPath = join(dir, 'petrel.yaml');
  const full: PetrelConfig = { http: { address: '127.0.0.1', port: 9179 }, ...cfg };
  writeFileSync(configPath, stringifyYaml(full));
  const api = `http://${full.http!.address}:${full.http!.port}`;
  const proc = lab.spawn(name, ns, process.execPath, [PETREL_CLI, 'speaker', '--config', configPath], { env: { ...process.env, ...opts.env }, cwd: dir });
  await assertAlive(proc, `petrel speaker ${name}`, 300);
  const cli = (...args: string[]) => nsExec(ns, process.execPath, [PETREL_CLI, ...args], 30_000);
  const status = () => JSON.parse(cli('status', '--json', '--api', api)) as PetrelStatus;
  const routeRows = () => {
    const j = JSON.parse(cli('routes', '--json', '--api', api)) as { routes?: PetrelRouteRow[] } | PetrelRouteRow[];
    return Array.isArray(j) ? j : j.routes ?? [];
  };
  if (opts.waitHttp !== false) {
    await waitFor(`petrel ${name} status API`, async () => {
      if (proc.child.exitCode !== null) throw new Error(`petrel exited (${proc.child.exitCode}): ${proc.output().slice(-2000)}`);
      return status().peers !== undefined;
    }, 20_000, 200);
  }
  return {
    ...baseHandle(lab, 'petrel', name, ns, dir, proc),
    kind: 'petrel',
    configPath,
    api,
    cli,
    status,
    routeRows,
    reload(next: PetrelConfig) {
      writeFileSync(configPath, stringifyYaml({ http: full.http, ...next }));
      signal(proc.pid, 'SIGHUP');
    },
    async terminate() {
      signal(proc.pid, 'SIGCONT');
      signal(proc.pid, 'SIGTERM');
      const code = await Promise.race([proc.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000).unref())]);
      if (code === 'timeout') { await lab.stop(proc, 100); return null; }
      return code;
    },
    notificationsSent: (peer) => proc.output().split('\n').filter((l) => l.includes('NOTIFICATION sent')).flatMap((l) => {
      try {
        const j = JSON.parse(l) as { peer: string; code: number; subcode: number };
        return peer === undefined || j.peer === peer ? [{ peer: j.peer, code: j.code, subcode: j.subcode }] : [];
      } catch { return []; }
    }),
    routes: (family) => routeRows().filter((r) => familyOf(r.prefix) === family).map(petrelRowToRoute),
    peers: () => status().peers.map((p) => ({
      name: p.address,
      address: p.address,
      state: String(p.state),
      established: p.state === 'Established',
      lastError: [p.info, p.lastError === undefined ? undefined : JSON.stringify(p.lastError)].filter(Boolean).join('; ') || undefined,
      received: p.received,
    })),
  };
}

/** Petrel's row → DaemonRoute; accepts AS paths as numbers, a string, or segments. */
export function petrelRowToRoute(r: PetrelRouteRow): DaemonRoute {
  const flat = (v: unknown): number[] => {
    if (v === undefined || v === null) return [];
    if (typeof v === 'number') return [v];
    if (typeof v === 'string') return (v.match(/\d+/g) ?? []).map(Number);
    if (Array.isArray(v)) return v.flatMap(flat);
    if (typeof v === 'object') {
      const o = v as { asns?: unknown; as?: unknown; segments?: unknown };
      return flat(o.segments ?? o.asns ?? o.as);
    }
    return [];
  };
  const community = (c: unknown): string => typeof c === 'number' ? `${c >>> 16}:${c & 0xffff}` : String(c);
  return {
    prefix: r.prefix,
    nextHop: r.nextHop,
    asPath: flat(r.asPath),
    origin: r.origin === undefined ? undefined : String(r.origin),
    localPref: r.localPref,
    med: r.med,
    communities: (r.communities ?? []).map(community),
    originatorId: r.originatorId ?? undefined,
    clusterList: r.clusterList ?? [],
    best: r.best !== false,
    from: r.peer,
  };
}
