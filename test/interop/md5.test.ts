/**
 * TCP-MD5 (RFC 2385) against BIRD 2 (`password "…"` on the protocol), with `petrel speaker` and its
 * per-peer `password`, in namespaces. One BIRD and one Petrel; each case is its own pair of
 * addresses, because Linux holds one key per remote address on a listening socket (a second
 * protocol to the same neighbour with another password would overwrite the first one's key):
 *
 *   case          Petrel                  BIRD                    keys
 *   active v4     .10 connects            .11 `passive on`        same
 *   passive v4    .20 listens on `::`     .21 connects            same (IPv4-mapped key on Petrel's side)
 *   passive v6    ::a listens             ::b connects            same
 *   wrong, act.   .30 connects            .31 `passive on`        different
 *   wrong, pas.   .40 listens             .41 connects            different
 *
 * The wrong cases are judged by positive, bounded events: both kernels count segments with a bad
 * signature (TCPMD5Failure in each namespace's /proc/net/netstat) while the good sessions are up.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab, waitFor } from '../../src/lab/netns.js';
import {
  birdConfig, nsExec, startBird, startPetrel, waitEstablished,
  type BirdDaemon, type PetrelConfig, type PetrelDaemon, type PeerSpec,
} from '../helpers/daemons.js';
import { petrelSkip, PETREL_AS, withLogs } from './scenario.js';

const BIRD_AS = 64513;
const V4 = (h: number) => `198.51.100.${h}`;
const P6 = '2001:db8:100::a';
const B6 = '2001:db8:100::b';

interface Case { name: string; petrel: string; bird: string; petrelKey: string; birdKey: string; petrelPassive: boolean }
const CASES: Case[] = [
  { name: 'act4', petrel: V4(10), bird: V4(11), petrelKey: 'md5-act4-Kq9', birdKey: 'md5-act4-Kq9', petrelPassive: false },
  { name: 'pas4', petrel: V4(20), bird: V4(21), petrelKey: 'md5-pas4-Zx3', birdKey: 'md5-pas4-Zx3', petrelPassive: true },
  { name: 'pas6', petrel: P6, bird: B6, petrelKey: 'md5-pas6-Wv7', birdKey: 'md5-pas6-Wv7', petrelPassive: true },
  { name: 'bada', petrel: V4(30), bird: V4(31), petrelKey: 'petrel-says-Aa1', birdKey: 'bird-says-Bb2', petrelPassive: false },
  { name: 'badp', petrel: V4(40), bird: V4(41), petrelKey: 'petrel-says-Cc3', birdKey: 'bird-says-Dd4', petrelPassive: true },
];
const good = CASES.filter((c) => c.petrelKey === c.birdKey);
const bad = CASES.filter((c) => c.petrelKey !== c.birdKey);

function md5Failures(ns: string): number {
  const lines = nsExec(ns, 'cat', ['/proc/net/netstat']).split('\n').filter((l) => l.startsWith('TcpExt:'));
  const i = lines[0].split(/\s+/).indexOf('TCPMD5Failure');
  return Number(lines[1].split(/\s+/)[i]);
}

/** BIRD config: one protocol per case; `password` is not in the shared builder, so it is added here. */
function birdConf(): string {
  const peers: PeerSpec[] = CASES.map((c) => ({
    name: c.name, address: c.petrel, asn: PETREL_AS, localAddress: c.bird, passive: !c.petrelPassive, holdTime: 9,
  }));
  let text = birdConfig({ routerId: V4(11), asn: BIRD_AS, originate: ['198.18.40.0/24'], peers, verbose: false });
  for (const c of CASES) {
    text = text.replace(`protocol bgp ${c.name} {\n`, `protocol bgp ${c.name} {\n  password "${c.birdKey}";\n`);
  }
  return text;
}

describe('TCP-MD5 sessions between Petrel and BIRD 2', { skip: petrelSkip(), timeout: 60_000 }, () => {
  let lab: NetnsLab;
  let nsP: string;
  let nsB: string;
  let bird: BirdDaemon;
  let petrel: PetrelDaemon;

  before(async () => {
    lab = new NetnsLab();
    nsP = lab.addNs('p');
    nsB = lab.addNs('b');
    lab.veth(nsP, 'eth0', nsB, 'eth0');
    for (const c of CASES) {
      const len = c.petrel.includes(':') ? 64 : 24;
      lab.addr(nsP, 'eth0', `${c.petrel}/${len}`);
      lab.addr(nsB, 'eth0', `${c.bird}/${len}`);
    }
    const cfg: PetrelConfig = {
      asn: PETREL_AS, routerId: V4(10), listen: { address: '::', port: 179 },
      holdTime: 9, keepaliveTime: 3, connectRetryTime: 1, logLevel: 'debug',
      originate: ['203.0.113.0/24'],
      peers: CASES.map((c) => ({
        address: c.bird, asn: BIRD_AS, families: [c.bird.includes(':') ? 'ipv6' : 'ipv4'],
        passive: c.petrelPassive, localAddress: c.petrel, password: c.petrelKey,
      } as PetrelConfig['peers'][number])),
    };
    [bird, petrel] = await Promise.all([startBird(lab, nsB, birdConf(), { name: 'birdmd5' }), startPetrel(lab, nsP, cfg, { name: 'petrelmd5' })]);
  });
  after(async () => { await lab?.destroy(); });

  it('reaches Established with matching passwords, Petrel active (BIRD passive on) and Petrel passive, over IPv4 and IPv6', () => withLogs([petrel, bird], async () => {
    await Promise.all(good.flatMap((c) => [waitEstablished(petrel, c.bird, 30_000), waitEstablished(bird, c.petrel, 30_000)]));
    // The kernel's own view (INET_DIAG_MD5SIG): each of Petrel's connections holds its peer's key.
    // (`ss -e` also prints the key itself to privileged users, so its text is never echoed here.)
    const ss = nsExec(nsP, 'ss', ['-tnie', 'state', 'established']).split('\n');
    for (const c of good) {
      const i = ss.findIndex((l) => l.includes(c.petrel) && l.includes(c.bird));
      assert.ok(i >= 0, `${c.name}: a TCP connection ${c.petrel} ↔ ${c.bird}`);
      assert.ok(ss[i + 1]?.includes(`md5keys:${c.bird}/`), `${c.name}: the connection is signed with a key for ${c.bird}`);
    }
    // Routes flow over the signed sessions: BIRD's prefix reached Petrel.
    await waitFor('198.18.40.0/24 at Petrel', () => petrel.routeRows().some((r) => r.prefix === '198.18.40.0/24'), 20_000, 250);
  }));

  it('stays down with a wrong password in either direction, while both kernels drop the badly signed segments', () => withLogs([petrel, bird], async () => {
    const before = { p: md5Failures(nsP), b: md5Failures(nsB) };
    // Petrel's SYNs to BIRD (bada) fail in BIRD's kernel; BIRD's SYNs to Petrel (badp) in Petrel's.
    await waitFor('TCPMD5Failure in both namespaces', () => md5Failures(nsB) > before.b && md5Failures(nsP) > before.p, 20_000, 250);
    for (const c of bad) {
      const mine = petrel.peers().find((p) => p.address === c.bird);
      assert.ok(mine, `petrel has peer ${c.bird}`);
      assert.notEqual(mine.state, 'Established', `petrel ${c.name}`);
      assert.match(mine.state, /^(Idle|Connect|Active)$/, `petrel ${c.name} never got past TCP`);
      const theirs = bird.protocol(c.name);
      assert.ok(theirs, `bird has protocol ${c.name}`);
      assert.notEqual(theirs.bgpState, 'Established', `bird ${c.name}`);
    }
    // The good sessions stayed up all along.
    for (const c of good) assert.ok(petrel.peers().find((p) => p.address === c.bird)?.established, `${c.name} still Established`);
  }));

  it('never writes a password to its log', () => {
    const log = petrel.log();
    assert.ok(log.includes('TCP-MD5'), 'the log says TCP-MD5 is on');
    for (const c of CASES) assert.ok(!log.includes(c.petrelKey), `${c.name}: key absent from the log`);
  });
});
