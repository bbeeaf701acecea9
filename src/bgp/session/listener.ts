/**
 * BgpListener: accepts BGP connections on one address/port and hands each to the Session configured
 * for the remote address. A connection from an address that is no configured peer is closed at once
 * (no OPEN, no NOTIFICATION: we owe a stranger nothing), counted in `rejected` and logged — one
 * warning per address per minute, the next one saying how many were suppressed meanwhile, and at
 * most LOG_ADDRESSES addresses remembered (a scan from many addresses cannot grow memory or flood
 * the log). One the session refuses (it is stopped, or a connection to that peer is already
 * Established) is counted in `refused`. IPv4-mapped IPv6 addresses are matched as the IPv4 address
 * they carry. Whatever throws while a connection is handed over is logged and closes that connection
 * only (an exception in a 'connection' handler would end the process).
 *
 * TCP-MD5 (RFC 2385): setPassword(peer, key) keeps one key per peer address on the listening socket
 * (set after listen(), kept across it, deleted with setPassword(peer, undefined)); an accepted
 * connection inherits the keys the listener held at its SYN. Peers without a key connect unsigned
 * as before. A listener on `::` files an IPv4 peer's key under its IPv4-mapped address; a listener
 * on an IPv4 address never hears from an IPv6 peer, so that key is kept but not set.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { PetrelError } from '../../errors.js';
import { normalizeAddress } from './connection.js';
import type { Session } from './session.js';
import { md5KeyBytes, setMd5Key, TcpMd5Error } from './tcp-md5.js';
import { realClock } from './clock.js';
import { silentLogger } from '../../model/log.js';
import type { Clock, Logger } from './types.js';

/** One log line per unknown address per this many ms. */
const LOG_WINDOW_MS = 60_000;
/** Unknown addresses remembered for the rate limit; beyond it the oldest is forgotten. */
const LOG_ADDRESSES = 1024;
/** At most this many lines about unknown addresses per window, whatever the number of addresses. */
const LOG_LINES_PER_WINDOW = 20;

export interface BgpListenerDeps {
  log?: Logger;
  clock?: Clock;
}

export class BgpListener extends EventEmitter {
  /** Connections from addresses that are not configured peers, closed at once. */
  rejected = 0;
  /** Connections from configured peers that their session refused. */
  refused = 0;
  /** The last error the listening socket reported after listen() (e.g. EMFILE); it keeps listening. */
  lastError: Error | undefined;
  private server: net.Server | undefined;
  /** TCP-MD5 keys by canonical peer address. */
  private readonly md5Keys = new Map<string, string>();
  private readonly log: Logger;
  private readonly clock: Clock;
  /** Rate limit of the unknown-address warnings: when each address was last logged, and what was suppressed since. */
  private readonly strangers = new Map<string, { loggedAt: number; suppressed: number }>();
  private window = { start: -Infinity, lines: 0, suppressed: 0 };

  constructor(
    private readonly opts: { address: string; port: number },
    private readonly lookup: (remoteAddress: string) => Session | undefined,
    deps: BgpListenerDeps = {},
  ) {
    super();
    this.log = deps.log ?? silentLogger;
    this.clock = deps.clock ?? realClock;
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : this.opts.port;
  }

  listen(): Promise<void> {
    if (this.server) return Promise.resolve();
    const server = net.createServer((socket) => this.onConnection(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', (err) => {
        this.server = undefined;
        reject(new PetrelError('BGP_LISTEN_FAILED', `cannot listen on [${this.opts.address}]:${this.opts.port}: ${err.message}`, { cause: err }));
      });
      server.listen({ host: this.opts.address, port: this.opts.port, exclusive: true }, () => {
        server.on('error', (err) => {
          this.lastError = err;
        });
        try {
          for (const [peer, key] of this.md5Keys) this.applyKey(peer, key);
        } catch (e) {
          // A host that cannot sign (BGP_ERR_TCP_MD5_UNAVAILABLE, a kernel without TCP_MD5SIG)
          // must not accept the keyed peers unsigned: no listener at all, and say why.
          this.server = undefined;
          server.close();
          reject(e);
          return;
        }
        resolve();
      });
    });
  }

  private onConnection(socket: net.Socket): void {
    socket.on('error', () => {});
    try {
      const remote = normalizeAddress(socket.remoteAddress);
      const session = this.lookup(remote);
      if (!session) {
        this.rejected++;
        socket.destroy();
        this.logStranger(remote, socket.remotePort);
        this.emit('rejected', remote);
        return;
      }
      if (!session.accept(socket)) this.refused++;
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      this.log.error({ remote: socket.remoteAddress, err: e.message, stack: e.stack }, 'internal error while accepting a BGP connection; connection closed');
      socket.destroy();
    }
  }

  /** The rate-limited warning for a connection from an address that is no configured peer. */
  private logStranger(remote: string, port: number | undefined): void {
    const now = this.clock.now();
    if (now - this.window.start >= LOG_WINDOW_MS) {
      if (this.window.suppressed > 0) this.log.warn({ suppressed: this.window.suppressed }, 'connections from unknown addresses not logged in the last minute (too many addresses)');
      this.window = { start: now, lines: 0, suppressed: 0 };
    }
    const seen = this.strangers.get(remote);
    if (seen && now - seen.loggedAt < LOG_WINDOW_MS) {
      seen.suppressed++;
      return;
    }
    if (this.window.lines >= LOG_LINES_PER_WINDOW) {
      this.window.suppressed++;
      if (seen) seen.suppressed++;
      return;
    }
    this.window.lines++;
    const suppressed = seen?.suppressed ?? 0;
    this.strangers.delete(remote);
    this.strangers.set(remote, { loggedAt: now, suppressed: 0 });
    if (this.strangers.size > LOG_ADDRESSES) this.strangers.delete(this.strangers.keys().next().value as string);
    this.log.warn({ remote, port, suppressed, total: this.rejected }, 'BGP connection from an address that is no configured peer refused');
  }

  /**
   * Sets (or, with undefined, deletes) the TCP-MD5 key for connections from `peer`. Before listen()
   * the key is kept and set by listen(); while listening it is set at once and a failure throws a
   * TcpMd5Error (BGP_ERR_TCP_MD5_UNAVAILABLE, BGP_ERR_TCP_MD5_KEY) — the key is kept all the same.
   */
  setPassword(peer: string, password: string | undefined): void {
    const a = normalizeAddress(peer);
    if (password) {
      md5KeyBytes(password, 'password');
      this.md5Keys.set(a, password);
    } else if (!this.md5Keys.delete(a)) return;
    if (this.server?.listening) this.applyKey(a, password || undefined);
  }

  /** Peers with a TCP-MD5 key on this listener (addresses only). */
  get md5Peers(): string[] {
    return [...this.md5Keys.keys()];
  }

  private applyKey(peer: string, password: string | undefined): void {
    const server = this.server!;
    const a = server.address();
    const family = a && typeof a === 'object' && a.family === 'IPv6' ? 6 : 4;
    if (family === 4 && peer.includes(':')) return;
    setMd5Key(serverFd(server), family, peer, password);
  }

  /** Stops accepting; connections already handed to sessions stay theirs. */
  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}

/** The listening socket's descriptor (libuv's TCP handle exposes it on Linux). */
function serverFd(server: net.Server): number {
  const fd = (server as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new TcpMd5Error('BGP_ERR_TCP_MD5_SOCKET', 'the listening socket has no file descriptor to set TCP-MD5 keys on');
  return fd;
}
