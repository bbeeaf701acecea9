/**
 * BfdEndpoint: runs the BFD sessions of one speaker — one pure state machine (machine.ts) per peer
 * address — on one TimerScheduler (scheduler.ts), through a transport that only moves datagrams.
 * It decodes what arrives (dropping and counting what RFC 5880 §6.8.6 discards), finds the session
 * (RFC 5881 §3: by Your Discriminator when it is set, else by the source address), performs the
 * machine's actions (encode and send, the §6.8.7 jitter, the timers) and emits 'state' on every
 * change. It has no socket: the UDP side (port 3784, TTL 255 both ways, a source port in
 * 49152–65535, RFC 5881 §4–5) is the transport's, so all of this runs on a fake clock in tests.
 */
import { EventEmitter } from 'node:events';
import { initialBfdState, step, txJitterUs, type BfdAction, type BfdEvent, type BfdSessionState } from './machine.js';
import { BFD_STATE_NAME, BfdError, decodeControl, encodeControl, type BfdStateName } from './packet.js';
import { TimerScheduler, type SchedulerClock } from './scheduler.js';

export interface BfdTransport {
  send(peer: string, bytes: Uint8Array): void;
}

/** Per-peer settings, as configured (issue 12: `bfd: { minTxMs, minRxMs, multiplier }`). */
export interface BfdPeerSettings {
  minTxMs: number;
  minRxMs: number;
  multiplier: number;
}

export const BFD_DEFAULTS: BfdPeerSettings = { minTxMs: 300, minRxMs: 300, multiplier: 3 };

export interface BfdEndpointEvents {
  state: [peer: string, from: BfdStateName, to: BfdStateName, diag: number];
}

interface Entry {
  peer: string;
  s: BfdSessionState;
}

export class BfdEndpoint extends EventEmitter<BfdEndpointEvents> {
  private readonly byPeer = new Map<string, Entry>();
  private readonly byDiscr = new Map<number, Entry>();
  private readonly timers: TimerScheduler;
  private readonly random: () => number;
  /** Datagrams dropped, by BfdError code (or 'BFD_ERR_NO_SESSION'). */
  readonly dropped = new Map<string, number>();

  constructor(private readonly transport: BfdTransport, deps: { clock: SchedulerClock; random?: () => number }) {
    super();
    this.timers = new TimerScheduler(deps.clock);
    this.random = deps.random ?? Math.random;
  }

  /** Starts a session with `peer` (no-op if one exists). */
  add(peer: string, settings: BfdPeerSettings = BFD_DEFAULTS): void {
    if (this.byPeer.has(peer)) return;
    checkSettings(settings);
    const e: Entry = { peer, s: initialBfdState(toConfig(settings), this.newDiscriminator()) };
    this.byPeer.set(peer, e);
    this.byDiscr.set(e.s.localDiscr, e);
    this.fire(e, { kind: 'Start' });
  }

  /** New intervals for a running session (a Poll Sequence when Up, RFC 5880 §6.8.3). */
  update(peer: string, settings: BfdPeerSettings): void {
    const e = this.byPeer.get(peer);
    if (!e) return;
    checkSettings(settings);
    const c = toConfig(settings);
    this.fire(e, { kind: 'SetParams', desiredMinTxUs: c.desiredMinTxUs, requiredMinRxUs: c.requiredMinRxUs, detectMult: c.detectMult });
  }

  /** Ends a session: it says AdminDown once (RFC 5880 §6.8.16), then is forgotten. */
  remove(peer: string): void {
    const e = this.byPeer.get(peer);
    if (!e) return;
    this.fire(e, { kind: 'AdminDown' });
    this.timers.cancel(`${peer}/tx`);
    this.timers.cancel(`${peer}/detect`);
    this.byPeer.delete(peer);
    this.byDiscr.delete(e.s.localDiscr);
  }

  stop(): void {
    for (const peer of [...this.byPeer.keys()]) this.remove(peer);
  }

  state(peer: string): BfdStateName | undefined {
    const e = this.byPeer.get(peer);
    return e ? BFD_STATE_NAME[e.s.state] : undefined;
  }

  session(peer: string): BfdSessionState | undefined {
    return this.byPeer.get(peer)?.s;
  }

  /** A datagram from `from` (the transport has checked TTL 255 and the ports). */
  receive(from: string, bytes: Uint8Array): void {
    let p;
    try {
      p = decodeControl(bytes);
    } catch (err) {
      this.drop(err instanceof BfdError ? err.code : 'BFD_ERR_DECODE');
      return;
    }
    const e = p.yourDiscriminator !== 0 ? this.byDiscr.get(p.yourDiscriminator) : this.byPeer.get(from);
    // A packet for a known discriminator from another address is not that session's (single hop).
    if (!e || e.peer !== from) {
      this.drop('BFD_ERR_NO_SESSION');
      return;
    }
    this.fire(e, { kind: 'Received', packet: p });
  }

  private drop(code: string): void {
    this.dropped.set(code, (this.dropped.get(code) ?? 0) + 1);
  }

  private fire(e: Entry, ev: BfdEvent): void {
    const r = step(e.s, ev);
    e.s = r.state;
    for (const a of r.actions) this.perform(e, a);
  }

  private perform(e: Entry, a: BfdAction): void {
    switch (a.kind) {
      case 'send':
        this.transport.send(e.peer, encodeControl(a.packet));
        return;
      case 'armTx':
        this.timers.set(`${e.peer}/tx`, txJitterUs(a.us, e.s.cfg.detectMult, this.random()) / 1000, () => this.fire(e, { kind: 'TxTimer' }));
        return;
      case 'armDetect':
        this.timers.set(`${e.peer}/detect`, a.us / 1000, () => this.fire(e, { kind: 'DetectTimer' }));
        return;
      case 'disarmDetect':
        this.timers.cancel(`${e.peer}/detect`);
        return;
      case 'state':
        this.emit('state', e.peer, a.from, a.to, a.diag);
        return;
    }
  }

  /** A random non-zero discriminator not in use (RFC 5880 §6.8.1: unique per system). */
  private newDiscriminator(): number {
    for (let i = 0; i < 100; i++) {
      const d = (Math.floor(this.random() * 0xffffffff) >>> 0) || 1;
      if (!this.byDiscr.has(d)) return d;
    }
    for (let d = 1; ; d++) if (!this.byDiscr.has(d)) return d;
  }
}

function toConfig(s: BfdPeerSettings) {
  return { desiredMinTxUs: s.minTxMs * 1000, requiredMinRxUs: s.minRxMs * 1000, detectMult: s.multiplier };
}

function checkSettings(s: BfdPeerSettings): void {
  const ok = (n: number, lo: number, hi: number) => Number.isInteger(n) && n >= lo && n <= hi;
  if (!ok(s.minTxMs, 1, 60_000) || !ok(s.minRxMs, 1, 60_000) || !ok(s.multiplier, 1, 255)) {
    throw new BfdError('BFD_ERR_SETTINGS', `minTxMs/minRxMs must be 1–60000 ms and multiplier 1–255, got ${JSON.stringify(s)}`);
  }
}
