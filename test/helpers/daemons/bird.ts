/**
 * BIRD 2: config builder, launcher (`bird -f` inside the namespace, its own control socket), and
 * parsers for `birdc show route all` and `show protocols all`. BIRD words: `rr` is a keyword (do
 * not name a protocol so), iBGP needs `direct` to be on-link, `include` must start its own line.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, type NetnsLab } from '../../../src/lab/netns.js';
import {
  assertAlive, baseHandle, familiesOf, familyOf, makeDir, nsExec,
  type Daemon, type DaemonRoute, type DaemonSpec,
} from './common.js';

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

/** `args`: more command-line options (e.g. `-R`, graceful restart recovery after a restart). */
export async function startBird(lab: NetnsLab, ns: string, conf: string | DaemonSpec, opts: { name?: string; args?: string[] } = {}): Promise<BirdDaemon> {
  const name = opts.name ?? 'bird';
  const dir = makeDir(lab, name);
  const confPath = join(dir, 'bird.conf');
  const ctl = join(dir, 'bird.ctl');
  writeFileSync(confPath, typeof conf === 'string' ? conf : birdConfig(conf));
  const proc = lab.spawn(name, ns, 'bird', ['-f', '-c', confPath, '-s', ctl, '-P', join(dir, 'bird.pid'), ...(opts.args ?? [])]);
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
