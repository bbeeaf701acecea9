/**
 * Issue 2, "Done when" 5: malformed UPDATEs from real senders, answered per RFC 7606.
 *   x — ExaBGP 4.2 (eBGP, AS 64520): a generic `attribute [code flags hex]` replaces the attribute
 *       of the same code, so it sends a 2-byte ORIGIN, an AS_PATH whose segment overruns, and an
 *       MP_REACH_NLRI with a /33;
 *   r — the raw sender of test/helpers/daemons.ts (eBGP, AS 64521) for what ExaBGP cannot send: an
 *       UPDATE without ORIGIN, and a /33 in the plain NLRI field.
 * Each case first installs the prefix with a clean UPDATE, then sends the malformed one: a
 * treat-as-withdraw must remove the prefix and keep the session; a session reset must send the
 * NOTIFICATION the RFCs name. Petrel keeps running throughout and counts the errors per peer
 * (`attributeProblems` in /status).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab, waitFor } from '../../src/lab/netns.js';
import {
  captureBgp, lan, startExabgp, startPetrel, startRawPeer, waitEstablished, waitNoRoute, waitRoute,
  type BgpCapture, type ExabgpDaemon, type LanNode, type PetrelDaemon, type RawPeer,
} from '../helpers/daemons.js';
import { PETREL_AS, petrelSkip, withLogs } from './scenario.js';

const X_AS = 64520;
const R_AS = 64521;

const h8 = (n: number) => n.toString(16).padStart(2, '0');
const h16 = (n: number) => n.toString(16).padStart(4, '0');
const h32 = (n: number) => n.toString(16).padStart(8, '0');
const ipv4Hex = (a: string) => a.split('.').map((x) => h8(Number(x))).join('');
const attr = (flags: number, type: number, value: string) => h8(flags) + h8(type) + h8(value.length / 2) + value;
/** NLRI encoding of an IPv4 prefix (RFC 4271 §4.3): length byte, then the significant octets. */
const nlri = (prefix: string) => {
  const [a, len] = prefix.split('/');
  return h8(Number(len)) + ipv4Hex(a).slice(0, Math.ceil(Number(len) / 8) * 2);
};
/** A whole UPDATE message (RFC 4271 §4.3) from hex parts. */
const update = (attrs: string, nlriHex: string, withdrawn = '') => {
  const body = h16(withdrawn.length / 2) + withdrawn + h16(attrs.length / 2) + attrs + nlriHex;
  return 'ff'.repeat(16) + h16(19 + body.length / 2) + '02' + body;
};

describe('Petrel receiving malformed UPDATEs from ExaBGP and a raw sender', { skip: petrelSkip(), timeout: 180_000 }, () => {
  let lab: NetnsLab;
  let n: Record<string, LanNode>;
  let petrel: PetrelDaemon;
  let x: ExabgpDaemon;
  let raw: RawPeer;
  let capX: BgpCapture;
  const all = () => [petrel, x, raw];
  const problems = (addr: string) => Number(petrel.status().peers.find((p) => p.address === addr)?.attributeProblems ?? 0);
  const rawAttrs = () => attr(0x40, 1, '00') + attr(0x40, 2, '0201' + h32(R_AS)) + attr(0x40, 3, ipv4Hex(n.r.v4));

  before(async () => {
    lab = new NetnsLab();
    n = lan(lab, ['p', 'x', 'r']);
    capX = await captureBgp(lab, n.x.ns);
    petrel = await startPetrel(lab, n.p.ns, {
      asn: PETREL_AS, routerId: n.p.v4, listen: { address: n.p.v4, port: 179 }, holdTime: 9, keepaliveTime: 3, connectRetryTime: 1,
      peers: [
        { address: n.x.v4, asn: X_AS, families: ['ipv4'], passive: true },
        { address: n.r.v4, asn: R_AS, families: ['ipv4'], passive: true },
      ],
    });
    [x, raw] = await Promise.all([
      startExabgp(lab, n.x.ns, { routerId: n.x.v4, asn: X_AS, neighbors: [{ address: n.p.v4, asn: PETREL_AS, localAddress: n.x.v4 }] }),
      startRawPeer(lab, n.r.ns, { peer: n.p.v4, localAddress: n.r.v4, asn: R_AS, routerId: n.r.v4 }),
    ]);
    await Promise.all([waitEstablished(petrel, n.x.v4), waitEstablished(petrel, n.r.v4)]);
  });
  after(async () => { await lab?.destroy(); });

  it('learns clean routes from ExaBGP and from the raw sender', () => withLogs(all(), async () => {
    x.send('announce route 198.18.7.0/24 next-hop self', 'announce route 198.18.8.0/24 next-hop self', 'announce route 198.18.12.0/24 next-hop self');
    raw.sendHex(update(rawAttrs(), nlri('198.18.9.0/24')));
    const fromX = await waitRoute(petrel, '198.18.7.0/24');
    assert.deepEqual(fromX.asPath, [X_AS]);
    await waitRoute(petrel, '198.18.8.0/24');
    const fromR = await waitRoute(petrel, '198.18.9.0/24');
    assert.deepEqual(fromR.asPath, [R_AS]);
    assert.equal(fromR.nextHop, n.r.v4);
    assert.equal(problems(n.x.v4), 0);
    assert.equal(problems(n.r.v4), 0);
  }));

  it('treats an UPDATE whose ORIGIN has length 2 as a withdrawal, keeps the session and counts it (RFC 7606 §7.1)', () => withLogs(all(), async () => {
    x.send('announce route 198.18.7.0/24 next-hop self attribute [0x01 0x40 0x0000]');
    await waitNoRoute(petrel, '198.18.7.0/24', 15_000);
    await waitFor('the problem to be counted', () => problems(n.x.v4) >= 1, 5_000);
    assert.equal(petrel.peers().find((p) => p.address === n.x.v4)?.established, true);
    assert.deepEqual(x.notificationsReceived(), []);
    await waitRoute(petrel, '198.18.8.0/24');
  }));

  it('treats an AS_PATH whose segment overruns the attribute as a withdrawal and keeps the session (RFC 7606 §7.2)', () => withLogs(all(), async () => {
    const before = problems(n.x.v4);
    // AS_SEQUENCE announcing 5 four-octet ASNs but carrying one.
    x.send(`announce route 198.18.8.0/24 next-hop self attribute [0x02 0x40 0x0205${h32(X_AS)}]`);
    await waitNoRoute(petrel, '198.18.8.0/24', 15_000);
    await waitFor('the problem to be counted', () => problems(n.x.v4) > before, 5_000);
    assert.equal(petrel.peers().find((p) => p.address === n.x.v4)?.established, true);
    assert.deepEqual(x.notificationsReceived(), []);
    await waitRoute(petrel, '198.18.12.0/24');
  }));

  it('treats an UPDATE missing the mandatory ORIGIN as a withdrawal and keeps the session (RFC 7606 §3 d)', () => withLogs(all(), async () => {
    const noOrigin = attr(0x40, 2, '0201' + h32(R_AS)) + attr(0x40, 3, ipv4Hex(n.r.v4));
    raw.sendHex(update(noOrigin, nlri('198.18.9.0/24')));
    await waitNoRoute(petrel, '198.18.9.0/24', 15_000);
    await waitFor('the problem to be counted', () => problems(n.r.v4) >= 1, 5_000);
    assert.deepEqual(raw.notifications(), []);
    assert.equal(petrel.peers().find((p) => p.address === n.r.v4)?.established, true);
  }));

  it('resets the session with NOTIFICATION 3/10 for a /33 in the NLRI field (RFC 4271 §6.3, RFC 7606 §5.3) and keeps running', () => withLogs(all(), async () => {
    raw.sendHex(update(rawAttrs(), '21' + ipv4Hex('198.18.10.0') + '00'));
    const got = await waitFor('the raw sender to receive a NOTIFICATION', () => raw.notifications()[0], 15_000);
    assert.deepEqual(got, { code: 3, subcode: 10 });
    await waitFor('Petrel to leave Established with the raw sender', () => petrel.peers().find((p) => p.address === n.r.v4 && !p.established), 15_000);
    // Still running: the API answers and the other session is untouched.
    assert.equal(petrel.proc.child.exitCode, null);
    assert.equal(petrel.peers().find((p) => p.address === n.x.v4)?.established, true);
    await waitRoute(petrel, '198.18.12.0/24');
  }));

  it('resets the session with an UPDATE Message Error for a /33 inside MP_REACH_NLRI from ExaBGP, and recovers once the route is withdrawn', () => withLogs(all(), async () => {
    const mp = `00010104${ipv4Hex(n.x.v4)}00` + '21' + ipv4Hex('198.18.11.0') + '00';
    x.send(`announce route 198.18.11.0/24 next-hop self attribute [0x0e 0x80 0x${mp}]`);
    const got = await waitFor('ExaBGP to receive a NOTIFICATION', () => x.notificationsReceived()[0], 15_000);
    // UPDATE Message Error; RFC 4760 §7 names Optional Attribute Error (9) for an incorrect
    // MP_REACH_NLRI, BIRD sends Invalid Network Field (10) for the same bytes: either is right.
    assert.equal(got.code, 3);
    assert.ok([9, 10].includes(got.subcode), `subcode ${got.subcode}`);
    // The same on the wire. ExaBGP replays its Adj-RIB-Out on every new session until the withdrawal
    // below, and Petrel takes its reconnection at once (issue 12), so the same NOTIFICATION may go
    // out more than once; never another one.
    const wire = await waitFor('the NOTIFICATION on the wire', () => {
      const xs = capX.notifications().filter((w) => w.src === n.p.v4);
      return xs.length > 0 ? xs : undefined;
    }, 5_000, 100);
    assert.deepEqual([...new Set(wire.map((w) => `${w.code}/${w.subcode}`))], [`${got.code}/${got.subcode}`]);
    // ExaBGP replays its Adj-RIB-Out after a reset: take the poison out, then the session must settle.
    x.send('withdraw route 198.18.11.0/24 next-hop self');
    await waitEstablished(petrel, n.x.v4, 60_000);
    await waitRoute(petrel, '198.18.12.0/24', () => true, 20_000);
    assert.equal(petrel.proc.child.exitCode, null);
    assert.ok(problems(n.x.v4) >= 2, `ExaBGP's errors are counted (got ${problems(n.x.v4)})`);
  }));
});
