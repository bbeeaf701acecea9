/**
 * Session: drives the pure FSM (bgp/fsm) for one configured peer over TCP with an injected Clock.
 * With Connection (connection.ts) it is the only BGP code that touches sockets and timers.
 *
 * Shape: a Session holds one Connection — a TCP connection or attempt with its own FSM state,
 * Framer and timers — and, during a connection collision (RFC 4271 §6.8), a second one. The primary
 * is the peer's FSM as the outside sees it (`state`); a connection the peer opens while ours is
 * under way becomes the secondary. When an OPEN arrives on one of them while the other is in
 * OpenSent/OpenConfirm, collisionLoser() names the connection to close and it gets
 * OpenCollisionDump (Cease, subcode 7). Whichever reaches Established is (or becomes) the primary;
 * the other is dropped with its timers. A lost race is invisible to listeners: no 'down', and the
 * state does not blink through Idle.
 *
 * A new connection from the peer is admitted by incomingVerdict() (fsm/collision.ts): taken in Idle
 * (idle hold or not) and Active, raced beside our own attempt, superseding an older connection the
 * peer opened that is not Established yet, refused only when stopped or Established.
 *
 * Events are queued and processed one at a time, so a listener that calls stop() from a 'state' or
 * 'down' handler cannot re-enter the FSM half-way through an action list. Whatever throws while an
 * event is processed (a listener, a bug of ours) or in a socket handler (Connection.guard) resets that
 * connection through the FSM's InternalError event: logged with its stack, counted, and the process
 * and every other session carry on.
 *
 * What burned us / others:
 *  - Two speakers that both connect at once each accept the other's connection. If each adopted the
 *    inbound and aborted its own attempt, both connections would die; so an inbound connection
 *    never replaces an outbound attempt in progress: it races as the secondary and §6.8 decides.
 *  - TCP-MD5 (RFC 2385): with `password` set, our connections are signed (connection.ts, tcp-md5.ts);
 *    inbound ones are signed only if the BgpListener holds the key too (BgpListener.setPassword),
 *    which the owner of both (the Speaker) keeps in step. A wrong key never shows as an error: the
 *    kernel drops the segments and the session just stays in Connect/Active.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { ConfigError } from '../../errors.js';
import { bgpIdToNumber, collisionLoser, incomingVerdict, initialState, peerAsOf, step, validateOpen, FSM_DEFAULTS } from '../fsm/index.js';
import type { FsmAction, FsmConfig, FsmEvent, FsmState } from '../fsm/index.js';
import { MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN, MsgType, type OpenMessage } from '../wire/index.js';
import { realClock } from './clock.js';
import { assertTcpMd5Available, md5KeyBytes, type TcpMd5Error } from './tcp-md5.js';
import { Connection, normalizeAddress, TYPE_NAME, type ConnectionHost } from './connection.js';
import { silentLogger } from '../../model/log.js';
import {
  noopSessionMetrics,
  type Clock, type Logger, type Negotiated, type SessionConfig, type SessionEventMap, type SessionMetrics,
  type SessionStateName, type SessionStats,
} from './types.js';

export { normalizeAddress };

const EMITTING = new Set<FsmAction['kind']>(['established', 'update', 'routeRefresh', 'down']);

type Handler<K extends keyof SessionEventMap> = (...args: SessionEventMap[K]) => void;

export interface SessionDeps {
  clock?: Clock;
  log?: Logger;
  metrics?: SessionMetrics;
  /** Uniform in [0, 1) for the timers' jitter; Math.random by default (tests pass a fixed one). */
  random?: () => number;
}

export class Session extends EventEmitter {
  readonly cfg: SessionConfig;
  private readonly fsmCfg: FsmConfig;
  private readonly host: ConnectionHost;
  private readonly log: Logger;
  private readonly metrics: SessionMetrics;
  private readonly clock: Clock;
  private primary: Connection;
  private secondary: Connection | undefined;
  private queue: Array<[Connection, FsmEvent]> = [];
  private busy = false;
  private lastState: SessionStateName = 'Idle';
  private readonly closing = new Set<Promise<void>>();
  /** Time (clock ms) of the last state change. */
  since: number;
  negotiated: Negotiated | undefined;
  readonly stats: SessionStats = { updatesIn: 0, updatesOut: 0, notificationsIn: 0, notificationsOut: 0, flaps: 0, internalErrors: 0 };

  constructor(cfg: SessionConfig, deps: SessionDeps = {}) {
    super();
    checkConfig(cfg);
    this.cfg = { ...cfg, peerAddress: normalizeAddress(cfg.peerAddress) };
    this.clock = deps.clock ?? realClock;
    this.log = deps.log ?? silentLogger;
    this.metrics = deps.metrics ?? noopSessionMetrics;
    this.fsmCfg = {
      localAsn: cfg.localAsn,
      peerAsn: cfg.peerAsn,
      routerId: cfg.routerId,
      holdTime: cfg.holdTime,
      keepaliveTime: cfg.keepaliveTime,
      connectRetryTime: cfg.connectRetryTime ?? FSM_DEFAULTS.connectRetryTime,
      families: cfg.families,
      passive: cfg.passive,
      delayOpenTime: cfg.delayOpenTime ?? FSM_DEFAULTS.delayOpenTime,
      idleHoldTime: cfg.idleHoldTime ?? FSM_DEFAULTS.idleHoldTime,
      idleHoldMaxTime: cfg.idleHoldMaxTime ?? FSM_DEFAULTS.idleHoldMaxTime,
      ...(cfg.gracefulRestart ? { gracefulRestart: { ...cfg.gracefulRestart } } : {}),
    };
    this.host = {
      clock: this.clock,
      log: this.log,
      metrics: this.metrics,
      stats: this.stats,
      peer: this.cfg.peerAddress,
      random: deps.random ?? Math.random,
      prefixKeys: cfg.ipv4PrefixKeys === true,
      event: (c, e) => this.feed(c, e),
      open: (c, open) => this.onOpen(c, open),
      drain: (c) => {
        if (c === this.primary) this.emit('drain');
      },
      closing: (done) => {
        this.closing.add(done);
        void done.then(() => this.closing.delete(done));
      },
      fault: (c, err, where) => this.fault(c, err, `socket ${where} handler`),
    };
    this.primary = new Connection(initialState(this.fsmCfg), this.host);
    this.since = this.clock.now();
  }

  override on<K extends keyof SessionEventMap>(event: K, listener: Handler<K>): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.on(event, listener);
  }
  override once<K extends keyof SessionEventMap>(event: K, listener: Handler<K>): this;
  override once(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.once(event, listener);
  }
  override emit<K extends keyof SessionEventMap>(event: K, ...args: SessionEventMap[K]): boolean;
  override emit(event: string | symbol, ...args: any[]): boolean {
    return super.emit(event, ...args);
  }

  get state(): SessionStateName {
    return this.primary.fsm.name;
  }

  /** The peer address this session answers for (canonical). */
  get peerAddress(): string {
    return this.cfg.peerAddress;
  }

  /** Sets or clears the R bit of the Graceful Restart capability in the OPENs sent from now on (RFC 4724 §3). */
  setGracefulRestarting(restarting: boolean): void {
    const gr = this.fsmCfg.gracefulRestart;
    if (gr) gr.restarting = restarting;
  }

  /** ManualStart (RFC 4271 Event 1): connect, or wait in Active for a passive peer. */
  start(): void {
    if (this.cfg.password) {
      // Only that a key is in use is logged, never the key.
      try {
        assertTcpMd5Available();
        this.log.info({ peer: this.cfg.peerAddress, tcpMd5: true }, 'TCP-MD5 (RFC 2385) signatures on');
      } catch (e) {
        this.log.error({ peer: this.cfg.peerAddress, code: (e as TcpMd5Error).code, err: (e as Error).message }, 'TCP-MD5 unavailable: the session cannot come up');
      }
    }
    this.feed(this.primary, { kind: 'ManualStart' });
  }

  /**
   * ManualStop (Event 2): Cease (RFC 4486 subcode, default Administrative Shutdown) with an RFC 8203
   * shutdown message, then close. Resolves once the sockets are closed (at most ~2 s).
   * `graceful`: an RFC 4724 restart — an Established session is closed without a NOTIFICATION, so a
   * peer that negotiated Graceful Restart keeps our routes (stale) until we are back.
   */
  async stop(notification?: { subcode?: number; message?: string; graceful?: boolean }): Promise<void> {
    const ev: FsmEvent = { kind: 'ManualStop', subcode: notification?.subcode, message: notification?.message, ...(notification?.graceful ? { graceful: true } : {}) };
    const sec = this.secondary;
    this.feed(this.primary, ev);
    if (sec && !sec.gone) this.feed(sec, ev);
    await Promise.all([...this.closing]);
  }

  /**
   * RFC 4271 Event 8 (AutomaticStop): a NOTIFICATION Cease with `subcode` and `data`, then Idle,
   * with no automatic restart (the caller decides when to start() again). Used for RFC 4486 §4
   * "Maximum Number of Prefixes Reached".
   */
  automaticStop(subcode: number, data: Uint8Array, message: string): void {
    const ev: FsmEvent = { kind: 'AutomaticStop', subcode, data, message };
    const sec = this.secondary;
    this.feed(this.primary, ev);
    if (sec && !sec.gone) this.feed(sec, ev);
  }

  /**
   * Sends one encoded message (e.g. an UPDATE from encodeUpdates). Returns false when the socket's
   * buffer is full ('drain' follows) — the frame is queued all the same — or when the session is not
   * Established, in which case the frame is dropped and a 'down' event has been or will be emitted.
   */
  send(frame: Uint8Array): boolean {
    const c = this.primary;
    if (c.fsm.name !== 'Established' || !c.socket) return false;
    const type = frame[18];
    if (type === MsgType.Update) {
      this.stats.updatesOut++;
      this.metrics.updateSent();
    }
    this.metrics.messageSent?.(TYPE_NAME[type] ?? 'unknown');
    return c.writeFrame(frame);
  }

  /**
   * Sends many encoded messages in order with one system call (the Adj-RIB-Out's batch for this
   * peer). Same return value and dropping rules as send().
   */
  sendMany(frames: readonly Uint8Array[]): boolean {
    const c = this.primary;
    if (c.fsm.name !== 'Established' || !c.socket) return false;
    if (frames.length === 0) return true;
    for (let i = 0; i < frames.length; i++) {
      const type = frames[i][18];
      if (type === MsgType.Update) {
        this.stats.updatesOut++;
        this.metrics.updateSent();
      }
      this.metrics.messageSent?.(TYPE_NAME[type] ?? 'unknown');
    }
    return c.writeFrames(frames);
  }

  /**
   * Called by BgpListener with a connection from this peer's address. Returns false (and closes it)
   * when the session is stopped or already Established; otherwise the connection is taken by the
   * peer's FSM, or races beside our own, superseding an older one the peer opened (incomingVerdict).
   */
  accept(socket: net.Socket): boolean {
    const p = this.primary;
    const state = p.fsm.name;
    const verdict = incomingVerdict(p.fsm);
    if (verdict === 'refuse') {
      this.log.debug({ peer: this.cfg.peerAddress, state }, 'incoming connection refused');
      socket.destroy();
      return false;
    }
    this.log.info({ peer: this.cfg.peerAddress, state, idleHolding: p.fsm.idleHolding, remotePort: socket.remotePort, verdict }, 'incoming connection accepted');
    if (verdict === 'restart') {
      // The peer restarted (graceful restart negotiated): its old session ends as a TCP failure —
      // 'down', its routes kept stale — and the FSM, now Idle, takes the new connection.
      this.feed(p, { kind: 'TcpConnectionFails', reason: 'the peer opened a new connection while Established: it restarted (RFC 4724)' });
    }
    if (verdict === 'take' || verdict === 'restart') {
      this.feed(p, { kind: 'TcpConnectionConfirmed', conn: p.adopt(socket) });
      return true;
    }
    // The newcomer runs as a second FSM. It keeps the peer's passive/active attribute so that,
    // should it be promoted, a later restart behaves alike.
    const prev = this.secondary;
    if (prev && !prev.gone) this.supersede(prev);
    const r = step(initialState(this.fsmCfg), { kind: 'ManualStart_with_PassiveTcpEstablishment' });
    const sec = new Connection({ ...r.state, passive: this.fsmCfg.passive, idleHoldMs: p.fsm.idleHoldMs }, this.host);
    this.secondary = sec;
    this.feed(sec, { kind: 'TcpConnectionConfirmed', conn: sec.adopt(socket) });
    if (verdict === 'supersede' && !sec.gone && this.secondary === sec) {
      this.supersede(p);
      this.promote();
    }
    return true;
  }

  /**
   * The peer opened a newer connection: the older one it opened (no session on it yet) is closed,
   * with Cease / Connection Collision Resolution once our OPEN went out on it. No 'down': the peer is
   * not down, it is calling again. The older connection's failure does not grow the back-off.
   */
  private supersede(c: Connection): void {
    const idleHoldMs = c.fsm.idleHoldMs;
    this.log.info({ peer: this.cfg.peerAddress, state: c.fsm.name, remotePort: c.fsm.conn?.remotePort }, 'older connection from the peer closed: it opened a new one');
    this.dumpNow(c);
    c.fsm = { ...c.fsm, idleHoldMs };
    if (c !== this.primary) {
      c.drop();
      if (this.secondary === c) this.secondary = undefined;
    }
  }

  // ------------------------------------------------------------------ the event loop

  private feed(conn: Connection, ev: FsmEvent): void {
    this.queue.push([conn, ev]);
    if (this.busy) return;
    this.busy = true;
    try {
      for (let guard = 0; this.queue.length > 0 && guard < 100_000; guard++) {
        const [c, e] = this.queue.shift()!;
        if (c.gone) continue;
        try {
          this.process(c, e);
        } catch (err) {
          this.fault(c, err, e.kind);
        }
      }
    } finally {
      this.busy = false;
    }
  }

  private process(c: Connection, e: FsmEvent): void {
    const r = step(c.fsm, e);
    c.fsm = r.state;
    // A primary that fails while a racing connection lives is about to be replaced by it.
    if (c === this.primary && !(c.fsm.name === 'Idle' && this.liveSecondary())) this.syncState();
    // Socket and timer actions first, listener-facing ones after: a listener that throws cannot
    // leave the connection with a timer unarmed or a NOTIFICATION unsent.
    for (const a of r.actions) if (!EMITTING.has(a.kind)) this.perform(c, a);
    for (const a of r.actions) if (EMITTING.has(a.kind)) this.perform(c, a);
    this.reconcile();
    this.syncState();
  }

  /**
   * Something threw while handling connection `c` (a listener of ours, a bug in the codec or here):
   * logged with its stack and counted, then the connection is reset through the FSM (InternalError:
   * Cease / Administrative Reset when an OPEN went out, 'down', the idle hold, a reconnect). If the
   * reset itself throws (a 'down' listener), the FSM is already in Idle with its timers set: that is
   * logged and counted too, and nothing more is tried.
   */
  private fault(c: Connection, err: unknown, where: string): void {
    this.stats.internalErrors++;
    this.metrics.internalError?.();
    const e = err instanceof Error ? err : new Error(String(err));
    this.log.error({ peer: this.cfg.peerAddress, state: c.fsm.name, where, err: e.message, stack: e.stack }, 'internal error: resetting the session');
    if (where === 'InternalError' || c.gone) return;
    this.feed(c, { kind: 'InternalError', message: `${e.message} (in ${where})` });
  }

  private perform(c: Connection, a: FsmAction): void {
    switch (a.kind) {
      case 'connect': {
        const opts: net.TcpNetConnectOpts = { host: this.cfg.peerAddress, port: this.cfg.peerPort ?? 179 };
        if (this.cfg.localAddress) opts.localAddress = this.cfg.localAddress;
        if (this.cfg.localPort) opts.localPort = this.cfg.localPort;
        c.connect(opts, this.cfg.password);
        return;
      }
      case 'disconnect':
        c.close();
        return;
      case 'send':
        c.send(a.message);
        return;
      case 'startTimer':
        c.arm(a.timer, a.ms);
        return;
      case 'stopTimer':
        c.disarm(a.timer);
        return;
      case 'established':
        this.onEstablished(c, a.negotiated);
        return;
      case 'update':
        this.stats.updatesIn++;
        this.metrics.updateReceived();
        for (const p of a.problems) this.metrics.attributeProblem(p.action);
        this.emit('update', a.update, a.problems, a.rawAttributes);
        return;
      case 'routeRefresh':
        this.emit('routeRefresh', a.message.afi, a.message.safi, a.message.subtype);
        return;
      case 'down':
        this.onDown(c, a);
        return;
    }
  }

  /** Emits 'state' when the primary's state (the session's) changed. */
  private syncState(): void {
    const to = this.primary.fsm.name;
    if (to === this.lastState) return;
    const from = this.lastState;
    this.lastState = to;
    this.since = this.clock.now();
    this.metrics.stateChanged(from, to);
    this.log.debug({ peer: this.cfg.peerAddress, from, to }, 'session state');
    this.emit('state', from, to);
  }

  private liveSecondary(): boolean {
    const s = this.secondary;
    return !!s && !s.gone && s.fsm.name !== 'Idle';
  }

  /** After each event: drop a secondary that failed; promote it when the primary failed while it lives. */
  private reconcile(): void {
    const s = this.secondary;
    if (!s) return;
    if (s.gone || s.fsm.name === 'Idle') {
      s.drop();
      this.secondary = undefined;
      return;
    }
    if (this.primary.fsm.name === 'Idle') this.promote();
  }

  /** The secondary becomes the peer's FSM; the old primary and its timers go. */
  private promote(): void {
    const s = this.secondary!;
    const old = this.primary;
    old.drop();
    // The damping state and the flap count are the peer's, not the connection's.
    const keep: Partial<FsmState> = { idleHoldMs: Math.max(s.fsm.idleHoldMs, old.fsm.idleHoldMs), flaps: old.fsm.flaps };
    s.fsm = { ...s.fsm, ...keep };
    this.primary = s;
    this.secondary = undefined;
    this.syncState();
  }

  /** OpenCollisionDump right now: the Cease goes out and the socket closes before the connection is dropped. */
  private dumpNow(c: Connection): void {
    const r = step(c.fsm, { kind: 'OpenCollisionDump' });
    c.fsm = r.state;
    for (const a of r.actions) if (a.kind === 'send' || a.kind === 'disconnect') this.perform(c, a);
  }

  private onEstablished(c: Connection, n: Negotiated): void {
    if (c !== this.primary) {
      // The racing connection won: the primary (an attempt, or a connection without the OPEN yet) goes.
      const old = this.primary;
      if (old.fsm.name === 'OpenSent' || old.fsm.name === 'OpenConfirm') this.dumpNow(old);
      this.secondary = c;
      this.promote();
    } else if (this.secondary && !this.secondary.gone) {
      // RFC 4271 §6.8: a collision with an Established connection closes the newcomer.
      const s = this.secondary;
      if (s.fsm.name === 'OpenSent' || s.fsm.name === 'OpenConfirm') this.dumpNow(s);
      s.drop();
      this.secondary = undefined;
    }
    c.setMaxMessageLength(n.codec.extendedMessage ? MAX_EXTENDED_MESSAGE_LEN : MAX_MESSAGE_LEN);
    this.negotiated = n;
    // The speaker logs it at info with what it decided (families, next hop); this is the session's view.
    this.log.debug({ peer: this.cfg.peerAddress, routerId: n.peerRouterId, holdTime: n.holdTime, families: n.families }, 'session established');
    this.emit('established', n);
  }

  private onDown(c: Connection, a: Extract<FsmAction, { kind: 'down' }>): void {
    const other = c === this.primary ? this.secondary : this.primary;
    if (!a.wasEstablished && other && !other.gone && other.fsm.name !== 'Idle') {
      // One of two racing connections lost; the peer is not down.
      this.log.debug({ peer: this.cfg.peerAddress, reason: a.reason.code }, 'colliding connection closed');
      return;
    }
    if (a.wasEstablished) {
      this.stats.flaps++;
      this.metrics.flap?.();
      this.negotiated = undefined;
    }
    this.log.info({ peer: this.cfg.peerAddress, code: a.reason.code, wasEstablished: a.wasEstablished }, a.reason.message);
    this.emit('down', a.reason);
  }

  /** RFC 4271 §6.8: an OPEN on one of two connections decides which survives. */
  private onOpen(c: Connection, open: OpenMessage): void {
    const other = c === this.primary ? this.secondary : this.primary;
    const valid = validateOpen(this.fsmCfg, open, c.fsm.conn).ok;
    if (valid && other && !other.gone && c.fsm.conn) {
      if (other.fsm.name === 'Established') {
        this.feed(c, { kind: 'OpenCollisionDump' });
        return;
      }
      if (other.fsm.name === 'OpenSent' || other.fsm.name === 'OpenConfirm') {
        const loserDir = collisionLoser({ routerId: this.cfg.routerId, asn: this.cfg.localAsn }, { routerId: open.bgpId, asn: peerAsOf(open) });
        // §6.8 compares connections opened from opposite ends. Two inbound ones mean the peer gave up
        // on the first (it restarted, or its attempt timed out): the newer one stays.
        const sameDirection = other.fsm.conn !== undefined && other.fsm.conn.outbound === c.fsm.conn.outbound;
        const loser = sameDirection ? other : (c.fsm.conn.outbound ? 'outbound' : 'inbound') === loserDir ? c : other;
        this.log.info({ peer: this.cfg.peerAddress, closing: sameDirection ? 'older' : loserDir }, 'connection collision (RFC 4271 §6.8)');
        this.feed(loser, { kind: 'OpenCollisionDump' });
        if (loser === c) return;
      }
    }
    this.feed(c, { kind: 'BGPOpen', open });
  }
}

/** What would make us send an OPEN the peer must reject (RFC 4271 §4.2, §6.2; RFC 6793). */
function checkConfig(cfg: SessionConfig): void {
  const asn = (n: number) => Number.isInteger(n) && n >= 1 && n <= 0xffffffff;
  if (!asn(cfg.localAsn)) throw new ConfigError('localAsn', `${cfg.localAsn} is not an AS number (1..4294967295)`);
  if (!asn(cfg.peerAsn)) throw new ConfigError('peerAsn', `${cfg.peerAsn} is not an AS number (1..4294967295)`);
  if (!(bgpIdToNumber(cfg.routerId) > 0)) throw new ConfigError('routerId', `${cfg.routerId} is not a non-zero IPv4 address`);
  const h = cfg.holdTime;
  if (!Number.isInteger(h) || h < 0 || h > 65535 || h === 1 || h === 2) throw new ConfigError('holdTime', `${h}: must be 0 or 3..65535 seconds`);
  if (cfg.families.length === 0) throw new ConfigError('families', 'at least one address family is needed');
  // RFC 2385 §4 leaves the key length open; Linux holds at most 80 bytes.
  if (cfg.password !== undefined && cfg.password !== '') md5KeyBytes(cfg.password, 'password');
}
