/**
 * RFC 8538 (the N bit of graceful restart) against GoBGP 3 (`notification-enabled`): Petrel's
 * graceful stop sends Cease / Administrative Reset (not a Hard Reset) and GoBGP keeps Petrel's
 * prefixes until Petrel is back and has sent End-of-RIB; a peer removed from Petrel's configuration
 * gets a Hard Reset (Cease 6/9 carrying the Cease it stands for) and GoBGP drops Petrel's prefixes
 * at once, long before the 60 s restart time. NOTIFICATIONs are read off the wire.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab, waitFor } from '../../src/lab/netns.js';
import {
  captureBgp, lan, startGobgp, startPetrel, waitEstablished,
  type BgpCapture, type DaemonSpec, type GobgpDaemon, type LanNode, type PetrelConfig, type PetrelDaemon,
} from '../helpers/daemons.js';
import { petrelSkip, PETREL_AS, withLogs } from './scenario.js';

const GOBGP_AS = 64514;
const P_PREFIXES = ['198.18.60.0/24', '198.18.61.0/24'];

/** GoBGP with graceful restart (helper), the N bit, and per-family GR for IPv4 unicast. */
function gobgpGr(spec: DaemonSpec): DaemonSpec {
  return {
    ...spec,
    extra: [
      '  [neighbors.graceful-restart.config]', '    enabled = true', '    restart-time = 30', '    notification-enabled = true',
      '  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', '      afi-safi-name = "ipv4-unicast"',
      '    [neighbors.afi-safis.mp-graceful-restart.config]', '      enabled = true',
    ].join('\n'),
  };
}

describe('graceful restart notification (RFC 8538) with GoBGP 3', { skip: petrelSkip(), timeout: 240_000 }, () => {
  let lab: NetnsLab;
  let n: Record<string, LanNode>;
  let gobgp: GobgpDaemon;
  let petrel: PetrelDaemon;
  let cap: BgpCapture;
  let generation = 0;
  const logs = () => [petrel, gobgp];
  const config = (originate: string[], peers: boolean): PetrelConfig => ({
    asn: PETREL_AS, routerId: n.p.v4, listen: { address: '::', port: 179 },
    holdTime: 9, keepaliveTime: 3, connectRetryTime: 1, logLevel: 'info', idleHoldTime: 1, idleHoldMaxTime: 2,
    originate, gracefulRestart: { enabled: true, restartTime: 60 },
    peers: peers ? [{ address: n.g.v4, asn: GOBGP_AS, families: ['ipv4'] }] : [],
  });
  const fromPetrel = () => gobgp.routes('ipv4').filter((r) => P_PREFIXES.includes(r.prefix)).map((r) => r.prefix).sort();
  const sentByPetrel = () => cap.notifications().filter((x) => x.src === n.p.v4).map((x) => `${x.code}/${x.subcode}`);

  before(async () => {
    lab = new NetnsLab();
    n = lan(lab, ['p', 'g']);
    cap = await captureBgp(lab, n.g.ns);
    // The afi-safi comes from `extra` (with its mp-graceful-restart table), not from `families`.
    const spec = gobgpGr({ routerId: n.g.v4, asn: GOBGP_AS, peers: [{ address: n.p.v4, asn: PETREL_AS, localAddress: n.g.v4, families: [] }] });
    [gobgp, petrel] = await Promise.all([
      startGobgp(lab, n.g.ns, { ...spec, listen: [n.g.v4] }, { name: 'gobgp' }),
      startPetrel(lab, n.p.ns, config(P_PREFIXES, true), { name: `petrel${generation++}` }),
    ]);
  });
  after(async () => { await lab?.destroy(); });

  it('a graceful stop sends Cease / Administrative Reset and GoBGP keeps Petrel\'s prefixes until it is back with one fewer', () => withLogs(logs(), async () => {
    await Promise.all([waitEstablished(petrel, n.g.v4), waitEstablished(gobgp, n.p.v4)]);
    await waitFor('GoBGP to learn Petrel\'s prefixes', () => fromPetrel().length === 2, 30_000, 250);
    assert.equal(await petrel.terminate(), 0);
    const t0 = Date.now();
    await waitFor('the Cease on the wire', () => sentByPetrel().length > 0, 10_000, 100);
    assert.deepEqual(sentByPetrel(), ['6/4'], 'Administrative Reset, not a Hard Reset');
    let misses = 0;
    while (Date.now() - t0 < 3_000) {
      if (fromPetrel().length !== 2) misses++;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(misses, 0, 'GoBGP kept both prefixes while Petrel was away');
    petrel = await startPetrel(lab, n.p.ns, config([P_PREFIXES[0]], true), { name: `petrel${generation++}` });
    await waitEstablished(gobgp, n.p.v4, 45_000);
    await waitFor('GoBGP to have exactly the new set', () => fromPetrel().join() === P_PREFIXES[0], 30_000, 250);
    console.log(`# GoBGP kept Petrel's prefixes for ${((Date.now() - t0) / 1000).toFixed(1)} s across a graceful stop with the N bit`);
  }));

  it('a peer removed from the configuration gets a Hard Reset and GoBGP drops Petrel\'s prefixes at once', () => withLogs(logs(), async () => {
    await waitFor('GoBGP to have Petrel\'s prefix', () => fromPetrel().length === 1, 30_000, 250);
    const before = sentByPetrel().length;
    petrel.reload(config([P_PREFIXES[0]], false));
    await waitFor('the Hard Reset on the wire', () => sentByPetrel().length > before, 10_000, 100);
    assert.deepEqual(sentByPetrel().slice(before), ['6/9']);
    const t0 = Date.now();
    await waitFor('GoBGP to drop Petrel\'s prefix (its restart time is 60 s)', () => fromPetrel().length === 0, 15_000, 250);
    console.log(`# after the Hard Reset GoBGP dropped Petrel's prefix within ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }));
});
