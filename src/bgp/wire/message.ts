/**
 * Whole messages: header + body, one entry point each way. decodeMessage checks what the Framer
 * could not (the type, and each type's length rules, RFC 4271 §6.1) and dispatches; the encoders
 * compute the exact length first and allocate once.
 */
import { headerError } from './errors.js';
import { checkHeader, writeHeader } from './header.js';
import { decodeNotification, notificationBodyLength, writeNotificationBody } from './notification.js';
import { decodeOpen, openBodyLength, writeOpenBody } from './open.js';
import { decodeRouteRefresh, writeRouteRefreshBody } from './route-refresh.js';
import { decodeUpdate, updateBodyLength, writeUpdateBody } from './update.js';
import {
  HEADER_LEN, HeaderSubcode, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN, MsgType,
  type AttributeProblem, type BgpMessage, type CodecContext,
} from './types.js';
import { BgpEncodeError } from './errors.js';
import { Writer } from './writer.js';

export interface DecodedMessage {
  message: BgpMessage;
  problems: AttributeProblem[];
  rawAttributes?: Uint8Array;
}

const NO_PROBLEMS: AttributeProblem[] = [];
Object.freeze(NO_PROBLEMS);

/** Smallest legal length per type (RFC 4271 §4.2-4.5, RFC 2918 §3). */
const MIN_LEN: Record<number, number> = { 1: 29, 2: 23, 3: 21, 4: 19, 5: 23 };

function maxLength(type: number, ctx: CodecContext): number {
  // RFC 8654 §4: OPEN and KEEPALIVE stay within 4096 even when extended messages are negotiated.
  return ctx.extendedMessage && type !== MsgType.Open && type !== MsgType.Keepalive ? MAX_EXTENDED_MESSAGE_LEN : MAX_MESSAGE_LEN;
}

/** Decodes one frame (as returned by Framer). Throws BgpError; RFC 7606 outcomes are in `problems`. */
export function decodeMessage(frame: Uint8Array, ctx: CodecContext): DecodedMessage {
  if (frame.length < HEADER_LEN) throw headerError(HeaderSubcode.BadMessageLength, `frame of ${frame.length} bytes is shorter than a header`);
  const length = checkHeader(frame, 0, MAX_EXTENDED_MESSAGE_LEN);
  if (length !== frame.length) throw headerError(HeaderSubcode.BadMessageLength, `header says ${length} bytes, frame has ${frame.length}`, frame.slice(16, 18));
  const type = frame[18];
  const min = MIN_LEN[type];
  // RFC 4271 §6.1: unknown type → Bad Message Type, data = the type octet.
  if (min === undefined) throw headerError(HeaderSubcode.BadMessageType, `unknown message type ${type}`, Uint8Array.of(type));
  // RFC 4271 §6.1: a length wrong for the type → Bad Message Length, data = the length field.
  if (length < min || (type === MsgType.Keepalive && length !== HEADER_LEN) || length > maxLength(type, ctx)) {
    throw headerError(HeaderSubcode.BadMessageLength, `length ${length} is wrong for message type ${type}`, frame.slice(16, 18));
  }
  const body = frame.subarray(HEADER_LEN);
  switch (type) {
    case MsgType.Update:
      return decodeUpdate(body, ctx);
    case MsgType.Open:
      return { message: decodeOpen(body), problems: NO_PROBLEMS };
    case MsgType.Notification:
      return { message: decodeNotification(body), problems: NO_PROBLEMS };
    case MsgType.Keepalive:
      return { message: { type: 'keepalive' }, problems: NO_PROBLEMS };
    default:
      return { message: decodeRouteRefresh(body, frame), problems: NO_PROBLEMS };
  }
}

function bodyLength(msg: BgpMessage, ctx: CodecContext): number {
  switch (msg.type) {
    case 'open': return openBodyLength(msg);
    case 'update': return updateBodyLength(msg, ctx);
    case 'notification': return notificationBodyLength(msg);
    case 'keepalive': return 0;
    case 'route-refresh': return 4;
  }
}

const TYPE: Record<BgpMessage['type'], number> = {
  open: MsgType.Open, update: MsgType.Update, notification: MsgType.Notification, keepalive: MsgType.Keepalive, 'route-refresh': MsgType.RouteRefresh,
};

/** Exact encoded size of `msg`, header included. */
export function encodingLength(msg: BgpMessage, ctx: CodecContext): number {
  return HEADER_LEN + bodyLength(msg, ctx);
}

/** Encodes `msg` into buf at offset; returns the number of bytes written. */
export function encodeMessageInto(msg: BgpMessage, ctx: CodecContext, buf: Uint8Array, offset: number): number {
  return writeMessage(msg, ctx, buf, offset, encodingLength(msg, ctx));
}

function writeMessage(msg: BgpMessage, ctx: CodecContext, buf: Uint8Array, offset: number, len: number): number {
  const max = maxLength(TYPE[msg.type], ctx);
  if (len > max) throw new BgpEncodeError(`${msg.type} of ${len} bytes exceeds the maximum message length ${max}`);
  if (offset < 0 || offset + len > buf.length) throw new BgpEncodeError(`buffer too small: need ${len} bytes at offset ${offset}`);
  const w = new Writer(buf, offset);
  writeHeader(w, len, TYPE[msg.type]);
  switch (msg.type) {
    case 'open': writeOpenBody(w, msg); break;
    case 'update': writeUpdateBody(w, msg, ctx); break;
    case 'notification': writeNotificationBody(w, msg); break;
    case 'keepalive': break;
    case 'route-refresh': writeRouteRefreshBody(w, msg); break;
  }
  if (w.pos - offset !== len) throw new BgpEncodeError(`${msg.type}: computed ${len} bytes, wrote ${w.pos - offset}`);
  return len;
}

export function encodeMessage(msg: BgpMessage, ctx: CodecContext): Uint8Array {
  const len = encodingLength(msg, ctx);
  const buf = new Uint8Array(len);
  writeMessage(msg, ctx, buf, 0, len);
  return buf;
}
