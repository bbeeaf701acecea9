/**
 * Issue 13 B against a real sender: ExaBGP 4.2 (eBGP, AS 64540) announces more IPv4 prefixes than
 * Petrel's `maxPrefixes` for it (limit 3, warning at 50 %, restart after 3 s). Petrel must close the
 * session with Cease subcode 1 whose data is AFI 1, SAFI 1 and the limit (RFC 4486 §4) — asserted on
 * the wire (tcpdump in ExaBGP's namespace) and as ExaBGP received it — drop the routes, show the
 * limit in `petrel status`, and bring the session back after the restart interval.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab, waitFor } from '../../src/lab/netns.js';
import {
  captureBgp, lan, startExabgp, startPetrel, waitEstablished, waitRoute,
  type BgpCapture, type ExabgpDaemon, type LanNode, type PetrelDaemon,
} from '../helpers/daemons.js';
import { PETREL_AS, petrelSkip, withLogs } from './scenario.js';

const X_AS = 64540;

describe('Petrel closing an ExaBGP session above maxPrefixes', { skip: petrelSkip(), timeout: 180_000 }, () => {
  let lab: NetnsLab;
  let n: Record<string, LanNode>;
  let petrel: PetrelDaemon;
  let x: ExabgpDaemon;
  let cap: BgpCapture;
  const all = () => [petrel, x];
  const peer = () => petrel.status().peers.find((p) => p.address === n.x.v4);

  before(async () => {
    lab = new NetnsLab();
    n = lan(lab, ['p', 'x']);
    cap = await captureBgp(lab, n.x.ns);
    petrel = await startPetrel(lab, n.p.ns, {
      asn: PETREL_AS, routerId: n.p.v4, listen: { address: n.p.v4, port: 179 }, holdTime: 9, keepaliveTime: 3, connectRetryTime: 1,
      peers: [{ address: n.x.v4, asn: X_AS, families: ['ipv4'], passive: true, maxPrefixes: { limit: 3, warningPercent: 50, restartAfterSeconds: 3 } }],
    });
    x = await startExabgp(lab, n.x.ns, { routerId: n.x.v4, asn: X_AS, neighbors: [{ address: n.p.v4, asn: PETREL_AS, localAddress: n.x.v4 }] });
    await waitEstablished(petrel, n.x.v4);
  });
  after(async () => { await lab?.destroy(); });

  it('takes up to the limit, then sends Cease 1 with AFI 1, SAFI 1, limit 3 and drops the routes', () => withLogs(all(), async () => {
    x.send('announce route 198.18.1.0/24 next-hop self', 'announce route 198.18.2.0/24 next-hop self', 'announce route 198.18.3.0/24 next-hop self');
    await waitRoute(petrel, '198.18.3.0/24');
    await waitRoute(petrel, '198.18.1.0/24');
    assert.match(String(peer()?.info), /prefixes ipv4 3\/3/);
    assert.equal(peer()?.state, 'Established');
    x.send('announce route 198.18.4.0/24 next-hop self');
    const got = await waitFor('ExaBGP to receive a NOTIFICATION', () => x.notificationsReceived()[0], 20_000);
    assert.deepEqual([got.code, got.subcode], [6, 1]);
    const wire = await waitFor('the NOTIFICATION on the wire', () => cap.notifications().find((w) => w.src === n.p.v4), 10_000, 100);
    assert.deepEqual([wire.code, wire.subcode], [6, 1]);
    // RFC 4486 §4: AFI 0x0001, SAFI 0x01, upper bound 0x00000003.
    assert.equal(wire.data, '00010100000003');
    await waitFor('Petrel drops the routes', () => petrel.routeRows().length === 0, 15_000, 200);
    const st = peer();
    assert.match(String(st?.info), /NOTIFICATION sent 6\/1/);
    assert.match(String(st?.info), /maximum prefixes \(3 ipv4\) exceeded/);
    assert.equal(petrel.proc.child.exitCode, null);
  }));

  it('lets the session come back after restartAfterSeconds', () => withLogs(all(), async () => {
    // ExaBGP replays its four routes when it reconnects, so take one out first: the session must then settle.
    x.send('withdraw route 198.18.4.0/24 next-hop self');
    await waitEstablished(petrel, n.x.v4, 60_000);
    await waitRoute(petrel, '198.18.2.0/24', () => true, 20_000);
    assert.equal(peer()?.maxPrefixesExceeded, null);
  }));
});
