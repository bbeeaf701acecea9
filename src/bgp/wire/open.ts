/**
 * OPEN (RFC 4271 §4.2) with its optional parameters: Capabilities (RFC 5492) and the RFC 9072
 * extended optional parameters length.
 *
 * Syntactic checks only, each at its RFC line: version 4, hold time 0 or ≥ 3, a non-zero BGP
 * Identifier (RFC 6286 §2.2), parameters that fit. Whether the peer AS is right, which families and
 * hold time are used, is negotiation, and lives in the session.
 * Two encodings of the same capabilities are common in the wild (all in one parameter — BIRD; one
 * per parameter — FRR, GoBGP); `capsInSeparateParams` records which one came in so captured OPENs
 * re-encode byte for byte, and `extendedOptionalParameters` records RFC 9072 framing likewise.
 */
import { openError } from './errors.js';
import { capabilityValueLength, decodeCapabilities, writeCapability } from './capabilities.js';
import { BgpEncodeError } from './errors.js';
import { Reader } from './reader.js';
import { ErrorCode, OpenSubcode, type Capability, type OpenMessage } from './types.js';
import type { Writer } from './writer.js';

/** RFC 5492 §4: optional parameter type 2 carries capabilities. */
const PARAM_CAPABILITIES = 2;
/** RFC 9072 §2: Non-Ext OP Type 255 announces the extended encoding. */
const PARAM_EXTENDED = 255;

export function decodeOpen(body: Uint8Array): OpenMessage {
  const r = new Reader(body, 0, body.length, ErrorCode.Open, 0);
  const version = r.u8();
  // RFC 4271 §6.2: unsupported version → data is the largest version we support (2 octets).
  if (version !== 4) throw openError(OpenSubcode.UnsupportedVersionNumber, `BGP version ${version} is not 4`, Uint8Array.of(0, 4));
  const myAs = r.u16();
  const holdTime = r.u16();
  // RFC 4271 §6.2: the hold time MUST be zero or at least three seconds.
  if (holdTime === 1 || holdTime === 2) throw openError(OpenSubcode.UnacceptableHoldTime, `hold time ${holdTime} is neither 0 nor >= 3`);
  const bgpId = r.ipv4();
  // RFC 6286 §2.2: the BGP Identifier is a non-zero 32-bit value.
  if (bgpId === '0.0.0.0') throw openError(OpenSubcode.BadBgpIdentifier, 'BGP identifier is zero');
  let paramsLen = r.u8();
  let extended = false;
  // RFC 9072 §2: Non-Ext OP Len 255 followed by Non-Ext OP Type 255 → a 2-octet length follows.
  if (paramsLen === 255 && r.remaining >= 1 && body[r.pos] === PARAM_EXTENDED) {
    r.u8();
    paramsLen = r.u16();
    extended = true;
  }
  // RFC 4271 §4.2: the parameters fill the rest of the message exactly.
  if (paramsLen !== r.remaining) throw openError(0, `optional parameters length ${paramsLen} but ${r.remaining} bytes follow`);
  const capabilities: Capability[] = [];
  let capParams = 0;
  while (r.remaining > 0) {
    const type = r.u8();
    const len = extended ? r.u16() : r.u8();
    const value = r.view(len, 'optional parameter');
    if (type !== PARAM_CAPABILITIES) {
      // RFC 4271 §6.2 / RFC 5492 §3: unknown optional parameters are refused.
      throw openError(OpenSubcode.UnsupportedOptionalParameter, `optional parameter type ${type} is not supported`);
    }
    capParams++;
    decodeCapabilities(new Reader(value, 0, value.length, ErrorCode.Open, 0), capabilities);
  }
  const msg: OpenMessage = { type: 'open', version, myAs, holdTime, bgpId, capabilities };
  if (capabilities.length >= 2) msg.capsInSeparateParams = capParams === capabilities.length && capParams > 1;
  if (extended) msg.extendedOptionalParameters = true;
  return msg;
}

function paramsLayout(msg: OpenMessage): { paramsLen: number; extended: boolean } {
  const caps = msg.capabilities;
  const separate = msg.capsInSeparateParams === true;
  let capsBytes = 0;
  for (const c of caps) {
    const l = capabilityValueLength(c);
    if (l > 255) throw new BgpEncodeError(`capability value of ${l} bytes does not fit`);
    capsBytes += 2 + l;
  }
  const nParams = caps.length === 0 ? 0 : separate ? caps.length : 1;
  const small = capsBytes + 2 * nParams;
  const extended = msg.extendedOptionalParameters === true || small > 255 || (!separate && capsBytes > 255);
  if (!extended) return { paramsLen: small, extended };
  return { paramsLen: capsBytes + 3 * nParams, extended };
}

export function openBodyLength(msg: OpenMessage): number {
  const { paramsLen, extended } = paramsLayout(msg);
  return 10 + (extended ? 3 : 0) + paramsLen;
}

export function writeOpenBody(w: Writer, msg: OpenMessage): void {
  const { paramsLen, extended } = paramsLayout(msg);
  w.u8(msg.version);
  w.u16(msg.myAs);
  w.u16(msg.holdTime);
  w.ip(msg.bgpId, 4);
  if (extended) {
    w.u8(255);
    w.u8(PARAM_EXTENDED);
    w.u16(paramsLen);
  } else {
    w.u8(paramsLen);
  }
  const caps = msg.capabilities;
  if (caps.length === 0) return;
  const writeLen = (n: number) => (extended ? w.u16(n) : w.u8(n));
  if (msg.capsInSeparateParams === true) {
    for (const c of caps) {
      w.u8(PARAM_CAPABILITIES);
      writeLen(2 + capabilityValueLength(c));
      writeCapability(w, c);
    }
  } else {
    w.u8(PARAM_CAPABILITIES);
    let n = 0;
    for (const c of caps) n += 2 + capabilityValueLength(c);
    writeLen(n);
    for (const c of caps) writeCapability(w, c);
  }
}
