/**
 * Issue 13 H: a bug hit while handling one peer's input costs that session, not the process and not
 * the other sessions. A Speaker (the hub) peers with two others over loopback (127.0.0.1 and ::1, so
 * it tells them apart by address); its RIB is made to throw on the first UPDATE from one of them.
 * Timers are the real ones, lowered (idle hold 1 s); every wait is bounded; no timing assertion.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Speaker, type SpeakerOptions } from '../../src/bgp/speaker.js';
import { waitFor } from '../../src/lab/netns.js';

const FAST = { holdTime: 9, connectRetryTime: 1, idleHoldTime: 1, idleHoldMaxTime: 2 } satisfies Partial<SpeakerOptions>;

test('a RIB listener that throws for one peer resets that session only: the other stays Established, the process sees no uncaught exception', async () => {
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  const errors: Array<Record<string, unknown>> = [];
  const log = { debug() {}, info() {}, warn() {}, error: (o: Record<string, unknown>) => errors.push(o) };
  const c1 = new Speaker({ asn: 64512, routerId: '192.0.2.11', listen: { address: '127.0.0.1', port: 0 }, ...FAST });
  const c2 = new Speaker({ asn: 64512, routerId: '192.0.2.12', listen: { address: '::1', port: 0 }, ...FAST });
  const hub = new Speaker({ asn: 64512, routerId: '192.0.2.100', clusterId: '198.51.100.100', ...FAST }, { log });
  const c2States: string[] = [];
  try {
    c1.setPeers([{ address: '127.0.0.1', asn: 64512, passive: true }]);
    c2.setPeers([{ address: '::1', asn: 64512, passive: true }]);
    c1.setLocalRoutes([{ prefix: '198.18.1.0/26' }]);
    c2.setLocalRoutes([{ prefix: '198.18.2.0/26' }]);
    await c1.start();
    await c2.start();
    // The injected bug: the hub's RIB throws on the first UPDATE with routes from c1.
    const apply = hub.rib.applyUpdate.bind(hub.rib);
    let thrown = 0;
    hub.rib.applyUpdate = ((peer, u, raw) => {
      if (peer.address === '127.0.0.1' && thrown === 0 && (u.nlri.length > 0 || (u.nlriKeys?.length ?? 0) > 0)) {
        thrown++;
        throw new TypeError('injected bug for one peer');
      }
      return apply(peer, u, raw);
    }) as typeof hub.rib.applyUpdate;
    hub.on('peerState', (address, _from, to) => {
      if (address === '::1') c2States.push(to);
    });
    hub.setPeers([
      { address: '127.0.0.1', port: c1.listenPort, asn: 64512, rrClient: true },
      { address: '::1', port: c2.listenPort, asn: 64512, rrClient: true },
    ]);
    await hub.start();
    await waitFor('the hub to learn c2\'s route', () => hub.routes({ prefix: '198.18.2.0/26' }).length > 0, 15_000, 50);
    await waitFor('the injected bug to be hit', () => thrown === 1, 15_000, 50);
    // c1's session was reset with Cease / Administrative Reset and comes back; its route arrives then.
    await waitFor('c1 to hear the Cease 6/4', () => /6\/4/.test(c1.status().peers[0].info) || c1.status().peers[0].flaps > 0, 15_000, 50);
    await waitFor('the hub to learn c1\'s route after the reset', () => hub.routes({ prefix: '198.18.1.0/26' }).length > 0, 15_000, 50);
    const st = hub.status();
    const p1 = st.peers.find((p) => p.address === '127.0.0.1')!;
    const p2 = st.peers.find((p) => p.address === '::1')!;
    assert.equal(p1.state, 'Established');
    assert.equal(p2.state, 'Established');
    assert.equal(p2.flaps, 0, 'the other session never went down');
    // After it first came up, the hub's session to c2 never left Established.
    assert.deepEqual(c2States.slice(c2States.indexOf('Established')), ['Established'], c2States.join(' '));
    assert.equal(c2.status().peers[0].flaps, 0);
    const e = errors.find((x) => x.err === 'injected bug for one peer');
    assert.ok(e && typeof e.stack === 'string' && e.peer === '127.0.0.1', JSON.stringify(errors));
    assert.deepEqual(uncaught, []);
  } finally {
    process.off('uncaughtException', onUncaught);
    await hub.stop();
    await c1.stop();
    await c2.stop();
  }
});
