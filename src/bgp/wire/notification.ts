/**
 * NOTIFICATION (RFC 4271 §4.5) and the shutdown communication carried by Cease / Administrative
 * Shutdown and Administrative Reset (RFC 8203, extended to 255 octets by RFC 9003 §2): one length
 * octet, then that many octets of UTF-8.
 *
 * On decode, `shutdownMessage` is set only when the data is exactly such a well-formed message;
 * otherwise the data stays as bytes (RFC 9003 §2: an invalid one is treated as if absent — we
 * still keep the raw data for logs). On encode, non-empty `data` wins; else `shutdownMessage` is
 * encoded, cut at a character boundary to fit 255 octets.
 */
import { Reader } from './reader.js';
import { CeaseSubcode, ErrorCode, HeaderSubcode, type NotificationMessage } from './types.js';
import type { Writer } from './writer.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8enc = new TextEncoder();

export function carriesShutdownMessage(code: number, subcode: number): boolean {
  return code === ErrorCode.Cease && (subcode === CeaseSubcode.AdministrativeShutdown || subcode === CeaseSubcode.AdministrativeReset);
}

export function decodeNotification(body: Uint8Array): NotificationMessage {
  const r = new Reader(body, 0, body.length, ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength);
  const code = r.u8();
  const subcode = r.u8();
  const data = r.copy(r.remaining);
  const msg: NotificationMessage = { type: 'notification', code, subcode, data };
  if (carriesShutdownMessage(code, subcode) && data.length >= 1 && data[0] === data.length - 1) {
    try {
      msg.shutdownMessage = utf8.decode(data.subarray(1));
    } catch {
      // RFC 9003 §2: not valid UTF-8 → no message; the bytes stay in `data`.
    }
  }
  return msg;
}

/** RFC 9003 §2: length octet + UTF-8, at most 255 octets, never cutting a character in two. */
export function encodeShutdownData(text: string): Uint8Array {
  let bytes = utf8enc.encode(text);
  if (bytes.length > 255) {
    let end = 255;
    while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
    bytes = bytes.subarray(0, end);
  }
  const out = new Uint8Array(1 + bytes.length);
  out[0] = bytes.length;
  out.set(bytes, 1);
  return out;
}

function dataOf(m: NotificationMessage): Uint8Array {
  if (m.data.length > 0 || m.shutdownMessage === undefined) return m.data;
  return encodeShutdownData(m.shutdownMessage);
}

export function notificationBodyLength(m: NotificationMessage): number {
  return 2 + dataOf(m).length;
}

export function writeNotificationBody(w: Writer, m: NotificationMessage): void {
  w.u8(m.code);
  w.u8(m.subcode);
  w.bytes(dataOf(m));
}
