/**
 * The UDP side of single-hop BFD (RFC 5881), a BfdTransport for BfdEndpoint:
 *  - Control packets are received on port 3784 of the local address (§4).
 *  - §5 (GTSM): packets are sent with TTL / Hop Limit 255, and a received packet whose TTL / Hop
 *    Limit is not 255 MUST be discarded. Node's dgram cannot read a datagram's TTL, so the kernel
 *    drops them for us: a four-instruction classic BPF socket filter (SO_ATTACH_FILTER) on the
 *    receiving socket loads the TTL (IPv4 header octet 8) or Hop Limit (IPv6 octet 7) through
 *    SKF_NET_OFF and accepts only 255. Attached through Petrel's addon (native/netlink.c attachFilter:
 *    Node has no setsockopt).
 *    What burned us: IP_MINTTL / IPV6_MINHOPCOUNT, the usual GTSM options, are honoured by TCP only;
 *    on a UDP socket setsockopt succeeds and nothing is dropped.
 *  - §4: each session sends from its own source port in 49152–65535, kept for the session's life.
 *    Binding to port 0 would draw from the kernel's ephemeral range (32768–60999 by default), so a
 *    port is drawn at random in the BFD range and the draw retried if it is taken (bounded).
 */
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PetrelError } from '../errors.js';
import type { BfdTransport } from './endpoint.js';

export const BFD_CONTROL_PORT = 3784;
const SRC_PORT_MIN = 49152;
const SRC_PORT_MAX = 65535;
/** asm-generic/socket.h, linux/filter.h */
const SKF_NET_OFF = 0xfff00000; // -0x100000 as u32: offsets from the network header
const BPF_LD_B_ABS = 0x30;
const BPF_JEQ_K = 0x15;
const BPF_RET_K = 0x06;

interface SockFilter { code: number; jt: number; jf: number; k: number }
type AttachFilter = (fd: number, prog: SockFilter[]) => number;
let attachFn: AttachFilter | undefined;

/** native/build/Release/petrel_netlink.node, three levels above this file in src/ and in dist/ alike. */
function addonPath(): string {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  return process.env.PETREL_NETLINK_ADDON ?? join(root, 'native', 'build', 'Release', 'petrel_netlink.node');
}

function attachFilter(): AttachFilter {
  if (attachFn) return attachFn;
  try {
    const addon = createRequire(import.meta.url)(addonPath()) as { attachFilter?: (fd: number, prog: Uint8Array) => number };
    if (typeof addon.attachFilter !== 'function') throw new Error(`${addonPath()} predates attachFilter: rebuild it (npm run build:native)`);
    const attach = addon.attachFilter;
    attachFn = (fd, prog) => {
      // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; } in host (little-endian) order.
      const b = Buffer.alloc(prog.length * 8);
      prog.forEach((p, i) => { b.writeUInt16LE(p.code, i * 8); b[i * 8 + 2] = p.jt; b[i * 8 + 3] = p.jf; b.writeUInt32LE(p.k >>> 0, i * 8 + 4); });
      return attach(fd, b);
    };
    return attachFn;
  } catch (e) {
    throw new PetrelError('BFD_ERR_SOCKET', `cannot enforce TTL 255 on BFD packets (RFC 5881 §5): the netlink addon is unavailable (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** The descriptor under a bound dgram socket (libuv's handle; Node warns DEP0112 once, there is no public API). */
function socketFd(s: dgram.Socket): number {
  const fd = (s as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new PetrelError('BFD_ERR_SOCKET', 'the BFD socket has no file descriptor');
  return fd;
}

/** Drops, in the kernel, every datagram arriving with a TTL / Hop Limit other than 255 (RFC 5881 §5). */
function requireTtl255(s: dgram.Socket, ipv6: boolean): void {
  const prog: SockFilter[] = [
    { code: BPF_LD_B_ABS, jt: 0, jf: 0, k: SKF_NET_OFF + (ipv6 ? 7 : 8) }, // A = TTL / Hop Limit
    { code: BPF_JEQ_K, jt: 0, jf: 1, k: 255 }, // A == 255 ?
    { code: BPF_RET_K, jt: 0, jf: 0, k: 0xffffffff }, // accept
    { code: BPF_RET_K, jt: 0, jf: 0, k: 0 }, // drop
  ];
  if (attachFilter()(socketFd(s), prog) !== 0) throw new PetrelError('BFD_ERR_SOCKET', 'setsockopt(SO_ATTACH_FILTER) for the TTL 255 check failed');
}

function bindSocket(s: dgram.Socket, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    s.once('error', onError);
    s.bind({ address, port, exclusive: true }, () => {
      s.off('error', onError);
      resolve();
    });
  });
}

export class UdpBfdTransport implements BfdTransport {
  /** Every Control packet received (after the kernel's TTL check), with its source address. */
  onPacket: (from: string, bytes: Uint8Array) => void = () => {};
  private rx: dgram.Socket | undefined;
  private readonly tx = new Map<string, { socket?: dgram.Socket; ready: Promise<void>; port: number }>();
  private readonly ipv6: boolean;

  constructor(
    private readonly opts: { localAddress: string; port?: number },
    private readonly random: () => number = Math.random,
  ) {
    this.ipv6 = opts.localAddress.includes(':');
  }

  async open(): Promise<void> {
    const s = dgram.createSocket({ type: this.ipv6 ? 'udp6' : 'udp4' });
    await bindSocket(s, this.opts.localAddress, this.opts.port ?? BFD_CONTROL_PORT);
    requireTtl255(s, this.ipv6);
    s.on('message', (msg, rinfo) => this.onPacket(rinfo.address.replace(/^::ffff:(?=\d+\.)/i, ''), msg));
    s.on('error', () => {});
    this.rx = s;
  }

  /** The source port a session uses (for logs and tests). */
  sourcePort(peer: string): number | undefined {
    return this.tx.get(peer)?.port;
  }

  send(peer: string, bytes: Uint8Array): void {
    let t = this.tx.get(peer);
    if (!t) {
      const entry: { socket?: dgram.Socket; ready: Promise<void>; port: number } = { ready: Promise.resolve(), port: 0 };
      entry.ready = this.bindSource().then(({ socket, port }) => {
        entry.socket = socket;
        entry.port = port;
        socket.setTTL(255);
      });
      this.tx.set(peer, entry);
      t = entry;
    }
    const entry = t;
    const port = this.opts.port ?? BFD_CONTROL_PORT;
    void entry.ready.then(() => entry.socket?.send(bytes, port, peer), () => {});
  }

  /** Forgets a peer's source socket (its session ended). */
  release(peer: string): void {
    const t = this.tx.get(peer);
    if (!t) return;
    this.tx.delete(peer);
    void t.ready.finally(() => t.socket?.close()).catch(() => {});
  }

  close(): void {
    for (const peer of [...this.tx.keys()]) this.release(peer);
    this.rx?.close();
    this.rx = undefined;
  }

  private async bindSource(): Promise<{ socket: dgram.Socket; port: number }> {
    for (let i = 0; i < 32; i++) {
      const port = SRC_PORT_MIN + Math.floor(this.random() * (SRC_PORT_MAX - SRC_PORT_MIN + 1));
      const socket = dgram.createSocket({ type: this.ipv6 ? 'udp6' : 'udp4' });
      socket.on('error', () => {});
      try {
        await bindSocket(socket, this.opts.localAddress, port);
        return { socket, port };
      } catch (e) {
        socket.close();
        if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
      }
    }
    throw new PetrelError('BFD_ERR_SOCKET', 'no free source port in 49152–65535 after 32 draws');
  }
}
