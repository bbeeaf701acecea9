/**
 * A bounds-checked cursor over a Uint8Array (usually a subarray view of one received frame).
 *
 * Nothing is copied: `view(n)` returns a subarray. Every read checks the limit and, when it would
 * pass it, throws the BgpError the caller configured (a short OPEN is an OPEN error, a short
 * attribute an UPDATE error...), so a decoder never reads garbage past a field's own length.
 * One Reader can be re-aimed with `reset()` to avoid an allocation per attribute in the UPDATE
 * hot path. Multi-byte integers are big-endian (network order); u32 is unsigned.
 */
import { BgpError } from './errors.js';

export class Reader {
  buf: Uint8Array;
  pos: number;
  end: number;
  private errCode: number;
  private errSubcode: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length, errCode = 1, errSubcode = 2) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.errCode = errCode;
    this.errSubcode = errSubcode;
  }

  /** Points the reader at [start, end) of the same buffer. */
  reset(start: number, end: number): this {
    this.pos = start;
    this.end = end;
    return this;
  }

  /** Changes the NOTIFICATION thrown on a short read. */
  onShort(code: number, subcode: number): this {
    this.errCode = code;
    this.errSubcode = subcode;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  need(n: number, what = 'field'): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new BgpError(this.errCode, this.errSubcode, `truncated ${what}: need ${n} bytes, ${this.end - this.pos} left`);
    }
  }

  u8(): number {
    if (this.pos >= this.end) this.need(1);
    return this.buf[this.pos++];
  }

  u16(): number {
    if (this.pos + 2 > this.end) this.need(2);
    const b = this.buf;
    const v = (b[this.pos] << 8) | b[this.pos + 1];
    this.pos += 2;
    return v;
  }

  u32(): number {
    if (this.pos + 4 > this.end) this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
  }

  /** A view (no copy) of the next n bytes. */
  view(n: number, what?: string): Uint8Array {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A copy of the next n bytes, for values kept beyond the life of the frame. */
  copy(n: number, what?: string): Uint8Array {
    this.need(n, what);
    const v = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /** Four bytes as a dotted quad (BGP identifiers, IPv4 next hops, ORIGINATOR_ID). */
  ipv4(): string {
    if (this.pos + 4 > this.end) this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return `${b[p]}.${b[p + 1]}.${b[p + 2]}.${b[p + 3]}`;
  }
}
