/**
 * The BGP-4 codec: bytes ↔ plain messages (types.ts). Nothing here touches sockets, timers or RIBs.
 *
 * Layout: reader/writer (bounds-checked cursors), header (+ Framer), one file per message type,
 * capabilities, nlri, attributes/ (one descriptor per attribute, BIRD-style table), errors (BgpError
 * and the single RFC 7606 decision table). docs/rfc-compliance.md lists what each RFC gets.
 */
export * from './types.js';
export { BgpError, BgpEncodeError, bgpErrorName, UPDATE_ERRORS, RouteRefreshSubcode, type UpdateErrorKind } from './errors.js';
export { Framer, KEEPALIVE_BYTES, checkHeader } from './header.js';
export { decodeMessage, encodeMessage, encodeMessageInto, encodingLength, type DecodedMessage } from './message.js';
export { encodeUpdates, encodeEndOfRib, isEndOfRib, decodeUpdate, type UpdatesInput, type DecodedUpdate } from './update.js';
export { decodeOpen } from './open.js';
export { decodeCapability } from './capabilities.js';
export { encodeShutdownData, carriesShutdownMessage } from './notification.js';
export { RouteRefreshSubtype } from './route-refresh.js';
export {
  ATTRIBUTES, attributeDescriptor, formatAttributes, unknownForPassOn, mergeAs4Path, AS_TRANS, pathLength, formatAsPath,
} from './attributes/index.js';
export { decodePrefixes, formatIpv6At } from './nlri.js';
export { Reader } from './reader.js';
export { Writer } from './writer.js';
