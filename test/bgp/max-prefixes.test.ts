// maxPrefixes (issue 13 B): a peer that sends more prefixes of a family than its limit gets Cease
// subcode 1 with the RFC 4486 §4 data (AFI, SAFI, limit), its routes go, the session stays down for
// the restart interval and then comes back; the warning threshold is logged and counted once.
// In-process over loopback TCP, the peer being test/helpers/bgp-client.ts (so the NOTIFICATION's
// bytes are seen as sent). Every wait is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Speaker, maxPrefixesData, type SpeakerMetrics } from '../../src/bgp/speaker.js';
import { encodeUpdates } from '../../src/bgp/wire/index.js';
import { validateSpeakerConfig } from '../../src/bgp/config.js';
import { waitFor } from '../../src/lab/netns.js';
import { TestPeer } from '../helpers/bgp-client.js';

const CTX = { fourOctetAs: true, extendedMessage: false };

function announce(prefixes: string[], asn = 65001): Uint8Array[] {
  return encodeUpdates({ family: 'ipv4', attrs: { origin: 0, asPath: [{ type: 2, asns: [asn] }] }, nextHops: ['127.0.0.1'], nlri: prefixes, withdrawn: [] }, CTX);
}

function recordingMetrics(events: string[]): SpeakerMetrics {
  const noop = () => {};
  return {
    peersConfigured: noop, prefixesReceived: noop, prefixesAdvertised: noop, ribSize: noop, bestPathChanged: noop, connectionRejected: noop,
    session: () => ({ stateChanged: noop, updateReceived: noop, updateSent: noop, notificationReceived: noop, notificationSent: noop, attributeProblem: noop }),
    maxPrefixesEvent: (peer, family, event) => events.push(`${peer} ${family} ${event}`),
  } as SpeakerMetrics;
}

test('a peer above its IPv4 limit gets Cease 1 with AFI 1, SAFI 1 and the limit, stays down for restartAfterSeconds, then may come back', { timeout: 60_000 }, async () => {
  const events: string[] = [];
  const sp = new Speaker({ asn: 64512, routerId: '192.0.2.1', listen: { address: '127.0.0.1', port: 0 }, holdTime: 9, connectRetryTime: 1 }, { metrics: recordingMetrics(events) });
  const peers: TestPeer[] = [];
  try {
    sp.setPeers([{ address: '127.0.0.1', asn: 65001, passive: true, families: ['ipv4'], maxPrefixes: { ipv4: 5, warningPercent: 60, restartAfterSeconds: 2 } }]);
    await sp.start();
    const p = await TestPeer.connect({ host: '127.0.0.1', port: sp.listenPort as number, asn: 65001, routerId: '192.0.2.9' });
    peers.push(p);
    await p.established;

    for (const f of announce(['198.18.0.0/24', '198.18.1.0/24', '198.18.2.0/24'])) p.send(f);
    await waitFor('3 prefixes', () => sp.status().peers[0].received === 3, 10_000, 20);
    assert.deepEqual(events, ['127.0.0.1 ipv4 warning'], '3 of 5 is 60 %: warned');
    assert.match(sp.status().peers[0].info, /prefixes ipv4 3\/5/);
    for (const f of announce(['198.18.3.0/24', '198.18.4.0/24'])) p.send(f);
    await waitFor('5 prefixes', () => sp.status().peers[0].received === 5, 10_000, 20);
    assert.equal(sp.status().peers[0].state, 'Established', 'at the limit is allowed');
    assert.deepEqual(events, ['127.0.0.1 ipv4 warning'], 'warned once per session');

    for (const f of announce(['198.18.5.0/24', '198.18.6.0/24'])) p.send(f);
    await p.closed;
    assert.equal(p.notifications.length, 1);
    const n = p.notifications[0];
    assert.equal(n.code, 6, 'Cease');
    assert.equal(n.subcode, 1, 'Maximum Number of Prefixes Reached');
    // RFC 4486 §4: AFI (2 octets) 1 = IPv4, SAFI (1 octet) 1 = unicast, the upper bound (4 octets) 5.
    assert.deepEqual([...n.data], [0, 1, 1, 0, 0, 0, 5]);
    assert.deepEqual(events, ['127.0.0.1 ipv4 warning', '127.0.0.1 ipv4 exceeded']);
    await waitFor('its routes gone', () => sp.routes().length === 0, 10_000, 20);
    const st = sp.status().peers[0];
    assert.equal(st.received, 0);
    assert.equal(st.maxPrefixesExceeded?.family, 'ipv4');
    assert.equal(st.maxPrefixesExceeded?.limit, 5);
    assert.match(st.info, /NOTIFICATION sent 6\/1/);
    assert.match(st.info, /maximum prefixes \(5 ipv4\) exceeded, restart in \d s/);

    // Held down: a new connection is refused at once.
    const early = await TestPeer.connect({ host: '127.0.0.1', port: sp.listenPort as number, asn: 65001, routerId: '192.0.2.9' });
    peers.push(early);
    await early.closed;
    assert.equal(early.isEstablished, false);

    // After restartAfterSeconds the session is started again (passive: it waits for the peer).
    await waitFor('the hold-down to end', () => sp.status().peers[0].maxPrefixesExceeded === null, 10_000, 50);
    const again = await TestPeer.connect({ host: '127.0.0.1', port: sp.listenPort as number, asn: 65001, routerId: '192.0.2.9' });
    peers.push(again);
    await again.established;
    for (const f of announce(['198.18.0.0/24', '198.18.1.0/24', '198.18.2.0/24'])) again.send(f);
    await waitFor('3 prefixes again', () => sp.status().peers[0].received === 3, 10_000, 20);
    assert.deepEqual(events, ['127.0.0.1 ipv4 warning', '127.0.0.1 ipv4 exceeded', '127.0.0.1 ipv4 warning'], 'a new session warns again');
  } finally {
    for (const p of peers) p.close();
    await sp.stop();
  }
});

test('a limit on one family leaves the other unlimited, and without restartAfterSeconds the session stays down', { timeout: 60_000 }, async () => {
  const sp = new Speaker({ asn: 64512, routerId: '192.0.2.1', listen: { address: '127.0.0.1', port: 0 }, holdTime: 9, connectRetryTime: 1 });
  const peers: TestPeer[] = [];
  try {
    sp.setPeers([{ address: '127.0.0.1', asn: 65001, passive: true, families: ['ipv4', 'ipv6'], maxPrefixes: { ipv6: 1 } }]);
    await sp.start();
    const p = await TestPeer.connect({ host: '127.0.0.1', port: sp.listenPort as number, asn: 65001, routerId: '192.0.2.9', families: ['ipv4', 'ipv6'] });
    peers.push(p);
    await p.established;
    for (const f of announce(Array.from({ length: 50 }, (_, i) => `198.18.${i}.0/24`))) p.send(f);
    await waitFor('50 IPv4 prefixes', () => sp.status().peers[0].received === 50, 10_000, 20);
    const v6 = encodeUpdates({ family: 'ipv6', attrs: { origin: 0, asPath: [{ type: 2, asns: [65001] }] }, nextHops: ['2001:db8::9'], nlri: ['2001:db8:1::/48', '2001:db8:2::/48'], withdrawn: [] }, CTX);
    for (const f of v6) p.send(f);
    await p.closed;
    assert.deepEqual(p.notifications.map((n) => [n.code, n.subcode, ...n.data]), [[6, 1, 0, 2, 1, 0, 0, 0, 1]], 'AFI 2 (IPv6), SAFI 1, limit 1');
    await waitFor('routes gone', () => sp.routes().length === 0, 10_000, 20);
    assert.match(sp.status().peers[0].info, /down until reconfigured/);
    const later = await TestPeer.connect({ host: '127.0.0.1', port: sp.listenPort as number, asn: 65001, routerId: '192.0.2.9' });
    peers.push(later);
    await later.closed;
    assert.equal(later.isEstablished, false, 'still refused');
  } finally {
    for (const p of peers) p.close();
    await sp.stop();
  }
});

test('maxPrefixesData is the RFC 4486 §4 layout', () => {
  assert.deepEqual([...maxPrefixesData('ipv4', 0x01020304)], [0, 1, 1, 1, 2, 3, 4]);
  assert.deepEqual([...maxPrefixesData('ipv6', 4294967295)], [0, 2, 1, 255, 255, 255, 255]);
});

test('peers[].maxPrefixes in the standalone YAML: a number, or an object with the options', () => {
  const base = { asn: 64512, routerId: '192.0.2.1' };
  const peer = (maxPrefixes: unknown) => validateSpeakerConfig({ ...base, peers: [{ address: '192.0.2.2', asn: 65001, maxPrefixes }] }).peers[0].maxPrefixes;
  assert.deepEqual(peer(1000), { ipv4: 1000, ipv6: 1000 });
  assert.deepEqual(peer({ limit: 1000, ipv6: 10, warningPercent: 80, restartAfterSeconds: 300 }), { ipv4: 1000, ipv6: 10, warningPercent: 80, restartAfterSeconds: 300 });
  assert.deepEqual(peer({ ipv4: 7 }), { ipv4: 7 });
  assert.throws(() => peer(0), /peers\[0\]\.maxPrefixes/);
  assert.throws(() => peer({ warningPercent: 80 }), /peers\[0\]\.maxPrefixes: needs a limit/);
  assert.throws(() => peer({ limit: 5, warningPercent: 101 }), /peers\[0\]\.maxPrefixes\.warningPercent/);
  assert.throws(() => peer({ limit: 5, restart: 1 }), /peers\[0\]\.maxPrefixes/);
});
