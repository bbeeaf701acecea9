// Issue 13 E: RFC 4760 §6 — a session exchanges routes only of the address families both OPENs
// carried. An IPv6 MP_REACH (or MP_UNREACH) on a session that negotiated IPv4 only is ignored: no
// route, no NOTIFICATION, the session stays up, and the problem is counted. Real bytes over loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Speaker } from '../../src/bgp/speaker.js';
import { encodeUpdates } from '../../src/bgp/wire/index.js';
import { waitFor } from '../../src/lab/netns.js';
import { TestPeer } from '../helpers/bgp-client.js';

const CTX = { fourOctetAs: true, extendedMessage: false };
const attrs = { origin: 0 as const, asPath: [{ type: 2 as const, asns: [65001] }] };

test('an IPv6 MP_REACH on a session that negotiated IPv4 only is ignored, the session stays up', { timeout: 60_000 }, async () => {
  const sp = new Speaker({ asn: 64512, routerId: '192.0.2.1', listen: { address: '127.0.0.1', port: 0 }, holdTime: 9, connectRetryTime: 1 });
  let p: TestPeer | undefined;
  try {
    sp.setPeers([{ address: '127.0.0.1', asn: 65001, passive: true, families: ['ipv4'] }]);
    await sp.start();
    // The peer offers both families; Petrel's OPEN carries IPv4 only, so only IPv4 is negotiated.
    p = await TestPeer.connect({ host: '127.0.0.1', port: sp.listenPort as number, asn: 65001, routerId: '192.0.2.9', families: ['ipv4', 'ipv6'] });
    await p.established;
    const v6 = encodeUpdates({ family: 'ipv6', attrs, nextHops: ['2001:db8::9'], nlri: ['2001:db8:1::/48'], withdrawn: [] }, CTX);
    const v4 = encodeUpdates({ family: 'ipv4', attrs, nextHops: ['127.0.0.1'], nlri: ['198.18.0.0/24'], withdrawn: [] }, CTX);
    for (const f of [...v6, ...v4]) p.send(f);
    await waitFor('the IPv4 route', () => sp.routes({ prefix: '198.18.0.0/24' }).length === 1, 10_000, 20);
    assert.deepEqual(sp.routes().map((r) => r.prefix), ['198.18.0.0/24'], 'no IPv6 route');
    const st = sp.status().peers[0];
    assert.equal(st.state, 'Established');
    assert.equal(st.receivedByFamily.ipv6, 0);
    assert.equal(st.attributeProblems, 1, 'counted');
    assert.deepEqual(p.notifications, []);
  } finally {
    p?.close();
    await sp.stop();
  }
});
