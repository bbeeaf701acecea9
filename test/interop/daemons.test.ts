/**
 * The daemon launchers of test/helpers/daemons.ts, proven against each other before they judge
 * Petrel: BIRD↔FRR (iBGP, IPv4 and IPv6), GoBGP↔BIRD (eBGP), ExaBGP→BIRD (a generic attribute
 * makes a malformed ORIGIN that BIRD treats as withdraw), and the raw sender→BIRD (an UPDATE
 * without ORIGIN). If one of these fails, the Petrel interop failures next to it are not Petrel's.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab, isRoot, waitFor } from '../../src/lab/netns.js';
import {
  captureBgp, daemonsInstalled, lan, startBird, startExabgp, startFrr, startGobgp, startRawPeer,
  waitEstablished, waitNoRoute, waitRoute, type BirdDaemon, type LanNode,
} from '../helpers/daemons.js';

const skip = !isRoot() ? 'needs root for network namespaces' : !daemonsInstalled().ok ? `missing ${daemonsInstalled().missing.join(', ')}` : false;

describe('daemon launchers', { skip, timeout: 120_000 }, () => {
  let lab: NetnsLab;
  let n: Record<string, LanNode>;
  let bird: BirdDaemon;

  before(async () => {
    lab = new NetnsLab();
    n = lan(lab, ['bird', 'frr', 'gobgp', 'exa', 'raw']);
    bird = await startBird(lab, n.bird.ns, {
      routerId: n.bird.v4, asn: 64512, originate: ['198.18.1.0/24', '2001:db8:1::/48'],
      peers: [
        { name: 'frr4', address: n.frr.v4, asn: 64512 },
        { name: 'frr6', address: n.frr.v6, asn: 64512 },
        { name: 'gobgp', address: n.gobgp.v4, asn: 64513 },
        { name: 'exa', address: n.exa.v4, asn: 64514 },
        { name: 'raw', address: n.raw.v4, asn: 64515 },
      ],
    });
  });
  after(async () => { await lab?.destroy(); });

  it('BIRD and FRR reach Established over IPv4 and IPv6 and exchange routes both ways', async () => {
    const frr = await startFrr(lab, n.frr.ns, {
      routerId: n.frr.v4, asn: 64512, originate: ['203.0.113.0/24', '2001:db8:2::/48'],
      peers: [{ address: n.bird.v4, asn: 64512 }, { address: n.bird.v6, asn: 64512 }],
    });
    await Promise.all([waitEstablished(frr, n.bird.v4), waitEstablished(frr, n.bird.v6), waitEstablished(bird, n.frr.v4)]);
    const inBird = await waitRoute(bird, '203.0.113.0/24');
    assert.equal(inBird.nextHop, n.frr.v4);
    assert.deepEqual(inBird.asPath, []);
    const inBird6 = await waitRoute(bird, '2001:db8:2::/48');
    assert.equal(inBird6.nextHop, n.frr.v6);
    const inFrr = await waitRoute(frr, '198.18.1.0/24');
    assert.equal(inFrr.nextHop, n.bird.v4);
    assert.equal(inFrr.from, n.bird.v4);
    const inFrr6 = await waitRoute(frr, '2001:db8:1::/48');
    assert.equal(inFrr6.nextHop, n.bird.v6);
    assert.equal(frr.routeDetail('198.18.1.0/24')[0]?.localPref, 100);
  });

  it('GoBGP and BIRD reach Established over eBGP; a route added and deleted in GoBGP appears and disappears in BIRD', async () => {
    const gobgp = await startGobgp(lab, n.gobgp.ns, {
      routerId: n.gobgp.v4, asn: 64513, originate: ['203.0.113.64/26'], peers: [{ address: n.bird.v4, asn: 64512 }],
    });
    await waitEstablished(gobgp, n.bird.v4);
    const r = await waitRoute(bird, '203.0.113.64/26');
    assert.deepEqual(r.asPath, [64513]);
    assert.equal(r.nextHop, n.gobgp.v4);
    const back = await waitRoute(gobgp, '198.18.1.0/24');
    assert.deepEqual(back.asPath, [64512]);
    gobgp.withdraw('203.0.113.64/26');
    await waitNoRoute(bird, '203.0.113.64/26');
  });

  it('ExaBGP announces through its API, and BIRD treats a 2-byte ORIGIN from it as a withdrawal', async () => {
    const exa = await startExabgp(lab, n.exa.ns, {
      routerId: n.exa.v4, asn: 64514, neighbors: [{ address: n.bird.v4, asn: 64512, localAddress: n.exa.v4 }],
    });
    await waitEstablished(bird, n.exa.v4);
    exa.send('announce route 203.0.113.128/26 next-hop self community [64514:7]');
    const r = await waitRoute(bird, '203.0.113.128/26');
    assert.deepEqual(r.communities, ['64514:7']);
    exa.send('announce route 203.0.113.192/26 next-hop self attribute [0x01 0x40 0x0000]');
    await waitFor('BIRD to log the malformed ORIGIN', () => /Malformed ORIGIN/.test(bird.log()), 10_000);
    assert.ok(!bird.routes('ipv4').some((x) => x.prefix === '203.0.113.192/26'));
    assert.equal(bird.protocol('exa')?.bgpState, 'Established');
  });

  it('the raw sender sends an UPDATE without ORIGIN, and BIRD drops the route but keeps the session', async () => {
    const raw = await startRawPeer(lab, n.raw.ns, { peer: n.bird.v4, localAddress: n.raw.v4, asn: 64515, routerId: n.raw.v4 });
    await waitFor('raw peer established', () => raw.events().some((e) => e.event === 'established'), 15_000);
    // UPDATE: no withdrawn; attributes AS_PATH [64515] (4-octet) and NEXT_HOP; NLRI 203.0.113.32/27.
    const nh = n.raw.v4.split('.').map((x) => Number(x).toString(16).padStart(2, '0')).join('');
    const attrs = '40020602010000fbc3' + '400304' + nh;
    const body = '0000' + (attrs.length / 2).toString(16).padStart(4, '0') + attrs + '1bcb007120';
    raw.sendHex('ff'.repeat(16) + (19 + body.length / 2).toString(16).padStart(4, '0') + '02' + body);
    await waitFor('raw peer to send', () => raw.events().some((e) => e.event === 'sent'), 10_000);
    await waitFor('BIRD to report the missing attribute', () => /Missing mandatory ORIGIN/i.test(bird.log()), 10_000);
    assert.ok(!bird.routes('ipv4').some((x) => x.prefix === '203.0.113.32/27'));
    assert.equal(bird.protocol('raw')?.bgpState, 'Established');
  });

  it('the wire capture finds the NOTIFICATION 2/2 BIRD sends to a peer whose AS it does not expect, over IPv4 and IPv6', async () => {
    const lab2 = new NetnsLab();
    try {
      const m = lan(lab2, ['a', 'b']);
      const cap = await captureBgp(lab2, m.b.ns);
      await Promise.all([
        startBird(lab2, m.a.ns, { routerId: m.a.v4, asn: 64512, peers: [{ name: 'b4', address: m.b.v4, asn: 64999 }, { name: 'b6', address: m.b.v6, asn: 64999 }] }, { name: 'a' }),
        startBird(lab2, m.b.ns, { routerId: m.b.v4, asn: 64513, peers: [{ name: 'a4', address: m.a.v4, asn: 64512 }, { name: 'a6', address: m.a.v6, asn: 64512 }] }, { name: 'b' }),
      ]);
      const seen = await waitFor('2/2 from a to b on both sessions', () => {
        const xs = cap.notifications().filter((x) => x.code === 2 && x.subcode === 2 && x.dst !== m.a.v4 && x.dst !== m.a.v6);
        return new Set(xs.map((x) => x.src)).size === 2 ? xs : undefined;
      }, 20_000, 200);
      assert.deepEqual(new Set(seen.map((x) => `${x.src}>${x.dst}`)), new Set([`${m.a.v4}>${m.b.v4}`, `${m.a.v6}>${m.b.v6}`]));
    } finally {
      await lab2.destroy();
    }
  });
});
