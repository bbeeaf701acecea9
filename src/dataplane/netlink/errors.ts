/**
 * Netlink errors: every failure names the errno (as NL_ERR_<NAME> and as the number) and the
 * operation that failed ("sendmsg", "RTM_NEWROUTE 198.18.1.0/26", ...), so logs and per-route error
 * lists can be matched on the code and read by a person.
 */
import { PetrelError } from '../../errors.js';
import { ERRNO_NAMES } from './constants.js';

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

export class NetlinkError extends PetrelError {
  readonly errno: number;
  readonly op: string;
  constructor(errno: number, op: string, detail?: string) {
    super(`NL_ERR_${errnoName(errno)}`, `${op}: ${errnoName(errno)}${detail ? ` (${detail})` : ''}`);
    this.errno = errno;
    this.op = op;
  }
}

/** Errors that are not an errno: a timeout, a socket that had to be reset, a missing addon. */
export class NetlinkStateError extends PetrelError {
  readonly op: string;
  constructor(code: 'NL_ERR_TIMEOUT' | 'NL_ERR_CLOSED' | 'NL_ERR_ADDON' | 'NL_ERR_TRUNCATED' | 'NL_ERR_OVERRUN', op: string, message: string, options?: { cause?: unknown }) {
    super(code, `${op}: ${message}`, options);
    this.op = op;
  }
}
