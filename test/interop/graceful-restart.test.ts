/**
 * Graceful Restart (RFC 4724) against BIRD 2, both ways, in network namespaces on one L2 segment:
 *
 * a) Petrel restarts, BIRD (`graceful restart on`) helps: Petrel's SIGTERM closes the session
 *    without a NOTIFICATION (checked on the wire), BIRD keeps Petrel's prefixes while Petrel is away
 *    (polled, none may go missing), Petrel comes back with one prefix fewer and, after its
 *    End-of-RIB, BIRD has exactly the new set. The same again after SIGKILL.
 * b) BIRD restarts, Petrel helps: BIRD is killed with SIGKILL, Petrel keeps BIRD's prefixes stale
 *    (its status says how many); BIRD comes back (`bird -R`, graceful restart recovery) with one
 *    prefix fewer and, after BIRD's End-of-RIB, Petrel has exactly the new set. Killed again and
 *    never restarted, BIRD's prefixes leave Petrel at the restart time BIRD advertised.
 *
 * No timing assertion: every wait is bounded polling; the durations measured are logged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab, waitFor } from '../../src/lab/netns.js';
import {
  birdConfig, birdName, captureBgp, lan, startBird, startPetrel, waitEstablished,
  type BgpCapture, type BirdDaemon, type DaemonSpec, type LanNode, type PetrelConfig, type PetrelDaemon,
} from '../helpers/daemons.js';
import { petrelSkip, PETREL_AS, withLogs } from './scenario.js';

const BIRD_AS = 64513;
const P_PREFIXES = ['198.18.40.0/24', '198.18.41.0/24', '198.18.42.0/24'];
const B_PREFIXES = ['198.18.50.0/24', '198.18.51.0/24', '198.18.52.0/24'];
/** Restart time BIRD advertises (seconds): short, so the "never returns" case is quick. */
const BIRD_RESTART_TIME = 4;

/** BIRD's config with graceful restart on for its session with Petrel. */
function birdGrConfig(spec: DaemonSpec): string {
  return birdConfig(spec).replace('connect delay time 1;', `connect delay time 1; graceful restart on; graceful restart time ${BIRD_RESTART_TIME};`);
}

function kill9(pid: number): void {
  try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
}

describe('graceful restart (RFC 4724) with BIRD 2', { skip: petrelSkip(), timeout: 300_000 }, () => {
  let lab: NetnsLab;
  let n: Record<string, LanNode>;
  let bird: BirdDaemon;
  let petrel: PetrelDaemon;
  let cap: BgpCapture;
  let birdSpec: DaemonSpec;
  let generation = 0;
  const logs = () => [petrel, bird];

  const petrelConfig = (originate: string[], restarting: boolean): PetrelConfig => ({
    asn: PETREL_AS, routerId: n.p.v4, listen: { address: '::', port: 179 },
    holdTime: 9, keepaliveTime: 3, connectRetryTime: 1, logLevel: 'info', idleHoldTime: 1, idleHoldMaxTime: 2,
    originate,
    gracefulRestart: { enabled: true, restartTime: 60, restarting },
    peers: [{ address: n.b.v4, asn: BIRD_AS, families: ['ipv4'] }],
  });
  const startP = (originate: string[], restarting: boolean) => startPetrel(lab, n.p.ns, petrelConfig(originate, restarting), { name: `petrel${generation++}` });
  const startB = (originate: string[], recovery: boolean) =>
    startBird(lab, n.b.ns, birdGrConfig({ ...birdSpec, originate }), { name: `bird${generation++}`, args: recovery ? ['-R'] : [] });

  /** Petrel's prefixes as BIRD has them (from the Petrel session), sorted. */
  const inBird = () => bird.routes('ipv4').filter((r) => r.from === birdName(n.p.v4)).map((r) => r.prefix).sort();
  /** BIRD's prefixes as Petrel has them, sorted. */
  const inPetrel = (p: PetrelDaemon) => p.routes('ipv4').filter((r) => r.from === n.b.v4).map((r) => r.prefix).sort();

  /**
   * Polls `present` every 200 ms until `done` is true (bounded), counting the samples where what
   * should stay did not. Returns the misses and how long it watched.
   */
  async function watchKept(present: () => boolean, done: () => boolean, timeoutMs: number): Promise<{ misses: number; samples: number; ms: number }> {
    const t0 = Date.now();
    let misses = 0;
    let samples = 0;
    for (;;) {
      samples++;
      if (!present()) misses++;
      if (done()) return { misses, samples, ms: Date.now() - t0 };
      if (Date.now() - t0 > timeoutMs) throw new Error(`still waiting after ${timeoutMs} ms (${samples} samples, ${misses} misses)`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  before(async () => {
    lab = new NetnsLab();
    n = lan(lab, ['p', 'b']);
    cap = await captureBgp(lab, n.b.ns);
    birdSpec = { routerId: n.b.v4, asn: BIRD_AS, originate: B_PREFIXES, peers: [{ address: n.p.v4, asn: PETREL_AS, localAddress: n.b.v4, families: ['ipv4'] }] };
    [bird, petrel] = await Promise.all([startB(B_PREFIXES, false), startP(P_PREFIXES, false)]);
  });
  after(async () => { await lab?.destroy(); });

  it('negotiates graceful restart with BIRD and exchanges routes', () => withLogs(logs(), async () => {
    await Promise.all([waitEstablished(petrel, n.b.v4), waitEstablished(bird, n.p.v4)]);
    await waitFor('BIRD to learn Petrel\'s prefixes', () => inBird().length === 3, 30_000, 250);
    await waitFor('Petrel to learn BIRD\'s prefixes', () => inPetrel(petrel).length === 3, 30_000, 250);
    const st = petrel.status().peers[0] as { gracefulRestart?: { negotiated: boolean; peerRestartTime: number } };
    assert.equal(st.gracefulRestart?.negotiated, true);
    assert.equal(st.gracefulRestart?.peerRestartTime, BIRD_RESTART_TIME);
    assert.match(bird.protocol(birdName(n.p.v4))?.raw ?? '', /Graceful restart/i);
  }));

  it('a) Petrel stopped by SIGTERM sends no NOTIFICATION (BIRD 2.0 sets no N bit); BIRD keeps its prefixes until Petrel is back, then has exactly the new set', () => withLogs(logs(), async () => {
    const before = cap.notifications().filter((x) => x.src === n.p.v4).length;
    assert.equal(await petrel.terminate(), 0);
    const t0 = Date.now();
    await waitFor('BIRD to see the session go', () => !bird.peers().find((p) => p.address === n.p.v4)?.established, 15_000, 200);
    assert.deepEqual(inBird(), P_PREFIXES, 'BIRD still has all three');
    // Away for a few seconds (a rolling update's gap), watching that nothing goes missing.
    const away = await watchKept(() => inBird().length === 3, () => Date.now() - t0 > 3_000, 10_000);
    petrel = await startP(P_PREFIXES.slice(0, 2), true);
    const back = await watchKept(() => inBird().includes(P_PREFIXES[0]) && inBird().includes(P_PREFIXES[1]),
      () => bird.peers().find((p) => p.address === n.p.v4)?.established === true && inBird().length === 2, 30_000);
    console.log(`# a) SIGTERM: BIRD kept Petrel's prefixes for ${((Date.now() - t0) / 1000).toFixed(1)} s; missing in ${away.misses + back.misses} of ${away.samples + back.samples} samples`);
    assert.equal(away.misses + back.misses, 0, 'no prefix Petrel kept announcing went missing in BIRD');
    assert.deepEqual(inBird(), P_PREFIXES.slice(0, 2));
    await cap.stop().catch(() => {});
    assert.equal(cap.notifications().filter((x) => x.src === n.p.v4).length, before, 'no NOTIFICATION from Petrel on the wire');
  }));

  it('a) after SIGKILL too, BIRD keeps Petrel\'s prefixes and converges on the restarted Petrel\'s set', () => withLogs(logs(), async () => {
    await waitEstablished(bird, n.p.v4);
    kill9(petrel.pid);
    const t0 = Date.now();
    await waitFor('BIRD to see the session go', () => !bird.peers().find((p) => p.address === n.p.v4)?.established, 30_000, 200);
    const away = await watchKept(() => inBird().length === 2, () => Date.now() - t0 > 2_000, 10_000);
    petrel = await startP([P_PREFIXES[0]], true);
    const back = await watchKept(() => inBird().includes(P_PREFIXES[0]),
      () => bird.peers().find((p) => p.address === n.p.v4)?.established === true && inBird().length === 1, 30_000);
    console.log(`# a) SIGKILL: BIRD kept Petrel's prefixes for ${((Date.now() - t0) / 1000).toFixed(1)} s; missing in ${away.misses + back.misses} samples`);
    assert.equal(away.misses + back.misses, 0);
    assert.deepEqual(inBird(), [P_PREFIXES[0]]);
  }));

  it('b) BIRD killed with SIGKILL: Petrel keeps its prefixes stale, and after BIRD\'s End-of-RIB has exactly the new set', () => withLogs(logs(), async () => {
    await waitEstablished(petrel, n.b.v4);
    await waitFor('Petrel to have BIRD\'s three prefixes', () => inPetrel(petrel).length === 3, 30_000, 250);
    kill9(bird.pid);
    const t0 = Date.now();
    await waitFor('Petrel to see the session go (TCP reset or hold timer)', () => {
      const st = petrel.status().peers[0] as { state: string; gracefulRestart?: { phase: string; stalePaths: number } };
      return st.state !== 'Established' && st.gracefulRestart?.phase === 'restarting' ? st : undefined;
    }, 30_000, 200);
    const st = petrel.status().peers[0] as { info?: string; gracefulRestart?: { stalePaths: number } };
    assert.equal(st.gracefulRestart?.stalePaths, 3);
    assert.match(st.info ?? '', /Graceful restart: 3 stale paths/);
    const kept = inPetrel(petrel);
    assert.deepEqual(kept, B_PREFIXES);
    bird = await startB(B_PREFIXES.slice(0, 2), true);
    const back = await watchKept(() => inPetrel(petrel).includes(B_PREFIXES[0]) && inPetrel(petrel).includes(B_PREFIXES[1]),
      () => petrel.status().peers[0].state === 'Established' && inPetrel(petrel).length === 2, 60_000);
    console.log(`# b) Petrel kept BIRD's prefixes for ${((Date.now() - t0) / 1000).toFixed(1)} s across BIRD's restart; missing in ${back.misses} of ${back.samples} samples`);
    assert.equal(back.misses, 0);
    assert.deepEqual(inPetrel(petrel), B_PREFIXES.slice(0, 2));
    const after = petrel.status().peers[0] as { gracefulRestart?: { stalePaths: number; phase: string } };
    assert.equal(after.gracefulRestart?.stalePaths, 0);
    assert.equal(after.gracefulRestart?.phase, 'none');
  }));

  it('b) BIRD killed and never restarted: its prefixes leave Petrel at the restart time it advertised', () => withLogs(logs(), async () => {
    await waitFor('Petrel to have BIRD\'s prefixes', () => petrel.status().peers[0].state === 'Established' && inPetrel(petrel).length === 2, 30_000, 250);
    kill9(bird.pid);
    const t0 = Date.now();
    await waitFor('Petrel to hold them stale', () => (petrel.status().peers[0] as { gracefulRestart?: { phase: string } }).gracefulRestart?.phase === 'restarting', 30_000, 200);
    const tDown = Date.now();
    // While Petrel says it is waiting for BIRD (and its connection attempts keep failing), both
    // prefixes stay; once its restart time is over they go.
    const phase = () => (petrel.status().peers[0] as { gracefulRestart?: { phase: string } }).gracefulRestart?.phase;
    // Routes first, then the phase: a timer firing between the two reads is not a miss.
    const watch = await watchKept(() => {
      const n = inPetrel(petrel).length;
      return n === 2 || phase() !== 'restarting';
    }, () => phase() === 'none', 30_000);
    assert.equal(watch.misses, 0, 'nothing removed before the restart timer fired');
    await waitFor('the stale prefixes to be removed', () => inPetrel(petrel).length === 0, 30_000, 200);
    console.log(`# b) never returned: stale for ${((Date.now() - tDown) / 1000).toFixed(1)} s after the session dropped (${((Date.now() - t0) / 1000).toFixed(1)} s after the kill; restart time ${BIRD_RESTART_TIME} s)`);
    const st = petrel.status().peers[0] as { gracefulRestart?: { stalePaths: number } };
    assert.equal(st.gracefulRestart?.stalePaths, 0);
  }));
});
