/**
 * Issue 2, "Done when" 4: route reflection (RFC 4456) against real daemons.
 *   Petrel as the RR (cluster id 192.0.2.1) with clients b1, b2 (BIRD 2), f1 (FRR 8) and x (ExaBGP,
 *   which can put any CLUSTER_LIST on a route);
 *   Petrel (q) as a client of BIRD acting as RR (r, cluster id 192.0.2.2), with BIRD client b3.
 * Checked from the receiving daemons' own CLIs: ORIGINATOR_ID = the originating client's router id,
 * CLUSTER_LIST = [cluster id], next hop and AS path unchanged; a route carrying Petrel's own cluster
 * id is dropped and counted (status `loopsDropped`).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab, waitFor } from '../../src/lab/netns.js';
import {
  lan, startBird, startExabgp, startFrr, startPetrel, waitEstablished, waitRoute,
  type BirdDaemon, type ExabgpDaemon, type FrrDaemon, type LanNode, type PetrelDaemon,
} from '../helpers/daemons.js';
import { PETREL_AS, petrelSkip, withLogs } from './scenario.js';

const CLUSTER = '192.0.2.1';
const BIRD_CLUSTER = '192.0.2.2';

describe('Petrel in route reflection with BIRD 2, FRR 8 and ExaBGP', { skip: petrelSkip(), timeout: 180_000 }, () => {
  let lab: NetnsLab;
  let n: Record<string, LanNode>;
  let rr: PetrelDaemon;
  let q: PetrelDaemon;
  let b1: BirdDaemon;
  let b2: BirdDaemon;
  let b3: BirdDaemon;
  let r: BirdDaemon;
  let f1: FrrDaemon;
  let x: ExabgpDaemon;
  const all = () => [rr, q, b1, b2, b3, r, f1, x];

  before(async () => {
    lab = new NetnsLab();
    n = lan(lab, ['p', 'b1', 'b2', 'f1', 'x', 'r', 'q', 'b3']);
    const toRr = (c: LanNode) => [
      { name: 'rr4', address: n.p.v4, asn: PETREL_AS, localAddress: c.v4 },
      { name: 'rr6', address: n.p.v6, asn: PETREL_AS, localAddress: c.v6 },
    ];
    const timers = { holdTime: 9, keepaliveTime: 3, connectRetryTime: 1 };
    [rr, b1, b2, f1, x, r, q, b3] = await Promise.all([
      startPetrel(lab, n.p.ns, {
        asn: PETREL_AS, routerId: n.p.v4, clusterId: CLUSTER, listen: { address: '::', port: 179 }, ...timers,
        peers: [
          { address: n.b1.v4, asn: PETREL_AS, rrClient: true, families: ['ipv4'] },
          { address: n.b1.v6, asn: PETREL_AS, rrClient: true, families: ['ipv6'] },
          { address: n.b2.v4, asn: PETREL_AS, rrClient: true, families: ['ipv4'] },
          { address: n.b2.v6, asn: PETREL_AS, rrClient: true, families: ['ipv6'] },
          { address: n.f1.v4, asn: PETREL_AS, rrClient: true, families: ['ipv4'] },
          { address: n.x.v4, asn: PETREL_AS, rrClient: true, families: ['ipv4'], passive: true },
        ],
      }, { name: 'rr' }),
      startBird(lab, n.b1.ns, { routerId: n.b1.v4, asn: PETREL_AS, originate: ['198.18.1.0/24', '2001:db8:11::/48'], peers: toRr(n.b1) }, { name: 'b1' }),
      startBird(lab, n.b2.ns, { routerId: n.b2.v4, asn: PETREL_AS, originate: ['198.18.2.0/24'], peers: toRr(n.b2) }, { name: 'b2' }),
      startFrr(lab, n.f1.ns, { routerId: n.f1.v4, asn: PETREL_AS, originate: ['198.18.3.0/24'], peers: [{ address: n.p.v4, asn: PETREL_AS }] }, { name: 'f1' }),
      startExabgp(lab, n.x.ns, { routerId: n.x.v4, asn: PETREL_AS, neighbors: [{ address: n.p.v4, asn: PETREL_AS, localAddress: n.x.v4 }] }, { name: 'x' }),
      startBird(lab, n.r.ns, {
        routerId: n.r.v4, asn: PETREL_AS, clusterId: BIRD_CLUSTER,
        peers: [
          { name: 'q', address: n.q.v4, asn: PETREL_AS, localAddress: n.r.v4, rrClient: true },
          { name: 'b3', address: n.b3.v4, asn: PETREL_AS, localAddress: n.r.v4, rrClient: true },
        ],
      }, { name: 'r' }),
      startPetrel(lab, n.q.ns, {
        asn: PETREL_AS, routerId: n.q.v4, listen: { address: n.q.v4, port: 179 }, ...timers,
        originate: ['203.0.113.0/24'], peers: [{ address: n.r.v4, asn: PETREL_AS, families: ['ipv4'] }],
      }, { name: 'q' }),
      startBird(lab, n.b3.ns, {
        routerId: n.b3.v4, asn: PETREL_AS, originate: ['198.18.6.0/24'],
        peers: [{ name: 'r', address: n.r.v4, asn: PETREL_AS, localAddress: n.b3.v4 }],
      }, { name: 'b3' }),
    ]);
    await Promise.all([
      ...[n.b1.v4, n.b1.v6, n.b2.v4, n.b2.v6, n.f1.v4, n.x.v4].map((a) => waitEstablished(rr, a)),
      waitEstablished(q, n.r.v4),
    ]);
  });
  after(async () => { await lab?.destroy(); });

  it('reflects a BIRD client’s route to the other BIRD client and to the FRR client with ORIGINATOR_ID and CLUSTER_LIST set, next hop unchanged', () => withLogs(all(), async () => {
    const atB2 = await waitRoute(b2, '198.18.1.0/24');
    assert.equal(atB2.originatorId, n.b1.v4);
    assert.deepEqual(atB2.clusterList, [CLUSTER]);
    assert.equal(atB2.nextHop, n.b1.v4);
    assert.deepEqual(atB2.asPath, []);
    await waitRoute(f1, '198.18.1.0/24');
    const atF1 = await waitFor('FRR detail of 198.18.1.0/24', () => f1.routeDetail('198.18.1.0/24')[0], 10_000);
    assert.equal(atF1.originatorId, n.b1.v4);
    assert.deepEqual(atF1.clusterList, [CLUSTER]);
    assert.equal(atF1.nextHop, n.b1.v4);
    // IPv6 (MP_REACH) is reflected the same way.
    const v6 = await waitRoute(b2, '2001:db8:11::/48');
    assert.equal(v6.originatorId, n.b1.v4);
    assert.deepEqual(v6.clusterList, [CLUSTER]);
    assert.equal(v6.nextHop, n.b1.v6);
  }));

  it('reflects the FRR client’s route to both BIRD clients', () => withLogs(all(), async () => {
    for (const b of [b1, b2]) {
      const rt = await waitRoute(b, '198.18.3.0/24');
      assert.equal(rt.originatorId, n.f1.v4);
      assert.deepEqual(rt.clusterList, [CLUSTER]);
      assert.equal(rt.nextHop, n.f1.v4);
    }
    const inPetrel = await waitRoute(rr, '198.18.3.0/24');
    assert.equal(inPetrel.from, n.f1.v4);
  }));

  it('drops a route that arrives with its own cluster id in CLUSTER_LIST, counts it, and still reflects the client’s clean route', () => withLogs(all(), async () => {
    x.send(
      `announce route 198.18.4.0/24 next-hop self originator-id ${n.x.v4} cluster-list [ 192.0.2.77 ${CLUSTER} ]`,
      'announce route 198.18.5.0/24 next-hop self',
    );
    const clean = await waitRoute(b1, '198.18.5.0/24');
    assert.equal(clean.originatorId, n.x.v4);
    await waitFor('Petrel to count the looped route', () => (rr.status().peers.find((p) => p.address === n.x.v4)?.loopsDropped as number) > 0, 10_000);
    assert.ok(!rr.routes('ipv4').some((rt) => rt.prefix === '198.18.4.0/24'), 'the looped route is not in the Loc-RIB');
    assert.ok(!b1.routes('ipv4').some((rt) => rt.prefix === '198.18.4.0/24'), 'the looped route was not reflected');
    assert.equal(rr.peers().find((p) => p.address === n.x.v4)?.established, true);
  }));

  it('works as a client of BIRD acting as route reflector, both directions', () => withLogs(all(), async () => {
    const fromB3 = await waitRoute(q, '198.18.6.0/24');
    assert.equal(fromB3.originatorId, n.b3.v4);
    assert.deepEqual(fromB3.clusterList, [BIRD_CLUSTER]);
    assert.equal(fromB3.nextHop, n.b3.v4);
    const atB3 = await waitRoute(b3, '203.0.113.0/24');
    assert.equal(atB3.originatorId, n.q.v4);
    assert.deepEqual(atB3.clusterList, [BIRD_CLUSTER]);
    assert.equal(atB3.nextHop, n.q.v4);
  }));
});
