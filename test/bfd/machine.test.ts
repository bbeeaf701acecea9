/**
 * The RFC 5880 state machine (src/bfd/machine.ts) on a fake clock, no sockets, no sleeps: two
 * sessions A and B joined by an in-memory wire that can be cut. Each test names the RFC rule it checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  detectionTimeUs, initialBfdState, step, txIntervalUs, txJitterUs,
  type BfdAction, type BfdConfig, type BfdEvent, type BfdSessionState,
} from '../../src/bfd/machine.js';
import { BfdDiag, BfdState, decodeControl, encodeControl, type BfdControlPacket } from '../../src/bfd/packet.js';
import { FakeClock } from '../helpers/fake-clock.js';

const CFG: BfdConfig = { desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, detectMult: 3 };

/** One session with its timers on a shared fake clock; what it sends goes to `out`. */
class End {
  s: BfdSessionState;
  sent: BfdControlPacket[] = [];
  states: string[] = [];
  /** Clock time of the last packet received. */
  lastRx = NaN;
  out: (p: BfdControlPacket) => void = () => {};
  private tx: unknown;
  private detect: unknown;
  constructor(readonly clock: FakeClock, cfg: BfdConfig, discr: number, private readonly random = () => 0.5) {
    this.s = initialBfdState(cfg, discr);
  }
  fire(e: BfdEvent): BfdAction[] {
    if (e.kind === 'Received') this.lastRx = this.clock.now();
    const r = step(this.s, e);
    this.s = r.state;
    for (const a of r.actions) this.perform(a);
    return r.actions;
  }
  private perform(a: BfdAction): void {
    switch (a.kind) {
      case 'send': {
        // Through the codec, as on the wire.
        const p = decodeControl(encodeControl(a.packet));
        this.sent.push(p);
        this.out(p);
        return;
      }
      case 'armTx':
        if (this.tx !== undefined) this.clock.clearTimeout(this.tx);
        this.tx = this.clock.setTimeout(() => { this.tx = undefined; this.fire({ kind: 'TxTimer' }); }, txJitterUs(a.us, this.s.cfg.detectMult, this.random()) / 1000);
        return;
      case 'armDetect':
        if (this.detect !== undefined) this.clock.clearTimeout(this.detect);
        this.detect = this.clock.setTimeout(() => { this.detect = undefined; this.fire({ kind: 'DetectTimer' }); }, a.us / 1000);
        return;
      case 'disarmDetect':
        if (this.detect !== undefined) this.clock.clearTimeout(this.detect);
        this.detect = undefined;
        return;
      case 'state':
        this.states.push(`${a.from}>${a.to}:${a.diag}`);
        return;
    }
  }
}

/** A and B joined by a wire with a 1 ms delay; `cut` drops everything. */
function pair(cfgA: BfdConfig = CFG, cfgB: BfdConfig = CFG) {
  const clock = new FakeClock();
  const a = new End(clock, cfgA, 0x72d1f37a);
  const b = new End(clock, cfgB, 0x042e789b);
  const wire = { cut: false };
  a.out = (p) => { if (!wire.cut) clock.setTimeout(() => b.fire({ kind: 'Received', packet: p }), 1); };
  b.out = (p) => { if (!wire.cut) clock.setTimeout(() => a.fire({ kind: 'Received', packet: p }), 1); };
  return { clock, a, b, wire };
}

function upPair(cfgA?: BfdConfig, cfgB?: BfdConfig) {
  const p = pair(cfgA, cfgB);
  p.a.fire({ kind: 'Start' });
  p.b.fire({ kind: 'Start' });
  p.clock.advance(3_000);
  assert.equal(p.a.s.state, BfdState.Up);
  assert.equal(p.b.s.state, BfdState.Up);
  return p;
}

test('§6.2 three-way handshake: both sides go Down → Init → Up (or Down → Up on the peer\'s Init)', () => {
  const { clock, a, b } = pair();
  a.fire({ kind: 'Start' });
  b.fire({ kind: 'Start' });
  clock.advance(10);
  assert.deepEqual(a.states, ['Down>Init:0', 'Init>Up:0']);
  assert.ok(['Down>Init:0,Init>Up:0', 'Down>Up:0'].includes(b.states.join(',')), b.states.join(','));
  assert.equal(a.s.remoteDiscr, 0x042e789b);
  assert.equal(b.s.remoteDiscr, 0x72d1f37a);
});

test('§6.8.3: while not Up the Desired Min TX sent is at least one second; Down packets carry no Your Discriminator', () => {
  const { a } = pair();
  a.fire({ kind: 'Start' });
  const first = a.sent[0];
  assert.equal(first.state, BfdState.Down);
  assert.equal(first.desiredMinTxUs, 1_000_000);
  assert.equal(first.requiredMinRxUs, 300_000);
  assert.equal(first.yourDiscriminator, 0);
  assert.equal(txIntervalUs(a.s), 1_000_000);
});

test('§6.5 poll/final: coming Up switches to the configured rate through a Poll Sequence, answered with F at once', () => {
  const { clock, a, b } = pair();
  a.fire({ kind: 'Start' });
  b.fire({ kind: 'Start' });
  clock.advance(10);
  // Each side polled for its faster rate, and each poll was answered with a Final.
  assert.ok(a.sent.some((p) => p.poll && p.desiredMinTxUs === 300_000));
  assert.ok(b.sent.some((p) => p.final && !p.poll));
  assert.ok(b.sent.some((p) => p.poll && p.desiredMinTxUs === 300_000));
  assert.ok(a.sent.some((p) => p.final && !p.poll));
  assert.equal(a.s.polling, false);
  assert.equal(b.s.polling, false);
  // Intervals negotiated: 300 ms both ways; detection time 3 × 300 ms.
  assert.equal(txIntervalUs(a.s), 300_000);
  assert.equal(detectionTimeUs(a.s), 900_000);
  const n = a.sent.length;
  clock.advance(3_000);
  // Jitter 75–100 % (random 0.5 → 87.5 %): 3 s / 262.5 ms ≈ 11 packets.
  assert.ok(a.sent.length - n >= 10 && a.sent.length - n <= 12, `${a.sent.length - n} packets in 3 s`);
  assert.ok(a.sent.slice(n).every((p) => !p.poll && !p.final && p.state === BfdState.Up));
});

test('§6.8.4: with the wire cut, the session goes Down with diag 1 after the detection time, not before', () => {
  const { clock, a, b, wire } = upPair();
  clock.advance(1_000);
  wire.cut = true;
  clock.advance(1); // a packet already on the wire still arrives
  const last = a.lastRx;
  clock.advance(last + 899 - clock.now());
  assert.equal(a.s.state, BfdState.Up, 'up until 3 × 300 ms after the last packet');
  clock.advance(1);
  assert.equal(a.s.state, BfdState.Down);
  assert.equal(a.s.localDiag, BfdDiag.ControlDetectionTimeExpired);
  assert.equal(a.s.remoteDiscr, 0);
  clock.advance(1_000);
  assert.equal(b.s.state, BfdState.Down);
  assert.deepEqual(a.states.slice(-1), ['Up>Down:1']);
});

test('§6.8.6: the peer going AdminDown brings us Down with diag 3 (Neighbor Signaled Session Down), no detection wait', () => {
  const { clock, a, b } = upPair();
  b.fire({ kind: 'AdminDown' });
  clock.advance(2);
  assert.equal(b.s.state, BfdState.AdminDown);
  assert.equal(b.sent.at(-1)?.diag, BfdDiag.AdministrativelyDown);
  assert.equal(a.s.state, BfdState.Down);
  assert.equal(a.s.localDiag, BfdDiag.NeighborSignaledSessionDown);
  // Back up when the peer is enabled again.
  b.fire({ kind: 'AdminUp' });
  clock.advance(3_000);
  assert.equal(a.s.state, BfdState.Up);
  assert.equal(b.s.state, BfdState.Up);
});

test('§6.8.6: Up and the peer says Down (it restarted) → Down with diag 3, then a new handshake', () => {
  const { clock, a } = upPair();
  a.fire({ kind: 'Received', packet: { ...a.sent[0], myDiscriminator: 0x042e789b, yourDiscriminator: 0, state: BfdState.Down, poll: false, final: false } });
  assert.equal(a.s.state, BfdState.Down);
  assert.equal(a.s.localDiag, BfdDiag.NeighborSignaledSessionDown);
  clock.advance(3_000);
  assert.equal(a.s.state, BfdState.Up);
});

test('§6.8.6: a packet whose Your Discriminator is not ours is discarded', () => {
  const { a } = upPair();
  const before = a.s;
  const acts = a.fire({ kind: 'Received', packet: { ...a.sent[0], myDiscriminator: 9, yourDiscriminator: 12345, state: BfdState.Down, poll: false, final: false } });
  assert.deepEqual(acts, []);
  assert.equal(a.s, before);
});

test('§6.8.4: the detection time is the peer\'s multiplier × max(our Required Min RX, the peer\'s Desired Min TX)', () => {
  const { a, b } = upPair({ ...CFG, requiredMinRxUs: 100_000 }, { desiredMinTxUs: 500_000, requiredMinRxUs: 300_000, detectMult: 5 });
  assert.equal(detectionTimeUs(a.s), 5 * 500_000);
  // B sends no faster than A asks (A's 100 ms < B's own 500 ms): max(500 ms, 100 ms).
  assert.equal(txIntervalUs(b.s), 500_000);
  // A sends at max(its 300 ms, B's Required Min RX 300 ms).
  assert.equal(txIntervalUs(a.s), 300_000);
  assert.equal(detectionTimeUs(b.s), 3 * 300_000);
});

test('§6.8.3: a slower rate set while Up waits for the Poll Sequence; the faster one stays in force until the Final', () => {
  const { clock, a, b, wire } = upPair();
  wire.cut = true; // hold back B's Final
  a.fire({ kind: 'SetParams', desiredMinTxUs: 1_000_000, requiredMinRxUs: 1_000_000, detectMult: 3 });
  assert.equal(a.s.polling, true);
  assert.ok(a.sent.at(-1)?.poll);
  assert.equal(a.sent.at(-1)?.desiredMinTxUs, 1_000_000);
  assert.equal(txIntervalUs(a.s), 300_000, 'an increase MUST NOT take effect before the poll ends');
  // Our detection time takes the larger Required Min RX at once (B may slow down any moment).
  assert.equal(detectionTimeUs(a.s), 3 * 1_000_000);
  wire.cut = false;
  clock.advance(400);
  assert.equal(a.s.polling, false);
  assert.equal(txIntervalUs(a.s), 1_000_000);
  assert.equal(txIntervalUs(b.s), 1_000_000, 'B sends no faster than A now asks');
  clock.advance(10_000);
  assert.equal(a.s.state, BfdState.Up);
  assert.equal(b.s.state, BfdState.Up);
});

test('§6.8.3: a lower Required Min RX set while Up is not used for the detection time until the poll ends', () => {
  const { clock, a, wire } = upPair();
  wire.cut = true;
  a.fire({ kind: 'SetParams', desiredMinTxUs: 300_000, requiredMinRxUs: 50_000, detectMult: 3 });
  assert.equal(a.s.polling, true);
  assert.equal(detectionTimeUs(a.s), 900_000);
  wire.cut = false;
  clock.advance(400);
  assert.equal(a.s.polling, false);
  assert.equal(detectionTimeUs(a.s), 900_000, 'still bounded by the peer\'s 300 ms Desired Min TX');
});

test('§6.8.7: no periodic packets while the peer\'s Required Min RX is zero', () => {
  const { clock, a, wire } = upPair();
  wire.cut = true;
  clock.advance(1);
  a.fire({ kind: 'Received', packet: { ...a.sent[0], myDiscriminator: 0x042e789b, yourDiscriminator: 0x72d1f37a, state: BfdState.Up, requiredMinRxUs: 0, poll: false, final: false } });
  const n = a.sent.length;
  clock.advance(800); // within the detection time
  assert.equal(a.sent.length, n);
});

test('§6.8.7 jitter: 75–100 % of the interval, at most 90 % with Detect Mult 1', () => {
  assert.equal(txJitterUs(1_000_000, 3, 0), 750_000);
  assert.equal(txJitterUs(1_000_000, 3, 0.999_999), 999_999);
  assert.equal(txJitterUs(1_000_000, 1, 0), 750_000);
  assert.ok(txJitterUs(1_000_000, 1, 0.999_999) <= 900_000);
});

test('nothing is sent before Start; AdminDown packets say diag 7', () => {
  const { a } = pair();
  a.fire({ kind: 'TxTimer' });
  assert.equal(a.sent.length, 0);
  a.fire({ kind: 'AdminDown' });
  assert.equal(a.sent.length, 0);
  a.fire({ kind: 'Start' });
  assert.equal(a.sent[0].state, BfdState.AdminDown);
  assert.equal(a.sent[0].diag, BfdDiag.AdministrativelyDown);
});

test('packets received while AdminDown change no state', () => {
  const { clock, a, b } = pair();
  a.fire({ kind: 'AdminDown' });
  a.fire({ kind: 'Start' });
  b.fire({ kind: 'Start' });
  clock.advance(5_000);
  assert.equal(a.s.state, BfdState.AdminDown);
  assert.equal(b.s.state, BfdState.Down);
});
