/**
 * Real BGP daemons for interop tests and benchmarks: BIRD 2, GoBGP 3, FRR 8 (bgpd only), ExaBGP 4,
 * and a tiny raw BGP sender (Python) for the malformed messages no daemon will send. Each one runs
 * inside a NetnsLab namespace with a config file written into its own temp dir; every handle stops
 * its process by PID, and lab.destroy() kills whatever is left in the namespaces.
 *
 * Each handle answers the same questions in the same shape, so a test reads the same way whichever
 * daemon is the peer: `routes(family)` → DaemonRoute[] (prefix, next hop, AS path, communities,
 * ORIGINATOR_ID, CLUSTER_LIST…) and `peers()` → DaemonPeer[] (address, state, last error).
 *
 * What burned us (see also ../shared/NOTES.md "Real BGP peers"):
 * - Default timers make tests slow: BIRD waits 5 s before connecting, 120 s between retries and
 *   60–300 s after an error; FRR's eBGP MRAI is 30 s under `traditional` defaults (we use
 *   `datacenter`, MRAI 0) and connect retry 120 s. Every config here lowers them (hold 9, keepalive 3).
 * - BIRD iBGP is multihop by default; `direct` makes it treat the neighbour as on-link.
 * - FRR bgpd needs its own `-N NAME` and a /var/run/frr/NAME owned by frr (it drops to user frr).
 *   `-n` keeps it from touching any kernel FIB; without zebra it still accepts on-link next hops.
 *   vtysh prints "% Can't open configuration file …vtysh.conf" on stderr: harmless.
 * - ExaBGP never omits ORIGIN/AS_PATH (its encoder adds defaults), but a generic
 *   `attribute [code flags hex]` replaces the attribute of the same code: that is how it sends
 *   malformed ORIGIN/AS_PATH/MP_REACH. It cannot omit a mandatory attribute: the raw peer does that.
 *   After a session reset ExaBGP replays its Adj-RIB-Out, so withdraw a poisonous route at once.
 * - execFileSync's default maxBuffer (1 MiB) is too small for `show route all` on big tables.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stringify as stringifyYaml } from 'yaml';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor, type LabProcess, type NetnsLab } from '../../src/lab/netns.js';

export type Family = 'ipv4' | 'ipv6';

/** One route as a daemon sees it, normalized across daemons. */
export interface DaemonRoute {
  prefix: string;
  nextHop?: string;
  /** AS numbers of AS_SEQUENCE segments, in order (sets flattened). */
  asPath: number[];
  origin?: string;
  localPref?: number;
  med?: number;
  /** Standard communities as "asn:value". */
  communities: string[];
  originatorId?: string;
  clusterList: string[];
  best: boolean;
  /** Where it came from: BIRD protocol name, FRR/GoBGP peer address; undefined when local. */
  from?: string;
}

export interface DaemonPeer {
  /** BIRD protocol name, or the neighbour address for the others. */
  name: string;
  address: string;
  state: string;
  established: boolean;
  /** Last error / reset reason as the daemon words it (e.g. BIRD "Received: Bad peer AS"). */
  lastError?: string;
  /** Prefixes received (accepted) from the peer, where the daemon says. */
  received?: number;
}

export interface PeerSpec {
  /** BIRD protocol name (default p_<address>). */
  name?: string;
  address: string;
  asn: number;
  localAddress?: string;
  families?: Family[];
  rrClient?: boolean;
  passive?: boolean;
  holdTime?: number;
  port?: number;
  /** BIRD: start the protocol disabled (benchmarks enable it with `enable`). */
  disabled?: boolean;
  /** Rewrite next hop to self on export (BIRD `next hop self`, FRR `next-hop-self`). */
  nextHopSelf?: boolean;
  /** BIRD channel filters (default `all`): benchmark clients import none, the monitor exports none. */
  import?: 'all' | 'none';
  export?: 'all' | 'none';
}

export interface DaemonSpec {
  routerId: string;
  asn: number;
  clusterId?: string;
  peers: PeerSpec[];
  /** Prefixes to originate (IPv4 and IPv6 mixed). */
  originate?: string[];
  /** Raw text appended to the generated config. */
  extra?: string;
  /** Log everything (BIRD `log … all`, FRR `debug bgp updates`); off for benchmarks. */
  verbose?: boolean;
  /** BIRD: originated routes start disabled (`enable s4` announces them all at once). */
  staticDisabled?: boolean;
}

export interface Daemon {
  readonly kind: 'bird' | 'gobgp' | 'frr' | 'exabgp' | 'raw' | 'petrel';
  readonly name: string;
  readonly ns: string;
  readonly dir: string;
  readonly proc: LabProcess;
  readonly pid: number;
  stop(): Promise<void>;
  /** SIGSTOP / SIGCONT: freezes the daemon so its peers' hold timers run out. */
  freeze(): void;
  thaw(): void;
  /** stdout/stderr plus the daemon's log file, for assertions and failure messages. */
  log(): string;
  routes(family: Family): DaemonRoute[];
  peers(): DaemonPeer[];
}

const familyOf = (addrOrPrefix: string): Family => (addrOrPrefix.includes(':') ? 'ipv6' : 'ipv4');
const familiesOf = (p: PeerSpec): Family[] => p.families ?? [familyOf(p.address)];

/** Runs a command in a namespace with a big output buffer and a timeout; throws with stderr on failure. */
export function nsExec(ns: string, cmd: string, args: string[], timeoutMs = 30_000): string {
  try {
    return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, maxBuffer: 512 * 1024 * 1024,
    });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} in ${ns}: ${err.stderr?.trim() || err.stdout?.trim() || err.message}`);
  }
}

// Temp dirs (configs, sockets, logs) are removed when the test process exits, unless
// PETREL_KEEP_DAEMON_DIRS is set (to read a failed run's files).
const madeDirs = new Set<string>();
process.once('exit', () => {
  if (process.env.PETREL_KEEP_DAEMON_DIRS) return;
  for (const d of madeDirs) { try { rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ } }
});

function makeDir(lab: NetnsLab, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${lab.prefix}-${name}-`));
  chmodSync(dir, 0o755);
  madeDirs.add(dir);
  return dir;
}

function readIfExists(path: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return ''; }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(pid, sig); } catch { /* already gone */ }
}

/** The PID of the daemon itself: `ip netns exec` execs it, so the spawned PID is the daemon's. */
function baseHandle(lab: NetnsLab, kind: Daemon['kind'], name: string, ns: string, dir: string, proc: LabProcess, logFile?: string) {
  return {
    kind, name, ns, dir, proc, pid: proc.pid,
    stop: async () => { signal(proc.pid, 'SIGCONT'); await lab.stop(proc, 3000); },
    freeze: () => signal(proc.pid, 'SIGSTOP'),
    thaw: () => signal(proc.pid, 'SIGCONT'),
    log: () => proc.output() + (logFile ? readIfExists(logFile) : ''),
  };
}

async function assertAlive(proc: LabProcess, what: string, ms = 400): Promise<void> {
  const early = await Promise.race([proc.exited.then((c) => ({ c })), new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);
  if (early) throw new Error(`${what} exited at start (code ${early.c}): ${proc.output().slice(-2000)}`);
}

// ---------------------------------------------------------------------------------------------
// BIRD 2

export function birdConfig(spec: DaemonSpec): string {
  const out: string[] = [];
  out.push(spec.verbose === false ? 'log stderr { error, fatal, bug };' : 'log stderr all;');
  out.push(`router id ${spec.routerId};`, 'protocol device { scan time 10; }');
  const v4 = (spec.originate ?? []).filter((p) => familyOf(p) === 'ipv4');
  const v6 = (spec.originate ?? []).filter((p) => familyOf(p) === 'ipv6');
  // Static blackholes have no gateway, so BIRD exports them with its own address as next hop.
  const dis = spec.staticDisabled ? ' disabled;' : '';
  if (v4.length) out.push(`protocol static s4 { ipv4;${dis}\n${v4.map((p) => `route ${p} blackhole;`).join('\n')}\n}`);
  if (v6.length) out.push(`protocol static s6 { ipv6;${dis}\n${v6.map((p) => `route ${p} blackhole;`).join('\n')}\n}`);
  for (const p of spec.peers) {
    const ibgp = p.asn === spec.asn;
    const lines = [
      p.localAddress ? `local ${p.localAddress} as ${spec.asn};` : `local as ${spec.asn};`,
      `neighbor ${p.address}${p.port ? ` port ${p.port}` : ''} as ${p.asn};`,
      ibgp ? 'direct;' : '',
      p.passive ? 'passive on;' : '',
      p.disabled ? 'disabled;' : '',
      p.rrClient ? 'rr client;' : '',
      p.rrClient && spec.clusterId ? `rr cluster id ${spec.clusterId};` : '',
      `hold time ${p.holdTime ?? 9}; keepalive time ${Math.max(1, Math.floor((p.holdTime ?? 9) / 3))};`,
      'connect delay time 1; connect retry time 2; error wait time 1, 4; error forget time 10;',
      ...familiesOf(p).map((f) => `${f} { import ${p.import ?? 'all'}; export ${p.export ?? 'all'};${p.nextHopSelf ? ' next hop self;' : ''} };`),
    ];
    out.push(`protocol bgp ${p.name ?? birdName(p.address)} {\n  ${lines.filter(Boolean).join('\n  ')}\n}`);
  }
  if (spec.extra) out.push(spec.extra);
  return out.join('\n') + '\n';
}

export const birdName = (address: string): string => `p_${address.replace(/[.:]/g, '_')}`;

export interface BirdDaemon extends Daemon {
  readonly kind: 'bird';
  readonly ctl: string;
  birdc(...cmd: string[]): string;
  /** Rewrites the config file and reloads it (`birdc configure`). */
  reconfigure(conf: string): void;
  enable(protocol: string): void;
  disable(protocol: string): void;
  /** `show protocols all NAME` parsed: key lines as a record, plus the channel route counts. */
  protocol(name: string): BirdProtocol | undefined;
}

export interface BirdProtocol {
  name: string;
  proto: string;
  state: string;
  info: string;
  bgpState?: string;
  neighborAddress?: string;
  lastError?: string;
  imported: number;
  exported: number;
  raw: string;
}

export async function startBird(lab: NetnsLab, ns: string, conf: string | DaemonSpec, opts: { name?: string } = {}): Promise<BirdDaemon> {
  const name = opts.name ?? 'bird';
  const dir = makeDir(lab, name);
  const confPath = join(dir, 'bird.conf');
  const ctl = join(dir, 'bird.ctl');
  writeFileSync(confPath, typeof conf === 'string' ? conf : birdConfig(conf));
  const proc = lab.spawn(name, ns, 'bird', ['-f', '-c', confPath, '-s', ctl, '-P', join(dir, 'bird.pid')]);
  await assertAlive(proc, `bird ${name}`, 200);
  const birdc = (...cmd: string[]) => nsExec(ns, 'birdc', ['-s', ctl, ...cmd], 60_000);
  await waitFor(`bird ${name} control socket`, () => existsSync(ctl) && birdc('show', 'status').includes('Daemon is up'), 15_000, 100);
  const protocol = (pname: string) => parseBirdProtocols(birdc('show', 'protocols', 'all', pname))[0];
  return {
    ...baseHandle(lab, 'bird', name, ns, dir, proc),
    kind: 'bird',
    ctl,
    birdc,
    reconfigure(text: string) {
      writeFileSync(confPath, text);
      const out = birdc('configure');
      if (!/Reconfigured|Reconfiguration in progress|Reconfiguration confirmed/i.test(out)) throw new Error(`bird configure: ${out}`);
    },
    enable: (p) => { birdc('enable', p); },
    disable: (p) => { birdc('disable', p); },
    protocol,
    routes: (family) => parseBirdRoutes(birdc('show', 'route', 'all', 'table', family === 'ipv4' ? 'master4' : 'master6')),
    peers: () => parseBirdProtocols(birdc('show', 'protocols', 'all')).filter((p) => p.proto === 'BGP').map((p) => ({
      name: p.name,
      address: p.neighborAddress ?? '',
      state: p.bgpState ?? p.info,
      established: p.bgpState === 'Established',
      lastError: p.lastError,
      received: p.imported,
    })),
  };
}

/** Parses `birdc show route all` (BIRD 2.0): one block per route, attribute lines indented by a tab. */
export function parseBirdRoutes(text: string): DaemonRoute[] {
  const routes: DaemonRoute[] = [];
  let prefix = '';
  let cur: DaemonRoute | undefined;
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('BIRD ') || line.startsWith('Table ')) continue;
    // "203.0.113.0/24       unicast [frr 02:09:22.675] * (100) [AS64513i]" — later routes of the
    // same prefix start with spaces instead of the prefix.
    const head = /^(\S+)?\s+(unicast|blackhole|unreachable|prohibited)\s+\[(\S+)[^\]]*\]\s*(\*)?/.exec(line);
    if (head && !line.startsWith('\t')) {
      if (head[1]) prefix = head[1];
      cur = { prefix, asPath: [], communities: [], clusterList: [], best: head[4] === '*', from: head[3] };
      routes.push(cur);
      continue;
    }
    if (!cur) continue;
    const t = line.trim();
    const kv = /^(BGP\.\w+|via|Type):?\s*(.*)$/.exec(t);
    if (!kv) continue;
    const [, key, value] = kv;
    switch (key) {
      case 'via': if (!cur.nextHop) cur.nextHop = value.split(/\s+/)[0]; break;
      case 'BGP.origin': cur.origin = value; break;
      case 'BGP.as_path': cur.asPath = (value.match(/\d+/g) ?? []).map(Number); break;
      case 'BGP.next_hop': cur.nextHop = value.split(/\s+/)[0]; break;
      case 'BGP.local_pref': cur.localPref = Number(value); break;
      case 'BGP.med': cur.med = Number(value); break;
      case 'BGP.originator_id': cur.originatorId = value; break;
      case 'BGP.cluster_list': cur.clusterList = value.split(/\s+/).filter(Boolean); break;
      case 'BGP.community': cur.communities = [...value.matchAll(/\((\d+),(\d+)\)/g)].map((m) => `${m[1]}:${m[2]}`); break;
      default: break;
    }
  }
  // Routes BIRD originated itself are not BGP routes of a peer.
  for (const r of routes) if (r.from && /^s[46]$/.test(r.from)) r.from = undefined;
  return routes;
}

/** Parses `birdc show protocols all`. */
export function parseBirdProtocols(text: string): BirdProtocol[] {
  const out: BirdProtocol[] = [];
  let cur: BirdProtocol | undefined;
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('BIRD ') || line.startsWith('Name ')) continue;
    if (!/^\s/.test(line)) {
      const [name, proto, , state, , ...info] = line.trim().split(/\s+/);
      cur = { name, proto, state, info: info.join(' '), imported: 0, exported: 0, raw: line + '\n' };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    cur.raw += line + '\n';
    const t = line.trim();
    let m: RegExpExecArray | null;
    if ((m = /^BGP state:\s+(.*)$/.exec(t))) cur.bgpState = m[1];
    else if ((m = /^Neighbor address:\s+(\S+)/.exec(t))) cur.neighborAddress = m[1];
    else if ((m = /^Last error:\s+(.*)$/.exec(t))) cur.lastError = m[1];
    else if ((m = /^Routes:\s+(\d+) imported(?:, (\d+) filtered)?, (\d+) exported/.exec(t))) {
      cur.imported += Number(m[1]);
      cur.exported += Number(m[3]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// FRR 8 (bgpd only)

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

// ---------------------------------------------------------------------------------------------
// GoBGP 3

export function gobgpConfig(spec: DaemonSpec, listenAddresses: string[]): string {
  const o: string[] = ['[global.config]', `  as = ${spec.asn}`, `  router-id = "${spec.routerId}"`, '  port = 179',
    `  local-address-list = [${listenAddresses.map((a) => `"${a}"`).join(', ')}]`];
  for (const p of spec.peers) {
    o.push('[[neighbors]]', '  [neighbors.config]', `    neighbor-address = "${p.address}"`, `    peer-as = ${p.asn}`);
    if (p.disabled) o.push('    admin-down = true');
    o.push('  [neighbors.timers.config]', '    connect-retry = 1', `    hold-time = ${p.holdTime ?? 9}`,
      `    keepalive-interval = ${Math.max(1, Math.floor((p.holdTime ?? 9) / 3))}`, '    idle-hold-time-after-reset = 1');
    o.push('  [neighbors.transport.config]');
    if (p.localAddress) o.push(`    local-address = "${p.localAddress}"`);
    if (p.port) o.push(`    remote-port = ${p.port}`);
    if (p.passive) o.push('    passive-mode = true');
    if (p.rrClient) {
      o.push('  [neighbors.route-reflector.config]', '    route-reflector-client = true',
        `    route-reflector-cluster-id = "${spec.clusterId ?? spec.routerId}"`);
    }
    for (const f of familiesOf(p)) o.push('  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', `      afi-safi-name = "${f}-unicast"`);
  }
  if (spec.extra) o.push(spec.extra);
  return o.join('\n') + '\n';
}

export interface GobgpDaemon extends Daemon {
  readonly kind: 'gobgp';
  readonly apiPort: number;
  gobgp(...args: string[]): string;
  announce(prefix: string, attrs?: string[]): void;
  withdraw(prefix: string): void;
  neighborsJson(): Array<Record<string, any>>;
}

let nextGobgpPort = 50_051 + Math.floor(Math.random() * 2000);

/**
 * Starts gobgpd. Originated prefixes (spec.originate) are added through its API after start, with
 * next hop self. The API listens on 127.0.0.1 inside the namespace, so the CLI runs there too.
 */
export async function startGobgp(lab: NetnsLab, ns: string, conf: DaemonSpec & { listen?: string[] }, opts: { name?: string } = {}): Promise<GobgpDaemon> {
  const name = opts.name ?? 'gobgp';
  const dir = makeDir(lab, name);
  const confPath = join(dir, 'gobgpd.toml');
  writeFileSync(confPath, gobgpConfig(conf, conf.listen ?? ['0.0.0.0', '::']));
  const apiPort = nextGobgpPort++;
  const proc = lab.spawn(name, ns, 'gobgpd', ['-f', confPath, '-t', 'toml', '--api-hosts', `127.0.0.1:${apiPort}`, '--log-level', conf.verbose === false ? 'warn' : 'debug']);
  await assertAlive(proc, `gobgpd ${name}`, 300);
  const gobgp = (...args: string[]) => nsExec(ns, 'gobgp', ['-p', String(apiPort), ...args], 60_000);
  await waitFor(`gobgpd ${name} API`, () => gobgp('global').includes('AS'), 15_000, 150);
  const announce = (prefix: string, attrs: string[] = []) => { gobgp('global', 'rib', 'add', '-a', familyOf(prefix), prefix, 'origin', 'igp', ...attrs); };
  for (const p of conf.originate ?? []) announce(p);
  const neighborsJson = () => JSON.parse(gobgp('neighbor', '-j')) as Array<Record<string, any>>;
  return {
    ...baseHandle(lab, 'gobgp', name, ns, dir, proc),
    kind: 'gobgp',
    apiPort,
    gobgp,
    announce,
    withdraw: (prefix) => { gobgp('global', 'rib', 'del', '-a', familyOf(prefix), prefix); },
    neighborsJson,
    routes: (family) => parseGobgpRib(JSON.parse(gobgp('global', 'rib', '-a', family, '-j')) as Record<string, unknown[]>),
    peers: () => neighborsJson().map((n) => {
      const st = n.state ?? {};
      const address = String(st.neighbor_address);
      const recv = Number(st.messages?.received?.notification ?? 0);
      // GoBGP logs a decoded NOTIFICATION as "BGPNotification":{…"ErrorCode":2,"ErrorSubcode":2…}.
      const logged = proc.output().split('\n').filter((l) => l.includes(`"Key":"${address}"`))
        .map((l) => /"ErrorCode":(\d+),"ErrorSubcode":(\d+)/.exec(l)).filter(Boolean).pop();
      return {
        name: address, address,
        state: GOBGP_STATES[st.session_state as number] ?? String(st.session_state),
        established: st.session_state === 6,
        lastError: recv || logged ? `NOTIFICATIONs received: ${recv}${logged ? `; last code ${logged[1]} subcode ${logged[2]}` : ''}` : undefined,
        received: (n.afi_safis ?? []).reduce((s: number, a: any) => s + (a.state?.accepted ?? 0), 0),
      };
    }),
  };
}

const GOBGP_STATES: Record<number, string> = { 1: 'Idle', 2: 'Connect', 3: 'Active', 4: 'OpenSent', 5: 'OpenConfirm', 6: 'Established' };

interface GobgpAttr { type: number; value?: unknown; nexthop?: string; as_paths?: Array<{ asns?: number[] }>; communities?: number[] }

export function parseGobgpRib(json: Record<string, unknown[]>): DaemonRoute[] {
  const out: DaemonRoute[] = [];
  for (const [prefix, paths] of Object.entries(json)) {
    for (const raw of paths) {
      const p = raw as { best?: boolean; attrs?: GobgpAttr[]; 'neighbor-ip'?: string };
      const r: DaemonRoute = { prefix, asPath: [], communities: [], clusterList: [], best: Boolean(p.best), from: p['neighbor-ip'] };
      for (const a of p.attrs ?? []) {
        switch (a.type) {
          case 1: r.origin = ['IGP', 'EGP', 'Incomplete'][a.value as number]; break;
          case 2: r.asPath = (a.as_paths ?? []).flatMap((s) => s.asns ?? []); break;
          case 3: r.nextHop = a.nexthop; break;
          case 4: r.med = a.value as number; break;
          case 5: r.localPref = a.value as number; break;
          case 8: r.communities = (a.communities ?? []).map((c) => `${c >>> 16}:${c & 0xffff}`); break;
          case 9: r.originatorId = a.value as string; break;
          case 10: r.clusterList = a.value as string[]; break;
          case 14: r.nextHop = a.nexthop ?? r.nextHop; break;
          default: break;
        }
      }
      out.push(r);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// ExaBGP 4.2

export interface ExabgpNeighbor {
  address: string;
  asn: number;
  localAddress: string;
  families?: Family[];
  holdTime?: number;
  /** Announced at session start, e.g. `route 203.0.113.0/24 next-hop self`. */
  static?: string[];
}

export function exabgpConfig(spec: { routerId: string; asn: number; neighbors: ExabgpNeighbor[] }, processScript: string): string {
  const o = [`process cmds {\n  run /usr/bin/python3 ${processScript};\n  encoder json;\n}`];
  for (const n of spec.neighbors) {
    o.push(`neighbor ${n.address} {`, `  router-id ${spec.routerId};`, `  local-address ${n.localAddress};`,
      `  local-as ${spec.asn};`, `  peer-as ${n.asn};`, `  hold-time ${n.holdTime ?? 9};`,
      `  family {\n${(n.families ?? [familyOf(n.address)]).map((f) => `    ${f} unicast;`).join('\n')}\n  }`,
      '  api {\n    processes [ cmds ];\n    receive { parsed; notification; }\n  }');
    if (n.static?.length) o.push(`  static {\n${n.static.map((s) => `    ${s};`).join('\n')}\n  }`);
    o.push('}');
  }
  return o.join('\n') + '\n';
}

// The process API script: forwards command files dropped into a directory to ExaBGP's stdin
// reader (its stdout), one file at a time in name order; polling keeps the writer non-blocking.
// What ExaBGP tells the process (JSON, one object a line) is appended to events.jsonl.
const EXABGP_FEEDER = `import os, sys, threading, time
d = sys.argv[1]
deadline = time.time() + 3600
def events():
    # ExaBGP's messages to the process (JSON: updates, notifications, state), kept for the tests.
    with open(sys.argv[2], 'a') as out:
        for line in sys.stdin:
            out.write(line); out.flush()
threading.Thread(target=events, daemon=True).start()
while time.time() < deadline:
    for f in sorted(os.listdir(d)):
        if not f.endswith('.cmd'):
            continue
        p = os.path.join(d, f)
        with open(p) as fh:
            data = fh.read()
        os.unlink(p)
        for line in data.splitlines():
            if line.strip():
                sys.stdout.write(line + '\\n')
        sys.stdout.flush()
    time.sleep(0.05)
`;

export interface ExabgpDaemon extends Daemon {
  readonly kind: 'exabgp';
  /** Sends API commands, e.g. `announce route 203.0.113.0/24 next-hop self attribute [0x01 0x40 0x0000]`. */
  send(...commands: string[]): void;
  /** NOTIFICATIONs ExaBGP received, from its process API (JSON encoder). */
  notificationsReceived(): Array<{ code: number; subcode: number }>;
  /** Every JSON message ExaBGP sent to its API process. */
  apiEvents(): Array<Record<string, any>>;
}

export async function startExabgp(lab: NetnsLab, ns: string, spec: { routerId: string; asn: number; neighbors: ExabgpNeighbor[] }, opts: { name?: string } = {}): Promise<ExabgpDaemon> {
  const name = opts.name ?? 'exabgp';
  const dir = makeDir(lab, name);
  const cmdDir = join(dir, 'cmds');
  mkdirSync(cmdDir);
  const feeder = join(dir, 'feeder.py');
  writeFileSync(feeder, EXABGP_FEEDER);
  const confPath = join(dir, 'exabgp.conf');
  const eventsFile = join(dir, 'events.jsonl');
  writeFileSync(confPath, exabgpConfig(spec, `${feeder} ${cmdDir} ${eventsFile}`));
  const env = {
    ...process.env,
    'exabgp.daemon.user': 'root', 'exabgp.daemon.daemonize': 'false', 'exabgp.api.ack': 'false',
    'exabgp.api.cli': 'false', 'exabgp.log.destination': 'stdout', 'exabgp.log.level': 'INFO',
    'exabgp.log.network': 'true', 'exabgp.log.message': 'true', 'exabgp.log.packets': 'false',
    'exabgp.tcp.delay': '0', 'exabgp.daemon.drop': 'false',
  };
  const proc = lab.spawn(name, ns, 'exabgp', [confPath], { env, cwd: dir });
  await assertAlive(proc, `exabgp ${name}`, 500);
  let seq = 0;
  const apiEvents = () => readIfExists(eventsFile).split('\n').filter((l) => l.startsWith('{'))
    .flatMap((l) => { try { return [JSON.parse(l) as Record<string, any>]; } catch { return []; } });
  return {
    ...baseHandle(lab, 'exabgp', name, ns, dir, proc),
    kind: 'exabgp',
    send: (...commands: string[]) => {
      const file = join(cmdDir, `${String(seq++).padStart(6, '0')}`);
      writeFileSync(file + '.tmp', commands.join('\n') + '\n');
      renameSync(file + '.tmp', file + '.cmd');
    },
    apiEvents,
    notificationsReceived: () => apiEvents().filter((e) => e.type === 'notification' && e.neighbor?.direction !== 'send')
      .map((e) => ({ code: Number(e.neighbor?.notification?.code), subcode: Number(e.neighbor?.notification?.subcode) })),
    routes: () => { throw new Error('ExaBGP keeps no RIB here: use the peer’s view'); },
    peers: () => spec.neighbors.map((n) => {
      const lines = proc.output().split('\n').filter((l) => l.includes(n.address));
      const up = lines.filter((l) => /connected to|peer.*up|established/i.test(l)).length;
      const down = lines.filter((l) => /closing|peer reset|connection.*closed|down/i.test(l)).length;
      return { name: n.address, address: n.address, state: up > down ? 'Established' : 'Idle', established: up > down };
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Raw BGP sender (Python stdlib only)

/**
 * A minimal BGP speaker that sends exactly the bytes a test gives it: it connects, sends OPEN
 * (4-octet AS, multiprotocol IPv4/IPv6 unicast), answers OPEN with KEEPALIVE, keeps the session
 * alive, and sends each hex message dropped into its command dir. Every message it receives is
 * printed as a JSON line ({"type": 3, "code": 2, "subcode": 2} for a NOTIFICATION). Used for what
 * ExaBGP cannot send, such as an UPDATE missing a mandatory attribute.
 */
const RAW_PEER = String.raw`import json, os, select, socket, struct, sys, time
peer, port, local, asn, rid, hold, cmd_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6]), sys.argv[7]
def say(**kw):
    sys.stdout.write(json.dumps(kw) + '\n'); sys.stdout.flush()
def msg(t, body):
    return b'\xff' * 16 + struct.pack('!HB', 19 + len(body), t) + body
fam = socket.AF_INET6 if ':' in peer else socket.AF_INET
deadline = time.time() + 3600
while time.time() < deadline:
    try:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.bind((local, 0)); s.settimeout(3); s.connect((peer, port)); break
    except OSError as e:
        say(event='connect-failed', error=str(e)); s.close(); time.sleep(0.5)
s.settimeout(None)
caps = bytes([1, 4, 0, 1, 0, 1]) + bytes([1, 4, 0, 2, 0, 1]) + bytes([65, 4]) + struct.pack('!I', asn)
opt = bytes([2, len(caps)]) + caps
s.sendall(msg(1, struct.pack('!BHH4sB', 4, asn if asn < 65536 else 23456, hold, socket.inet_aton(rid), len(opt)) + opt))
say(event='open-sent')
buf = b''; last_ka = 0; established = False
while time.time() < deadline:
    r, _, _ = select.select([s], [], [], 0.05)
    if r:
        d = s.recv(65536)
        if not d:
            say(event='closed'); break
        buf += d
        while len(buf) >= 19:
            ln, t = struct.unpack('!HB', buf[16:19])
            if len(buf) < ln: break
            body = buf[19:ln]; buf = buf[ln:]
            if t == 3:
                say(type=3, code=body[0], subcode=body[1], data=body[2:].hex())
            else:
                say(type=t, length=ln)
            if t == 1:
                s.sendall(msg(4, b'')); last_ka = time.time()
            if t == 4 and not established:
                established = True; say(event='established')
    if established and time.time() - last_ka > max(1, hold // 3):
        s.sendall(msg(4, b'')); last_ka = time.time()
    if established:
        for f in sorted(os.listdir(cmd_dir)):
            if not f.endswith('.hex'): continue
            p = os.path.join(cmd_dir, f)
            with open(p) as fh: data = bytes.fromhex(fh.read().strip())
            os.unlink(p)
            s.sendall(data); say(event='sent', file=f, length=len(data))
`;

export interface RawPeer extends Daemon {
  readonly kind: 'raw';
  /** Sends one whole BGP message given as hex (header included). */
  sendHex(hex: string): void;
  /** Every JSON line the sender printed (received messages and events). */
  events(): Array<{ event?: string; type?: number; code?: number; subcode?: number }>;
  notifications(): Array<{ code: number; subcode: number }>;
}

export async function startRawPeer(lab: NetnsLab, ns: string, opts: { name?: string; peer: string; port?: number; localAddress: string; asn: number; routerId: string; holdTime?: number }): Promise<RawPeer> {
  const name = opts.name ?? 'raw';
  const dir = makeDir(lab, name);
  const cmdDir = join(dir, 'cmds');
  mkdirSync(cmdDir);
  const script = join(dir, 'rawpeer.py');
  writeFileSync(script, RAW_PEER);
  const proc = lab.spawn(name, ns, 'python3', [script, opts.peer, String(opts.port ?? 179), opts.localAddress, String(opts.asn), opts.routerId, String(opts.holdTime ?? 9), cmdDir]);
  await assertAlive(proc, `raw peer ${name}`, 200);
  let seq = 0;
  const events = () => proc.output().split('\n').filter((l) => l.startsWith('{')).map((l) => { try { return JSON.parse(l); } catch { return {}; } });
  return {
    ...baseHandle(lab, 'raw', name, ns, dir, proc),
    kind: 'raw',
    sendHex: (hex) => {
      const file = join(cmdDir, String(seq++).padStart(6, '0'));
      writeFileSync(file + '.tmp', hex.replace(/\s+/g, ''));
      renameSync(file + '.tmp', file + '.hex');
    },
    events,
    notifications: () => events().filter((e) => e.type === 3).map((e) => ({ code: e.code, subcode: e.subcode })),
    routes: () => { throw new Error('the raw peer keeps no RIB'); },
    peers: () => {
      const ev = events();
      const up = ev.some((e) => e.event === 'established') && !ev.some((e) => e.event === 'closed' || e.type === 3);
      return [{ name: opts.peer, address: opts.peer, state: up ? 'Established' : 'Idle', established: up }];
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Petrel itself: `petrel speaker --config FILE.yaml` (schema in issue 2), queried with
// `petrel routes --json --api URL` / `petrel status --json --api URL` run inside the same namespace
// (its HTTP API listens on 127.0.0.1 there, unreachable from the root namespace by design).

/** The standalone speaker's config file, as issue 2 defines it. */
export interface PetrelConfig {
  asn: number;
  routerId: string;
  listen?: { address: string; port?: number };
  clusterId?: string;
  holdTime?: number;
  peers: Array<{ address: string; asn: number; port?: number; passive?: boolean; rrClient?: boolean; holdTime?: number; families?: Family[]; localAddress?: string }>;
  originate?: string[];
  http?: { address: string; port: number };
  [more: string]: unknown;
}

export const PETREL_CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

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

// ---------------------------------------------------------------------------------------------
// Helpers shared by tests

export interface LanNode { short: string; v4: string; v6: string; ns: string }

/**
 * One L2 segment: a switch namespace with a bridge, and one namespace per node with `eth0` on it,
 * addressed 198.51.100.<10+i>/24 and 2001:db8:100::<10+i>/64 (or `firstHost + i`).
 */
export function lan(lab: NetnsLab, shorts: string[], firstHost = 10): Record<string, LanNode> {
  const sw = lab.addNs('sw');
  lab.bridge(sw, 'br0');
  const nodes: Record<string, LanNode> = {};
  shorts.forEach((short, i) => {
    const ns = lab.addNs(short);
    const host = firstHost + i;
    lab.veth(ns, 'eth0', sw, `p${i}`);
    lab.attach(sw, `p${i}`, 'br0');
    const v4 = `198.51.100.${host}`;
    const v6 = `2001:db8:100::${host.toString(16)}`;
    lab.addr(ns, 'eth0', `${v4}/24`);
    lab.addr(ns, 'eth0', `${v6}/64`);
    nodes[short] = { short, v4, v6, ns };
  });
  return nodes;
}

/** Waits until `daemon` reports the peer at `address` Established. */
export async function waitEstablished(daemon: Daemon, address: string, timeoutMs = 30_000): Promise<DaemonPeer> {
  return waitFor(`${daemon.kind} ${daemon.name}: session with ${address} Established`,
    () => daemon.peers().find((p) => p.address === address && p.established), timeoutMs, 250);
}

/** Waits until `daemon` holds a route for `prefix` matching `pred` (best path by default). */
export async function waitRoute(daemon: Daemon, prefix: string, pred: (r: DaemonRoute) => boolean = () => true, timeoutMs = 30_000): Promise<DaemonRoute> {
  return waitFor(`${daemon.kind} ${daemon.name}: route ${prefix}`,
    () => daemon.routes(familyOf(prefix)).find((r) => r.prefix === prefix && pred(r)), timeoutMs, 250);
}

export async function waitNoRoute(daemon: Daemon, prefix: string, timeoutMs = 30_000): Promise<boolean> {
  return waitFor(`${daemon.kind} ${daemon.name}: route ${prefix} gone`,
    () => !daemon.routes(familyOf(prefix)).some((r) => r.prefix === prefix), timeoutMs, 250);
}

/** True when every daemon binary the interop tests need is installed. */
export function daemonsInstalled(): { ok: boolean; missing: string[] } {
  const need = ['/usr/sbin/bird', '/usr/sbin/birdc', '/usr/bin/gobgpd', '/usr/bin/gobgp', '/usr/lib/frr/bgpd', '/usr/bin/vtysh', '/usr/sbin/exabgp'];
  const missing = need.filter((p) => !existsSync(p));
  return { ok: missing.length === 0, missing };
}
