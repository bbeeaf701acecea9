/**
 * Loads the petrel_netlink addon (native/netlink.c, built by `npm run build:native`). The addon is
 * looked up relative to this file, which sits three levels below the package root both in src/
 * (tsx) and in dist/ (built), so tests and the built agent find the same binary.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { NetlinkStateError } from './errors.js';

export interface NativeNetlink {
  open(protocol: number, groups: number[], rcvbuf: number, nsPath: string | null): { fd: number; port: number; nsInode: number } | { errno: number; op: string } | number;
  send(fd: number, buf: Uint8Array, len: number): number;
  /** sendmsg() on the thread pool; `cb(bytes or -errno)` on the event loop. Absent in older builds. */
  sendAsync?(fd: number, buf: Uint8Array, len: number, cb: (n: number) => void): void;
  recv(fd: number, buf: Uint8Array): number;
  poll(fd: number, cb: (status: number) => void): unknown;
  pollStop(handle: unknown): void;
  close(fd: number): number;
  nsInodeOfPath(path: string): number;
}

let cached: NativeNetlink | undefined;

export function addonPath(): string {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  return process.env.PETREL_NETLINK_ADDON ?? join(root, 'native', 'build', 'Release', 'petrel_netlink.node');
}

export function loadNative(): NativeNetlink {
  if (cached) return cached;
  const path = addonPath();
  if (!existsSync(path)) {
    throw new NetlinkStateError('NL_ERR_ADDON', 'load', `netlink addon not found at ${path}: run \`npm run build:native\` (needs g++, make and Node headers)`);
  }
  try {
    cached = createRequire(import.meta.url)(path) as NativeNetlink;
  } catch (e) {
    throw new NetlinkStateError('NL_ERR_ADDON', 'load', `netlink addon at ${path} did not load: ${(e as Error).message}`, { cause: e });
  }
  return cached;
}
