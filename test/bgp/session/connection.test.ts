/**
 * Connection: address normalization, the lazily re-armed timers (on a fake clock), and framing of a
 * real TCP byte stream that arrives one byte per write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { initialState, type FsmEvent } from '../../../src/bgp/fsm/index.js';
import { Connection, normalizeAddress, type ConnectionHost } from '../../../src/bgp/session/connection.js';
import { Session, noopSessionMetrics } from '../../../src/bgp/session/index.js';
import { encodeMessage } from '../../../src/bgp/wire/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { CFG } from '../fsm/driver.js';

function recordingHost(clock: FakeClock) {
  const events: Array<{ at: number; e: FsmEvent }> = [];
  const host: ConnectionHost = {
    clock,
    log: { debug() {}, info() {}, warn() {}, error() {} },
    metrics: noopSessionMetrics,
    stats: { updatesIn: 0, updatesOut: 0, notificationsIn: 0, notificationsOut: 0, flaps: 0, internalErrors: 0 },
    peer: '192.0.2.2',
    random: () => 0.5,
    event: (_c, e) => events.push({ at: clock.now(), e }),
    open: () => {},
    drain: () => {},
    closing: () => {},
    fault: (_c, err) => {
      throw err;
    },
  };
  return { host, events };
}

test('IPv4-mapped IPv6 addresses are matched as the IPv4 address they carry, others in canonical form', () => {
  assert.equal(normalizeAddress('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(normalizeAddress('2001:DB8:0:0::1'), '2001:db8::1');
  assert.equal(normalizeAddress('198.51.100.7'), '198.51.100.7');
  assert.equal(normalizeAddress(undefined), '');
});

test('a timer restarted to a later deadline fires once, at the later deadline', () => {
  const clock = new FakeClock();
  const { host, events } = recordingHost(clock);
  const c = new Connection(initialState(CFG), host);
  const t0 = clock.now();
  c.arm('Hold', 30_000);
  clock.advance(20_000);
  c.arm('Hold', 30_000); // now due at t0 + 50 s
  clock.advance(29_999);
  assert.deepEqual(events, []);
  clock.advance(1);
  assert.deepEqual(events, [{ at: t0 + 50_000, e: { kind: 'HoldTimer_Expires' } }]);
  clock.advance(100_000);
  assert.equal(events.length, 1);
});

test('a timer restarted to an earlier deadline fires at the earlier one', () => {
  const clock = new FakeClock();
  const { host, events } = recordingHost(clock);
  const c = new Connection(initialState(CFG), host);
  const t0 = clock.now();
  c.arm('Hold', 240_000);
  c.arm('Hold', 30_000);
  clock.advance(300_000);
  assert.deepEqual(events, [{ at: t0 + 30_000, e: { kind: 'HoldTimer_Expires' } }]);
});

test('a stopped timer never fires', () => {
  const clock = new FakeClock();
  const { host, events } = recordingHost(clock);
  const c = new Connection(initialState(CFG), host);
  c.arm('ConnectRetry', 1_000);
  c.disarm('ConnectRetry');
  clock.advance(10_000);
  assert.deepEqual(events, []);
  assert.equal(clock.pending, 0);
});

test('an OPEN and a KEEPALIVE that arrive one byte per TCP write still establish the session', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const ctx = { fourOctetAs: true, extendedMessage: false };
  const bytes = Buffer.concat([
    encodeMessage({ type: 'open', version: 4, myAs: 65002, holdTime: 30, bgpId: '192.0.2.2', capabilities: [{ kind: 'four-octet-as', asn: 65002 }] }, ctx),
    encodeMessage({ type: 'keepalive' }, ctx),
  ]);
  let peer: net.Socket | undefined;
  server.on('connection', async (s) => {
    peer = s;
    s.on('error', () => {});
    s.setNoDelay(true);
    for (const b of bytes) {
      if (s.destroyed) return;
      s.write(Uint8Array.of(b));
      await new Promise((r) => setTimeout(r, 1));
    }
  });
  const s = new Session({ ...CFG, peerAddress: '127.0.0.1', peerPort: (server.address() as net.AddressInfo).port, families: ['ipv4'] }, { clock: new FakeClock() });
  try {
    const est = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`not established (state ${s.state})`)), 10_000);
      s.once('established', () => {
        clearTimeout(t);
        resolve();
      });
    });
    s.start();
    await est;
    assert.equal(s.negotiated?.peerRouterId, '192.0.2.2');
  } finally {
    await s.stop();
    peer?.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
