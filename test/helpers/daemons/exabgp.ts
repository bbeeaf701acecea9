/**
 * ExaBGP 4.2, driven through its process API: a small feeder script forwards command files the
 * test drops into a directory, and records what ExaBGP reports back (JSON) for assertions.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetnsLab } from '../../../src/lab/netns.js';
import { assertAlive, baseHandle, familyOf, makeDir, readIfExists, type Daemon, type Family } from './common.js';

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
