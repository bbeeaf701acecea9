/**
 * Issue 13 C: a peer with a large table going down must not freeze the speaker. Petrel (AS 64512)
 * learns PETREL_BULK_PREFIXES /32s (default 1M, see below) from a bulk sender (test/helpers/daemons/
 * bulkpeer.ts, eBGP AS 64530) and passes them to a bystander BIRD 2 (eBGP AS 64531) whose session
 * runs with a hold time of 3 s (keepalive 1 s, both sides). Then the bulk sender's process is killed:
 * its TCP connection closes and Petrel withdraws every prefix from the bystander.
 *
 * Before the fix the removal ran in one piece, superlinear in the table (1M: 1.1 s, 3M: 21-27 s of
 * frozen event loop), and the bystander got Hold Timer Expired from Petrel. Asserted here:
 * - the bystander's session stays Established on both sides throughout (polled every 250 ms, and
 *   no flap counted by Petrel, no error recorded by BIRD);
 * - the bystander receives every withdrawal (BIRD's imported count reaches 0);
 * - the longest single piece of RIB work Petrel measured (`rib.longestSliceCpuMs` of `petrel status`,
 *   CPU time, so other load on the machine does not inflate it) stayed under 100 ms. Petrel's
 *   event-loop lag measured from outside was tried first; on this shared 2-core machine (load 5-9
 *   from other jobs) preemption alone put its p99 near 100 ms, so the CPU bound is what is asserted.
 *
 * Size: 1M prefixes keep the test near 40 s on this machine (load, export to BIRD, withdrawal); 3M
 * took over two minutes, most of it loading, so it runs only with PETREL_BULK_PREFIXES=3000000.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { NetnsLab, waitFor } from '../../src/lab/netns.js';
import {
  lan, makeDir, startBird, startBulkPeer, startPetrel, waitEstablished, writeTableFile,
  type BirdDaemon, type BulkPeer, type LanNode, type PetrelDaemon,
} from '../helpers/daemons.js';
import { PETREL_AS, petrelSkip, withLogs } from './scenario.js';

const N = Math.min(4_000_000, Math.max(1000, Number(process.env.PETREL_BULK_PREFIXES ?? 1_000_000)));
const BULK_AS = 64530;
const BYSTANDER_AS = 64531;
const FIRST = (100 << 24 | 64 << 16) >>> 0; // 100.64.0.0, the /32s of 100.64.0.0/10

describe(`a peer with ${N} prefixes going down while a bystander has a 3 s hold time`, { skip: petrelSkip(), timeout: 300_000 }, () => {
  let lab: NetnsLab;
  let n: Record<string, LanNode>;
  let petrel: PetrelDaemon;
  let bird: BirdDaemon;
  let bulk: BulkPeer | undefined;
  const all = () => [petrel, bird, bulk];

  before(async () => {
    lab = new NetnsLab();
    n = lan(lab, ['p', 'b', 'y']);
    petrel = await startPetrel(lab, n.p.ns, {
      asn: PETREL_AS, routerId: n.p.v4, listen: { address: n.p.v4, port: 179 }, connectRetryTime: 1,
      peers: [
        { address: n.b.v4, asn: BULK_AS, families: ['ipv4'], passive: true, holdTime: 90 },
        { address: n.y.v4, asn: BYSTANDER_AS, families: ['ipv4'], holdTime: 3, keepaliveTime: 1 },
      ],
    });
    bird = await startBird(lab, n.y.ns, {
      routerId: n.y.v4, asn: BYSTANDER_AS, verbose: false,
      peers: [{ address: n.p.v4, asn: PETREL_AS, holdTime: 3, families: ['ipv4'] }],
    }, { name: 'bystander' });
    await waitEstablished(petrel, n.y.v4);
  });
  after(async () => { await lab?.destroy(); });

  const bystander = () => petrel.status().peers.find((p) => p.address === n.y.v4);
  const imported = () => bird.protocol(bird.peers()[0]?.name ?? '')?.imported ?? -1;

  it('loads the table and passes it to the bystander', () => withLogs(all(), async () => {
    const file = join(makeDir(lab, 'table'), 'table.bin');
    writeTableFile(file, { first: FIRST, count: N, asn: BULK_AS, nextHop: n.b.v4 });
    bulk = await startBulkPeer(lab, n.b.ns, { peer: n.p.v4, localAddress: n.b.v4, asn: BULK_AS, routerId: n.b.v4, tableFile: file });
    await waitFor(`petrel holds ${N} prefixes`, () => Number(petrel.status().peers.find((p) => p.address === n.b.v4)?.received ?? 0) === N, 180_000, 500);
    await waitFor(`the bystander imported ${N} routes`, () => imported() === N, 180_000, 500);
    console.log(`# loaded: ${JSON.stringify(petrel.status().rib)}`);
  }));

  it('withdraws them all from the bystander, whose session stays up, in slices', () => withLogs(all(), async () => {
    const flapsBefore = Number(bystander()?.flaps ?? 0);
    await bulk?.stop();
    let checks = 0;
    await waitFor('the bystander has no route left', () => {
      // Both ends of the bystander's session, every poll: a drop in between would show as a flap.
      const st = bystander();
      assert.equal(st?.state, 'Established', `petrel's session with the bystander: ${st?.info}`);
      const proto = bird.protocol(bird.peers()[0]?.name ?? '');
      assert.equal(proto?.bgpState, 'Established', `BIRD's session: ${proto?.info} ${proto?.lastError ?? ''}`);
      checks++;
      return imported() === 0;
    }, 180_000, 250);
    const st = petrel.status() as unknown as { peers: Array<{ address: string; flaps: number; received: number }>; rib: { prefixes: number; longestSliceMs: number; longestSliceCpuMs: number } };
    const y = st.peers.find((p) => p.address === n.y.v4);
    assert.equal(y?.flaps, flapsBefore, 'the bystander never went down');
    assert.equal(st.rib.prefixes, 0);
    assert.equal(bird.protocol(bird.peers()[0]?.name ?? '')?.lastError, undefined, 'BIRD recorded no error');
    assert.ok(checks > 0);
    console.log(`# withdrawn: ${JSON.stringify(st.rib)}`);
    assert.ok(st.rib.longestSliceCpuMs < 100, `longest RIB slice ${st.rib.longestSliceCpuMs} ms CPU (${st.rib.longestSliceMs} ms wall)`);
  }));
});
