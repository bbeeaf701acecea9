/**
 * The shape of one entry in the path attribute table (BIRD's "bgp_attr_table" idea, our own code):
 * everything the codec knows about an attribute sits in one descriptor — its IANA code, the
 * Optional/Transitive flags it must carry, the RFC 7606 error class for a malformed value, and
 * decode / length / encode / format functions. The UPDATE decoder is a loop over bytes that looks
 * descriptors up by code; nothing else in the codec switches on attribute codes.
 */
import type { UpdateErrorKind } from '../errors.js';
import type { Reader } from '../reader.js';
import type { CodecContext, PathAttributes } from '../types.js';
import type { Writer } from '../writer.js';

export interface AttrDescriptor {
  code: number;
  /** BIRD-style name used by format(): "as_path", "local_pref"... */
  name: string;
  /** Expected Optional|Transitive bits (RFC 4271 §5, per attribute RFC). */
  flags: number;
  /** UPDATE_ERRORS row applied when decode() reports the value malformed (or its flags are wrong). */
  error: UpdateErrorKind;
  /**
   * Decodes the value at r.pos..r.end into `attrs`. Returns undefined on success or a short text
   * describing why the value is malformed (the caller applies `error`). May throw BgpError for
   * errors that reset the session (MP_REACH/MP_UNREACH, RFC 7606 §7.11-12).
   */
  decode(r: Reader, attrs: PathAttributes, ctx: CodecContext): string | undefined;
  /** Whether `attrs` carries this attribute (so it is to be encoded). */
  has(attrs: PathAttributes): boolean;
  /** Length of the encoded value (without the attribute header). */
  length(attrs: PathAttributes, ctx: CodecContext): number;
  /** Writes the value (without the attribute header). */
  encode(w: Writer, attrs: PathAttributes, ctx: CodecContext): void;
  /** Human text of the value, as `show route all` prints it. */
  format(attrs: PathAttributes): string;
}

export function readU32(b: Uint8Array, p: number): number {
  return b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
}
