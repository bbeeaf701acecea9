/**
 * One netlink socket, driven by the event loop: a request socket (dumps and batches, one at a time)
 * or a monitor socket (multicast events).
 *
 * Batches: N requests are encoded back to back into one reused buffer and sent with as few
 * sendmsg() calls as the buffer allows (256 KiB each), without NLM_F_ACK — the kernel still answers
 * every failed request with an NLMSG_ERROR carrying its sequence number — and then one NLMSG_NOOP
 * with NLM_F_ACK. rtnetlink handles a socket's requests in order, so when the fence's ACK arrives
 * every error of the batch has arrived before it: per-request errors without per-request ACKs.
 * The socket is drained after each sendmsg() so error replies never pile up in the receive buffer.
 *
 * Pipelining (opt-in, PETREL_NETLINK_PIPELINE=1): rtnetlink applies requests inside the sender's
 * sendmsg(), so a synchronous send keeps the event loop waiting while the kernel works. A pipelined
 * batch larger than one chunk goes out with the addon's sendAsync (sendmsg on libuv's thread pool)
 * from two alternating buffers: chunk N+1 is encoded while the kernel applies chunk N; chunks stay in
 * order (the next is sent only when the previous returned). The fd is never closed while a send is
 * in flight (it could be reused by the next socket): close and reopen wait for it.
 * Why opt-in: measured on this shared 2-core machine it was 0-20% *slower* than synchronous sends
 * (encoding is ~0.3 us of the ~4.5 us a route costs, and every chunk's hand-off to a pool thread
 * waits for a busy scheduler); docs/dataplane.md has the figures. Worth re-measuring on idle cores.
 *
 * Bounded: every operation has a timeout (the socket is reopened after one); receive loops stop
 * after a fixed number of reads per wake-up (the poll is level-triggered, so the rest is read on the
 * next turn of the loop); an ENOBUFS on a request socket fails the operation in flight (the caller
 * resynchronises), on a monitor socket it is reported as an overflow.
 */
import * as C from './constants.js';
import { encodeDump, encodeFence, errorCodeOf, forEachMessage, Writer } from './codec.js';
import { NetlinkError, NetlinkStateError } from './errors.js';
import type { NativeNetlink } from './native.js';

export interface SocketOptions {
  protocol: number;
  groups?: number[];
  /** SO_RCVBUF(FORCE) in bytes. */
  rcvbuf?: number;
  /** Path of a network namespace file (/run/netns/NAME); absent = the caller's namespace. */
  nsPath?: string;
  timeoutMs?: number;
  /**
   * Every batch through the thread pool (sendAsync), whatever its size: for requests whose kernel
   * work is long and done inside sendmsg() — creating or deleting a veth takes 8–25 ms under
   * rtnl_lock — so that the event loop (BGP keepalives, other CNI requests) is not held meanwhile.
   */
  asyncSend?: boolean;
}

interface Op {
  first: number;
  last: number; // fence or dump sequence number
  dump: boolean;
  /** errno of each failed request, by its index in the batch. */
  errors: Map<number, number>;
  onMessage?: (type: number, buf: Buffer, off: number, len: number) => void;
  interrupted: boolean;
  resolve: (errors: Map<number, number>) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

const FLUSH_AT = 256 * 1024;
/** Batches of at least this many requests (several chunks) are pipelined. */
const PIPELINE_MIN = 4096;
const MAX_READS_PER_WAKE = 4096;
const SEQ_WRAP = 0x7fff0000;

export class NlSocket {
  readonly nsInode: number;
  private fd: number;
  private poller: unknown;
  private readonly rbuf = Buffer.alloc(1 << 20);
  private readonly w = new Writer();
  private w2: Writer | undefined;
  /** A sendAsync in flight: the fd must stay open until it returns. */
  private inflight: Promise<number> | undefined;
  private seq = 1;
  private active: Op | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  onEvent?: (type: number, buf: Buffer, off: number, len: number) => void;
  onOverflow?: () => void;

  constructor(private readonly native: NativeNetlink, private readonly opts: SocketOptions) {
    const r = this.openFd();
    this.fd = r.fd;
    this.nsInode = r.nsInode;
    this.poller = this.native.poll(this.fd, () => this.drain());
  }

  private openFd(): { fd: number; nsInode: number } {
    const r = this.native.open(this.opts.protocol, this.opts.groups ?? [], this.opts.rcvbuf ?? 8 << 20, this.opts.nsPath ?? null);
    if (typeof r === 'number') throw new NetlinkError(-r, `socket(AF_NETLINK)${this.opts.nsPath ? ` in ${this.opts.nsPath}` : ''}`);
    if ('errno' in r) throw new NetlinkError(r.errno, r.op);
    return r;
  }

  /** Closes and reopens the socket (after a timeout or an overflow): nothing stale is read later. */
  private reopen(): void {
    this.native.pollStop(this.poller);
    this.closeFd(this.fd);
    const r = this.openFd();
    this.fd = r.fd;
    this.poller = this.native.poll(this.fd, () => this.drain());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.pollStop(this.poller);
    this.closeFd(this.fd);
    this.active?.reject(new NetlinkStateError('NL_ERR_CLOSED', 'close', 'socket closed'));
    this.active = undefined;
  }

  /** Closes fd now, or once the send in flight on it has returned. */
  private closeFd(fd: number): void {
    const pending = this.inflight;
    if (pending) void pending.then(() => this.native.close(fd));
    else this.native.close(fd);
  }

  private nextSeq(n: number): number {
    if (this.seq + n + 1 > SEQ_WRAP) this.seq = 1;
    const s = this.seq;
    this.seq += n + 1;
    return s;
  }

  private send(): void {
    const buf = this.w.buf;
    const len = this.w.offset;
    for (let i = 0; i < 1000; i++) {
      const n = this.native.send(this.fd, buf, len);
      if (n >= 0) return;
      if (-n !== C.EAGAIN && -n !== C.ENOBUFS) throw new NetlinkError(-n, 'sendmsg');
      this.drain();
    }
    throw new NetlinkError(C.EAGAIN, 'sendmsg', 'socket stayed busy');
  }

  /** Runs fn once the previous operation finished (one operation in flight per socket). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private start(op: Op, what: string): void {
    if (this.closed) throw new NetlinkStateError('NL_ERR_CLOSED', what, 'socket closed');
    this.active = op;
    op.timer = setTimeout(() => {
      if (this.active !== op) return;
      this.active = undefined;
      try { this.reopen(); } catch { /* the next operation reports it */ }
      op.reject(new NetlinkStateError('NL_ERR_TIMEOUT', what, `no answer within ${this.opts.timeoutMs ?? 15000} ms`));
    }, this.opts.timeoutMs ?? 15000);
  }

  /**
   * Sends `count` requests built by `encode(writer, index, seq)` followed by an ACKed fence.
   * Resolves with the errno of each failed request, by index.
   */
  transact(count: number, encode: (w: Writer, index: number, seq: number) => void, what = 'batch', onReply?: Op['onMessage']): Promise<Map<number, number>> {
    return this.serial(() => new Promise<Map<number, number>>((resolve, reject) => {
      const first = this.nextSeq(count);
      const op: Op = { first, last: first + count, dump: false, errors: new Map(), interrupted: false, resolve, reject, ...(onReply ? { onMessage: onReply } : {}) };
      if (this.native.sendAsync && (this.opts.asyncSend || (count >= PIPELINE_MIN && process.env.PETREL_NETLINK_PIPELINE === '1'))) {
        try { this.start(op, what); } catch (e) { this.finish(op); reject(e as Error); return; }
        this.pump(op, count, encode).catch((e: Error) => { this.finish(op); reject(e); });
        return;
      }
      try {
        this.start(op, what);
        const w = this.w;
        w.reset();
        for (let i = 0; i < count; i++) {
          encode(w, i, first + i);
          if (w.offset >= FLUSH_AT) { this.send(); w.reset(); this.drain(); }
        }
        encodeFence(w, op.last);
        this.send();
        w.reset();
        this.drain();
      } catch (e) {
        this.finish(op);
        reject(e as Error);
      }
    }));
  }

  /** The pipelined batch: encode a chunk, wait for the previous send, send it, swap buffers. */
  private async pump(op: Op, count: number, encode: (w: Writer, index: number, seq: number) => void): Promise<void> {
    let w = this.w;
    let spare = (this.w2 ??= new Writer());
    let sending: Promise<void> | undefined;
    let i = 0;
    for (;;) {
      w.reset();
      for (; i < count && w.offset < FLUSH_AT; i++) encode(w, i, op.first + i);
      const last = i >= count;
      if (last) encodeFence(w, op.last);
      if (sending) await sending;
      if (this.active !== op) return; // ended meanwhile (timeout, overflow, close): send nothing more
      this.drain();
      sending = this.sendAsync(w);
      if (last) break;
      const t = w; w = spare; spare = t;
    }
    await sending;
    this.drain();
  }

  /** One chunk through sendAsync, retried (bounded) while the kernel says EAGAIN/ENOBUFS. */
  private async sendAsync(w: Writer): Promise<void> {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const p = new Promise<number>((res) => this.native.sendAsync!(this.fd, w.buf, w.offset, res));
      this.inflight = p;
      const n = await p;
      if (this.inflight === p) this.inflight = undefined;
      if (n >= 0) return;
      if (-n !== C.EAGAIN && -n !== C.ENOBUFS) throw new NetlinkError(-n, 'sendmsg');
      this.drain();
    }
    throw new NetlinkError(C.EAGAIN, 'sendmsg', 'socket stayed busy');
  }

  /** A dump (NLM_F_DUMP) of `type` for `family`; `onMessage` sees every reply message in place. */
  dump(type: number, family: number, onMessage: (type: number, buf: Buffer, off: number, len: number) => void): Promise<void> {
    return this.serial(() => new Promise<Map<number, number>>((resolve, reject) => {
      const seq = this.nextSeq(0);
      const op: Op = { first: seq, last: seq, dump: true, errors: new Map(), onMessage, interrupted: false, resolve, reject };
      try {
        this.start(op, `dump ${type}`);
        this.w.reset();
        encodeDump(this.w, type, family, seq);
        this.send();
        this.w.reset();
        this.drain();
      } catch (e) {
        this.finish(op);
        reject(e as Error);
      }
    })).then(() => undefined);
  }

  private finish(op: Op): void {
    if (op.timer) clearTimeout(op.timer);
    if (this.active === op) this.active = undefined;
  }

  /** Reads everything queued (bounded per wake-up) and dispatches it. */
  private drain(): void {
    if (this.closed) return;
    for (let i = 0; i < MAX_READS_PER_WAKE; i++) {
      const n = this.native.recv(this.fd, this.rbuf);
      if (n === -C.EAGAIN) return;
      if (n < 0) {
        if (-n === C.ENOBUFS) {
          const op = this.active;
          if (op) {
            this.finish(op);
            op.reject(new NetlinkError(C.ENOBUFS, op.dump ? 'dump' : 'batch', 'receive buffer overflow; resynchronise'));
          }
          this.onOverflow?.();
          continue;
        }
        const op = this.active;
        if (op) { this.finish(op); op.reject(new NetlinkError(-n, 'recv')); }
        return;
      }
      if (n === 0) return;
      this.dispatch(n);
    }
  }

  private dispatch(n: number): void {
    const buf = this.rbuf;
    forEachMessage(buf, n, (type, off, mlen, flags, seq) => {
      const op = this.active;
      if (!op || seq < op.first || seq > op.last) {
        if (seq === 0 || !op) this.onEvent?.(type, buf, off, mlen);
        return;
      }
      if (flags & C.NLM_F_DUMP_INTR) op.interrupted = true;
      if (type === C.NLMSG_ERROR) {
        const errno = errorCodeOf(buf, off);
        if (seq === op.last) {
          this.finish(op);
          if (op.dump && errno !== 0) op.reject(new NetlinkError(errno, 'dump'));
          else op.resolve(op.errors);
        } else if (errno !== 0) op.errors.set(seq - op.first, errno); // by request index
        return;
      }
      if (type === C.NLMSG_DONE && op.dump) {
        this.finish(op);
        if (op.interrupted) op.reject(new NetlinkError(4, 'dump', 'dump interrupted by a concurrent change (NLM_F_DUMP_INTR)'));
        else op.resolve(op.errors);
        return;
      }
      // A dump's messages, or the replies to requests that ask for one (RTM_GETLINK of one name).
      if (type >= 16) op.onMessage?.(type, buf, off, mlen);
    });
  }
}
