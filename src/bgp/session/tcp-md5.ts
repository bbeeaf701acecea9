/**
 * TCP-MD5 signatures (RFC 2385) for BGP sessions, through Linux's TCP_MD5SIG socket option.
 *
 * Linux keeps MD5 keys per socket, one per peer address, in `struct tcp_md5sig` (linux/tcp.h):
 *
 *   offset   0  struct sockaddr_storage tcpm_addr   128 bytes: the peer (port ignored)
 *   offset 128  u8  tcpm_flags                       0 (only TCP_MD5SIG_EXT reads it)
 *   offset 129  u8  tcpm_prefixlen                   0 (idem)
 *   offset 130  u16 tcpm_keylen                      host byte order; 0 deletes the key
 *   offset 132  int tcpm_ifindex                     0 (idem)
 *   offset 136  u8  tcpm_key[80]                     TCP_MD5SIG_MAXKEYLEN
 *                                                    = 216 bytes
 *
 * Two places need a key, and both must have it before the peer's first segment arrives:
 *  - passive: the LISTENING socket, after listen(), one key per configured peer; accepted sockets
 *    inherit the keys the listener held when the SYN came in;
 *  - active: our socket before connect(), since the SYN is already signed. Node creates its socket
 *    file descriptor inside connect(), too late, so we create it ourselves (socket(2)), set the key,
 *    and give the descriptor to `new net.Socket({ fd })`, whose connect() then uses it (libuv keeps
 *    an existing descriptor and binds/connects it).
 *
 * Node has no API for struct socket options and no npm package sets them, so socket(2),
 * setsockopt(2) and close(2) go through Petrel's own addon (native/netlink.c: tcpSocket, setsockopt,
 * close), the one native boundary of the project (it replaced an FFI library, koffi, which loaded
 * libc by name and shipped prebuilt binaries for every platform). The addon is loaded lazily, on the
 * first key: a Petrel without passwords never loads it here, and a Petrel that needs it and cannot
 * load it says so with BGP_ERR_TCP_MD5_UNAVAILABLE.
 *
 * What burned us / others:
 *  - An AF_INET6 socket (a listener on `::`) rejects an AF_INET address (EINVAL): an IPv4 peer's key
 *    goes in as its IPv4-mapped IPv6 address, which the kernel files as the IPv4 key.
 *  - A segment without a signature from a peer that has a key, or a signed one from a peer that has
 *    none, is dropped silently by the kernel (counters TCPMD5NotFound / TCPMD5Unexpected /
 *    TCPMD5Failure in /proc/net/netstat, per network namespace): a wrong password looks like a peer
 *    that never answers, never like an error. Logs must say a key is configured (never the key).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants, endianness } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, PetrelError } from '../../errors.js';
import { familyOfIp, parseIp } from '../../model/ip.js';

/** linux/tcp.h */
export const TCP_MD5SIG = 14;
export const TCP_MD5SIG_MAXKEYLEN = 80;
export const TCP_MD5SIG_SIZE = 216;
const IPPROTO_TCP = 6;
const AF_INET = 2;
const AF_INET6 = 10;
const KEY_OFFSET = 136;
const KEYLEN_OFFSET = 130;

export class TcpMd5Error extends PetrelError {}

export type SocketFamily = 4 | 6;

/** The key's bytes (UTF-8), checked against RFC 2385's practical limit on Linux (80 bytes). */
export function md5KeyBytes(password: string, field = 'password'): Uint8Array {
  const key = new TextEncoder().encode(password);
  if (key.length === 0) throw new ConfigError(field, 'a TCP-MD5 password cannot be empty');
  if (key.length > TCP_MD5SIG_MAXKEYLEN) {
    throw new ConfigError(field, `a TCP-MD5 password is at most ${TCP_MD5SIG_MAXKEYLEN} bytes (this one has ${key.length})`);
  }
  return key;
}

/**
 * `struct tcp_md5sig` for `peer` on a socket of family `socketFamily`; `key` undefined → delete.
 * Pure, so the layout is tested byte by byte.
 */
export function md5SigStruct(socketFamily: SocketFamily, peer: string, key: Uint8Array | undefined): Uint8Array {
  const buf = new Uint8Array(TCP_MD5SIG_SIZE);
  const view = new DataView(buf.buffer);
  const le = endianness() === 'LE';
  const addr = parseIp(peer);
  if (socketFamily === 4) {
    if (addr.length !== 4) throw new TcpMd5Error('BGP_ERR_TCP_MD5_FAMILY', `an IPv4 socket cannot hold a key for ${peer}`);
    view.setUint16(0, AF_INET, le); // sin_family (host order); sin_port = 0
    buf.set(addr, 4); // sin_addr
  } else {
    view.setUint16(0, AF_INET6, le); // sin6_family; sin6_port, sin6_flowinfo = 0
    if (addr.length === 4) {
      buf[8 + 10] = 0xff; // ::ffff:a.b.c.d
      buf[8 + 11] = 0xff;
      buf.set(addr, 8 + 12);
    } else buf.set(addr, 8); // sin6_addr; sin6_scope_id = 0
  }
  if (key) {
    if (key.length > TCP_MD5SIG_MAXKEYLEN) throw new TcpMd5Error('BGP_ERR_TCP_MD5_KEY', `key longer than ${TCP_MD5SIG_MAXKEYLEN} bytes`);
    view.setUint16(KEYLEN_OFFSET, key.length, le);
    buf.set(key, KEY_OFFSET);
  }
  return buf;
}

// --------------------------------------------------------------------- the addon (native/netlink.c)

/** What this file uses of the addon; each call returns a negative errno on failure. */
interface SocketCalls {
  tcpSocket(family: SocketFamily): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array): number;
  close(fd: number): number;
}

let calls: SocketCalls | undefined;
let loadError: TcpMd5Error | undefined;

/** native/build/Release/petrel_netlink.node, three levels above this file in src/ and in dist/ alike. */
export function socketAddonPath(): string {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  return process.env.PETREL_NETLINK_ADDON ?? join(root, 'native', 'build', 'Release', 'petrel_netlink.node');
}

function load(): SocketCalls {
  if (calls) return calls;
  if (loadError) throw loadError;
  try {
    if (process.platform !== 'linux') throw new Error(`TCP_MD5SIG is Linux only (platform ${process.platform})`);
    const path = socketAddonPath();
    if (!existsSync(path)) throw new Error(`the addon is not at ${path}: run \`npm run build:native\``);
    const addon = createRequire(import.meta.url)(path) as Partial<SocketCalls>;
    if (typeof addon.setsockopt !== 'function' || typeof addon.tcpSocket !== 'function') throw new Error(`${path} predates setsockopt: rebuild it (npm run build:native)`);
    calls = addon as SocketCalls;
    return calls;
  } catch (e) {
    loadError = new TcpMd5Error('BGP_ERR_TCP_MD5_UNAVAILABLE',
      `TCP-MD5 (RFC 2385) is unavailable: ${e instanceof Error ? e.message : String(e)}; peers with a password cannot be reached`,
      { cause: e });
    throw loadError;
  }
}

/** Throws BGP_ERR_TCP_MD5_UNAVAILABLE when keys cannot be set on this host (checked once, lazily). */
export function assertTcpMd5Available(): void {
  load();
}

function errnoName(n: number): string {
  for (const [name, v] of Object.entries(osConstants.errno)) if (v === n) return name;
  return `errno ${n}`;
}

/**
 * Sets (password given) or deletes (undefined) the key for `peer` on socket `fd`. Deleting a key that
 * is not there is not an error. The password never appears in an error message.
 */
export function setMd5Key(fd: number, socketFamily: SocketFamily, peer: string, password: string | undefined): void {
  const c = load();
  const s = md5SigStruct(socketFamily, peer, password === undefined ? undefined : md5KeyBytes(password));
  const r = c.setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, s);
  if (r === 0) return;
  const err = -r;
  if (password === undefined && err === osConstants.errno.ENOENT) return;
  // ENOPROTOOPT: a kernel built without CONFIG_TCP_MD5SIG.
  throw new TcpMd5Error('BGP_ERR_TCP_MD5_KEY', `setsockopt(TCP_MD5SIG) for peer ${peer} failed: ${errnoName(err)}`);
}

/**
 * A new non-blocking TCP socket for connecting to `peer`, already holding the key: pass it to
 * `new net.Socket({ fd })` and connect that. Closed again if the key cannot be set.
 */
export function md5ConnectSocket(peer: string, password: string): number {
  const c = load();
  const family: SocketFamily = familyOfIp(peer) === 'ipv4' ? 4 : 6;
  const fd = c.tcpSocket(family);
  if (fd < 0) throw new TcpMd5Error('BGP_ERR_TCP_MD5_SOCKET', `socket() failed: ${errnoName(-fd)}`);
  try {
    setMd5Key(fd, family, peer, password);
  } catch (e) {
    c.close(fd);
    throw e;
  }
  return fd;
}

/** Closes a descriptor md5ConnectSocket returned that never reached a net.Socket. */
export function closeFd(fd: number): void {
  load().close(fd);
}
