/**
 * A cursor that writes into a buffer allocated once per message.
 *
 * Encoders run in two passes: `encodingLength` computes the exact size, then `encodeInto` writes
 * into a Uint8Array of that size (or into a caller's buffer at an offset). The Writer never grows:
 * a write past the end is an encoder bug, reported as BgpEncodeError rather than silently
 * truncated by the typed array.
 */
import { BgpEncodeError } from './errors.js';
import { parseIp } from '../../model/ip.js';

export class Writer {
  readonly buf: Uint8Array;
  pos: number;

  constructor(buf: Uint8Array, offset = 0) {
    this.buf = buf;
    this.pos = offset;
  }

  private room(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new BgpEncodeError(`encoder overran its buffer (${this.pos}+${n} > ${this.buf.length})`);
    }
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v & 0xff;
  }

  u16(v: number): void {
    this.room(2);
    const b = this.buf;
    b[this.pos] = (v >>> 8) & 0xff;
    b[this.pos + 1] = v & 0xff;
    this.pos += 2;
  }

  u32(v: number): void {
    this.room(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = (v >>> 24) & 0xff;
    b[p + 1] = (v >>> 16) & 0xff;
    b[p + 2] = (v >>> 8) & 0xff;
    b[p + 3] = v & 0xff;
    this.pos = p + 4;
  }

  bytes(v: Uint8Array): void {
    this.room(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** Writes an address (4 or 16 bytes); `len` checks the family. Dotted quads skip the parser. */
  ip(addr: string, len: 4 | 16): void {
    if (len === 4 && this.quad(addr)) return;
    let b: Uint8Array;
    try {
      b = parseIp(addr);
    } catch {
      throw new BgpEncodeError(`not an IP address: ${addr}`);
    }
    if (b.length !== len) throw new BgpEncodeError(`expected a ${len === 4 ? 'IPv4' : 'IPv6'} address, got ${addr}`);
    this.bytes(b);
  }

  /** Writes a canonical dotted quad without allocating; false (nothing written) if it is not one. */
  private quad(s: string): boolean {
    if (this.pos + 4 > this.buf.length) return false;
    let part = 0;
    let v = 0;
    let digits = 0;
    const start = this.pos;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 46) {
        if (digits === 0 || part > 2) return false;
        this.buf[start + part++] = v;
        v = 0;
        digits = 0;
      } else if (c >= 48 && c <= 57) {
        if ((digits === 1 && v === 0) || ++digits > 3) return false; // no leading zeros
        v = v * 10 + (c - 48);
        if (v > 255) return false;
      } else return false;
    }
    if (digits === 0 || part !== 3) return false;
    this.buf[start + 3] = v;
    this.pos = start + 4;
    return true;
  }

  /** Patches a 16-bit value at an earlier position (lengths known only after writing). */
  patch16(at: number, v: number): void {
    this.buf[at] = (v >>> 8) & 0xff;
    this.buf[at + 1] = v & 0xff;
  }
}
