/**
 * The BFD endpoint (sessions + one scheduler + a datagram transport) and the scheduler itself, on a
 * fake clock: two endpoints joined by an in-memory transport that can drop everything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BfdEndpoint, type BfdPeerSettings } from '../../src/bfd/endpoint.js';
import { TimerScheduler } from '../../src/bfd/scheduler.js';
import { FakeClock } from '../helpers/fake-clock.js';

test('the scheduler fires timers in deadline order, moves a restarted one, and holds one clock timer for all', () => {
  const clock = new FakeClock();
  const s = new TimerScheduler(clock);
  const fired: string[] = [];
  for (let i = 0; i < 100; i++) s.set(`t${i}`, 1000 + ((i * 37) % 100), () => fired.push(`t${i}`));
  assert.equal(clock.pending, 1);
  s.set('t5', 10, () => fired.push('t5-moved'));
  s.cancel('t6');
  clock.advance(10);
  assert.deepEqual(fired, ['t5-moved']);
  clock.advance(2000);
  assert.equal(fired.length, 99);
  const dues = fired.slice(1).map((k) => 1000 + ((Number(k.slice(1)) * 37) % 100));
  assert.deepEqual(dues, [...dues].sort((a, b) => a - b));
  assert.equal(clock.pending, 0);
  assert.equal(s.size, 0);
});

test('restarting one timer many times keeps the heap bounded and fires once', () => {
  const clock = new FakeClock();
  const s = new TimerScheduler(clock);
  let n = 0;
  for (let i = 0; i < 10_000; i++) {
    s.set('detect', 900, () => n++);
    clock.advance(1);
  }
  assert.equal(n, 0);
  assert.ok((s as unknown as { heap: unknown[] }).heap.length <= 130);
  clock.advance(900);
  assert.equal(n, 1);
});

function pair(settings?: BfdPeerSettings) {
  const clock = new FakeClock();
  const wire = { cut: false };
  let a!: BfdEndpoint;
  let b!: BfdEndpoint;
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  a = new BfdEndpoint({ send: (_peer, bytes) => { if (!wire.cut) clock.setTimeout(() => b.receive('192.0.2.1', bytes), 1); } }, { clock, random });
  b = new BfdEndpoint({ send: (_peer, bytes) => { if (!wire.cut) clock.setTimeout(() => a.receive('192.0.2.2', bytes), 1); } }, { clock, random });
  a.add('192.0.2.2', settings);
  b.add('192.0.2.1', settings);
  return { clock, a, b, wire };
}

test('two endpoints bring their session Up, and a cut is detected within multiplier × interval', () => {
  const { clock, a, b, wire } = pair({ minTxMs: 100, minRxMs: 100, multiplier: 3 });
  const events: string[] = [];
  a.on('state', (peer, from, to, diag) => events.push(`${peer} ${from}>${to} ${diag}`));
  clock.advance(3_000);
  assert.equal(a.state('192.0.2.2'), 'Up');
  assert.equal(b.state('192.0.2.1'), 'Up');
  wire.cut = true;
  const cutAt = clock.now();
  clock.advance(400);
  assert.equal(a.state('192.0.2.2'), 'Down');
  assert.ok(events.at(-1)?.endsWith('Up>Down 1'), events.join('; '));
  // Detected no later than 3 × 100 ms after the last packet, which came at most one interval before the cut.
  assert.ok(clock.now() - cutAt <= 400);
});

test('a hundred sessions at 100 ms run on one clock timer per endpoint', () => {
  const clock = new FakeClock();
  const sent: string[] = [];
  const ep = new BfdEndpoint({ send: (peer) => sent.push(peer) }, { clock, random: () => 0.5 });
  for (let i = 1; i <= 100; i++) ep.add(`198.51.100.${i}`, { minTxMs: 100, minRxMs: 100, multiplier: 3 });
  assert.equal(clock.pending, 1);
  clock.advance(10_000);
  // Not Up: one packet per second per session (RFC 5880 §6.8.3), jittered to 87.5 % here.
  assert.ok(sent.length >= 100 * 11 && sent.length <= 100 * 13, `${sent.length} packets`);
  assert.equal(clock.pending, 1);
});

test('garbage, unknown discriminators and packets from the wrong address are dropped and counted', () => {
  const { clock, a, b } = pair();
  clock.advance(3_000);
  a.receive('192.0.2.2', new Uint8Array([1, 2, 3]));
  a.receive('192.0.2.99', new Uint8Array(24).fill(0x20));
  const s = b.session('192.0.2.1')!;
  // A valid packet for a's session, from another address.
  const pkt = new Uint8Array([0x20, 0xc0, 3, 24, 0, 0, 0, 9, ...u32(a.session('192.0.2.2')!.localDiscr), 0, 4, 0x93, 0xe0, 0, 4, 0x93, 0xe0, 0, 0, 0, 0]);
  a.receive('192.0.2.77', pkt);
  assert.equal(a.dropped.get('BFD_ERR_SHORT'), 1);
  assert.ok((a.dropped.get('BFD_ERR_NO_SESSION') ?? 0) >= 1);
  assert.equal(a.state('192.0.2.2'), 'Up');
  assert.ok(s.localDiscr > 0);
});

test('remove() says AdminDown to the peer, which goes Down with diag 3', () => {
  const { clock, a, b } = pair();
  clock.advance(3_000);
  const events: string[] = [];
  b.on('state', (_p, from, to, diag) => events.push(`${from}>${to} ${diag}`));
  a.remove('192.0.2.2');
  clock.advance(5);
  assert.equal(a.state('192.0.2.2'), undefined);
  assert.deepEqual(events, ['Up>Down 3']);
});

test('settings out of range are refused with BFD_ERR_SETTINGS', () => {
  const ep = new BfdEndpoint({ send() {} }, { clock: new FakeClock() });
  assert.throws(() => ep.add('192.0.2.9', { minTxMs: 0, minRxMs: 300, multiplier: 3 }), { code: 'BFD_ERR_SETTINGS' });
  assert.throws(() => ep.add('192.0.2.9', { minTxMs: 300, minRxMs: 300, multiplier: 256 }), { code: 'BFD_ERR_SETTINGS' });
});

function u32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}
