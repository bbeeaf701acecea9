/**
 * MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 §3, §4) for IPv4 and IPv6 unicast, with RFC 7911
 * path identifiers when add-path receive is negotiated for the family.
 *
 * An IPv6 next hop is 16 bytes (global) or 32 (global + link-local, RFC 2545 §3); we keep both, in
 * that order, in `nextHops`. A malformed MP attribute cannot be skipped safely — its NLRI cannot be
 * located — so every error here resets the session (RFC 7606 §7.11, §7.12), except an AFI/SAFI we
 * do not speak, which we drop (we never negotiate one, RFC 4760 §7).
 */
import { Safi, familyOfAfi, type Family } from '../../../model/ip.js';
import { BgpEncodeError, updateProblem } from '../errors.js';
import { decodePrefixes, prefixesWireLength, writePrefixes, formatIpv6At } from '../nlri.js';
import { AttrFlag, AttrType, type CodecContext } from '../types.js';
import type { Reader } from '../reader.js';
import type { AttrDescriptor } from './descriptor.js';

/** Sentinel returned by decode when the AFI/SAFI is not one we speak (the caller discards it). */
export const UNSUPPORTED_FAMILY = 'unsupported AFI/SAFI';

function familyOf(afi: number, safi: number): Family | undefined {
  return safi === Safi.Unicast ? familyOfAfi(afi) : undefined;
}

export function addPathFor(ctx: CodecContext, family: Family): boolean {
  return ctx.addPathReceive !== undefined && ctx.addPathReceive.includes(family);
}

function reset(kind: 'mpReach' | 'mpUnreach', detail: string): never {
  updateProblem(kind, kind === 'mpReach' ? AttrType.MpReachNlri : AttrType.MpUnreachNlri, detail);
  throw new Error('unreachable');
}

function header(r: Reader, kind: 'mpReach' | 'mpUnreach'): { afi: number; safi: number } {
  if (r.end - r.pos < 3) reset(kind, 'AFI/SAFI truncated');
  return { afi: r.u16(), safi: r.u8() };
}

export const mpReach: AttrDescriptor = {
  code: AttrType.MpReachNlri, name: 'mp_reach_nlri', flags: AttrFlag.Optional, error: 'mpReach',
  decode(r, a, ctx) {
    const { afi, safi } = header(r, 'mpReach');
    const family = familyOf(afi, safi);
    if (!family) return UNSUPPORTED_FAMILY;
    if (r.pos >= r.end) reset('mpReach', 'next hop length missing');
    const nhLen = r.u8();
    const b = r.buf;
    const nextHops: string[] = [];
    // RFC 7606 §7.11: a next hop length inconsistent with the AFI is fatal.
    if (r.pos + nhLen + 1 > r.end) reset('mpReach', `next hop length ${nhLen} overruns the attribute`);
    if (family === 'ipv4') {
      if (nhLen !== 4) reset('mpReach', `IPv4 next hop length ${nhLen} is not 4`);
      nextHops.push(r.ipv4());
    } else {
      if (nhLen !== 16 && nhLen !== 32) reset('mpReach', `IPv6 next hop length ${nhLen} is neither 16 nor 32 (RFC 2545 §3)`);
      nextHops.push(formatIpv6At(b, r.pos, 16));
      if (nhLen === 32) nextHops.push(formatIpv6At(b, r.pos + 16, 16));
      r.pos += nhLen;
    }
    r.pos += 1; // RFC 4760 §3: Reserved (formerly the SNPA count), ignored on receipt.
    const nlri: string[] = [];
    const pathIds = addPathFor(ctx, family) ? [] : undefined;
    decodePrefixes(b, r.pos, r.end, family, nlri, pathIds, 'mpReach');
    r.pos = r.end;
    a.mpReach = pathIds ? { afi, safi, nextHops, nlri, pathIds } : { afi, safi, nextHops, nlri };
    return undefined;
  },
  has: (a) => a.mpReach !== undefined,
  length(a) {
    const m = a.mpReach!;
    const fam = familyOf(m.afi, m.safi);
    if (!fam) throw new BgpEncodeError(`MP_REACH for AFI ${m.afi} SAFI ${m.safi} is not supported`);
    return 5 + nextHopLength(fam, m.nextHops) + prefixesWireLength(m.nlri, m.pathIds !== undefined);
  },
  encode(w, a) {
    const m = a.mpReach!;
    const fam = familyOf(m.afi, m.safi) as Family;
    w.u16(m.afi);
    w.u8(m.safi);
    w.u8(nextHopLength(fam, m.nextHops));
    for (const nh of m.nextHops) w.ip(nh, fam === 'ipv4' ? 4 : 16);
    w.u8(0);
    writePrefixes(w, m.nlri, fam, m.pathIds);
  },
  format: (a) => `${a.mpReach?.nextHops.join(' ')} ${a.mpReach?.nlri.join(' ')}`,
};

function nextHopLength(fam: Family, nextHops: readonly string[]): number {
  if (fam === 'ipv4') {
    if (nextHops.length !== 1) throw new BgpEncodeError('an IPv4 MP_REACH has exactly one next hop');
    return 4;
  }
  if (nextHops.length < 1 || nextHops.length > 2) throw new BgpEncodeError('an IPv6 MP_REACH has one or two next hops');
  return 16 * nextHops.length;
}

export const mpUnreach: AttrDescriptor = {
  code: AttrType.MpUnreachNlri, name: 'mp_unreach_nlri', flags: AttrFlag.Optional, error: 'mpUnreach',
  decode(r, a, ctx) {
    const { afi, safi } = header(r, 'mpUnreach');
    const family = familyOf(afi, safi);
    if (!family) return UNSUPPORTED_FAMILY;
    const withdrawn: string[] = [];
    const pathIds = addPathFor(ctx, family) ? [] : undefined;
    decodePrefixes(r.buf, r.pos, r.end, family, withdrawn, pathIds, 'mpUnreach');
    r.pos = r.end;
    a.mpUnreach = pathIds ? { afi, safi, withdrawn, pathIds } : { afi, safi, withdrawn };
    return undefined;
  },
  has: (a) => a.mpUnreach !== undefined,
  length(a) {
    const m = a.mpUnreach!;
    if (!familyOf(m.afi, m.safi)) throw new BgpEncodeError(`MP_UNREACH for AFI ${m.afi} SAFI ${m.safi} is not supported`);
    return 3 + prefixesWireLength(m.withdrawn, m.pathIds !== undefined);
  },
  encode(w, a) {
    const m = a.mpUnreach!;
    w.u16(m.afi);
    w.u8(m.safi);
    writePrefixes(w, m.withdrawn, familyOf(m.afi, m.safi) as Family, m.pathIds);
  },
  format: (a) => a.mpUnreach?.withdrawn.join(' ') ?? '',
};

