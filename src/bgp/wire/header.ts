/**
 * The 19-byte message header (RFC 4271 §4.1) and the Framer that cuts a TCP byte stream into whole
 * messages.
 *
 * The Framer returns frames with their header. A frame that arrived inside one chunk is a subarray
 * view of that chunk (no copy); one that straddles chunks is assembled once into its own exact-size
 * buffer. Frames are never reused, so decoded values may keep views into them. The header is
 * checked as soon as its 19 bytes are in (marker and length, RFC 4271 §6.1), so a peer that sends a
 * bogus length is refused before we buffer anything for it. The type is checked by decodeMessage.
 * What burned pg-protocol and others: framers that only handled "message split in two"; tests
 * here split every fixture at every byte.
 */
import { headerError } from './errors.js';
import { HEADER_LEN, HeaderSubcode, MARKER_LEN, MAX_MESSAGE_LEN, MsgType } from './types.js';
import type { Writer } from './writer.js';

/** The KEEPALIVE message: a header and nothing else (RFC 4271 §4.4). */
export const KEEPALIVE_BYTES: Uint8Array = (() => {
  const b = new Uint8Array(HEADER_LEN).fill(0xff);
  b[16] = 0;
  b[17] = HEADER_LEN;
  b[18] = MsgType.Keepalive;
  return b;
})();

export function writeHeader(w: Writer, length: number, type: number): void {
  for (let i = 0; i < MARKER_LEN; i++) w.u8(0xff);
  w.u16(length);
  w.u8(type);
}

/**
 * Checks marker and length of the header at buf[p]; returns the message length.
 * RFC 4271 §6.1: a marker other than all ones is Connection Not Synchronized; a length below 19 or
 * above the maximum is Bad Message Length, with the erroneous length field as data.
 */
export function checkHeader(buf: Uint8Array, p: number, maxLength: number): number {
  for (let i = 0; i < MARKER_LEN; i++) {
    if (buf[p + i] !== 0xff) throw headerError(HeaderSubcode.ConnectionNotSynchronized, 'message marker is not all ones');
  }
  const length = (buf[p + 16] << 8) | buf[p + 17];
  if (length < HEADER_LEN || length > maxLength) {
    throw headerError(HeaderSubcode.BadMessageLength, `message length ${length} outside ${HEADER_LEN}..${maxLength}`,
      buf.slice(p + 16, p + 18));
  }
  return length;
}

export class Framer {
  private max: number;
  /** Bytes of an incomplete message: header-only scratch until the length is known, then exact size. */
  private partial: Uint8Array | undefined;
  private have = 0;
  private readonly head = new Uint8Array(HEADER_LEN);

  constructor(opts: { maxMessageLength?: number } = {}) {
    this.max = opts.maxMessageLength ?? MAX_MESSAGE_LEN;
  }

  /** RFC 8654: raised to 65535 once extended messages are negotiated both ways. */
  setMaxMessageLength(n: number): void {
    this.max = n;
  }

  /** Bytes held for an incomplete message. */
  get buffered(): number {
    return this.have;
  }

  /** Feeds bytes; returns the whole messages completed by them, in order. Throws BgpError. */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let p = 0;
    const n = chunk.length;
    if (this.have > 0) {
      p = this.fill(chunk, 0, out);
      if (this.have > 0) return out;
    }
    // Fast path: whole messages inside this chunk are returned as views.
    while (n - p >= HEADER_LEN) {
      const len = checkHeader(chunk, p, this.max);
      if (n - p < len) break;
      out.push(chunk.subarray(p, p + len));
      p += len;
    }
    if (p < n) this.fill(chunk, p, out);
    return out;
  }

  /** Copies from chunk[p] into the partial message; returns the new position in chunk. */
  private fill(chunk: Uint8Array, p: number, out: Uint8Array[]): number {
    const n = chunk.length;
    if (this.have < HEADER_LEN) {
      const take = Math.min(HEADER_LEN - this.have, n - p);
      this.head.set(chunk.subarray(p, p + take), this.have);
      this.have += take;
      p += take;
      if (this.have < HEADER_LEN) return p;
      const len = checkHeader(this.head, 0, this.max);
      this.partial = new Uint8Array(len);
      this.partial.set(this.head);
    }
    const msg = this.partial as Uint8Array;
    const take = Math.min(msg.length - this.have, n - p);
    msg.set(chunk.subarray(p, p + take), this.have);
    this.have += take;
    p += take;
    if (this.have === msg.length) {
      out.push(msg);
      this.partial = undefined;
      this.have = 0;
    }
    return p;
  }
}

