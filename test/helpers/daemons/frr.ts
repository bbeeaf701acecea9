/**
 * FRR 8, bgpd alone: `-N NAME` keeps it apart from any system FRR, `-n` off the kernel FIB, no zebra.
 * Queried with `vtysh -N NAME -c '… json'`. FRR records a NOTIFICATION in `show bgp neighbors json`
 * only for a connection it opened itself: one it accepted that never reached Established lives in a
 * shadow ("doppelganger") peer the JSON does not show.
 */
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, type NetnsLab } from '../../../src/lab/netns.js';
import {
  assertAlive, baseHandle, familiesOf, familyOf, makeDir, nsExec,
  type Daemon, type DaemonRoute, type DaemonSpec,
} from './common.js';

export function frrConfig(spec: DaemonSpec & { hostname: string }): string {
  const o: string[] = ['frr defaults datacenter', `hostname ${spec.hostname}`, 'log stdout informational'];
  if (spec.verbose !== false) o.push('debug bgp neighbor-events', 'debug bgp updates');
  o.push(`router bgp ${spec.asn}`, ` bgp router-id ${spec.routerId}`, ' no bgp ebgp-requires-policy',
    ' no bgp network import-check', ' no bgp default ipv4-unicast', ' timers bgp 3 9');
  if (spec.clusterId) o.push(` bgp cluster-id ${spec.clusterId}`);
  for (const p of spec.peers) {
    o.push(` neighbor ${p.address} remote-as ${p.asn}`, ` neighbor ${p.address} timers connect 1`,
      ` neighbor ${p.address} advertisement-interval 0`);
    if (p.holdTime) o.push(` neighbor ${p.address} timers ${Math.max(1, Math.floor(p.holdTime / 3))} ${p.holdTime}`);
    if (p.port) o.push(` neighbor ${p.address} port ${p.port}`);
    if (p.localAddress) o.push(` neighbor ${p.address} update-source ${p.localAddress}`);
    if (p.passive) o.push(` neighbor ${p.address} passive`);
    if (p.disabled) o.push(` neighbor ${p.address} shutdown`);
  }
  for (const f of ['ipv4', 'ipv6'] as const) {
    const nets = (spec.originate ?? []).filter((p) => familyOf(p) === f);
    const peers = spec.peers.filter((p) => familiesOf(p).includes(f));
    if (!nets.length && !peers.length) continue;
    o.push(` address-family ${f} unicast`);
    for (const n of nets) o.push(`  network ${n}`);
    for (const p of peers) {
      o.push(`  neighbor ${p.address} activate`);
      if (p.rrClient) o.push(`  neighbor ${p.address} route-reflector-client`);
      if (p.nextHopSelf) o.push(`  neighbor ${p.address} next-hop-self`);
    }
    o.push(' exit-address-family');
  }
  if (spec.extra) o.push(spec.extra);
  return o.join('\n') + '\n';
}

export interface FrrDaemon extends Daemon {
  readonly kind: 'frr';
  vtysh(...commands: string[]): string;
  vtyshJson<T = unknown>(command: string): T;
  /** `show bgp <family> unicast PREFIX json`: every path with ORIGINATOR_ID and CLUSTER_LIST. */
  routeDetail(prefix: string): DaemonRoute[];
  /** `show bgp neighbors json` as FRR returns it. */
  neighborsJson(): Record<string, Record<string, unknown>>;
}

/** Starts FRR's bgpd alone (no zebra, `-n`), as a named instance so it never meets a system FRR. */
export async function startFrr(lab: NetnsLab, ns: string, conf: string | (DaemonSpec & { hostname?: string }), opts: { name?: string } = {}): Promise<FrrDaemon> {
  // FRR instance names end up in socket paths: keep them short and unique per run.
  const name = opts.name ?? 'frr';
  const inst = `${lab.prefix}${name}`.replace(/[^A-Za-z0-9]/g, '').slice(0, 24);
  const dir = makeDir(lab, name);
  const confPath = join(dir, 'frr.conf');
  writeFileSync(confPath, typeof conf === 'string' ? conf : frrConfig({ ...conf, hostname: conf.hostname ?? inst }));
  const runDir = `/var/run/frr/${inst}`;
  mkdirSync(runDir, { recursive: true });
  runDirs.add(runDir);
  const frr = frrIds();
  chownSync(runDir, frr.uid, frr.gid);
  chownSync(dir, frr.uid, frr.gid);
  chownSync(confPath, frr.uid, frr.gid);
  const proc = lab.spawn(name, ns, '/usr/lib/frr/bgpd', ['-N', inst, '-n', '-f', confPath, '-i', join(runDir, 'bgpd.pid')]);
  await assertAlive(proc, `frr ${name}`, 300);
  const vtysh = (...commands: string[]) => nsExec(ns, 'vtysh', ['-N', inst, ...commands.flatMap((c) => ['-c', c])], 60_000);
  await waitFor(`frr ${name} vty`, () => existsSync(join(runDir, 'bgpd.vty')) && vtysh('show bgp summary json').includes('{'), 15_000, 100);
  const vtyshJson = <T,>(command: string): T => JSON.parse(vtysh(command)) as T;
  const base = baseHandle(lab, 'frr', name, ns, dir, proc);
  return {
    ...base,
    kind: 'frr',
    stop: async () => { await base.stop(); rmSync(runDir, { recursive: true, force: true }); },
    vtysh,
    vtyshJson,
    routes: (family) => parseFrrRoutes(vtyshJson(`show bgp ${family} unicast json`)),
    routeDetail: (prefix) => parseFrrRouteDetail(vtyshJson(`show bgp ${familyOf(prefix)} unicast ${prefix} json`)),
    neighborsJson: () => vtyshJson('show bgp neighbors json'),
    peers: () => Object.entries(vtyshJson<Record<string, Record<string, unknown>>>('show bgp neighbors json')).map(([address, n]) => ({
      name: address,
      address,
      state: String(n.bgpState),
      established: n.bgpState === 'Established',
      lastError: [n.lastNotificationReason, n.lastResetDueTo, n.lastErrorCodeSubcode ? `code/subcode ${String(n.lastErrorCodeSubcode)}` : undefined]
        .filter(Boolean).join('; ') || undefined,
      received: frrReceived(n),
    })),
  };
}

// Each instance's /var/run/frr/NAME goes when the process exits (lab.destroy() kills bgpd, but
// does not know about this directory).
const runDirs = new Set<string>();
process.once('exit', () => {
  for (const d of runDirs) { try { rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ } }
});

function frrIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('frr:'));
  if (!line) throw new Error('user frr not found (is the frr package installed?)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function frrReceived(n: Record<string, unknown>): number | undefined {
  const afs = n.addressFamilyInfo as Record<string, { acceptedPrefixCounter?: number }> | undefined;
  if (!afs) return undefined;
  return Object.values(afs).reduce((s, a) => s + (a.acceptedPrefixCounter ?? 0), 0);
}

interface FrrPath {
  valid?: boolean; bestpath?: boolean | { overall?: boolean }; path?: string; aspath?: { string?: string };
  origin?: string; locPrf?: number; metric?: number; peerId?: string; peer?: { peerId?: string };
  nexthops?: Array<{ ip?: string; afi?: string; scope?: string }>;
  community?: { list?: string[]; string?: string }; originatorId?: string; clusterList?: { list?: string[] };
}

function frrPathToRoute(prefix: string, p: FrrPath): DaemonRoute {
  const pathText = p.aspath?.string ?? p.path ?? '';
  const peer = p.peer?.peerId ?? p.peerId;
  return {
    prefix,
    nextHop: (p.nexthops ?? []).find((n) => n.scope !== 'link-local')?.ip ?? p.nexthops?.[0]?.ip,
    asPath: pathText === 'Local' ? [] : (pathText.match(/\d+/g) ?? []).map(Number),
    origin: p.origin,
    localPref: p.locPrf,
    med: p.metric,
    communities: p.community?.list ?? (p.community?.string ? p.community.string.split(' ') : []),
    originatorId: p.originatorId,
    clusterList: p.clusterList?.list ?? [],
    best: typeof p.bestpath === 'object' ? Boolean(p.bestpath.overall) : Boolean(p.bestpath),
    from: peer && peer !== '(unspec)' ? peer : undefined,
  };
}

export function parseFrrRoutes(json: unknown): DaemonRoute[] {
  const routes = (json as { routes?: Record<string, FrrPath[]> }).routes ?? {};
  return Object.entries(routes).flatMap(([prefix, paths]) => paths.map((p) => frrPathToRoute(prefix, p)));
}

export function parseFrrRouteDetail(json: unknown): DaemonRoute[] {
  const j = json as { prefix?: string; paths?: FrrPath[] };
  return (j.paths ?? []).map((p) => frrPathToRoute(j.prefix ?? '', p));
}
