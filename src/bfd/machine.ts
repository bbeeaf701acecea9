/**
 * The BFD session state machine of RFC 5880 §6.2 and §6.8 (asynchronous mode, no demand mode, no
 * echo, no authentication) as one pure function: `step(state, event) → { state, actions }`, the
 * Sans-IO shape of bgp/fsm. Nothing here touches a socket or a clock: "transmit every 300 ms" is an
 * `armTx` action, and its expiry comes back as a `TxTimer` event; the driver (one monotonic
 * scheduler for all sessions) applies the §6.8.7 jitter with txJitterUs(). Times are microseconds,
 * as on the wire.
 *
 *   Down ──(peer Down)──▶ Init ──(peer Init/Up)──▶ Up        (the three-way handshake of §6.2)
 *   Down ──(peer Init)──────────────────────────▶ Up
 *   Init/Up ──(detection time passes: diag 1; peer AdminDown or Down: diag 3)──▶ Down
 *   any ──(AdminDown: diag 7)──▶ AdminDown ──(AdminUp)──▶ Down
 *
 * Timers and parameter changes:
 *  - While not Up, the Desired Min TX we send is at least 1 s (§6.8.3); once Up, the configured one.
 *  - A change of Desired Min TX or Required Min RX while Up — including the step from 1 s to the
 *    configured rate on coming Up — runs a Poll Sequence (§6.5): our packets carry P until one with
 *    F arrives. Until then we transmit at the smaller of the old and new intervals (an increase must
 *    not take effect before the poll ends, §6.8.3) and compute the detection time with the larger of
 *    the old and new Required Min RX (a reduction must not, either).
 *  - Transmit interval = max(our Desired Min TX, the peer's Required Min RX); none while the peer's
 *    Required Min RX is 0 (§6.8.7). A packet with P is answered at once with F, off the timer.
 *  - Detection time = the peer's Detect Mult × max(our Required Min RX, the peer's Desired Min TX),
 *    restarted by every valid packet (§6.8.4).
 * A state change sends a packet at once (it need not wait for the next transmit interval).
 */
import { BFD_STATE_NAME, BfdDiag, BfdState, type BfdControlPacket, type BfdStateName, type BfdStateValue } from './packet.js';

/** §6.8.3: the slowest Desired Min TX while the session is not Up, µs. */
export const SLOW_TX_US = 1_000_000;

export interface BfdConfig {
  /** bfd.DesiredMinTxInterval once Up, µs. */
  desiredMinTxUs: number;
  /** bfd.RequiredMinRxInterval, µs. */
  requiredMinRxUs: number;
  /** bfd.DetectMult (1–255). */
  detectMult: number;
  /** The C bit: set only by an implementation whose BFD survives its control plane (RFC 5882 §4.3). */
  controlPlaneIndependent?: boolean;
}

export interface BfdSessionState {
  readonly cfg: BfdConfig;
  /** false until Start: nothing is sent. */
  readonly running: boolean;
  readonly state: BfdStateValue;
  readonly remoteState: BfdStateValue;
  readonly localDiscr: number;
  readonly remoteDiscr: number;
  readonly localDiag: number;
  /** bfd.RemoteMinRxInterval; 1 µs until the peer tells (§6.8.1). */
  readonly remoteMinRxUs: number;
  readonly remoteDesiredMinTxUs: number;
  readonly remoteDetectMult: number;
  /** The intervals in force for our transmissions and our detection time (they change when a poll ends). */
  readonly active: { desiredMinTxUs: number; requiredMinRxUs: number };
  /** A Poll Sequence is in progress (§6.5). */
  readonly polling: boolean;
}

export type BfdEvent =
  | { kind: 'Start' }
  | { kind: 'AdminDown' }
  | { kind: 'AdminUp' }
  | { kind: 'Received'; packet: BfdControlPacket }
  | { kind: 'TxTimer' }
  | { kind: 'DetectTimer' }
  | { kind: 'SetParams'; desiredMinTxUs: number; requiredMinRxUs: number; detectMult: number };

export type BfdAction =
  | { kind: 'send'; packet: BfdControlPacket }
  /** (Re)start the periodic transmit timer at this nominal interval; the driver jitters it (txJitterUs). */
  | { kind: 'armTx'; us: number }
  | { kind: 'armDetect'; us: number }
  | { kind: 'disarmDetect' }
  | { kind: 'state'; from: BfdStateName; to: BfdStateName; diag: number };

export interface BfdStep {
  state: BfdSessionState;
  actions: BfdAction[];
}

export function initialBfdState(cfg: BfdConfig, localDiscr: number): BfdSessionState {
  if (!(localDiscr > 0 && localDiscr <= 0xffffffff)) throw new RangeError(`local discriminator ${localDiscr}: must be 1..2^32-1`);
  const s: BfdSessionState = {
    cfg,
    running: false,
    state: BfdState.Down,
    remoteState: BfdState.Down,
    localDiscr,
    remoteDiscr: 0,
    localDiag: BfdDiag.None,
    remoteMinRxUs: 1,
    remoteDesiredMinTxUs: 0,
    remoteDetectMult: 0,
    active: { desiredMinTxUs: 0, requiredMinRxUs: 0 },
    polling: false,
  };
  return { ...s, active: advertised(s) };
}

/** What we put in Desired Min TX / Required Min RX now (§6.8.3: at least 1 s while not Up). */
function advertised(s: BfdSessionState): { desiredMinTxUs: number; requiredMinRxUs: number } {
  const tx = s.state === BfdState.Up ? s.cfg.desiredMinTxUs : Math.max(s.cfg.desiredMinTxUs, SLOW_TX_US);
  return { desiredMinTxUs: tx, requiredMinRxUs: s.cfg.requiredMinRxUs };
}

/** The nominal interval between our periodic packets, µs (§6.8.7). */
export function txIntervalUs(s: BfdSessionState): number {
  const want = advertised(s);
  const tx = s.polling ? Math.min(s.active.desiredMinTxUs, want.desiredMinTxUs) : want.desiredMinTxUs;
  return Math.max(tx, s.remoteMinRxUs);
}

/** How long without a valid packet before the session is declared down, µs (§6.8.4, asynchronous mode). */
export function detectionTimeUs(s: BfdSessionState): number {
  const rx = s.polling ? Math.max(s.active.requiredMinRxUs, s.cfg.requiredMinRxUs) : s.cfg.requiredMinRxUs;
  return s.remoteDetectMult * Math.max(rx, s.remoteDesiredMinTxUs);
}

/**
 * §6.8.7 jitter of one transmit interval: reduced by a random 0–25 %, and to at most 90 % when the
 * Detect Mult is 1 (so that one late packet cannot cost the session). `random` is uniform in [0, 1).
 */
export function txJitterUs(intervalUs: number, detectMult: number, random: number): number {
  const span = detectMult === 1 ? 0.15 : 0.25;
  return Math.floor(intervalUs * (0.75 + random * span));
}

/** The packet we send now. */
export function controlPacket(s: BfdSessionState, flags: { final?: boolean } = {}): BfdControlPacket {
  const a = advertised(s);
  return {
    diag: s.localDiag,
    state: s.state,
    poll: s.polling && !flags.final,
    final: flags.final === true,
    controlPlaneIndependent: s.cfg.controlPlaneIndependent === true,
    demand: false,
    detectMult: s.cfg.detectMult,
    myDiscriminator: s.localDiscr,
    yourDiscriminator: s.remoteDiscr,
    desiredMinTxUs: a.desiredMinTxUs,
    requiredMinRxUs: a.requiredMinRxUs,
    requiredMinEchoRxUs: 0,
  };
}

/** Moves to `to` with `diag`; a change of the advertised intervals while (or into) Up starts a poll. */
function moveTo(s: BfdSessionState, to: BfdStateValue, diag: number, actions: BfdAction[]): BfdSessionState {
  const from = s.state;
  let n: BfdSessionState = { ...s, state: to, localDiag: diag };
  if (to !== BfdState.Up) n = { ...n, polling: false, active: advertised(n) };
  else if (!sameIntervals(s.active, advertised(n))) n = { ...n, polling: true };
  if (to === BfdState.AdminDown) actions.push({ kind: 'disarmDetect' });
  if (from !== to) actions.push({ kind: 'state', from: BFD_STATE_NAME[from], to: BFD_STATE_NAME[to], diag });
  return n;
}

function sameIntervals(a: { desiredMinTxUs: number; requiredMinRxUs: number }, b: { desiredMinTxUs: number; requiredMinRxUs: number }): boolean {
  return a.desiredMinTxUs === b.desiredMinTxUs && a.requiredMinRxUs === b.requiredMinRxUs;
}

/** A packet now, and the transmit timer restarted from it. */
function sendNow(s: BfdSessionState, actions: BfdAction[], final = false): void {
  actions.push({ kind: 'send', packet: controlPacket(s, { final }) }, { kind: 'armTx', us: txIntervalUs(s) });
}

/** §6.8.6, after the packet-only checks of decodeControl. */
function received(s0: BfdSessionState, p: BfdControlPacket): BfdStep {
  // Your Discriminator, when set, selects the session: not ours → discard.
  if (p.yourDiscriminator !== 0 && p.yourDiscriminator !== s0.localDiscr) return { state: s0, actions: [] };
  if (!s0.running) return { state: s0, actions: [] };
  const actions: BfdAction[] = [];
  let s: BfdSessionState = {
    ...s0,
    remoteDiscr: p.myDiscriminator,
    remoteState: p.state,
    remoteMinRxUs: p.requiredMinRxUs,
    remoteDesiredMinTxUs: p.desiredMinTxUs,
    remoteDetectMult: p.detectMult,
  };
  // A Final ends our Poll Sequence: the new intervals take effect (§6.5, §6.8.3).
  if (p.final && s.polling) s = { ...s, polling: false, active: advertised(s) };
  if (s.state === BfdState.AdminDown) return { state: s, actions };
  const before = s.state;
  if (p.state === BfdState.AdminDown) {
    if (s.state !== BfdState.Down) s = moveTo(s, BfdState.Down, BfdDiag.NeighborSignaledSessionDown, actions);
  } else if (s.state === BfdState.Down) {
    if (p.state === BfdState.Down) s = moveTo(s, BfdState.Init, BfdDiag.None, actions);
    else if (p.state === BfdState.Init) s = moveTo(s, BfdState.Up, BfdDiag.None, actions);
  } else if (s.state === BfdState.Init) {
    if (p.state === BfdState.Init || p.state === BfdState.Up) s = moveTo(s, BfdState.Up, BfdDiag.None, actions);
  } else if (p.state === BfdState.Down) {
    // Up, and the peer says Down: it lost us.
    s = moveTo(s, BfdState.Down, BfdDiag.NeighborSignaledSessionDown, actions);
  }
  actions.push({ kind: 'armDetect', us: detectionTimeUs(s) });
  // §6.8.7: a Poll is answered at once with F (and P clear); a state change is told at once too.
  if (p.poll) sendNow(s, actions, true);
  else if (s.state !== before) sendNow(s, actions);
  else if (p.final || s0.remoteMinRxUs !== s.remoteMinRxUs) actions.push({ kind: 'armTx', us: txIntervalUs(s) });
  return { state: s, actions };
}

export function step(s: BfdSessionState, e: BfdEvent): BfdStep {
  const actions: BfdAction[] = [];
  switch (e.kind) {
    case 'Start': {
      if (s.running) return { state: s, actions };
      const n = { ...s, running: true };
      sendNow(n, actions);
      return { state: n, actions };
    }
    case 'AdminDown': {
      if (s.state === BfdState.AdminDown) return { state: s, actions };
      const n = moveTo(s, BfdState.AdminDown, BfdDiag.AdministrativelyDown, actions);
      if (n.running) sendNow(n, actions);
      return { state: n, actions };
    }
    case 'AdminUp': {
      if (s.state !== BfdState.AdminDown) return { state: s, actions };
      const n = moveTo({ ...s, remoteDiscr: 0 }, BfdState.Down, BfdDiag.None, actions);
      if (n.running) sendNow(n, actions);
      return { state: n, actions };
    }
    case 'Received':
      return received(s, e.packet);
    case 'TxTimer': {
      if (!s.running) return { state: s, actions };
      // §6.8.7: nothing periodic while the peer asks for no packets (Required Min RX 0).
      if (s.remoteMinRxUs === 0) return { state: s, actions: [{ kind: 'armTx', us: advertised(s).desiredMinTxUs }] };
      sendNow(s, actions);
      return { state: s, actions };
    }
    case 'DetectTimer': {
      // §6.8.1, §6.8.4: the detection time passed without a valid packet.
      let n: BfdSessionState = { ...s, remoteDiscr: 0, remoteState: BfdState.Down };
      if (s.state === BfdState.Init || s.state === BfdState.Up) {
        n = moveTo(n, BfdState.Down, BfdDiag.ControlDetectionTimeExpired, actions);
        if (n.running) sendNow(n, actions);
      }
      return { state: n, actions };
    }
    case 'SetParams': {
      const cfg: BfdConfig = { ...s.cfg, desiredMinTxUs: e.desiredMinTxUs, requiredMinRxUs: e.requiredMinRxUs, detectMult: e.detectMult };
      let n: BfdSessionState = { ...s, cfg };
      // §6.8.3: while Up, new intervals wait for a Poll Sequence; otherwise they apply at once.
      if (n.state === BfdState.Up && !sameIntervals(n.active, advertised(n))) n = { ...n, polling: true };
      else if (n.state !== BfdState.Up) n = { ...n, active: advertised(n) };
      if (n.running && (n.polling || !sameIntervals(s.active, n.active))) sendNow(n, actions);
      return { state: n, actions };
    }
  }
}
