/**
 * BgpListener: accepts BGP connections on one address/port and hands each to the Session configured
 * for the remote address. A connection from an address that is no configured peer is closed at once
 * (no OPEN, no NOTIFICATION: we owe a stranger nothing) and counted in `rejected`; so is one the
 * session refuses (it is Idle, or a connection to that peer is already Established) — counted in
 * `refused`. IPv4-mapped IPv6 addresses are matched as the IPv4 address they carry.
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

  constructor(
    private readonly opts: { address: string; port: number },
    private readonly lookup: (remoteAddress: string) => Session | undefined,
  ) {
    super();
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
    const remote = normalizeAddress(socket.remoteAddress);
    const session = this.lookup(remote);
    if (!session) {
      this.rejected++;
      socket.on('error', () => {});
      socket.destroy();
      this.emit('rejected', remote);
      return;
    }
    if (!session.accept(socket)) this.refused++;
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
