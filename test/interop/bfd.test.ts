/**
 * BFD (RFC 5880/5881) between Petrel's BfdEndpoint over UDP (test/interop/tools/bfd-peer.ts, run
 * inside a namespace) and a real peer — BIRD 2's `protocol bfd` and FRR 8's bfdd (no zebra) — single
 * hop over a veth: the session comes Up with the intervals negotiated (100 ms × 3, as the peer reports
 * them), a cut (an nft rule dropping BFD in Petrel's namespace only) is detected by Petrel as Control
 * Detection Time Expired (diag 1) and by the peer as a session down, and the session comes back when
 * the rule goes; datagrams with a TTL below 255 never reach the endpoint. Events are judged by their
 * order and diagnostics, never by a clock.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetnsLab, isRoot, waitFor, type LabProcess } from '../../src/lab/netns.js';
import { daemonsInstalled, makeDir, nsExec, startBird } from '../helpers/daemons.js';

const P = '192.0.2.1';
const B = '192.0.2.2';
const TOOL = fileURLToPath(new URL('./tools/bfd-peer.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function skip(): string | false {
  if (!isRoot()) return 'needs root for network namespaces';
  if (!daemonsInstalled().ok) return 'BIRD 2 not installed';
  return false;
}

interface Ev { peer?: string; from?: string; to?: string; diag?: number; ready?: boolean; srcPort?: number }
function events(proc: LabProcess): Ev[] {
  return proc.output().split('\n').filter((l) => l.startsWith('{')).flatMap((l) => {
    try { return [JSON.parse(l) as Ev]; } catch { return []; }
  });
}

/** The peer's view of its session with Petrel: state and the negotiated intervals in ms. */
interface PeerView { state: string; txMs: number; detectMs: number }
interface Peer { view(): PeerView | undefined; stop(): Promise<void> }

/** BIRD 2: `protocol bfd`, read with `show bfd sessions` ("192.0.2.1 eth0 Up 23:30:52.682 0.100 0.300"). */
async function birdPeer(lab: NetnsLab, ns: string): Promise<Peer> {
  const bird = await startBird(lab, ns, [
    'log stderr all;', `router id ${B};`, 'protocol device { }',
    'protocol bfd {', '  interface "eth0" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };', `  neighbor ${P} dev "eth0";`, '}',
  ].join('\n') + '\n', { name: 'birdbfd' });
  return {
    view() {
      const line = bird.birdc('show', 'bfd', 'sessions').split('\n').find((l) => l.trim().startsWith(P));
      if (!line) return undefined;
      const f = line.trim().split(/\s+/);
      return { state: f[2], txMs: Math.round(Number(f[f.length - 2]) * 1000), detectMs: Math.round(Number(f[f.length - 1]) * 1000) };
    },
    stop: () => bird.stop(),
  };
}

/** FRR 8: bfdd alone (no zebra), as user frr in its own run directory; read with `show bfd peer … json`. */
async function frrPeer(lab: NetnsLab, ns: string): Promise<Peer> {
  const inst = `${lab.prefix}bfd`.replace(/[^A-Za-z0-9]/g, '').slice(0, 24);
  const dir = makeDir(lab, 'frrbfd');
  const conf = join(dir, 'frr.conf');
  writeFileSync(conf, ['log stdout informational', 'bfd', ` peer ${P} local-address ${B}`, '  receive-interval 100', '  transmit-interval 100', '  detect-multiplier 3', ' !', '!', ''].join('\n'));
  const runDir = `/var/run/frr/${inst}`;
  mkdirSync(runDir, { recursive: true });
  const uid = Number(execFileSync('id', ['-u', 'frr'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'frr'], { encoding: 'utf8' }).trim());
  for (const p of [runDir, dir, conf]) chownSync(p, uid, gid);
  const proc = lab.spawn('frrbfd', ns, '/usr/lib/frr/bfdd', ['-N', inst, '-f', conf, '-i', join(runDir, 'bfdd.pid')]);
  const vtysh = (c: string) => nsExec(ns, 'vtysh', ['-N', inst, '-c', c], 30_000);
  await waitFor('bfdd vty', () => existsSync(join(runDir, 'bfdd.vty')), 15_000, 100);
  return {
    view() {
      try {
        const j = JSON.parse(vtysh(`show bfd peer ${P} local-address ${B} json`)) as Record<string, unknown>;
        return { state: String(j.status), txMs: Number(j['transmit-interval']), detectMs: Number(j['detect-multiplier']) * Number(j['remote-transmit-interval'] ?? j['receive-interval']) };
      } catch {
        return undefined;
      }
    },
    stop: async () => { await lab.stop(proc, 3000); rmSync(runDir, { recursive: true, force: true }); },
  };
}

for (const [label, start] of [['BIRD 2', birdPeer], ['FRR 8 (bfdd)', frrPeer]] as const) {
  describe(`BFD between Petrel and ${label}`, { skip: skip(), timeout: 90_000 }, () => {
    let lab: NetnsLab;
    let nsP: string;
    let nsB: string;
    let peer: Peer;
    let petrel: LabProcess;
    const up = () => peer.view()?.state.toLowerCase() === 'up';

    before(async () => {
      lab = new NetnsLab();
      nsP = lab.addNs('p');
      nsB = lab.addNs('b');
      lab.veth(nsP, 'eth0', nsB, 'eth0');
      lab.addr(nsP, 'eth0', `${P}/24`);
      lab.addr(nsB, 'eth0', `${B}/24`);
      peer = await start(lab, nsB);
      petrel = lab.spawn('bfdpeer', nsP, process.execPath, ['--import', 'tsx', TOOL, '--local', P, '--peer', B, '--tx', '100', '--rx', '100', '--mult', '3'], { cwd: ROOT });
    });
    after(async () => {
      await peer?.stop().catch(() => {});
      await lab?.destroy();
    });

    it('comes Up with 100 ms × 3 negotiated, sent from a source port in 49152–65535', async () => {
      await waitFor('Petrel\'s session Up', () => events(petrel).some((e) => e.to === 'Up'), 20_000, 100);
      await waitFor(`${label}'s session Up at 100 ms`, () => {
        const v = peer.view();
        return up() && v?.txMs === 100 && v.detectMs === 300;
      }, 20_000, 100);
      const ready = await waitFor('the tool\'s ready line', () => events(petrel).find((e) => e.ready), 10_000, 100);
      assert.ok(ready?.srcPort && ready.srcPort >= 49152 && ready.srcPort <= 65535, JSON.stringify(ready));
    });

    it('discards what arrives with a TTL below 255 (RFC 5881 §5), in the kernel: only the TTL 255 copy reaches the endpoint', async () => {
      const drops = () => {
        const last = events(petrel).filter((e) => (e as { dropped?: Record<string, number> }).dropped).at(-1) as { dropped?: Record<string, number> } | undefined;
        return last?.dropped?.BFD_ERR_SHORT ?? 0;
      };
      // Three bytes that decodeControl refuses as BFD_ERR_SHORT — counted only if they get past the kernel.
      const send = (ttl: number) => nsExec(nsB, process.execPath, ['-e',
        `const s=require('node:dgram').createSocket('udp4');s.bind({address:'${B}'},()=>{s.setTTL(${ttl});s.send(Buffer.from([32,64,3]),3784,'${P}',()=>s.close());});`]);
      send(64);
      send(254);
      await new Promise((r) => setTimeout(r, 1500)); // the tool reports its counters every second
      assert.equal(drops(), 0, 'TTL 64 and 254 never reached the endpoint');
      send(255);
      await waitFor('the TTL 255 copy to be counted', () => drops() === 1, 10_000, 100);
    });

    it(`detects a cut (BFD dropped in Petrel's namespace) with diag 1; ${label} sees it down; both come back when it is lifted`, async () => {
      const before = events(petrel).length;
      nsExec(nsP, 'nft', ['add', 'table', 'inet', 'petrelbfd']);
      nsExec(nsP, 'nft', ['add', 'chain', 'inet', 'petrelbfd', 'in', '{', 'type', 'filter', 'hook', 'input', 'priority', '0', ';', '}']);
      nsExec(nsP, 'nft', ['add', 'rule', 'inet', 'petrelbfd', 'in', 'udp', 'dport', '3784', 'drop']);
      await waitFor('Petrel to declare the session Down', () => events(petrel).slice(before).some((e) => e.to === 'Down'), 10_000, 50);
      const down = events(petrel).slice(before).find((e) => e.to === 'Down')!;
      assert.equal(down.from, 'Up');
      assert.equal(down.diag, 1, 'Control Detection Time Expired');
      await waitFor(`${label} to see the session down`, () => !up(), 10_000, 100);
      nsExec(nsP, 'nft', ['delete', 'table', 'inet', 'petrelbfd']);
      await waitFor('Petrel Up again', () => events(petrel).slice(before).some((e) => e.to === 'Up'), 20_000, 100);
      await waitFor(`${label} Up again`, up, 20_000, 100);
    });
  });
}
