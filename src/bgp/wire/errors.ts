/**
 * Codec errors, and the one place where RFC 7606 outcomes are decided.
 *
 * A BgpError is what a decoder throws when the session must end: it already carries the
 * NOTIFICATION (code, subcode, data) the session sends, and a stable string `code` that logs and
 * tests match on. Errors that RFC 7606 resolves without a reset (treat-as-withdraw,
 * attribute-discard) are not thrown: the UPDATE decoder applies them and reports each one as an
 * AttributeProblem.
 *
 * UPDATE_ERRORS below is the single table of UPDATE error classes → action. Every decoder names a
 * row of it instead of choosing an action itself, so reviewing our RFC 7606 behaviour means reading
 * one table. What burned others: deciding the action at each check scattered "reset" into places
 * where RFC 7606 asks for withdraw, and a single bad optional attribute flapped whole sessions.
 */
import { PetrelError } from '../../errors.js';
import {
  CeaseSubcode,
  ErrorCode,
  HeaderSubcode,
  OpenSubcode,
  UpdateSubcode,
  type AttributeProblem,
  type ErrorAction,
} from './types.js';

/** ROUTE-REFRESH Message Error subcodes (RFC 7313 §5). */
export const RouteRefreshSubcode = { InvalidMessageLength: 1 } as const;

const NAMES: Record<string, string> = {
  '1/1': 'BGP_ERR_CONNECTION_NOT_SYNCHRONIZED',
  '1/2': 'BGP_ERR_BAD_MESSAGE_LENGTH',
  '1/3': 'BGP_ERR_BAD_MESSAGE_TYPE',
  '2/0': 'BGP_ERR_MALFORMED_OPEN',
  '2/1': 'BGP_ERR_UNSUPPORTED_VERSION',
  '2/2': 'BGP_ERR_BAD_PEER_AS',
  '2/3': 'BGP_ERR_BAD_BGP_IDENTIFIER',
  '2/4': 'BGP_ERR_UNSUPPORTED_OPTIONAL_PARAMETER',
  '2/6': 'BGP_ERR_UNACCEPTABLE_HOLD_TIME',
  '2/7': 'BGP_ERR_UNSUPPORTED_CAPABILITY',
  '2/11': 'BGP_ERR_ROLE_MISMATCH',
  '3/1': 'BGP_ERR_MALFORMED_ATTRIBUTE_LIST',
  '3/2': 'BGP_ERR_UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE',
  '3/3': 'BGP_ERR_MISSING_WELL_KNOWN_ATTRIBUTE',
  '3/4': 'BGP_ERR_ATTRIBUTE_FLAGS',
  '3/5': 'BGP_ERR_ATTRIBUTE_LENGTH',
  '3/6': 'BGP_ERR_INVALID_ORIGIN',
  '3/8': 'BGP_ERR_INVALID_NEXT_HOP',
  '3/9': 'BGP_ERR_OPTIONAL_ATTRIBUTE',
  '3/10': 'BGP_ERR_INVALID_NETWORK_FIELD',
  '3/11': 'BGP_ERR_MALFORMED_AS_PATH',
  '4/0': 'BGP_ERR_HOLD_TIMER_EXPIRED',
  '5/0': 'BGP_ERR_FSM',
  '6/9': 'BGP_ERR_HARD_RESET',
  '7/1': 'BGP_ERR_ROUTE_REFRESH_INVALID_LENGTH',
};

/** The stable string code for a NOTIFICATION code/subcode pair. */
export function bgpErrorName(code: number, subcode: number): string {
  const exact = NAMES[`${code}/${subcode}`];
  if (exact) return exact;
  if (code === ErrorCode.Fsm) return 'BGP_ERR_FSM';
  if (code === ErrorCode.Cease) return 'BGP_ERR_CEASE';
  if (code === ErrorCode.HoldTimerExpired) return 'BGP_ERR_HOLD_TIMER_EXPIRED';
  return 'BGP_ERR_NOTIFICATION';
}

/** A protocol error that ends the session: carries the NOTIFICATION to send. */
export class BgpError extends PetrelError {
  readonly notification: { code: number; subcode: number; data: Uint8Array };
  /** Always 'session-reset' for thrown errors; kept so logs show the RFC 7606 outcome. */
  readonly action: ErrorAction;
  constructor(code: number, subcode: number, reason: string, data: Uint8Array = new Uint8Array(0)) {
    super(bgpErrorName(code, subcode), reason);
    this.notification = { code, subcode, data };
    this.action = 'session-reset';
  }
}

/** Encoding was asked for something the wire cannot carry (a bug in the caller, not the peer). */
export class BgpEncodeError extends PetrelError {
  constructor(message: string) {
    super('BGP_ERR_ENCODE', message);
  }
}

export function headerError(subcode: number, reason: string, data?: Uint8Array): BgpError {
  return new BgpError(ErrorCode.MessageHeader, subcode, reason, data);
}
export function openError(subcode: number, reason: string, data?: Uint8Array): BgpError {
  return new BgpError(ErrorCode.Open, subcode, reason, data);
}

interface UpdateErrorRule {
  action: ErrorAction;
  subcode: number;
  /** Where the RFC says so. */
  cite: string;
}

/**
 * RFC 7606 error classes for UPDATE messages. The strongest action of all problems in one UPDATE
 * wins (RFC 7606 §3): session-reset > treat-as-withdraw > attribute-discard.
 */
export const UPDATE_ERRORS = {
  /** Withdrawn Routes Length or Total Path Attribute Length run past the message. */
  lengthFieldsOverrun: { action: 'session-reset', subcode: UpdateSubcode.MalformedAttributeList, cite: 'RFC 7606 §4 / RFC 4271 §6.3' },
  /** An attribute header or value runs past the Total Path Attribute Length. */
  attributeOverrun: { action: 'treat-as-withdraw', subcode: UpdateSubcode.AttributeLengthError, cite: 'RFC 7606 §4' },
  /** Optional/Transitive flag bits conflict with the attribute's definition. */
  badFlags: { action: 'treat-as-withdraw', subcode: UpdateSubcode.AttributeFlagsError, cite: 'RFC 7606 §3' },
  /** A well-known mandatory attribute (ORIGIN, AS_PATH, NEXT_HOP) is missing while NLRI are present. */
  missingWellKnown: { action: 'treat-as-withdraw', subcode: UpdateSubcode.MissingWellKnownAttribute, cite: 'RFC 7606 §3' },
  /** An attribute other than MP_REACH/MP_UNREACH appears twice: later copies are dropped. */
  duplicate: { action: 'attribute-discard', subcode: UpdateSubcode.MalformedAttributeList, cite: 'RFC 7606 §3' },
  /** MP_REACH_NLRI or MP_UNREACH_NLRI appears twice. */
  duplicateMp: { action: 'session-reset', subcode: UpdateSubcode.MalformedAttributeList, cite: 'RFC 7606 §3' },
  /** A well-known attribute we do not know (RFC 7606 leaves RFC 4271's reset in place). */
  unrecognizedWellKnown: { action: 'session-reset', subcode: UpdateSubcode.UnrecognizedWellKnownAttribute, cite: 'RFC 4271 §6.3' },
  /** NLRI or withdrawn routes field: prefix length too long, or prefix overruns the field. */
  badNlri: { action: 'session-reset', subcode: UpdateSubcode.InvalidNetworkField, cite: 'RFC 7606 §5.3' },
  origin: { action: 'treat-as-withdraw', subcode: UpdateSubcode.InvalidOriginAttribute, cite: 'RFC 7606 §7.1' },
  /** Also AS 0 anywhere in the path (RFC 7607 §2). */
  asPath: { action: 'treat-as-withdraw', subcode: UpdateSubcode.MalformedAsPath, cite: 'RFC 7606 §7.2' },
  nextHop: { action: 'treat-as-withdraw', subcode: UpdateSubcode.AttributeLengthError, cite: 'RFC 7606 §7.3' },
  med: { action: 'treat-as-withdraw', subcode: UpdateSubcode.AttributeLengthError, cite: 'RFC 7606 §7.4' },
  localPref: { action: 'treat-as-withdraw', subcode: UpdateSubcode.AttributeLengthError, cite: 'RFC 7606 §7.5' },
  atomicAggregate: { action: 'attribute-discard', subcode: UpdateSubcode.AttributeLengthError, cite: 'RFC 7606 §7.6' },
  /** Also AS 0 as the aggregator (RFC 7607 §2). */
  aggregator: { action: 'attribute-discard', subcode: UpdateSubcode.AttributeLengthError, cite: 'RFC 7606 §7.7' },
  communities: { action: 'treat-as-withdraw', subcode: UpdateSubcode.OptionalAttributeError, cite: 'RFC 7606 §7.8' },
  originatorId: { action: 'treat-as-withdraw', subcode: UpdateSubcode.AttributeLengthError, cite: 'RFC 7606 §7.9' },
  clusterList: { action: 'treat-as-withdraw', subcode: UpdateSubcode.AttributeLengthError, cite: 'RFC 7606 §7.10' },
  /** MP_REACH_NLRI cannot be parsed (next hop length, AFI/SAFI field, NLRI overrun). */
  mpReach: { action: 'session-reset', subcode: UpdateSubcode.OptionalAttributeError, cite: 'RFC 7606 §7.11, §5.3' },
  mpUnreach: { action: 'session-reset', subcode: UpdateSubcode.OptionalAttributeError, cite: 'RFC 7606 §7.12, §5.3' },
  /** MP attribute for an AFI/SAFI we do not speak: ignored (we never negotiate one). */
  mpUnsupportedFamily: { action: 'attribute-discard', subcode: UpdateSubcode.OptionalAttributeError, cite: 'RFC 4760 §7' },
  extendedCommunities: { action: 'treat-as-withdraw', subcode: UpdateSubcode.OptionalAttributeError, cite: 'RFC 7606 §7.14' },
  largeCommunities: { action: 'treat-as-withdraw', subcode: UpdateSubcode.OptionalAttributeError, cite: 'RFC 8092 §6' },
  /** Malformed AS4_PATH/AS4_AGGREGATOR, or either received from a four-octet-AS speaker. */
  as4: { action: 'attribute-discard', subcode: UpdateSubcode.OptionalAttributeError, cite: 'RFC 6793 §6' },
} as const satisfies Record<string, UpdateErrorRule>;

export type UpdateErrorKind = keyof typeof UPDATE_ERRORS;

const STRENGTH: Record<ErrorAction, number> = { 'attribute-discard': 1, 'treat-as-withdraw': 2, 'session-reset': 3 };
export function strongerAction(a: ErrorAction | undefined, b: ErrorAction): ErrorAction {
  return a === undefined || STRENGTH[b] > STRENGTH[a] ? b : a;
}

/** Builds the AttributeProblem for a rule; for a session-reset rule, throws the BgpError instead. */
export function updateProblem(kind: UpdateErrorKind, attrCode: number, detail: string, data?: Uint8Array): AttributeProblem {
  const rule: UpdateErrorRule = UPDATE_ERRORS[kind];
  const reason = `${detail} (${rule.cite})`;
  if (rule.action === 'session-reset') throw new BgpError(ErrorCode.Update, rule.subcode, reason, data);
  return { action: rule.action, attrCode, subcode: rule.subcode, reason };
}

export { CeaseSubcode, HeaderSubcode, OpenSubcode };
