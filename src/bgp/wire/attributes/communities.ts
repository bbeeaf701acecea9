/**
 * COMMUNITIES (RFC 1997), EXTENDED_COMMUNITIES (RFC 4360) and LARGE_COMMUNITIES (RFC 8092), and the
 * route-reflection attributes ORIGINATOR_ID and CLUSTER_LIST (RFC 4456).
 * All are lists of fixed-size items; a length that is zero or not a multiple of the item size is
 * malformed and costs treat-as-withdraw (RFC 7606 §7.8, §7.14, §7.9, §7.10; RFC 8092 §6).
 */
import { AttrFlag, AttrType } from '../types.js';
import { BgpEncodeError } from '../errors.js';
import { readU32, type AttrDescriptor } from './descriptor.js';

const OPT = AttrFlag.Optional;
const OPT_T = AttrFlag.Optional | AttrFlag.Transitive;

function listLength(n: number, item: number, what: string): string | undefined {
  if (n === 0 || n % item !== 0) return `${what} length ${n} is not a non-zero multiple of ${item}`;
  return undefined;
}

export const communities: AttrDescriptor = {
  code: AttrType.Communities, name: 'community', flags: OPT_T, error: 'communities',
  decode(r, a) {
    const n = r.end - r.pos;
    const bad = listLength(n, 4, 'COMMUNITIES');
    if (bad) return bad;
    const out = new Array<number>(n / 4);
    const b = r.buf;
    for (let i = 0, p = r.pos; i < out.length; i++, p += 4) out[i] = readU32(b, p);
    r.pos = r.end;
    a.communities = out;
    return undefined;
  },
  has: (a) => a.communities !== undefined && a.communities.length > 0,
  length: (a) => 4 * (a.communities?.length ?? 0),
  encode(w, a) {
    for (const c of a.communities ?? []) w.u32(c);
  },
  format: (a) => (a.communities ?? []).map((c) => `(${Math.floor(c / 65536)},${c & 0xffff})`).join(' '),
};

export const extendedCommunities: AttrDescriptor = {
  code: AttrType.ExtendedCommunities, name: 'ext_community', flags: OPT_T, error: 'extendedCommunities',
  decode(r, a) {
    const n = r.end - r.pos;
    const bad = listLength(n, 8, 'EXTENDED_COMMUNITIES');
    if (bad) return bad;
    const out: Uint8Array[] = [];
    while (r.pos < r.end) out.push(r.copy(8));
    a.extendedCommunities = out;
    return undefined;
  },
  has: (a) => a.extendedCommunities !== undefined && a.extendedCommunities.length > 0,
  length: (a) => 8 * (a.extendedCommunities?.length ?? 0),
  encode(w, a) {
    for (const c of a.extendedCommunities ?? []) {
      if (c.length !== 8) throw new BgpEncodeError('an extended community has 8 bytes');
      w.bytes(c);
    }
  },
  format: (a) => (a.extendedCommunities ?? []).map((c) => `(${Array.from(c, (x) => x.toString(16).padStart(2, '0')).join('')})`).join(' '),
};

export const largeCommunities: AttrDescriptor = {
  code: AttrType.LargeCommunities, name: 'large_community', flags: OPT_T, error: 'largeCommunities',
  decode(r, a) {
    const n = r.end - r.pos;
    const bad = listLength(n, 12, 'LARGE_COMMUNITIES');
    if (bad) return bad;
    const out: Array<[number, number, number]> = [];
    while (r.pos < r.end) out.push([r.u32(), r.u32(), r.u32()]);
    a.largeCommunities = out;
    return undefined;
  },
  has: (a) => a.largeCommunities !== undefined && a.largeCommunities.length > 0,
  length: (a) => 12 * (a.largeCommunities?.length ?? 0),
  encode(w, a) {
    for (const [g, l1, l2] of a.largeCommunities ?? []) { w.u32(g); w.u32(l1); w.u32(l2); }
  },
  format: (a) => (a.largeCommunities ?? []).map(([g, l1, l2]) => `(${g}, ${l1}, ${l2})`).join(' '),
};

export const originatorId: AttrDescriptor = {
  code: AttrType.OriginatorId, name: 'originator_id', flags: OPT, error: 'originatorId',
  decode(r, a) {
    // RFC 7606 §7.9: length other than 4 is malformed.
    if (r.end - r.pos !== 4) return `ORIGINATOR_ID length ${r.end - r.pos} is not 4`;
    a.originatorId = r.ipv4();
    return undefined;
  },
  has: (a) => a.originatorId !== undefined,
  length: () => 4,
  encode: (w, a) => w.ip(a.originatorId ?? '0.0.0.0', 4),
  format: (a) => a.originatorId ?? '',
};

export const clusterList: AttrDescriptor = {
  code: AttrType.ClusterList, name: 'cluster_list', flags: OPT, error: 'clusterList',
  decode(r, a) {
    const bad = listLength(r.end - r.pos, 4, 'CLUSTER_LIST');
    if (bad) return bad;
    const out: string[] = [];
    while (r.pos < r.end) out.push(r.ipv4());
    a.clusterList = out;
    return undefined;
  },
  has: (a) => a.clusterList !== undefined && a.clusterList.length > 0,
  length: (a) => 4 * (a.clusterList?.length ?? 0),
  encode(w, a) {
    for (const c of a.clusterList ?? []) w.ip(c, 4);
  },
  format: (a) => (a.clusterList ?? []).join(' '),
};
