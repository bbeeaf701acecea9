/**
 * Session: drives the pure FSM (bgp/fsm) for one configured peer over real TCP sockets and an
 * injected Clock. It is the only BGP code that touches sockets and timers.
 *
 * Shape: a Session holds one `Conn` — a TCP connection (or an attempt) with its own FSM state,
 * Framer and timers — and, during a connection collision (RFC 4271 §6.8), a second one. The primary
 * Conn is the peer's FSM as the outside sees it (`state`); a connection the peer opens while ours is
 * under way becomes the secondary. When an OPEN arrives on one of them while the other is in
 * OpenSent/OpenConfirm, collisionLoser() names the connection to close and that Conn gets
 * OpenCollisionDump (Cease, subcode 7). Whichever Conn reaches Established is (or becomes) the
 * primary; the other is dropped with its timers.
 *
 * Events are queued and processed one at a time, so a listener that calls stop() from a 'state' or
 * 'down' handler cannot re-enter the FSM half-way through an action list.
 *
 * What burned us / others:
 *  - close() right after writing a NOTIFICATION loses it when unread bytes sit in our receive
 *    buffer (the kernel answers with RST). We end() the socket, keep draining input, and only
 *    destroy it when the peer closes or after a short linger.
 *  - Two speakers that both connect at once each accept the other's connection. If each adopted the
 *    inbound and aborted its own attempt, both connections would die; so an inbound connection
 *    never replaces an outbound attempt in progress: it races as the secondary and §6.8 decides.
 *  - TCP-MD5 (RFC 2385) is not applied yet: with `password` set we warn and connect unsigned.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { ConfigError } from '../../errors.js';
import { canonicalIp } from '../../model/ip.js';
import { bgpIdToNumber, collisionLoser, initialState, peerAsOf, step, validateOpen, FSM_DEFAULTS } from '../fsm/index.js';
import type { ConnInfo, FsmAction, FsmConfig, FsmEvent, FsmState, TimerName } from '../fsm/index.js';
import {
  BgpError, decodeMessage, encodeMessage, ErrorCode, Framer, KEEPALIVE_BYTES, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN, MsgType, OpenSubcode,
  type BgpMessage, type CodecContext, type NotificationMessage, type OpenMessage,
} from '../wire/index.js';
import { realClock } from './clock.js';
import {
  noopSessionMetrics,
  type Clock, type Logger, type Negotiated, type SessionConfig, type SessionEventMap, type SessionMetrics,
  type SessionStateName, type SessionStats,
} from './types.js';

const silentLog: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const PRE_OPEN_CTX: CodecContext = { fourOctetAs: false, extendedMessage: false };
/** How long a closing socket may linger for the peer's FIN before it is destroyed (real time, ms). */
const LINGER_MS = 2_000;

const TIMER_EVENT: Record<TimerName, FsmEvent> = {
  ConnectRetry: { kind: 'ConnectRetryTimer_Expires' },
  Hold: { kind: 'HoldTimer_Expires' },
  Keepalive: { kind: 'KeepaliveTimer_Expires' },
  DelayOpen: { kind: 'DelayOpenTimer_Expires' },
  IdleHold: { kind: 'IdleHoldTimer_Expires' },
  Stable: { kind: 'StableTimer_Expires' },
};

/** RFC 4271 §10: ConnectRetry and Keepalive intervals are jittered to 75–100% of their value. */
const JITTERED = new Set<TimerName>(['ConnectRetry', 'Keepalive']);

/** An IPv4-mapped IPv6 address ('::ffff:192.0.2.1') as the IPv4 address it carries; canonical form. */
export function normalizeAddress(a: string | undefined): string {
  if (!a) return '';
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  try {
    return canonicalIp(v4 ? v4[1] : a);
  } catch {
    return a;
  }
}

/**
 * A timer as the session runs it. Restarting a running timer to a later deadline only moves `due`;
 * when the clock timer fires early it re-arms for the rest. The HoldTimer restarts on every UPDATE
 * and KEEPALIVE received, so this spares a clearTimeout/setTimeout pair per message.
 */
interface ArmedTimer {
  handle: unknown;
  firesAt: number;
  due: number;
}

interface Conn {
  fsm: FsmState;
  socket?: net.Socket;
  framer: Framer;
  timers: Map<TimerName, ArmedTimer>;
  /** Dropped from the session: its events are ignored. */
  gone: boolean;
}

type Handler<K extends keyof SessionEventMap> = (...args: SessionEventMap[K]) => void;

export interface SessionDeps {
  clock?: Clock;
  log?: Logger;
  metrics?: SessionMetrics;
}

export class Session extends EventEmitter {
  readonly cfg: SessionConfig;
  private readonly fsmCfg: FsmConfig;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metrics: SessionMetrics;
  private primary: Conn;
  private secondary: Conn | undefined;
  private queue: Array<[Conn, FsmEvent]> = [];
  private busy = false;
  private lastState: SessionStateName = 'Idle';
  private closing = new Set<Promise<void>>();
  /** Time (clock ms) of the last state change. */
  since: number;
  negotiated: Negotiated | undefined;
  readonly stats: SessionStats = { updatesIn: 0, updatesOut: 0, notificationsIn: 0, notificationsOut: 0, flaps: 0 };

  constructor(cfg: SessionConfig, deps: SessionDeps = {}) {
    super();
    checkConfig(cfg);
    this.cfg = { ...cfg, peerAddress: normalizeAddress(cfg.peerAddress) };
    this.clock = deps.clock ?? realClock;
    this.log = deps.log ?? silentLog;
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
    };
    this.primary = this.newConn(initialState(this.fsmCfg));
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

  /** ManualStart (RFC 4271 Event 1): connect, or wait in Active for a passive peer. */
  start(): void {
    if (this.cfg.password) {
      this.log.warn({ peer: this.cfg.peerAddress }, 'TCP-MD5 (RFC 2385) is not implemented: the session runs unsigned');
    }
    this.feed(this.primary, { kind: 'ManualStart' });
  }

  /**
   * ManualStop (Event 2): Cease (RFC 4486 subcode, default Administrative Shutdown) with an RFC 8203
   * shutdown message, then close. Resolves once the sockets are closed (at most ~2 s).
   */
  async stop(notification?: { subcode: number; message?: string }): Promise<void> {
    const ev: FsmEvent = { kind: 'ManualStop', subcode: notification?.subcode, message: notification?.message };
    const sec = this.secondary;
    this.feed(this.primary, ev);
    if (sec && !sec.gone) this.feed(sec, ev);
    await Promise.all([...this.closing]);
  }

  /**
   * Sends one encoded message (e.g. an UPDATE from encodeUpdates). Returns false when the socket's
   * buffer is full ('drain' follows) — the frame is queued all the same — or when the session is not
   * Established, in which case the frame is dropped and a 'down' event has been or will be emitted.
   */
  send(frame: Uint8Array): boolean {
    const c = this.primary;
    if (c.fsm.name !== 'Established' || !c.socket || c.socket.destroyed) return false;
    const type = frame[18];
    if (type === MsgType.Update) {
      this.stats.updatesOut++;
      this.metrics.updateSent();
    }
    this.metrics.messageSent?.(TYPE_NAME[type] ?? 'unknown');
    return c.socket.write(frame);
  }

  /**
   * Called by BgpListener with a connection from this peer's address. Returns false (and closes it)
   * when the FSM refuses connections now (Idle), or a connection to this peer is already Established
   * or already racing.
   */
  accept(socket: net.Socket): boolean {
    const p = this.primary;
    const name = p.fsm.name;
    if (name === 'Idle' || name === 'Established' || (this.secondary && !this.secondary.gone)) {
      this.log.debug({ peer: this.cfg.peerAddress, state: name }, 'incoming connection refused');
      socket.destroy();
      return false;
    }
    const info = connInfo(socket, false);
    if (name === 'Active' && !p.socket) {
      this.attach(p, socket);
      this.feed(p, { kind: 'TcpConnectionConfirmed', conn: info });
      return true;
    }
    // Our own connection is under way: the newcomer races as the secondary (§6.8).
    const r = step(initialState(this.fsmCfg), { kind: 'ManualStart_with_PassiveTcpEstablishment' });
    const sec = this.newConn({ ...r.state, passive: this.fsmCfg.passive });
    this.secondary = sec;
    this.attach(sec, socket);
    this.log.debug({ peer: this.cfg.peerAddress, primary: name }, 'second connection from the peer: collision candidate');
    this.feed(sec, { kind: 'TcpConnectionConfirmed', conn: info });
    return true;
  }

  // ------------------------------------------------------------------ the event loop

  private newConn(fsm: FsmState): Conn {
    return { fsm, framer: new Framer(), timers: new Map(), gone: false };
  }

  private feed(conn: Conn, ev: FsmEvent): void {
    this.queue.push([conn, ev]);
    if (this.busy) return;
    this.busy = true;
    try {
      for (let guard = 0; this.queue.length > 0 && guard < 100_000; guard++) {
        const [c, e] = this.queue.shift()!;
        if (c.gone) continue;
        const r = step(c.fsm, e);
        c.fsm = r.state;
        // A primary that fails while a racing connection lives is about to be replaced by it:
        // the session does not pass through Idle in the eyes of its listeners.
        if (c === this.primary && !(c.fsm.name === 'Idle' && this.liveSecondary())) this.syncState();
        for (const a of r.actions) this.perform(c, a);
        this.reconcile();
        this.syncState();
      }
    } finally {
      this.busy = false;
    }
  }

  private liveSecondary(): boolean {
    const s = this.secondary;
    return !!s && !s.gone && s.fsm.name !== 'Idle';
  }

  /** OpenCollisionDump right now: the Cease goes out and the socket closes before the Conn is dropped. */
  private dumpNow(c: Conn): void {
    const r = step(c.fsm, { kind: 'OpenCollisionDump' });
    c.fsm = r.state;
    for (const a of r.actions) if (a.kind === 'send' || a.kind === 'disconnect') this.perform(c, a);
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

  /** After each event: drop a secondary that failed; promote it when the primary failed while it lives. */
  private reconcile(): void {
    const s = this.secondary;
    if (!s) return;
    if (s.gone || s.fsm.name === 'Idle') {
      this.drop(s);
      this.secondary = undefined;
      return;
    }
    if (this.primary.fsm.name === 'Idle') this.promote();
  }

  /** The secondary becomes the peer's FSM; the old primary and its timers go. */
  private promote(): void {
    const s = this.secondary!;
    const old = this.primary;
    this.drop(old);
    // Keep the peer-wide damping state and flap count across connections.
    s.fsm = { ...s.fsm, idleHoldMs: Math.max(s.fsm.idleHoldMs, old.fsm.idleHoldMs), flaps: old.fsm.flaps };
    this.primary = s;
    this.secondary = undefined;
    this.syncState();
  }

  private drop(c: Conn): void {
    c.gone = true;
    for (const t of c.timers.values()) this.clock.clearTimeout(t.handle);
    c.timers.clear();
    this.closeSocket(c);
  }

  private perform(c: Conn, a: FsmAction): void {
    switch (a.kind) {
      case 'connect':
        this.connect(c);
        return;
      case 'disconnect':
        this.closeSocket(c);
        return;
      case 'send':
        this.write(c, a.message);
        return;
      case 'startTimer': {
        const ms = JITTERED.has(a.timer) ? Math.floor(a.ms * (0.75 + Math.random() * 0.25)) : a.ms;
        this.armTimer(c, a.timer, ms);
        return;
      }
      case 'stopTimer':
        this.clearTimer(c, a.timer);
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

  private armTimer(c: Conn, t: TimerName, ms: number): void {
    const due = this.clock.now() + ms;
    const cur = c.timers.get(t);
    if (cur && cur.firesAt <= due) {
      cur.due = due;
      return;
    }
    if (cur) this.clock.clearTimeout(cur.handle);
    const timer: ArmedTimer = { handle: undefined, firesAt: due, due };
    const fire = () => {
      const now = this.clock.now();
      if (now < timer.due) {
        timer.firesAt = timer.due;
        timer.handle = this.clock.setTimeout(fire, timer.due - now);
        return;
      }
      if (c.timers.get(t) === timer) c.timers.delete(t);
      this.feed(c, TIMER_EVENT[t]);
    };
    timer.handle = this.clock.setTimeout(fire, ms);
    c.timers.set(t, timer);
  }

  private clearTimer(c: Conn, t: TimerName): void {
    const cur = c.timers.get(t);
    if (cur) this.clock.clearTimeout(cur.handle);
    c.timers.delete(t);
  }

  private onEstablished(c: Conn, n: Negotiated): void {
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
      this.drop(s);
      this.secondary = undefined;
    }
    c.framer.setMaxMessageLength(n.codec.extendedMessage ? MAX_EXTENDED_MESSAGE_LEN : MAX_MESSAGE_LEN);
    this.negotiated = n;
    this.log.info({ peer: this.cfg.peerAddress, routerId: n.peerRouterId, holdTime: n.holdTime, families: n.families }, 'session established');
    this.emit('established', n);
  }

  private onDown(c: Conn, a: Extract<FsmAction, { kind: 'down' }>): void {
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

  // ------------------------------------------------------------------ sockets

  private connect(c: Conn): void {
    this.closeSocket(c);
    const opts: net.TcpNetConnectOpts = { host: this.cfg.peerAddress, port: this.cfg.peerPort ?? 179 };
    if (this.cfg.localAddress) opts.localAddress = this.cfg.localAddress;
    if (this.cfg.localPort) opts.localPort = this.cfg.localPort;
    const socket = net.connect(opts);
    c.socket = socket;
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      if (c.socket !== socket || c.gone) return;
      this.attach(c, socket, true);
      this.feed(c, { kind: 'Tcp_CR_Acked', conn: connInfo(socket, true) });
    });
    socket.on('error', (err) => {
      if (!connected && c.socket === socket) {
        this.log.debug({ peer: this.cfg.peerAddress, err: err.message }, 'connect failed');
        c.socket = undefined;
        socket.destroy();
        this.feed(c, { kind: 'TcpConnectionFails', reason: err.message });
      }
    });
  }

  /** Wires a connected socket to a Conn: framing, decoding, close and drain. */
  private attach(c: Conn, socket: net.Socket, alreadyOwned = false): void {
    if (!alreadyOwned) this.closeSocket(c);
    c.socket = socket;
    c.framer = new Framer();
    socket.on('data', (chunk: Buffer) => {
      if (c.socket === socket && !c.gone) this.onData(c, chunk);
    });
    socket.on('error', (err) => {
      if (c.socket === socket) this.log.debug({ peer: this.cfg.peerAddress, err: err.message }, 'socket error');
    });
    socket.on('close', () => {
      if (c.socket === socket && !c.gone) {
        c.socket = undefined;
        this.feed(c, { kind: 'TcpConnectionFails', reason: 'TCP connection closed' });
      }
    });
    socket.on('drain', () => {
      if (c.socket === socket && c === this.primary) this.emit('drain');
    });
  }

  private onData(c: Conn, chunk: Uint8Array): void {
    let frames: Uint8Array[];
    try {
      frames = c.framer.push(chunk);
    } catch (e) {
      this.feed(c, { kind: 'BGPHeaderErr', notification: notificationOf(e) });
      return;
    }
    for (const frame of frames) {
      if (c.gone || !c.socket) return;
      this.onFrame(c, frame);
    }
  }

  private onFrame(c: Conn, frame: Uint8Array): void {
    const ctx = c.fsm.negotiated?.codec ?? PRE_OPEN_CTX;
    let d: ReturnType<typeof decodeMessage>;
    try {
      d = decodeMessage(frame, ctx);
    } catch (e) {
      const n = notificationOf(e);
      const type = frame[18];
      this.metrics.messageReceived?.(TYPE_NAME[type] ?? 'unknown');
      // RFC 4271 §6: which event a decoding error is depends on the message it was found in.
      if (n.code === ErrorCode.MessageHeader) this.feed(c, { kind: 'BGPHeaderErr', notification: n });
      else if (type === MsgType.Open) this.feed(c, { kind: 'BGPOpenMsgErr', notification: n });
      else if (type === MsgType.Update) {
        this.metrics.attributeProblem('session-reset');
        this.feed(c, { kind: 'UpdateMsgErr', notification: n });
      } else this.feed(c, { kind: 'BGPHeaderErr', notification: n });
      return;
    }
    const msg = d.message;
    this.metrics.messageReceived?.(msg.type);
    switch (msg.type) {
      case 'update':
        this.feed(c, { kind: 'UpdateMsg', update: msg, problems: d.problems, rawAttributes: d.rawAttributes });
        return;
      case 'open':
        this.onOpen(c, msg);
        return;
      case 'keepalive':
        this.feed(c, { kind: 'KeepAliveMsg' });
        return;
      case 'notification':
        this.stats.notificationsIn++;
        this.metrics.notificationReceived(msg.code, msg.subcode);
        this.log.info({ peer: this.cfg.peerAddress, code: msg.code, subcode: msg.subcode, shutdownMessage: msg.shutdownMessage }, 'NOTIFICATION received');
        // RFC 4271 §8.1.2 Event 24: a NOTIFICATION reporting an unsupported version.
        if (msg.code === ErrorCode.Open && msg.subcode === OpenSubcode.UnsupportedVersionNumber) this.feed(c, { kind: 'NotifMsgVerErr', notification: msg });
        else this.feed(c, { kind: 'NotifMsg', notification: msg });
        return;
      case 'route-refresh':
        this.feed(c, { kind: 'RouteRefreshMsg', message: msg });
        return;
    }
  }

  /** RFC 4271 §6.8: an OPEN on one of two connections decides which survives. */
  private onOpen(c: Conn, open: OpenMessage): void {
    const other = c === this.primary ? this.secondary : this.primary;
    const valid = validateOpen(this.fsmCfg, open, c.fsm.conn).ok;
    if (valid && other && !other.gone && c.fsm.conn) {
      if (other.fsm.name === 'Established') {
        this.feed(c, { kind: 'OpenCollisionDump' });
        return;
      }
      if (other.fsm.name === 'OpenSent' || other.fsm.name === 'OpenConfirm') {
        const loserDir = collisionLoser({ routerId: this.cfg.routerId, asn: this.cfg.localAsn }, { routerId: open.bgpId, asn: peerAsOf(open) });
        const loser = (c.fsm.conn.outbound ? 'outbound' : 'inbound') === loserDir ? c : other;
        this.log.info({ peer: this.cfg.peerAddress, closing: loserDir }, 'connection collision (RFC 4271 §6.8)');
        this.feed(loser, { kind: 'OpenCollisionDump' });
        if (loser === c) return;
      }
    }
    this.feed(c, { kind: 'BGPOpen', open });
  }

  private write(c: Conn, m: BgpMessage): void {
    const socket = c.socket;
    if (!socket || socket.destroyed || !socket.writable) return;
    const bytes = m.type === 'keepalive' ? KEEPALIVE_BYTES : encodeMessage(m, c.fsm.negotiated?.codec ?? PRE_OPEN_CTX);
    socket.write(bytes);
    this.metrics.messageSent?.(m.type);
    if (m.type === 'notification') {
      this.stats.notificationsOut++;
      this.metrics.notificationSent(m.code, m.subcode);
      this.log.info({ peer: this.cfg.peerAddress, code: m.code, subcode: m.subcode, shutdownMessage: m.shutdownMessage }, 'NOTIFICATION sent');
    }
  }

  /** Flushes what was written, sends FIN, drains input until the peer closes, destroys after LINGER_MS. */
  private closeSocket(c: Conn): void {
    const socket = c.socket;
    if (!socket) return;
    c.socket = undefined;
    if (socket.destroyed) return;
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(() => socket.destroy(), LINGER_MS);
      timer.unref();
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.closing.add(done);
    void done.then(() => this.closing.delete(done));
    socket.resume();
    if (socket.connecting) socket.destroy();
    else socket.end();
  }
}

const TYPE_NAME: Record<number, string> = { 1: 'open', 2: 'update', 3: 'notification', 4: 'keepalive', 5: 'route-refresh' };

/** What would make us send an OPEN the peer must reject (RFC 4271 §4.2, §6.2; RFC 6793). */
function checkConfig(cfg: SessionConfig): void {
  const asn = (n: number) => Number.isInteger(n) && n >= 1 && n <= 0xffffffff;
  if (!asn(cfg.localAsn)) throw new ConfigError('localAsn', `${cfg.localAsn} is not an AS number (1..4294967295)`);
  if (!asn(cfg.peerAsn)) throw new ConfigError('peerAsn', `${cfg.peerAsn} is not an AS number (1..4294967295)`);
  if (!(bgpIdToNumber(cfg.routerId) > 0)) throw new ConfigError('routerId', `${cfg.routerId} is not a non-zero IPv4 address`);
  const h = cfg.holdTime;
  if (!Number.isInteger(h) || h < 0 || h > 65535 || h === 1 || h === 2) throw new ConfigError('holdTime', `${h}: must be 0 or 3..65535 seconds`);
  if (cfg.families.length === 0) throw new ConfigError('families', 'at least one address family is needed');
}

function connInfo(socket: net.Socket, outbound: boolean): ConnInfo {
  return {
    localAddress: normalizeAddress(socket.localAddress),
    localPort: socket.localPort ?? 0,
    remoteAddress: normalizeAddress(socket.remoteAddress),
    remotePort: socket.remotePort ?? 0,
    outbound,
  };
}

function notificationOf(e: unknown): NotificationMessage {
  if (e instanceof BgpError) return { type: 'notification', ...e.notification };
  throw e;
}
