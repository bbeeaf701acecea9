/**
 * What every daemon handle shares: the normalized route/peer shapes, the spec the config builders
 * take, running commands inside a namespace, temp dirs, process handles stopped by PID, bounded
 * waits, and the one-segment lab topology the interop tests and the benchmark use.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor, type LabProcess, type NetnsLab } from '../../../src/lab/netns.js';
import { canonicalIp } from '../../../src/model/ip.js';

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
  readonly kind: 'bird' | 'gobgp' | 'frr' | 'exabgp' | 'raw' | 'bulk' | 'petrel';
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

export const familyOf = (addrOrPrefix: string): Family => (addrOrPrefix.includes(':') ? 'ipv6' : 'ipv4');
export const familiesOf = (p: PeerSpec): Family[] => p.families ?? [familyOf(p.address)];

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

export function makeDir(lab: NetnsLab, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${lab.prefix}-${name}-`));
  chmodSync(dir, 0o755);
  madeDirs.add(dir);
  return dir;
}

export function readIfExists(path: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return ''; }
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(pid, sig); } catch { /* already gone */ }
}

/** The PID of the daemon itself: `ip netns exec` execs it, so the spawned PID is the daemon's. */
export function baseHandle(lab: NetnsLab, kind: Daemon['kind'], name: string, ns: string, dir: string, proc: LabProcess, logFile?: string) {
  return {
    kind, name, ns, dir, proc, pid: proc.pid,
    stop: async () => { signal(proc.pid, 'SIGCONT'); await lab.stop(proc, 3000); },
    freeze: () => signal(proc.pid, 'SIGSTOP'),
    thaw: () => signal(proc.pid, 'SIGCONT'),
    log: () => proc.output() + (logFile ? readIfExists(logFile) : ''),
  };
}

export async function assertAlive(proc: LabProcess, what: string, ms = 400): Promise<void> {
  const early = await Promise.race([proc.exited.then((c) => ({ c })), new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);
  if (early) throw new Error(`${what} exited at start (code ${early.c}): ${proc.output().slice(-2000)}`);
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

/** A BGP NOTIFICATION seen on the wire. */
export interface WireNotification { src: string; dst: string; code: number; subcode: number; /** The data field, hex (as far as the segment holds it). */ data: string }

export interface BgpCapture {
  /** Stops tcpdump (by PID) so the file is complete. */
  stop(): Promise<void>;
  /** NOTIFICATIONs in the capture so far (tcpdump -U writes each packet as it comes). */
  notifications(): WireNotification[];
}

/**
 * Captures BGP (TCP port 179) on `iface` in `ns` with tcpdump, and finds NOTIFICATIONs in the pcap
 * itself — daemon-independent proof of what was sent, for daemons that do not report it (GoBGP).
 * The pcap reader handles Ethernet + IPv4/IPv6 + TCP, one BGP message or more per segment.
 */
export async function captureBgp(lab: NetnsLab, ns: string, iface = 'eth0'): Promise<BgpCapture> {
  const dir = makeDir(lab, 'pcap');
  const file = join(dir, 'bgp.pcap');
  const proc = lab.spawn('tcpdump', ns, 'tcpdump', ['-i', iface, '--immediate-mode', '-U', '-n', '-Z', 'root', '-s', '0', '-w', file, 'tcp port 179']);
  await waitFor('tcpdump to start', () => existsSync(file) || /listening on/.test(proc.output()), 10_000, 50);
  return {
    stop: () => lab.stop(proc, 2000),
    notifications: () => (existsSync(file) ? pcapNotifications(readFileSync(file)) : []),
  };
}

function ipText(b: Buffer, off: number, v6: boolean): string {
  if (!v6) return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(off + i).toString(16));
  return canonicalIp(groups.join(':'));
}

export function pcapNotifications(buf: Buffer): WireNotification[] {
  const out: WireNotification[] = [];
  if (buf.length < 24) return out;
  const le = buf.readUInt32LE(0) === 0xa1b2c3d4 || buf.readUInt32LE(0) === 0xa1b23c4d;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  if (u32(20) !== 1) return out; // Ethernet only (veth)
  for (let off = 24; off + 16 <= buf.length;) {
    const caplen = u32(off + 8);
    const pkt = buf.subarray(off + 16, off + 16 + caplen);
    off += 16 + caplen;
    if (pkt.length < 14) continue;
    const type = pkt.readUInt16BE(12);
    const ip = 14;
    let v6 = false;
    let tcp: number;
    if (type === 0x0800 && pkt[ip + 9] === 6) tcp = ip + (pkt[ip] & 0x0f) * 4;
    else if (type === 0x86dd && pkt[ip + 6] === 6) { v6 = true; tcp = ip + 40; } else continue;
    if (tcp + 20 > pkt.length) continue;
    const payload = tcp + (pkt[tcp + 12] >> 4) * 4;
    const src = ipText(pkt, v6 ? ip + 8 : ip + 12, v6);
    const dst = ipText(pkt, v6 ? ip + 24 : ip + 16, v6);
    // Walk the BGP messages in the segment (RFC 4271 §4.1: 16-byte marker, length, type).
    for (let m = payload; m + 19 <= pkt.length;) {
      if (!pkt.subarray(m, m + 16).every((x) => x === 0xff)) break;
      const len = pkt.readUInt16BE(m + 16);
      if (len < 19) break;
      if (pkt[m + 18] === 3 && m + 21 <= pkt.length) out.push({ src, dst, code: pkt[m + 19], subcode: pkt[m + 20], data: pkt.subarray(m + 21, Math.min(m + len, pkt.length)).toString('hex') });
      m += len;
    }
  }
  return out;
}
