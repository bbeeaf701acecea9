/**
 * The BFD Control packet of RFC 5880 §4.1 (the mandatory section; asynchronous mode, no
 * authentication), as plain data: decodeControl(bytes) → BfdControlPacket or a BfdError with a
 * stable code; encodeControl(packet) → 24 bytes. The reception checks of §6.8.6 that need nothing
 * but the packet are made here; the ones that need a session (Your Discriminator) are the state
 * machine's (machine.ts), the TTL/hop-limit check of RFC 5881 §5 the socket's.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
 *  |                       My Discriminator                        |
 *  |                      Your Discriminator                       |
 *  |                    Desired Min TX Interval                    |   (microseconds)
 *  |                   Required Min RX Interval                    |
 *  |                 Required Min Echo RX Interval                 |
 */
import { PetrelError } from '../errors.js';

export const BFD_VERSION = 1;
/** Length of the mandatory section (§4.1), octets. */
export const BFD_CONTROL_LEN = 24;

/** bfd.SessionState values (§4.1 Sta, IANA "BFD State" registry). */
export const BfdState = { AdminDown: 0, Down: 1, Init: 2, Up: 3 } as const;
export type BfdStateValue = (typeof BfdState)[keyof typeof BfdState];
export const BFD_STATE_NAME = ['AdminDown', 'Down', 'Init', 'Up'] as const;
export type BfdStateName = (typeof BFD_STATE_NAME)[number];

/** Diagnostic codes (§4.1 Diag, IANA "BFD Diagnostic Codes" registry). */
export const BfdDiag = {
  None: 0,
  ControlDetectionTimeExpired: 1,
  EchoFunctionFailed: 2,
  NeighborSignaledSessionDown: 3,
  ForwardingPlaneReset: 4,
  PathDown: 5,
  ConcatenatedPathDown: 6,
  AdministrativelyDown: 7,
  ReverseConcatenatedPathDown: 8,
} as const;

export interface BfdControlPacket {
  diag: number;
  state: BfdStateValue;
  /** P: Poll — the sender asks for a packet with F set (a parameter change, §6.5). */
  poll: boolean;
  /** F: Final — the answer to a Poll. */
  final: boolean;
  /** C: the sender's BFD does not share fate with its control plane (RFC 5882 §4.3). */
  controlPlaneIndependent: boolean;
  /** D: demand mode (RFC 5880 §6.6); Petrel never sets it and ignores it. */
  demand: boolean;
  detectMult: number;
  myDiscriminator: number;
  yourDiscriminator: number;
  /** Microseconds. */
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  requiredMinEchoRxUs: number;
}

export class BfdError extends PetrelError {}

/**
 * RFC 5880 §6.8.6, the checks that need only the packet. `bytes` is the UDP payload. Anything that
 * fails is discarded by the caller (BFD never answers a bad packet).
 */
export function decodeControl(bytes: Uint8Array): BfdControlPacket {
  if (bytes.length < BFD_CONTROL_LEN) throw new BfdError('BFD_ERR_SHORT', `${bytes.length} octets: a Control packet has at least ${BFD_CONTROL_LEN}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const b0 = bytes[0];
  const b1 = bytes[1];
  const version = b0 >> 5;
  // §6.8.6: "If the version number is not correct (1), the packet MUST be discarded."
  if (version !== BFD_VERSION) throw new BfdError('BFD_ERR_VERSION', `version ${version}, not ${BFD_VERSION}`);
  const auth = (b1 & 0x04) !== 0;
  const length = bytes[3];
  // §6.8.6: Length less than 24 (26 with the A bit), or more than the payload, is discarded.
  if (length < (auth ? BFD_CONTROL_LEN + 2 : BFD_CONTROL_LEN)) throw new BfdError('BFD_ERR_LENGTH', `Length field ${length} is too small`);
  if (length > bytes.length) throw new BfdError('BFD_ERR_LENGTH', `Length field ${length} exceeds the ${bytes.length} octets received`);
  // §6.8.6: "If the A bit is set and no authentication is in use (bfd.AuthType is zero), the packet MUST be discarded."
  if (auth) throw new BfdError('BFD_ERR_AUTH', 'authentication section present, none configured');
  const detectMult = bytes[2];
  if (detectMult === 0) throw new BfdError('BFD_ERR_DETECT_MULT', 'Detect Mult is zero');
  // §6.8.6: "If the Multipoint (M) bit is nonzero, the packet MUST be discarded."
  if (b1 & 0x01) throw new BfdError('BFD_ERR_MULTIPOINT', 'M bit set');
  const myDiscriminator = v.getUint32(4);
  if (myDiscriminator === 0) throw new BfdError('BFD_ERR_MY_DISCRIMINATOR', 'My Discriminator is zero');
  const state = (b1 >> 6) as BfdStateValue;
  const yourDiscriminator = v.getUint32(8);
  // §6.8.6: Your Discriminator zero is only valid while the sender is Down or AdminDown.
  if (yourDiscriminator === 0 && state !== BfdState.Down && state !== BfdState.AdminDown) {
    throw new BfdError('BFD_ERR_YOUR_DISCRIMINATOR', `Your Discriminator is zero in state ${BFD_STATE_NAME[state]}`);
  }
  const poll = (b1 & 0x20) !== 0;
  const final = (b1 & 0x10) !== 0;
  // §6.5: "A BFD Control packet MUST NOT have both the Poll (P) and Final (F) bits set."
  if (poll && final) throw new BfdError('BFD_ERR_POLL_FINAL', 'P and F both set');
  return {
    diag: b0 & 0x1f,
    state,
    poll,
    final,
    controlPlaneIndependent: (b1 & 0x08) !== 0,
    demand: (b1 & 0x02) !== 0,
    detectMult,
    myDiscriminator,
    yourDiscriminator,
    desiredMinTxUs: v.getUint32(12),
    requiredMinRxUs: v.getUint32(16),
    requiredMinEchoRxUs: v.getUint32(20),
  };
}

/** The 24 octets of a Control packet without authentication. */
export function encodeControl(p: BfdControlPacket): Uint8Array {
  if (p.poll && p.final) throw new BfdError('BFD_ERR_POLL_FINAL', 'P and F both set');
  const out = new Uint8Array(BFD_CONTROL_LEN);
  const v = new DataView(out.buffer);
  out[0] = (BFD_VERSION << 5) | (p.diag & 0x1f);
  out[1] = (p.state << 6) | (p.poll ? 0x20 : 0) | (p.final ? 0x10 : 0) | (p.controlPlaneIndependent ? 0x08 : 0) | (p.demand ? 0x02 : 0);
  out[2] = p.detectMult;
  out[3] = BFD_CONTROL_LEN;
  v.setUint32(4, p.myDiscriminator);
  v.setUint32(8, p.yourDiscriminator);
  v.setUint32(12, p.desiredMinTxUs);
  v.setUint32(16, p.requiredMinRxUs);
  v.setUint32(20, p.requiredMinEchoRxUs);
  return out;
}
