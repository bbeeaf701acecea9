/**
 * UPDATE (RFC 4271 §4.3) with RFC 4760 multiprotocol NLRI, RFC 7911 path ids and RFC 7606 error
 * handling; End-of-RIB (RFC 4724 §2); and `encodeUpdates`, which packs many prefixes sharing one
 * attribute set into as few UPDATEs as the maximum message length allows.
 *
 * Decoding order matters for RFC 7606: the two length fields are checked first (a mismatch makes
 * the NLRI unlocatable: session reset, §4), then the withdrawn routes, the attributes (whose
 * problems are collected), the NLRI (§5.3), and finally the mandatory-attribute check (§3), which
 * applies only when the UPDATE announces something. treat-as-withdraw is applied here, once: every
 * announced prefix (NLRI field and MP_REACH) moves to the withdrawals and the attributes are dropped.
 */
import { afiOf, familyOfAfi, Safi, type Family } from '../../model/ip.js';
import { BgpEncodeError, updateProblem } from './errors.js';
import { attributesLength, decodeAttributes, writeAttributes } from './attributes/index.js';
import { addPathFor } from './attributes/multiprotocol.js';
import { writeHeader } from './header.js';
import { decodePrefixes, prefixWireLength, v4KeyWireLength, writePrefix, writePrefixes, writeV4Key } from './nlri.js';
import { AttrType, HEADER_LEN, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN, MsgType, type AttributeProblem, type CodecContext, type MpUnreach, type PathAttributes, type UpdateMessage } from './types.js';
import { Writer } from './writer.js';

export interface DecodedUpdate {
  message: UpdateMessage;
  problems: AttributeProblem[];
  rawAttributes?: Uint8Array;
}

/** Decodes an UPDATE body (the bytes after the header). Throws BgpError on session-reset errors. */
export function decodeUpdate(body: Uint8Array, ctx: CodecContext): DecodedUpdate {
  const n = body.length;
  // RFC 4271 §6.3 / RFC 7606 §4: the two length fields must fit the message.
  if (n < 4) updateProblem('lengthFieldsOverrun', 0, 'UPDATE shorter than its two length fields');
  const wLen = (body[0] << 8) | body[1];
  if (2 + wLen + 2 > n) updateProblem('lengthFieldsOverrun', 0, `withdrawn routes length ${wLen} overruns the message`);
  const aStart = 2 + wLen + 2;
  const aLen = (body[aStart - 2] << 8) | body[aStart - 1];
  const aEnd = aStart + aLen;
  if (aEnd > n) updateProblem('lengthFieldsOverrun', 0, `total path attribute length ${aLen} overruns the message`);

  const v4AddPath = addPathFor(ctx, 'ipv4');
  const useKeys = ctx.ipv4PrefixKeys === true && !v4AddPath;
  const withdrawn: string[] = [];
  const withdrawnPathIds = v4AddPath ? [] as number[] : undefined;
  const withdrawnKeys = useKeys ? [] as number[] : undefined;
  decodePrefixes(body, 2, 2 + wLen, 'ipv4', withdrawn, withdrawnPathIds, 'badNlri', withdrawnKeys);

  const d = aLen > 0 ? decodeAttributes(body, aStart, aEnd, ctx) : undefined;
  const attrs: PathAttributes = d ? d.attrs : {};
  const problems = d ? d.problems : [];
  let action = d?.action;

  const nlri: string[] = [];
  const nlriPathIds = v4AddPath ? [] as number[] : undefined;
  const nlriKeys = useKeys ? [] as number[] : undefined;
  decodePrefixes(body, aEnd, n, 'ipv4', nlri, nlriPathIds, 'badNlri', nlriKeys);
  const nNlri = nlri.length + (nlriKeys ? nlriKeys.length : 0);

  // RFC 7606 §3, RFC 4760 §3: ORIGIN and AS_PATH with any announcement; NEXT_HOP with NLRI-field ones.
  const announcesMp = attrs.mpReach !== undefined && attrs.mpReach.nlri.length > 0;
  if (action !== 'treat-as-withdraw' && (nNlri > 0 || announcesMp)) {
    const missing: string[] = [];
    if (attrs.origin === undefined) missing.push('ORIGIN');
    if (attrs.asPath === undefined) missing.push('AS_PATH');
    if (nNlri > 0 && attrs.nextHop === undefined) missing.push('NEXT_HOP');
    if (missing.length) {
      const code = attrs.origin === undefined ? AttrType.Origin : attrs.asPath === undefined ? AttrType.AsPath : AttrType.NextHop;
      const p = updateProblem('missingWellKnown', code, `missing ${missing.join(', ')}`);
      problems.push(p);
      action = 'treat-as-withdraw';
    }
  }

  const message: UpdateMessage = { type: 'update', withdrawn, attrs, nlri };
  if (withdrawnPathIds) message.withdrawnPathIds = withdrawnPathIds;
  if (nlriPathIds) message.nlriPathIds = nlriPathIds;
  if (withdrawnKeys && nlriKeys) {
    message.withdrawnKeys = withdrawnKeys;
    message.nlriKeys = nlriKeys;
  }
  if (action === 'treat-as-withdraw') {
    treatAsWithdraw(message);
    return { message, problems };
  }
  const out: DecodedUpdate = { message, problems };
  if (d?.raw !== undefined) out.rawAttributes = d.raw;
  return out;
}

/** RFC 7606 §2: announced routes become withdrawals; the attributes are not used. */
function treatAsWithdraw(m: UpdateMessage): void {
  for (const p of m.nlri) m.withdrawn.push(p);
  if (m.nlriKeys && m.withdrawnKeys) {
    for (const k of m.nlriKeys) m.withdrawnKeys.push(k);
    m.nlriKeys = [];
  }
  if (m.nlriPathIds && m.withdrawnPathIds) for (const id of m.nlriPathIds) m.withdrawnPathIds.push(id);
  m.nlri = [];
  if (m.nlriPathIds) m.nlriPathIds = [];
  const reach = m.attrs.mpReach;
  let unreach: MpUnreach | undefined = m.attrs.mpUnreach;
  if (reach && reach.nlri.length > 0) {
    if (reach.afi === 1 && !reach.pathIds === !m.withdrawnPathIds) {
      // IPv4 unicast withdrawals can use the Withdrawn Routes field.
      for (const p of reach.nlri) m.withdrawn.push(p);
      if (reach.pathIds && m.withdrawnPathIds) for (const id of reach.pathIds) m.withdrawnPathIds.push(id);
    } else {
      if (unreach && (unreach.afi !== reach.afi || unreach.safi !== reach.safi)) {
        // Only one MP_UNREACH fits: an IPv4 one moves to the Withdrawn Routes field first.
        if (unreach.afi === 1 && !unreach.pathIds === !m.withdrawnPathIds) {
          for (const p of unreach.withdrawn) m.withdrawn.push(p);
          if (unreach.pathIds && m.withdrawnPathIds) for (const id of unreach.pathIds) m.withdrawnPathIds.push(id);
        }
        unreach = undefined;
      }
      unreach ??= reach.pathIds ? { afi: reach.afi, safi: reach.safi, withdrawn: [], pathIds: [] } : { afi: reach.afi, safi: reach.safi, withdrawn: [] };
      for (const p of reach.nlri) unreach.withdrawn.push(p);
      if (reach.pathIds && unreach.pathIds) for (const id of reach.pathIds) unreach.pathIds.push(id);
    }
  }
  m.attrs = unreach ? { mpUnreach: unreach } : {};
}

/** Bytes of an UPDATE body. */
export function updateBodyLength(m: UpdateMessage, ctx: CodecContext): number {
  let n = 4 + attributesLength(m.attrs, ctx);
  for (const p of m.withdrawn) n += prefixWireLength(p);
  for (const p of m.nlri) n += prefixWireLength(p);
  if (m.withdrawnKeys) for (const k of m.withdrawnKeys) n += v4KeyWireLength(k);
  if (m.nlriKeys) for (const k of m.nlriKeys) n += v4KeyWireLength(k);
  if (m.withdrawnPathIds) n += 4 * m.withdrawn.length;
  if (m.nlriPathIds) n += 4 * m.nlri.length;
  return n;
}

export function writeUpdateBody(w: Writer, m: UpdateMessage, ctx: CodecContext): void {
  const wAt = w.pos;
  w.u16(0);
  writePrefixes(w, m.withdrawn, 'ipv4', m.withdrawnPathIds);
  if (m.withdrawnKeys) for (const k of m.withdrawnKeys) writeV4Key(w, k);
  w.patch16(wAt, w.pos - wAt - 2);
  const aAt = w.pos;
  w.u16(0);
  writeAttributes(w, m.attrs, ctx);
  w.patch16(aAt, w.pos - aAt - 2);
  writePrefixes(w, m.nlri, 'ipv4', m.nlriPathIds);
  if (m.nlriKeys) for (const k of m.nlriKeys) writeV4Key(w, k);
}

/**
 * RFC 4724 §2: End-of-RIB is an UPDATE with nothing in it (IPv4 unicast), or one holding only an
 * empty MP_UNREACH_NLRI for the family.
 */
export function isEndOfRib(m: UpdateMessage): Family | undefined {
  if (m.withdrawn.length || m.nlri.length || m.withdrawnKeys?.length || m.nlriKeys?.length) return undefined;
  const a = m.attrs;
  let count = 0;
  for (const k in a) if ((a as Record<string, unknown>)[k] !== undefined) count++;
  if (count === 0) return 'ipv4';
  if (count === 1 && a.mpUnreach && a.mpUnreach.withdrawn.length === 0 && a.mpUnreach.safi === Safi.Unicast) {
    return familyOfAfi(a.mpUnreach.afi);
  }
  return undefined;
}

function frame(bodyLen: number, write: (w: Writer) => void): Uint8Array {
  const buf = new Uint8Array(HEADER_LEN + bodyLen);
  const w = new Writer(buf);
  writeHeader(w, buf.length, MsgType.Update);
  write(w);
  if (w.pos !== buf.length) throw new BgpEncodeError(`UPDATE length ${buf.length} but wrote ${w.pos}`);
  return buf;
}

export function encodeEndOfRib(family: Family): Uint8Array {
  if (family === 'ipv4') return frame(4, (w) => { w.u16(0); w.u16(0); });
  return frame(4 + 4 + 3, (w) => {
    w.u16(0);
    w.u16(7);
    w.u8(0x90); // Optional | Extended Length, as for every MP attribute we send
    w.u8(AttrType.MpUnreachNlri);
    w.u16(3);
    w.u16(afiOf(family));
    w.u8(Safi.Unicast);
  });
}

export interface UpdatesInput {
  family: Family;
  /** Attributes shared by every prefix in `nlri`; mpReach/mpUnreach must not be set. */
  attrs: PathAttributes;
  /** IPv4: [next hop]; IPv6: [global] or [global, link-local]. */
  nextHops: string[];
  nlri: string[];
  withdrawn: string[];
  /** More IPv4 prefixes to announce, as address × 64 + length (nlri.ts writeV4Key); after `nlri`. */
  nlriKeys?: readonly number[];
  /** More IPv4 prefixes to withdraw, as address × 64 + length; after `withdrawn`. */
  withdrawnKeys?: readonly number[];
}

/** Prefix k of a string list followed by a key list: its wire length, and writing it. */
function itemLength(list: readonly string[], keys: readonly number[] | undefined, k: number): number {
  return k < list.length ? prefixWireLength(list[k]) : v4KeyWireLength((keys as readonly number[])[k - list.length]);
}

function writeItem(w: Writer, list: readonly string[], keys: readonly number[] | undefined, k: number, family: Family): void {
  if (k < list.length) writePrefix(w, list[k], family);
  else writeV4Key(w, (keys as readonly number[])[k - list.length]);
}

/**
 * Packs withdrawals and announcements into UPDATEs no longer than the session's maximum (4096, or
 * 65535 with RFC 8654 extended messages). Withdrawals come first, in their own UPDATEs; each
 * announcing UPDATE carries the attributes once. IPv6 goes in MP_UNREACH/MP_REACH (RFC 4760).
 */
export function encodeUpdates(input: UpdatesInput, ctx: CodecContext): Uint8Array[] {
  const max = ctx.extendedMessage ? MAX_EXTENDED_MESSAGE_LEN : MAX_MESSAGE_LEN;
  const out: Uint8Array[] = [];
  const { family } = input;
  if (input.attrs.mpReach || input.attrs.mpUnreach) throw new BgpEncodeError('encodeUpdates builds MP_REACH/MP_UNREACH itself');
  const v4 = family === 'ipv4';
  const afi = afiOf(family);

  const { withdrawn, nlri, withdrawnKeys, nlriKeys } = input;
  if (!v4 && ((withdrawnKeys?.length ?? 0) > 0 || (nlriKeys?.length ?? 0) > 0)) throw new BgpEncodeError('prefix keys are IPv4 only');
  const nWithdrawn = withdrawn.length + (withdrawnKeys?.length ?? 0);
  const nNlri = nlri.length + (nlriKeys?.length ?? 0);

  // Withdrawals.
  const fixedW = HEADER_LEN + 4 + (v4 ? 0 : 4 + 3);
  for (let i = 0; i < nWithdrawn; ) {
    let bytes = 0;
    let j = i;
    while (j < nWithdrawn) {
      const l = itemLength(withdrawn, withdrawnKeys, j);
      if (fixedW + bytes + l > max) break;
      bytes += l;
      j++;
    }
    if (j === i) throw new BgpEncodeError('a single prefix does not fit an UPDATE');
    const from = i;
    const to = j;
    out.push(frame(fixedW - HEADER_LEN + bytes, (w) => {
      if (v4) {
        w.u16(bytes);
        for (let k = from; k < to; k++) writeItem(w, withdrawn, withdrawnKeys, k, 'ipv4');
        w.u16(0);
      } else {
        w.u16(0);
        w.u16(4 + 3 + bytes);
        w.u8(0x90);
        w.u8(AttrType.MpUnreachNlri);
        w.u16(3 + bytes);
        w.u16(afi);
        w.u8(Safi.Unicast);
        for (let k = from; k < to; k++) writeItem(w, withdrawn, withdrawnKeys, k, family);
      }
    }));
    i = j;
  }

  if (nNlri === 0) return out;
  // Announcements: the shared attributes are encoded once and copied into each UPDATE.
  const shared: PathAttributes = v4 ? { ...input.attrs, nextHop: input.nextHops[0] ?? input.attrs.nextHop } : { ...input.attrs, nextHop: undefined };
  if (v4 && shared.nextHop === undefined) throw new BgpEncodeError('an IPv4 announcement needs a next hop');
  const sharedLen = attributesLength(shared, ctx);
  const sharedBytes = new Uint8Array(sharedLen);
  writeAttributes(new Writer(sharedBytes), shared, ctx);
  let mpFixed = 0;
  if (!v4) {
    if (input.nextHops.length < 1 || input.nextHops.length > 2) throw new BgpEncodeError('an IPv6 announcement needs one or two next hops');
    mpFixed = 4 + 2 + 1 + 1 + 16 * input.nextHops.length + 1;
  }
  const fixedA = HEADER_LEN + 4 + sharedLen + mpFixed;
  for (let i = 0; i < nNlri; ) {
    let bytes = 0;
    let j = i;
    while (j < nNlri) {
      const l = itemLength(nlri, nlriKeys, j);
      if (fixedA + bytes + l > max) break;
      bytes += l;
      j++;
    }
    if (j === i) throw new BgpEncodeError('the attributes leave no room for a prefix in an UPDATE');
    const from = i;
    const to = j;
    out.push(frame(fixedA - HEADER_LEN + bytes, (w) => {
      w.u16(0);
      w.u16(sharedLen + mpFixed + (v4 ? 0 : bytes));
      if (!v4) {
        w.u8(0x90);
        w.u8(AttrType.MpReachNlri);
        w.u16(mpFixed - 4 + bytes);
        w.u16(afi);
        w.u8(Safi.Unicast);
        w.u8(16 * input.nextHops.length);
        for (const nh of input.nextHops) w.ip(nh, 16);
        w.u8(0);
        for (let k = from; k < to; k++) writeItem(w, nlri, nlriKeys, k, family);
      }
      w.bytes(sharedBytes);
      if (v4) for (let k = from; k < to; k++) writeItem(w, nlri, nlriKeys, k, 'ipv4');
    }));
    i = j;
  }
  return out;
}

