/**
 * BFD (RFC 5880/5881) between Petrel's BfdEndpoint over UDP (test/interop/tools/bfd-peer.ts, run
 * inside a namespace) and BIRD 2's `protocol bfd`, single hop over a veth: the session comes Up with
 * the intervals negotiated (100 ms × 3), a cut (an nft rule dropping BFD in Petrel's namespace only)
 * is detected by Petrel as Control Detection Time Expired (diag 1) and by BIRD as Neighbor Signaled
 * Session Down, and the session comes back when the rule goes; datagrams with a TTL below 255 never
 * reach the endpoint. Events are judged by their order and diagnostics, never by a clock.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { NetnsLab, isRoot, waitFor, type LabProcess } from '../../src/lab/netns.js';
import { daemonsInstalled, nsExec, startBird, type BirdDaemon } from '../helpers/daemons.js';

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

/** BIRD's view: `show bfd sessions` → state, interval and timeout of the session with `peer`. */
function birdBfd(bird: BirdDaemon, peer: string): { state: string; interval: string; timeout: string } | undefined {
  const line = bird.birdc('show', 'bfd', 'sessions').split('\n').find((l) => l.trim().startsWith(peer));
  if (!line) return undefined;
  const f = line.trim().split(/\s+/);
  return { state: f[2], interval: f[f.length - 2], timeout: f[f.length - 1] };
}

describe('BFD between Petrel and BIRD 2', { skip: skip(), timeout: 90_000 }, () => {
  let lab: NetnsLab;
  let nsP: string;
  let nsB: string;
  let bird: BirdDaemon;
  let petrel: LabProcess;

  before(async () => {
    lab = new NetnsLab();
    nsP = lab.addNs('p');
    nsB = lab.addNs('b');
    lab.veth(nsP, 'eth0', nsB, 'eth0');
    lab.addr(nsP, 'eth0', `${P}/24`);
    lab.addr(nsB, 'eth0', `${B}/24`);
    bird = await startBird(lab, nsB, [
      'log stderr all;', `router id ${B};`, 'protocol device { }',
      'protocol bfd {', '  interface "eth0" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };', `  neighbor ${P} dev "eth0";`, '}',
    ].join('\n') + '\n', { name: 'birdbfd' });
    petrel = lab.spawn('bfdpeer', nsP, process.execPath, ['--import', 'tsx', TOOL, '--local', P, '--peer', B, '--tx', '100', '--rx', '100', '--mult', '3'], { cwd: ROOT });
  });
  after(async () => { await lab?.destroy(); });

  it('comes Up with 100 ms × 3 negotiated, sent from a source port in 49152–65535', async () => {
    await waitFor('Petrel\'s session Up', () => events(petrel).some((e) => e.to === 'Up'), 20_000, 100);
    await waitFor('BIRD\'s session Up at 100 ms', () => {
      const s = birdBfd(bird, P);
      return s?.state === 'Up' && s.interval === '0.100' && s.timeout === '0.300';
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

  it('detects a cut (BFD dropped in Petrel\'s namespace) with diag 1; BIRD hears Down; both come back when it is lifted', async () => {
    const before = events(petrel).length;
    nsExec(nsP, 'nft', ['add', 'table', 'inet', 'petrelbfd']);
    nsExec(nsP, 'nft', ['add', 'chain', 'inet', 'petrelbfd', 'in', '{', 'type', 'filter', 'hook', 'input', 'priority', '0', ';', '}']);
    nsExec(nsP, 'nft', ['add', 'rule', 'inet', 'petrelbfd', 'in', 'udp', 'dport', '3784', 'drop']);
    await waitFor('Petrel to declare the session Down', () => events(petrel).slice(before).some((e) => e.to === 'Down'), 10_000, 50);
    const down = events(petrel).slice(before).find((e) => e.to === 'Down')!;
    assert.equal(down.from, 'Up');
    assert.equal(down.diag, 1, 'Control Detection Time Expired');
    await waitFor('BIRD to see the session Down', () => birdBfd(bird, P)?.state !== 'Up', 10_000, 100);
    nsExec(nsP, 'nft', ['delete', 'table', 'inet', 'petrelbfd']);
    await waitFor('Petrel Up again', () => events(petrel).slice(before).some((e) => e.to === 'Up'), 20_000, 100);
    await waitFor('BIRD Up again', () => birdBfd(bird, P)?.state === 'Up', 20_000, 100);
  });
});
