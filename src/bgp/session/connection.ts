/**
 * Connection: one TCP connection to a peer (or an attempt at one) with its own FSM state, Framer
 * and timers. It turns socket and timer happenings into RFC 4271 events for its Session and writes
 * what the FSM sends; it decides nothing itself. A Session has one, and a second one while two
 * connections race (RFC 4271 §6.8).
 *
 * What burned us / others:
 *  - close() right after writing a NOTIFICATION loses it when unread bytes sit in our receive
 *    buffer (the kernel answers with RST). We end() the socket, keep draining input, and destroy it
 *    only when the peer has closed too, or after LINGER_MS.
 *  - A decoding error becomes a different event depending on the message it was found in (§6):
 *    Event 22 for an OPEN, 28 for an UPDATE, 21 for the header; getting this wrong sends the peer a
 *    NOTIFICATION it cannot make sense of.
 *  - TCP-MD5 (RFC 2385): the SYN is signed, so the key must be on the socket before connect();
 *    Node makes its descriptor inside connect(), so a keyed connection starts from our own
 *    descriptor (tcp-md5.ts) handed to net.Socket, whose connect() reuses it.
 *  - Nagle's algorithm held back the tail of each batch of UPDATEs until the peer ACKed (delayed
 *    ACK: up to 40 ms); sockets are TCP_NODELAY and batches go out with one writev instead.
 *  - Restarting the HoldTimer on every UPDATE with clearTimeout/setTimeout costs a timer pair per
 *    message; a running timer moved to a later deadline is only re-armed when it fires.
 */
import net from 'node:net';
import { PetrelError } from '../../errors.js';
import { canonicalIp } from '../../model/ip.js';
import { TIMER_EXPIRED, type ConnInfo, type FsmEvent, type FsmState, type TimerName } from '../fsm/index.js';
import {
  BgpError, decodeMessage, encodeMessage, ErrorCode, Framer, KEEPALIVE_BYTES, MsgType, OpenSubcode,
  type BgpMessage, type CodecContext, type NotificationMessage, type OpenMessage,
} from '../wire/index.js';
import { closeFd, md5ConnectSocket } from './tcp-md5.js';
import type { Clock, Logger, SessionMetrics, SessionStats } from './types.js';

const PRE_OPEN_CTX: CodecContext = { fourOctetAs: false, extendedMessage: false };
/** How long a closing socket may wait for the peer's FIN before it is destroyed (real time, ms). */
const LINGER_MS = 2_000;


/**
 * Jitter, as the lowest fraction of the nominal value: RFC 4271 §10 puts ConnectRetry and Keepalive
 * at 75–100 %; the idle hold before an automatic reconnect is spread over 50–100 %, so that the
 * clients of a restarted route reflector do not all call back in the same millisecond.
 */
const JITTER_FLOOR: Partial<Record<TimerName, number>> = { ConnectRetry: 0.75, Keepalive: 0.75, IdleHold: 0.5 };

export const TYPE_NAME: Record<number, string> = { 1: 'open', 2: 'update', 3: 'notification', 4: 'keepalive', 5: 'route-refresh' };

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

/** What a Connection needs from its Session. */
export interface ConnectionHost {
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: SessionMetrics;
  readonly stats: SessionStats;
  readonly peer: string;
  /** Uniform in [0, 1): the timers' jitter (Math.random in production, seeded in tests). */
  readonly random: () => number;
  /** Decode IPv4 prefixes as numeric keys (SessionConfig.ipv4PrefixKeys). */
  readonly prefixKeys?: boolean;
  /** An event for this connection's FSM. */
  event(c: Connection, e: FsmEvent): void;
  /** A well-formed OPEN: the session runs collision detection before the FSM sees it. */
  open(c: Connection, open: OpenMessage): void;
  /** The socket accepts writes again. */
  drain(c: Connection): void;
  /** A closing socket, to await in stop(). */
  closing(done: Promise<void>): void;
  /** Something of ours threw while handling this connection's socket: reset it, keep the process. */
  fault(c: Connection, err: unknown, where: string): void;
}

interface ArmedTimer {
  handle: unknown;
  firesAt: number;
  due: number;
}

export class Connection {
  socket: net.Socket | undefined;
  /** Dropped from the session: its events are ignored. */
  gone = false;
  private framer = new Framer();
  private readonly timers = new Map<TimerName, ArmedTimer>();
  /** The negotiated codec context with ipv4PrefixKeys added, and the context it was made from. */
  private keyedCtx: CodecContext | undefined;
  private keyedFrom: CodecContext | undefined;

  constructor(public fsm: FsmState, private readonly host: ConnectionHost) {}

  // ---------------------------------------------------------------- timers

  /** Starts (or restarts) a timer; its expiry comes back as the RFC event. */
  arm(t: TimerName, nominalMs: number): void {
    const { clock } = this.host;
    const floor = JITTER_FLOOR[t];
    const ms = floor !== undefined ? Math.floor(nominalMs * (floor + this.host.random() * (1 - floor))) : nominalMs;
    const due = clock.now() + ms;
    const cur = this.timers.get(t);
    if (cur && cur.firesAt <= due) {
      cur.due = due; // fires early, then re-arms for the rest
      return;
    }
    if (cur) clock.clearTimeout(cur.handle);
    const timer: ArmedTimer = { handle: undefined, firesAt: due, due };
    const fire = () => {
      const now = clock.now();
      if (now < timer.due) {
        timer.firesAt = timer.due;
        timer.handle = clock.setTimeout(fire, timer.due - now);
        return;
      }
      if (this.timers.get(t) === timer) this.timers.delete(t);
      this.host.event(this, TIMER_EXPIRED[t]);
    };
    timer.handle = clock.setTimeout(fire, ms);
    this.timers.set(t, timer);
  }

  disarm(t: TimerName): void {
    const cur = this.timers.get(t);
    if (cur) this.host.clock.clearTimeout(cur.handle);
    this.timers.delete(t);
  }

  /** Leaves the session: timers cancelled, socket closed, later events ignored. */
  drop(): void {
    this.gone = true;
    for (const t of this.timers.values()) this.host.clock.clearTimeout(t.handle);
    this.timers.clear();
    this.close();
  }

  // ---------------------------------------------------------------- sockets

  /**
   * Active open (answered by Event 16 or 18). With a TCP-MD5 password the socket is made and keyed
   * before connect() (tcp-md5.ts); a failure to do so is a failed connection attempt whose reason
   * carries the error code (BGP_ERR_TCP_MD5_UNAVAILABLE, BGP_ERR_TCP_MD5_KEY), never the password.
   */
  connect(opts: net.TcpNetConnectOpts, password?: string): void {
    this.close();
    let socket: net.Socket;
    if (password) {
      try {
        socket = md5Socket(opts.host!, password);
      } catch (e) {
        const code = e instanceof PetrelError ? e.code : 'BGP_ERR_TCP_MD5_SOCKET';
        const message = e instanceof Error ? e.message : String(e);
        this.host.log.error({ peer: this.host.peer, code, err: message }, 'cannot open a TCP-MD5 signed connection');
        this.host.event(this, { kind: 'TcpConnectionFails', reason: `${code}: ${message}` });
        return;
      }
      socket.connect(opts);
    } else socket = net.connect(opts);
    this.socket = socket;
    let connected = false;
    socket.once('connect', this.guard('connect', () => {
      connected = true;
      if (this.socket !== socket || this.gone) return;
      this.wire(socket);
      this.host.event(this, { kind: 'Tcp_CR_Acked', conn: connInfo(socket, true) });
    }));
    socket.on('error', this.guard('error', (err: Error) => {
      if (!connected && this.socket === socket) {
        this.host.log.debug({ peer: this.host.peer, err: err.message }, 'connect failed');
        this.socket = undefined;
        socket.destroy();
        this.host.event(this, { kind: 'TcpConnectionFails', reason: err.message });
      }
    }));
  }

  /** Takes an accepted socket; returns what Event 17 carries. */
  adopt(socket: net.Socket): ConnInfo {
    this.close();
    this.socket = socket;
    this.wire(socket);
    return connInfo(socket, false);
  }

  setMaxMessageLength(n: number): void {
    this.framer.setMaxMessageLength(n);
  }

  /** Writes an already encoded message; false = the socket's buffer is full ('drain' follows). */
  writeFrame(frame: Uint8Array): boolean {
    const s = this.socket;
    if (!s || s.destroyed || !s.writable) return false;
    return s.write(frame);
  }

  /**
   * Writes many encoded messages with one system call: cork, write each, uncork (libuv then hands
   * the whole batch to writev). One write per UPDATE to a veth cost tens of µs of kernel time each,
   * most of a reflector's CPU with many clients. False = the socket's buffer is full.
   */
  writeFrames(frames: readonly Uint8Array[]): boolean {
    const s = this.socket;
    if (!s || s.destroyed || !s.writable) return false;
    if (frames.length === 1) return s.write(frames[0]);
    s.cork();
    let ok = true;
    for (let i = 0; i < frames.length; i++) ok = s.write(frames[i]);
    s.uncork();
    return ok;
  }

  /** Encodes and writes a message the FSM sends. */
  send(m: BgpMessage): void {
    const s = this.socket;
    if (!s || s.destroyed || !s.writable) return;
    s.write(m.type === 'keepalive' ? KEEPALIVE_BYTES : encodeMessage(m, this.fsm.negotiated?.codec ?? PRE_OPEN_CTX));
    const { metrics, stats, log, peer } = this.host;
    metrics.messageSent?.(m.type);
    if (m.type === 'notification') {
      stats.notificationsOut++;
      metrics.notificationSent(m.code, m.subcode);
      log.info({ peer, code: m.code, subcode: m.subcode, shutdownMessage: m.shutdownMessage }, 'NOTIFICATION sent');
    }
  }

  /** Flushes what was written, sends FIN, drains input until the peer closes, destroys after LINGER_MS. */
  close(): void {
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    this.framer = new Framer();
    if (socket.destroyed) return;
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(() => socket.destroy(), LINGER_MS);
      timer.unref();
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.host.closing(done);
    socket.resume();
    if (socket.connecting) socket.destroy();
    else socket.end();
  }

  private wire(socket: net.Socket): void {
    this.framer = new Framer();
    // We coalesce writes ourselves (one writev per RIB flush, writeFrames). With Nagle on, the
    // tail segment of each flush — and every KEEPALIVE — waited for the ACK of the previous one,
    // which a peer may delay by up to 40 ms: a visible share of small reflector bursts.
    socket.setNoDelay(true);
    socket.on('data', this.guard('data', (chunk: Buffer) => {
      if (this.socket === socket && !this.gone) this.onData(chunk);
    }));
    socket.on('error', (err) => {
      if (this.socket === socket) this.host.log.debug({ peer: this.host.peer, err: err.message }, 'socket error');
    });
    socket.on('close', this.guard('close', () => {
      if (this.socket === socket && !this.gone) {
        this.socket = undefined;
        this.host.event(this, { kind: 'TcpConnectionFails', reason: 'TCP connection closed' });
      }
    }));
    socket.on('drain', this.guard('drain', () => {
      if (this.socket === socket) this.host.drain(this);
    }));
  }

  /**
   * A socket handler that cannot take the process down: whatever it throws (a decoder bug, a
   * listener of the session's events) is handed to the session, which resets this connection only.
   * Without it, an exception in a 'data' handler is uncaught and ends every session of the node.
   */
  private guard<A extends unknown[]>(where: string, fn: (...args: A) => void): (...args: A) => void {
    return (...args: A) => {
      try {
        fn(...args);
      } catch (err) {
        this.host.fault(this, err, where);
      }
    };
  }

  // ---------------------------------------------------------------- bytes → events

  private onData(chunk: Uint8Array): void {
    let frames: Uint8Array[];
    try {
      frames = this.framer.push(chunk);
    } catch (e) {
      this.host.event(this, { kind: 'BGPHeaderErr', notification: notificationOf(e) });
      return;
    }
    for (const frame of frames) {
      if (this.gone || !this.socket) return;
      this.onFrame(frame);
    }
  }

  private decodeCtx(): CodecContext {
    const codec = this.fsm.negotiated?.codec;
    if (!codec) return PRE_OPEN_CTX;
    if (!this.host.prefixKeys) return codec;
    if (this.keyedFrom !== codec) {
      this.keyedCtx = { ...codec, ipv4PrefixKeys: true };
      this.keyedFrom = codec;
    }
    return this.keyedCtx as CodecContext;
  }

  private onFrame(frame: Uint8Array): void {
    const { metrics, stats, log, peer } = this.host;
    let d: ReturnType<typeof decodeMessage>;
    try {
      d = decodeMessage(frame, this.decodeCtx());
    } catch (e) {
      const n = notificationOf(e);
      const type = frame[18];
      metrics.messageReceived?.(TYPE_NAME[type] ?? 'unknown');
      // RFC 4271 §6: the event depends on the message the error was found in.
      if (n.code === ErrorCode.MessageHeader) this.host.event(this, { kind: 'BGPHeaderErr', notification: n });
      else if (type === MsgType.Open) this.host.event(this, { kind: 'BGPOpenMsgErr', notification: n });
      else if (type === MsgType.Update) {
        metrics.attributeProblem('session-reset');
        this.host.event(this, { kind: 'UpdateMsgErr', notification: n });
      } else this.host.event(this, { kind: 'BGPHeaderErr', notification: n });
      return;
    }
    const msg = d.message;
    metrics.messageReceived?.(msg.type);
    switch (msg.type) {
      case 'update':
        this.host.event(this, { kind: 'UpdateMsg', update: msg, problems: d.problems, rawAttributes: d.rawAttributes });
        return;
      case 'open':
        this.host.open(this, msg);
        return;
      case 'keepalive':
        this.host.event(this, { kind: 'KeepAliveMsg' });
        return;
      case 'notification':
        stats.notificationsIn++;
        metrics.notificationReceived(msg.code, msg.subcode);
        log.info({ peer, code: msg.code, subcode: msg.subcode, shutdownMessage: msg.shutdownMessage }, 'NOTIFICATION received');
        // RFC 4271 §8.1.2 Event 24: a NOTIFICATION reporting an unsupported version number.
        if (msg.code === ErrorCode.Open && msg.subcode === OpenSubcode.UnsupportedVersionNumber) {
          this.host.event(this, { kind: 'NotifMsgVerErr', notification: msg });
        } else this.host.event(this, { kind: 'NotifMsg', notification: msg });
        return;
      case 'route-refresh':
        this.host.event(this, { kind: 'RouteRefreshMsg', message: msg });
        return;
    }
  }
}

/** A net.Socket over a descriptor that already holds the peer's MD5 key; connect() it next. */
function md5Socket(peer: string, password: string): net.Socket {
  const fd = md5ConnectSocket(peer, password);
  try {
    return new net.Socket({ fd });
  } catch (e) {
    closeFd(fd);
    throw e;
  }
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

/** The NOTIFICATION a codec error stands for. Anything else is a bug of ours: rethrown, caught by guard(). */
function notificationOf(e: unknown): NotificationMessage {
  if (e instanceof BgpError) return { type: 'notification', ...e.notification };
  throw e;
}
