/**
 * BgpListener: accepts BGP connections on one address/port and hands each to the Session configured
 * for the remote address. A connection from an address that is no configured peer is closed at once
 * (no OPEN, no NOTIFICATION: we owe a stranger nothing) and counted in `rejected`; so is one the
 * session refuses (it is Idle, or a connection to that peer is already Established) — counted in
 * `refused`. IPv4-mapped IPv6 addresses are matched as the IPv4 address they carry.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { PetrelError } from '../../errors.js';
import { normalizeAddress } from './connection.js';
import type { Session } from './session.js';

export class BgpListener extends EventEmitter {
  /** Connections from addresses that are not configured peers, closed at once. */
  rejected = 0;
  /** Connections from configured peers that their session refused. */
  refused = 0;
  /** The last error the listening socket reported after listen() (e.g. EMFILE); it keeps listening. */
  lastError: Error | undefined;
  private server: net.Server | undefined;

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

  /** Stops accepting; connections already handed to sessions stay theirs. */
  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
