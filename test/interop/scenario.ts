/**
 * The interop scenario run against each real daemon (bird.test.ts, gobgp.test.ts, frr.test.ts):
 * Petrel (AS 64512) in one namespace, and three instances of the daemon on the same L2 segment —
 *   I: iBGP (AS 64512), one IPv4 and one IPv6 session;
 *   E: eBGP (AS 64513), one IPv4 and one IPv6 session;
 *   W: AS 64514, which Petrel is configured to expect as AS 64599 (so Petrel must send 2/2).
 * The sessions come up in parallel; each test then checks one claim of issue 2 from both sides:
 * what the daemon's own CLI reports and what `petrel status/routes --json` reports.
 *
 * Petrel has no config reload, so "Petrel withdraws" is proven where Petrel must send a withdrawal
 * on its own: a route learned from I and passed to E disappears from E when I withdraws it (IPv4
 * withdrawn routes and IPv6 MP_UNREACH), and SIGTERM closes every session with a Cease.
 *
 * Everything waits by bounded polling; daemon timers are lowered (hold 9 s, keepalive 3 s).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab, isRoot, waitFor } from '../../src/lab/netns.js';
import {
  birdConfig, captureBgp, daemonsInstalled, lan, petrelSpeakerAvailable, startBird, startFrr, startGobgp, startPetrel,
  waitEstablished, waitNoRoute, waitRoute,
  type BgpCapture, type BirdDaemon, type Daemon, type DaemonSpec, type FrrDaemon, type GobgpDaemon, type LanNode, type PetrelDaemon,
} from '../helpers/daemons.js';

export type DaemonKind = 'bird' | 'gobgp' | 'frr';
export const LABEL: Record<DaemonKind, string> = { bird: 'BIRD 2', gobgp: 'GoBGP 3', frr: 'FRR 8' };
export const PETREL_AS = 64512;

/** Why the Petrel interop tests cannot run here, or false. Only a missing speaker command skips for Petrel. */
export function petrelSkip(): string | false {
  if (!isRoot()) return 'needs root for network namespaces';
  const d = daemonsInstalled();
  if (!d.ok) return `missing ${d.missing.join(', ')}`;
  if (!petrelSpeakerAvailable()) return 'petrel speaker not available (dist/cli.js has no speaker command; run npm run build)';
  return false;
}

export async function startDaemon(kind: DaemonKind, lab: NetnsLab, node: LanNode, spec: DaemonSpec, name: string): Promise<Daemon> {
  if (kind === 'bird') return startBird(lab, node.ns, spec, { name });
  if (kind === 'frr') return startFrr(lab, node.ns, spec, { name });
  return startGobgp(lab, node.ns, { ...spec, listen: [node.v4, node.v6] }, { name });
}

/** Stops originating `prefix` the daemon's own way (BIRD reconfigure, FRR `no network`, GoBGP API). */
export function daemonWithdraw(d: Daemon, spec: DaemonSpec, prefix: string): void {
  spec.originate = (spec.originate ?? []).filter((p) => p !== prefix);
  const fam = prefix.includes(':') ? 'ipv6' : 'ipv4';
  if (d.kind === 'bird') (d as BirdDaemon).reconfigure(birdConfig(spec));
  else if (d.kind === 'frr') (d as FrrDaemon).vtysh('configure terminal', `router bgp ${spec.asn}`, `address-family ${fam} unicast`, `no network ${prefix}`);
  else (d as GobgpDaemon).withdraw(prefix);
}

/** Appends the tail of every log to an assertion failure, so a CI failure explains itself. */
export async function withLogs(ds: Array<Daemon | undefined>, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const logs = ds.filter((d): d is Daemon => d !== undefined)
      .map((d) => `--- ${d.kind} ${d.name} (last lines) ---\n${d.log().split('\n').slice(-25).join('\n')}`).join('\n');
    (e as Error).message += `\n${logs}`;
    throw e;
  }
}

export function daemonSuite(kind: DaemonKind): void {
  const skip = petrelSkip();
  describe(`Petrel with ${LABEL[kind]} as its peer`, { skip, timeout: 240_000 }, () => {
    let lab: NetnsLab;
    let n: Record<string, LanNode>;
    let petrel: PetrelDaemon;
    let dI: Daemon;
    let dE: Daemon;
    let dW: Daemon;
    let specI: DaemonSpec;
    let capW: BgpCapture;
    let capE: BgpCapture;
    const all = () => [petrel, dI, dE, dW];

    before(async () => {
      lab = new NetnsLab();
      n = lan(lab, ['p', 'i', 'e', 'w']);
      // What Petrel sends to W and E, read off the wire: proof that does not depend on the daemon.
      [capW, capE] = await Promise.all([captureBgp(lab, n.w.ns), captureBgp(lab, n.e.ns)]);
      const peerSpecs = (x: LanNode) => [
        { name: 'p4', address: n.p.v4, asn: PETREL_AS, localAddress: x.v4 },
        { name: 'p6', address: n.p.v6, asn: PETREL_AS, localAddress: x.v6 },
      ];
      specI = { routerId: n.i.v4, asn: PETREL_AS, originate: ['198.18.10.0/24', '2001:db8:10::/48'], peers: peerSpecs(n.i) };
      const specE: DaemonSpec = { routerId: n.e.v4, asn: 64513, originate: ['198.18.20.0/24', '2001:db8:20::/48'], peers: peerSpecs(n.e) };
      const specW: DaemonSpec = { routerId: n.w.v4, asn: 64514, originate: ['198.18.30.0/24'], peers: [peerSpecs(n.w)[0]] };
      [dI, dE, dW, petrel] = await Promise.all([
        startDaemon(kind, lab, n.i, specI, `${kind}i`),
        startDaemon(kind, lab, n.e, specE, `${kind}e`),
        startDaemon(kind, lab, n.w, specW, `${kind}w`),
        startPetrel(lab, n.p.ns, {
          asn: PETREL_AS, routerId: n.p.v4, listen: { address: '::', port: 179 },
          holdTime: 9, keepaliveTime: 3, connectRetryTime: 1, logLevel: 'info',
          originate: ['203.0.113.0/24', '2001:db8:1::/48'],
          peers: [
            { address: n.i.v4, asn: PETREL_AS, families: ['ipv4'] },
            { address: n.i.v6, asn: PETREL_AS, families: ['ipv6'] },
            { address: n.e.v4, asn: 64513, families: ['ipv4'] },
            { address: n.e.v6, asn: 64513, families: ['ipv6'] },
            // Passive: FRR records a NOTIFICATION only on the connection it opened itself (one that it
            // accepts and that never reaches Established lives in a shadow peer its JSON does not show).
            { address: n.w.v4, asn: 64599, families: ['ipv4'], passive: true },
          ],
        }),
      ]);
    });
    after(async () => { await lab?.destroy(); });

    it(`reaches Established with ${LABEL[kind]} over iBGP and eBGP, on IPv4 and IPv6 sessions`, () => withLogs(all(), async () => {
      await Promise.all([
        ...[n.i.v4, n.i.v6, n.e.v4, n.e.v6].map((a) => waitEstablished(petrel, a)),
        waitEstablished(dI, n.p.v4), waitEstablished(dI, n.p.v6), waitEstablished(dE, n.p.v4), waitEstablished(dE, n.p.v6),
      ]);
      const st = petrel.status();
      assert.equal(st.peers.find((p) => p.address === n.e.v4)?.type, 'eBGP');
      assert.equal(st.peers.find((p) => p.address === n.i.v4)?.type, 'iBGP');
    }));

    it(`announces its IPv4 and IPv6 prefixes to ${LABEL[kind]} with its own address as next hop and the right AS path`, () => withLogs(all(), async () => {
      const i4 = await waitRoute(dI, '203.0.113.0/24');
      assert.equal(i4.nextHop, n.p.v4);
      assert.deepEqual(i4.asPath, []);
      assert.equal(i4.localPref, 100);
      const i6 = await waitRoute(dI, '2001:db8:1::/48');
      assert.equal(i6.nextHop, n.p.v6);
      assert.deepEqual(i6.asPath, []);
      const e4 = await waitRoute(dE, '203.0.113.0/24');
      assert.equal(e4.nextHop, n.p.v4);
      assert.deepEqual(e4.asPath, [PETREL_AS]);
      const e6 = await waitRoute(dE, '2001:db8:1::/48');
      assert.equal(e6.nextHop, n.p.v6);
      assert.deepEqual(e6.asPath, [PETREL_AS]);
    }));

    it(`shows the prefixes of ${LABEL[kind]} in petrel routes --json, and passes them on by the iBGP/eBGP rules`, () => withLogs(all(), async () => {
      const fromI = await waitRoute(petrel, '198.18.10.0/24');
      assert.equal(fromI.nextHop, n.i.v4);
      assert.deepEqual(fromI.asPath, []);
      assert.equal(fromI.from, n.i.v4);
      const fromI6 = await waitRoute(petrel, '2001:db8:10::/48');
      assert.equal(fromI6.nextHop, n.i.v6);
      const fromE = await waitRoute(petrel, '198.18.20.0/24');
      assert.equal(fromE.nextHop, n.e.v4);
      assert.deepEqual(fromE.asPath, [64513]);
      const fromE6 = await waitRoute(petrel, '2001:db8:20::/48');
      assert.equal(fromE6.nextHop, n.e.v6);
      assert.deepEqual(fromE6.asPath, [64513]);
      // eBGP-learned → iBGP peer: next hop self, AS path kept.
      const eToI = await waitRoute(dI, '198.18.20.0/24');
      assert.equal(eToI.nextHop, n.p.v4);
      assert.deepEqual(eToI.asPath, [64513]);
      // iBGP-learned → eBGP peer: our AS prepended, next hop self.
      const iToE = await waitRoute(dE, '198.18.10.0/24');
      assert.equal(iToE.nextHop, n.p.v4);
      assert.deepEqual(iToE.asPath, [PETREL_AS]);
      const iToE6 = await waitRoute(dE, '2001:db8:10::/48');
      assert.deepEqual(iToE6.asPath, [PETREL_AS]);
      // The peer configured with the wrong AS never got a route in.
      assert.ok(!petrel.routes('ipv4').some((r) => r.prefix === '198.18.30.0/24'));
    }));

    it(`drops a prefix ${LABEL[kind]} withdraws, and withdraws it in turn from its other peer (IPv4 and IPv6)`, () => withLogs(all(), async () => {
      await waitRoute(dE, '198.18.10.0/24');
      await waitRoute(dE, '2001:db8:10::/48');
      daemonWithdraw(dI, specI, '198.18.10.0/24');
      daemonWithdraw(dI, specI, '2001:db8:10::/48');
      await Promise.all([
        waitNoRoute(petrel, '198.18.10.0/24'), waitNoRoute(petrel, '2001:db8:10::/48'),
        waitNoRoute(dE, '198.18.10.0/24'), waitNoRoute(dE, '2001:db8:10::/48'),
      ]);
      // The rest is untouched.
      await waitRoute(dE, '203.0.113.0/24');
      await waitRoute(petrel, '198.18.20.0/24');
    }));

    it(`answers the wrong AS in the OPEN of ${LABEL[kind]} with NOTIFICATION 2/2 (Bad Peer AS), which the daemon reports`, () => withLogs(all(), async () => {
      const seen = await waitFor(`${kind} to report a Bad Peer AS NOTIFICATION`, () => {
        const p = dW.peers().find((x) => x.address === n.p.v4);
        const text = p?.lastError ?? '';
        const ok = kind === 'gobgp'
          ? /NOTIFICATIONs received: [1-9]/.test(text) && (!/last code/.test(text) || /last code 2 subcode 2/.test(text))
          : /bad peer as/i.test(text);
        return ok ? text : undefined;
      }, 30_000, 300);
      assert.ok(seen);
      const onWire = await waitFor('the NOTIFICATION from Petrel on the wire', () => {
        const xs = capW.notifications().filter((x) => x.src === n.p.v4 && x.dst === n.w.v4);
        return xs.length > 0 ? xs : undefined;
      }, 5_000, 100);
      assert.deepEqual(onWire.map((x) => [x.code, x.subcode]), onWire.map(() => [2, 2]));
      const w = petrel.peers().find((p) => p.address === n.w.v4);
      assert.notEqual(w?.state, 'Established');
      assert.match(w?.lastError ?? '', /peer as|2\/2|bad/i);
    }));

    it(`lets its hold timer expire when ${LABEL[kind]} is frozen (SIGSTOP) and comes back after SIGCONT`, () => withLogs(all(), async () => {
      await waitEstablished(petrel, n.i.v4);
      dI.freeze();
      try {
        const down = await waitFor('Petrel to leave Established with the frozen peer', () => {
          const p = petrel.peers().find((x) => x.address === n.i.v4);
          return p && !p.established ? p : undefined;
        }, 25_000, 250);
        assert.match(down.lastError ?? '', /hold/i);
      } finally {
        dI.thaw();
      }
      await Promise.all([waitEstablished(petrel, n.i.v4, 45_000), waitEstablished(petrel, n.i.v6, 45_000)]);
      await waitRoute(dI, '203.0.113.0/24', () => true, 30_000);
    }));

    it('closes every session with a Cease on SIGTERM and exits 0', () => withLogs(all(), async () => {
      await waitEstablished(dE, n.p.v4);
      const code = await petrel.terminate();
      assert.equal(code, 0);
      // The first sample after the close: a second later BIRD's own reconnect attempt ("Connection
      // refused", Petrel is gone) replaces its last error, and on a loaded machine a re-read can see that.
      const closed = await waitFor(`${kind} to see the session closed`, () => {
        const p = dE.peers().find((x) => x.address === n.p.v4);
        return p && !p.established ? p : undefined;
      }, 15_000, 250);
      const text = closed.lastError ?? '';
      assert.match(text, kind === 'gobgp' ? /NOTIFICATIONs received: [1-9]/ : /shutdown|cease/i);
      await waitNoRoute(dE, '203.0.113.0/24', 10_000);
      // Cease (6) / Administrative Shutdown (2), RFC 4486 §4, on both sessions.
      await capE.stop();
      const cease = capE.notifications().filter((x) => x.src === n.p.v4 || x.src === n.p.v6);
      assert.deepEqual(new Set(cease.map((x) => `${x.src} ${x.code}/${x.subcode}`)), new Set([`${n.p.v4} 6/2`, `${n.p.v6} 6/2`]));
    }));
  });
}
