/**
 * Issue 12 items 1–2 with BIRD 2 as the peer: a peer that comes up AFTER Petrel started — and later
 * restarts — is taken the moment it calls, not after Petrel's idle hold.
 *
 * Petrel starts first; its one connection attempt to BIRD is refused and its session falls to Idle
 * with the IdleHoldTimer running. That hold is set to 60 s here, so nothing but BIRD's own
 * connection (BIRD connects 1 s after it starts: `connect delay time 1`) can bring the session up
 * within the test: the proof is in Petrel's events, not in a clock — the Established session is the
 * connection BIRD opened (outbound: false), taken while Petrel's FSM was Idle with the hold running.
 * Before issue 12 Petrel closed that connection (RFC 4271 §8.2.2 Idle) and the session waited for
 * the hold to expire (5 s by default, doubling to 120 s with each flap).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab } from '../../src/lab/netns.js';
import { startBird, startPetrel, waitEstablished, waitRoute, type BirdDaemon, type DaemonSpec, type PetrelDaemon } from '../helpers/daemons.js';
import { petrelSkip, PETREL_AS, withLogs } from './scenario.js';
import { waitFor } from '../../src/lab/netns.js';

const BIRD_AS = 64513;
const P = '198.51.100.10';
const B = '198.51.100.11';

/** Petrel's JSON log lines with `msg`. */
function logLines(petrel: PetrelDaemon, msg: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of petrel.log().split('\n')) {
    if (!line.startsWith('{') || !line.includes(msg)) continue;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (o.msg === msg) out.push(o);
    } catch {
      // a line cut by the buffer: not ours to judge
    }
  }
  return out;
}

describe('a BIRD 2 peer that comes up after Petrel, and restarts', { skip: petrelSkip(), timeout: 120_000 }, () => {
  let lab: NetnsLab;
  let nsP: string;
  let nsB: string;
  let petrel: PetrelDaemon;
  let bird: BirdDaemon | undefined;
  const spec: DaemonSpec = {
    routerId: B, asn: BIRD_AS, originate: ['198.18.50.0/24'], verbose: false,
    peers: [{ address: P, asn: PETREL_AS, localAddress: B, holdTime: 9 }],
  };

  before(async () => {
    lab = new NetnsLab();
    nsP = lab.addNs('p');
    nsB = lab.addNs('b');
    lab.veth(nsP, 'eth0', nsB, 'eth0');
    lab.addr(nsP, 'eth0', `${P}/24`);
    lab.addr(nsB, 'eth0', `${B}/24`);
    petrel = await startPetrel(lab, nsP, {
      asn: PETREL_AS, routerId: P, listen: { address: P, port: 179 },
      holdTime: 9, keepaliveTime: 3, connectRetryTime: 60, idleHoldTime: 60, idleHoldMaxTime: 120, logLevel: 'info',
      originate: ['203.0.113.0/24'],
      peers: [{ address: B, asn: BIRD_AS, families: ['ipv4'], localAddress: P }],
    }, { name: 'petrelret' });
  });
  after(async () => { await lab?.destroy(); });

  it('is taken while Petrel is Idle in its idle hold, on the connection BIRD opened', () => withLogs([petrel, bird], async () => {
    // Petrel's first attempt is refused (nothing listens yet): Idle, with a 60 s idle hold.
    await waitFor('Petrel\'s refused first attempt', () => petrel.log().includes('BGP_TCP_CONNECT_FAILED'), 20_000, 100);
    assert.equal(petrel.status().peers[0].state, 'Idle');
    bird = await startBird(lab, nsB, spec, { name: 'birdret' });
    await Promise.all([waitEstablished(petrel, B, 30_000), waitEstablished(bird, P, 30_000)]);
    // Petrel's log reaches us through a pipe: wait for the lines, bounded.
    await waitFor('Petrel\'s log of the established session', () => logLines(petrel, 'session established').length === 1, 10_000, 100);
    const accepted = logLines(petrel, 'incoming connection accepted');
    assert.equal(accepted.length, 1, JSON.stringify(accepted));
    assert.equal(accepted[0].state, 'Idle');
    assert.equal(accepted[0].idleHolding, true);
    const est = logLines(petrel, 'session established');
    assert.equal(est.length, 1);
    assert.equal(est[0].outbound, false, 'the session runs on the connection BIRD opened');
    // Petrel made exactly one connection attempt of its own (the refused one): its idle hold never ran out.
    assert.equal(logLines(petrel, 'incoming connection refused').length, 0);
    await waitRoute(petrel, '198.18.50.0/24');
    await waitRoute(bird, '203.0.113.0/24');
  }));

  it('after BIRD restarts (Cease on its SIGTERM), its new connection is taken in Idle again', () => withLogs([petrel, bird], async () => {
    assert.ok(bird);
    await bird.stop();
    await waitFor('Petrel to see the session go down', () => petrel.status().peers[0].state !== 'Established', 20_000, 100);
    bird = await startBird(lab, nsB, spec, { name: 'birdret2' });
    await Promise.all([waitEstablished(petrel, B, 30_000), waitEstablished(bird, P, 30_000)]);
    await waitFor('Petrel\'s log of the second established session', () => logLines(petrel, 'session established').length === 2, 10_000, 100);
    const accepted = logLines(petrel, 'incoming connection accepted');
    assert.equal(accepted.length, 2, JSON.stringify(accepted));
    assert.equal(accepted[1].state, 'Idle');
    const est = logLines(petrel, 'session established');
    assert.equal(est.length, 2);
    assert.equal(est[1].outbound, false);
    await waitRoute(petrel, '198.18.50.0/24');
  }));
});
