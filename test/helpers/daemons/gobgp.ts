/**
 * GoBGP 3: TOML config, gobgpd with its gRPC API on 127.0.0.1 inside the namespace, `gobgp -j`
 * parsed. It keeps no "last error" text; the NOTIFICATION counter of `neighbor -j` and its JSON
 * log ("ErrorCode"/"ErrorSubcode") stand in.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, type NetnsLab } from '../../../src/lab/netns.js';
import {
  assertAlive, baseHandle, familiesOf, familyOf, makeDir, nsExec,
  type Daemon, type DaemonRoute, type DaemonSpec,
} from './common.js';

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
