/**
 * rtnetlink codec: builds requests into one reusable buffer and parses replies in place.
 *
 * Shape (after pg-protocol and dns-packet): a Writer appends whole netlink messages at an offset
 * into a buffer that grows but is never reallocated per message; attributes are written with their
 * 4-byte alignment padding (rtnetlink(7): NLA_ALIGN) — the `netlink` npm package forgot the padding
 * and the kernel answered EINVAL. Nested attributes (IFLA_LINKINFO, RTA_MULTIPATH) are opened and
 * closed, their length patched afterwards. Parsers read little-endian host order fields with a
 * DataView and return plain objects; they never copy the receive buffer.
 *
 * Message layouts: netlink(7) nlmsghdr (len u32, type u16, flags u16, seq u32, pid u32), then the
 * family header (rtmsg 12 bytes, ifinfomsg 16, ifaddrmsg 8, ndmsg 12), then attributes
 * (len u16, type u16, payload, padding to 4).
 */
import * as C from './constants.js';
import type { KernelAddr, KernelLink, KernelNeigh, KernelNextHop, KernelRoute, LinkSpec, VxlanInfo } from '../kernel.js';
import { compareNextHops } from '../kernel.js';

const align4 = (n: number) => (n + 3) & ~3;

export class Writer {
  buf: Buffer;
  view: DataView;
  offset = 0;
  private msgStart = 0;
  private readonly nests: number[] = [];

  constructor(size = 256 * 1024) {
    this.buf = Buffer.alloc(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  reset(): void {
    this.offset = 0;
  }

  private ensure(n: number): void {
    if (this.offset + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.offset + n + 4096));
    this.buf.copy(next, 0, 0, this.offset);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  /** Starts a message: nlmsghdr with the length patched by end(). */
  begin(type: number, flags: number, seq: number): void {
    this.ensure(C.NLMSG_HDRLEN);
    this.msgStart = this.offset;
    const v = this.view;
    const o = this.offset;
    v.setUint32(o, 0, true);
    v.setUint16(o + 4, type, true);
    v.setUint16(o + 6, flags, true);
    v.setUint32(o + 8, seq >>> 0, true);
    v.setUint32(o + 12, 0, true); // nlmsg_pid 0: the kernel fills in our port
    this.offset += C.NLMSG_HDRLEN;
  }

  end(): void {
    this.view.setUint32(this.msgStart, this.offset - this.msgStart, true);
  }

  u8(v: number): void { this.ensure(1); this.buf[this.offset++] = v; }
  u16(v: number): void { this.ensure(2); this.view.setUint16(this.offset, v, true); this.offset += 2; }
  u32(v: number): void { this.ensure(4); this.view.setUint32(this.offset, v >>> 0, true); this.offset += 4; }
  i32(v: number): void { this.ensure(4); this.view.setInt32(this.offset, v, true); this.offset += 4; }

  /** A fixed-size family header of zeros, returned as its offset for the caller to fill. */
  header(len: number): number {
    this.ensure(len);
    this.buf.fill(0, this.offset, this.offset + len);
    const at = this.offset;
    this.offset += len;
    return at;
  }

  private attrHeader(type: number, payloadLen: number): void {
    this.ensure(align4(4 + payloadLen));
    this.view.setUint16(this.offset, 4 + payloadLen, true);
    this.view.setUint16(this.offset + 2, type, true);
    this.offset += 4;
  }

  private pad(): void {
    const to = align4(this.offset);
    this.buf.fill(0, this.offset, to);
    this.offset = to;
  }

  attrU8(type: number, v: number): void { this.attrHeader(type, 1); this.buf[this.offset++] = v; this.pad(); }
  attrU16(type: number, v: number): void { this.attrHeader(type, 2); this.view.setUint16(this.offset, v, true); this.offset += 2; this.pad(); }
  attrU16be(type: number, v: number): void { this.attrHeader(type, 2); this.view.setUint16(this.offset, v, false); this.offset += 2; this.pad(); }
  attrU32(type: number, v: number): void { this.attrHeader(type, 4); this.view.setUint32(this.offset, v >>> 0, true); this.offset += 4; }

  attrBytes(type: number, b: Uint8Array): void {
    this.attrHeader(type, b.length);
    this.buf.set(b, this.offset);
    this.offset += b.length;
    this.pad();
  }

  /** NUL-terminated string (IFLA_IFNAME, IFLA_INFO_KIND). */
  attrString(type: number, s: string): void {
    const n = Buffer.byteLength(s);
    this.attrHeader(type, n + 1);
    this.buf.write(s, this.offset);
    this.buf[this.offset + n] = 0;
    this.offset += n + 1;
    this.pad();
  }

  attrIp(type: number, ip: string): void {
    if (ip.includes(':')) this.attrBytes(type, ipv6Bytes(ip));
    else this.attrIpv4(type, ip, ip.length);
  }

  /** The dotted-quad IPv4 address in `s` before index `end` (a prefix's address part, read in place). */
  attrIpv4(type: number, s: string, end: number): void {
    this.attrHeader(type, 4);
    writeIpv4(this.buf, this.offset, s, end);
    this.offset += 4;
  }

  nestStart(type: number): void {
    this.ensure(4);
    this.nests.push(this.offset);
    this.view.setUint16(this.offset + 2, type, true);
    this.offset += 4;
  }

  nestEnd(): void {
    const at = this.nests.pop();
    if (at === undefined) throw new Error('nestEnd without nestStart');
    this.view.setUint16(at, this.offset - at, true);
  }

  /** struct rtnexthop inside RTA_MULTIPATH: len patched by rtnhEnd(). */
  rtnhStart(flags: number, ifindex: number): number {
    this.ensure(C.RTNH_LEN);
    const at = this.offset;
    this.view.setUint16(at, 0, true);
    this.buf[at + 2] = flags;
    this.buf[at + 3] = 0; // rtnh_hops: weight - 1
    this.view.setInt32(at + 4, ifindex, true);
    this.offset += C.RTNH_LEN;
    return at;
  }

  rtnhEnd(at: number): void {
    this.view.setUint16(at, this.offset - at, true);
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.offset);
  }
}

// ---- addresses -------------------------------------------------------------------------------

function writeIpv4(buf: Buffer, at: number, ip: string, end: number): void {
  let part = 0;
  let i = 0;
  for (let k = 0; k < end; k++) {
    const c = ip.charCodeAt(k);
    if (c === 46) { buf[at + i++] = part; part = 0; } else part = part * 10 + (c - 48);
  }
  buf[at + i] = part;
}

function ipv6Bytes(ip: string): Uint8Array {
  const out = new Uint8Array(16);
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const hs = head ? head.split(':') : [];
  const ts = tail !== undefined && tail !== '' ? tail.split(':') : [];
  hs.forEach((g, i) => { const v = parseInt(g, 16); out[i * 2] = v >> 8; out[i * 2 + 1] = v & 0xff; });
  ts.forEach((g, i) => { const v = parseInt(g, 16); const j = 16 - (ts.length - i) * 2; out[j] = v >> 8; out[j + 1] = v & 0xff; });
  return out;
}

function fmtIpv6(b: Uint8Array, o: number): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[o + i] << 8) | b[o + i + 1]);
  let bs = -1, bl = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bl && j - i >= 2) { bs = i; bl = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bs < 0) return hex.join(':');
  return `${hex.slice(0, bs).join(':')}::${hex.slice(bs + bl).join(':')}`;
}

export function fmtIp(b: Uint8Array, o: number, len: number): string {
  return len === 4 ? `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}` : fmtIpv6(b, o);
}

export function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':').map((h) => parseInt(h, 16)));
}

function fmtMac(b: Uint8Array, o: number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += (i ? ':' : '') + b[o + i].toString(16).padStart(2, '0');
  return s;
}

// ---- requests ---------------------------------------------------------------------------------

export function encodeDump(w: Writer, type: number, family: number, seq: number): void {
  w.begin(type, C.NLM_F_REQUEST | C.NLM_F_DUMP, seq);
  const len = type === C.RTM_GETLINK ? C.IFINFOMSG_LEN : type === C.RTM_GETADDR ? C.IFADDRMSG_LEN : type === C.RTM_GETNEIGH ? C.NDMSG_LEN : C.RTMSG_LEN;
  const at = w.header(len);
  w.buf[at] = family;
  w.end();
}

/** NLMSG_NOOP with NLM_F_ACK: the kernel only acknowledges it; its ACK fences a batch. */
export function encodeFence(w: Writer, seq: number): void {
  w.begin(C.NLMSG_NOOP, C.NLM_F_REQUEST | C.NLM_F_ACK, seq);
  w.end();
}

export type RouteVerb = 'create' | 'replace' | 'delete';

export function encodeRoute(w: Writer, verb: RouteVerb, r: KernelRoute, seq: number, ack = false): void {
  const flags = C.NLM_F_REQUEST | (ack ? C.NLM_F_ACK : 0) |
    (verb === 'create' ? C.NLM_F_CREATE | C.NLM_F_EXCL : verb === 'replace' ? C.NLM_F_CREATE | C.NLM_F_REPLACE : 0);
  w.begin(verb === 'delete' ? C.RTM_DELROUTE : C.RTM_NEWROUTE, flags, seq);
  // The prefix is read in place (no substrings): address up to the slash, length after it.
  const dst = r.dst;
  const slash = dst.indexOf('/');
  let plen = 0;
  for (let k = slash + 1; k < dst.length; k++) plen = plen * 10 + (dst.charCodeAt(k) - 48);
  const v6 = dst.indexOf(':') >= 0;
  const h = w.header(C.RTMSG_LEN);
  const b = w.buf;
  b[h] = v6 ? C.AF_INET6 : C.AF_INET;
  b[h + 1] = plen; // rtm_dst_len
  b[h + 4] = r.table < 256 ? r.table : 252; // RT_TABLE_COMPAT when the table needs RTA_TABLE
  b[h + 5] = r.protocol; // rtm_protocol: ownership (delete matches it too)
  // A delete with RT_SCOPE_NOWHERE matches any scope (as `ip route del` does).
  b[h + 6] = verb === 'delete' ? C.RT_SCOPE_NOWHERE : r.scope;
  b[h + 7] = r.type === 'blackhole' ? C.RTN_BLACKHOLE : C.RTN_UNICAST;
  const single = r.nexthops.length === 1 ? r.nexthops[0] : undefined;
  if (verb !== 'delete' && single?.onlink) w.view.setUint32(h + 8, C.RTNH_F_ONLINK, true);
  if (r.table >= 256) w.attrU32(C.RTA_TABLE, r.table);
  if (v6) w.attrIp(C.RTA_DST, dst.slice(0, slash));
  else w.attrIpv4(C.RTA_DST, dst, slash);
  if (verb !== 'delete') {
    if (single) {
      if (single.gateway) w.attrIp(C.RTA_GATEWAY, single.gateway);
      w.attrU32(C.RTA_OIF, single.ifindex);
    } else if (r.nexthops.length > 1) {
      w.nestStart(C.RTA_MULTIPATH);
      for (const nh of r.nexthops) {
        const at = w.rtnhStart(nh.onlink ? C.RTNH_F_ONLINK : 0, nh.ifindex);
        if (nh.gateway) w.attrIp(C.RTA_GATEWAY, nh.gateway);
        w.rtnhEnd(at);
      }
      w.nestEnd();
    }
  }
  w.end();
}

export function encodeLink(w: Writer, spec: LinkSpec, seq: number, ack = false): void {
  w.begin(C.RTM_NEWLINK, C.NLM_F_REQUEST | (ack ? C.NLM_F_ACK : 0) | (spec.index ? 0 : C.NLM_F_CREATE), seq);
  const h = w.header(C.IFINFOMSG_LEN);
  if (spec.index) w.view.setInt32(h + 4, spec.index, true);
  if (spec.up !== undefined) {
    w.view.setUint32(h + 8, spec.up ? C.IFF_UP : 0, true); // ifi_flags
    w.view.setUint32(h + 12, C.IFF_UP, true); // ifi_change: only IFF_UP
  }
  // rtnetlink(7)/do_setlink: a link selected by index *and* named is a rename request, refused with
  // EBUSY while the link is up (even to the same name). So: the name selects, or the index does.
  if (!spec.index) w.attrString(C.IFLA_IFNAME, spec.name);
  if (spec.mtu) w.attrU32(C.IFLA_MTU, spec.mtu);
  if (spec.mac) w.attrBytes(C.IFLA_ADDRESS, macBytes(spec.mac));
  if (spec.kind && !spec.index) {
    w.nestStart(C.IFLA_LINKINFO);
    w.attrString(C.IFLA_INFO_KIND, spec.kind);
    if (spec.veth) {
      const peer = spec.veth;
      w.nestStart(C.IFLA_INFO_DATA);
      w.nestStart(C.VETH_INFO_PEER);
      w.header(C.IFINFOMSG_LEN); // the peer's struct ifinfomsg: all zero (family, index, flags)
      w.attrString(C.IFLA_IFNAME, peer.name);
      if (peer.mtu) w.attrU32(C.IFLA_MTU, peer.mtu);
      if (peer.mac) w.attrBytes(C.IFLA_ADDRESS, macBytes(peer.mac));
      if (peer.netnsFd !== undefined) w.attrU32(C.IFLA_NET_NS_FD, peer.netnsFd);
      w.nestEnd();
      w.nestEnd();
    }
    if (spec.vxlan) {
      const x = spec.vxlan;
      w.nestStart(C.IFLA_INFO_DATA);
      w.attrU32(C.IFLA_VXLAN_ID, x.vni);
      if (x.link) w.attrU32(C.IFLA_VXLAN_LINK, x.link);
      if (x.local) w.attrIp(x.local.includes(':') ? C.IFLA_VXLAN_LOCAL6 : C.IFLA_VXLAN_LOCAL, x.local);
      w.attrU8(C.IFLA_VXLAN_LEARNING, x.learning ? 1 : 0);
      w.attrU16be(C.IFLA_VXLAN_PORT, x.port);
      w.nestEnd();
    }
    w.nestEnd();
  }
  w.end();
}

/** RTM_GETLINK of one interface by name (not a dump): the kernel answers one RTM_NEWLINK, or ENODEV. */
export function encodeGetLinkByName(w: Writer, name: string, seq: number): void {
  w.begin(C.RTM_GETLINK, C.NLM_F_REQUEST, seq);
  w.header(C.IFINFOMSG_LEN);
  w.attrString(C.IFLA_IFNAME, name);
  w.end();
}

export function encodeLinkDelete(w: Writer, index: number, seq: number, ack = false): void {
  w.begin(C.RTM_DELLINK, C.NLM_F_REQUEST | (ack ? C.NLM_F_ACK : 0), seq);
  const h = w.header(C.IFINFOMSG_LEN);
  w.view.setInt32(h + 4, index, true);
  w.end();
}

export function encodeAddr(w: Writer, del: boolean, a: KernelAddr, seq: number, ack = false): void {
  w.begin(del ? C.RTM_DELADDR : C.RTM_NEWADDR, C.NLM_F_REQUEST | (ack ? C.NLM_F_ACK : 0) | (del ? 0 : C.NLM_F_CREATE | C.NLM_F_REPLACE), seq);
  const h = w.header(C.IFADDRMSG_LEN);
  const v6 = a.address.includes(':');
  w.buf[h] = v6 ? C.AF_INET6 : C.AF_INET;
  w.buf[h + 1] = a.prefixLen;
  if (a.nodad) w.buf[h + 2] = C.IFA_F_NODAD; // ifa_flags (8 bits); IFA_FLAGS carries all 32
  w.view.setUint32(h + 4, a.index, true);
  w.attrIp(C.IFA_LOCAL, a.address);
  w.attrIp(C.IFA_ADDRESS, a.address);
  if (a.nodad && !del) w.attrU32(C.IFA_FLAGS, C.IFA_F_NODAD);
  w.end();
}

export function encodeNeigh(w: Writer, del: boolean, n: KernelNeigh, seq: number, ack = false): void {
  w.begin(del ? C.RTM_DELNEIGH : C.RTM_NEWNEIGH, C.NLM_F_REQUEST | (ack ? C.NLM_F_ACK : 0) | (del ? 0 : C.NLM_F_CREATE | C.NLM_F_REPLACE), seq);
  const h = w.header(C.NDMSG_LEN);
  w.buf[h] = n.family === 'bridge' ? C.AF_BRIDGE : n.family === 'inet6' ? C.AF_INET6 : C.AF_INET;
  w.view.setInt32(h + 4, n.ifindex, true);
  w.view.setUint16(h + 8, n.state, true);
  w.buf[h + 10] = n.flags;
  if (n.dst) w.attrIp(C.NDA_DST, n.dst);
  if (n.lladdr) w.attrBytes(C.NDA_LLADDR, macBytes(n.lladdr));
  w.end();
}

// ---- replies ----------------------------------------------------------------------------------

/** Calls `fn(type, offset, length)` for each netlink message in buf[0, len). Returns false on a malformed length. */
export function forEachMessage(buf: Buffer, len: number, fn: (type: number, off: number, mlen: number, flags: number, seq: number) => void): boolean {
  let off = 0;
  while (off + C.NLMSG_HDRLEN <= len) {
    const mlen = buf.readUInt32LE(off);
    if (mlen < C.NLMSG_HDRLEN || off + mlen > len) return false;
    fn(buf.readUInt16LE(off + 4), off, mlen, buf.readUInt16LE(off + 6), buf.readUInt32LE(off + 8));
    off += align4(mlen);
  }
  return true;
}

/** Iterates attributes in buf[from, to). */
function forEachAttr(buf: Buffer, from: number, to: number, fn: (type: number, at: number, len: number) => void): void {
  let o = from;
  while (o + 4 <= to) {
    const alen = buf.readUInt16LE(o);
    if (alen < 4 || o + alen > to) return;
    fn(buf.readUInt16LE(o + 2) & 0x3fff, o + 4, alen - 4, );
    o += align4(alen);
  }
}

/** rtm_protocol of a route message, read without parsing the rest (cheap filtering of bursts). */
export function routeProtocolOf(buf: Buffer, off: number): number {
  return buf[off + C.NLMSG_HDRLEN + 5];
}

export function parseRoute(buf: Buffer, off: number, mlen: number): KernelRoute | undefined {
  const h = off + C.NLMSG_HDRLEN;
  const family = buf[h];
  if (family !== C.AF_INET && family !== C.AF_INET6) return undefined;
  const alen = family === C.AF_INET ? 4 : 16;
  const dstLen = buf[h + 1];
  let table = buf[h + 4];
  const rflags = buf.readUInt32LE(h + 8);
  let dst = family === C.AF_INET ? '0.0.0.0' : '::';
  let gateway: string | undefined;
  let oif = 0;
  let nexthops: KernelNextHop[] | undefined;
  forEachAttr(buf, h + C.RTMSG_LEN, off + mlen, (t, at, len) => {
    if (t === C.RTA_DST && len === alen) dst = fmtIp(buf, at, alen);
    else if (t === C.RTA_GATEWAY && len === alen) gateway = fmtIp(buf, at, alen);
    else if (t === C.RTA_OIF) oif = buf.readInt32LE(at);
    else if (t === C.RTA_TABLE) table = buf.readUInt32LE(at);
    else if (t === C.RTA_MULTIPATH) {
      nexthops = [];
      let o = at;
      while (o + C.RTNH_LEN <= at + len) {
        const nlen = buf.readUInt16LE(o);
        if (nlen < C.RTNH_LEN) break;
        const nh: KernelNextHop = { ifindex: buf.readInt32LE(o + 4), onlink: (buf[o + 2] & C.RTNH_F_ONLINK) !== 0 };
        forEachAttr(buf, o + C.RTNH_LEN, o + nlen, (t2, a2, l2) => {
          if (t2 === C.RTA_GATEWAY && l2 === alen) nh.gateway = fmtIp(buf, a2, alen);
        });
        nexthops.push(nh);
        o += align4(nlen);
      }
    }
  });
  const type = buf[h + 7];
  if (type !== C.RTN_UNICAST && type !== C.RTN_BLACKHOLE) return undefined;
  if (!nexthops) {
    nexthops = [];
    if (oif || gateway) nexthops.push(gateway ? { gateway, ifindex: oif, onlink: (rflags & C.RTNH_F_ONLINK) !== 0 } : { ifindex: oif, onlink: (rflags & C.RTNH_F_ONLINK) !== 0 });
  }
  if (nexthops.length > 1) nexthops.sort(compareNextHops);
  // IPv6 reports a blackhole with RTA_OIF = lo; a blackhole has no next hop as far as we compare.
  if (type === C.RTN_BLACKHOLE) nexthops = [];
  return {
    dst: `${dst}/${dstLen}`,
    table,
    protocol: buf[h + 5],
    type: type === C.RTN_BLACKHOLE ? 'blackhole' : 'unicast',
    scope: buf[h + 6],
    nexthops,
  };
}

export function parseLink(buf: Buffer, off: number, mlen: number): KernelLink {
  const h = off + C.NLMSG_HDRLEN;
  const link: KernelLink = { index: buf.readInt32LE(h + 4), name: '', mtu: 0, up: (buf.readUInt32LE(h + 8) & C.IFF_UP) !== 0 };
  forEachAttr(buf, h + C.IFINFOMSG_LEN, off + mlen, (t, at, len) => {
    if (t === C.IFLA_IFNAME) link.name = buf.toString('utf8', at, at + len).replace(/\0.*$/s, '');
    else if (t === C.IFLA_MTU) link.mtu = buf.readUInt32LE(at);
    else if (t === C.IFLA_ADDRESS && len === 6) link.mac = fmtMac(buf, at, len);
    else if (t === C.IFLA_LINK && len === 4) link.peerIndex = buf.readInt32LE(at);
    else if (t === C.IFLA_LINKINFO) {
      let dataAt = -1, dataLen = 0;
      forEachAttr(buf, at, at + len, (t2, a2, l2) => {
        if (t2 === C.IFLA_INFO_KIND) link.kind = buf.toString('utf8', a2, a2 + l2).replace(/\0.*$/s, '');
        else if (t2 === C.IFLA_INFO_DATA) { dataAt = a2; dataLen = l2; }
      });
      if (link.kind === 'vxlan' && dataAt >= 0) {
        const x: VxlanInfo = { vni: 0, port: 0, learning: true };
        forEachAttr(buf, dataAt, dataAt + dataLen, (t3, a3, l3) => {
          if (t3 === C.IFLA_VXLAN_ID) x.vni = buf.readUInt32LE(a3);
          else if (t3 === C.IFLA_VXLAN_PORT) x.port = buf.readUInt16BE(a3);
          else if (t3 === C.IFLA_VXLAN_LOCAL && l3 === 4) x.local = fmtIp(buf, a3, 4);
          else if (t3 === C.IFLA_VXLAN_LOCAL6 && l3 === 16) x.local = fmtIp(buf, a3, 16);
          else if (t3 === C.IFLA_VXLAN_LINK) x.link = buf.readUInt32LE(a3);
          else if (t3 === C.IFLA_VXLAN_LEARNING) x.learning = buf[a3] !== 0;
        });
        link.vxlan = x;
      }
    }
  });
  return link;
}

export function parseAddr(buf: Buffer, off: number, mlen: number): KernelAddr | undefined {
  const h = off + C.NLMSG_HDRLEN;
  const family = buf[h];
  const alen = family === C.AF_INET ? 4 : family === C.AF_INET6 ? 16 : 0;
  if (!alen) return undefined;
  let local: string | undefined;
  let address: string | undefined;
  forEachAttr(buf, h + C.IFADDRMSG_LEN, off + mlen, (t, at, len) => {
    if (t === C.IFA_LOCAL && len === alen) local = fmtIp(buf, at, alen);
    else if (t === C.IFA_ADDRESS && len === alen) address = fmtIp(buf, at, alen);
  });
  const a = local ?? address;
  return a ? { index: buf.readUInt32LE(h + 4), address: a, prefixLen: buf[h + 1] } : undefined;
}

export function parseNeigh(buf: Buffer, off: number, mlen: number): KernelNeigh | undefined {
  const h = off + C.NLMSG_HDRLEN;
  const fam = buf[h];
  const family = fam === C.AF_BRIDGE ? 'bridge' : fam === C.AF_INET ? 'inet' : fam === C.AF_INET6 ? 'inet6' : undefined;
  if (!family) return undefined;
  const n: KernelNeigh = { family, ifindex: buf.readInt32LE(h + 4), state: buf.readUInt16LE(h + 8), flags: buf[h + 10] };
  forEachAttr(buf, h + C.NDMSG_LEN, off + mlen, (t, at, len) => {
    if (t === C.NDA_DST && (len === 4 || len === 16)) n.dst = fmtIp(buf, at, len);
    else if (t === C.NDA_LLADDR && len === 6) n.lladdr = fmtMac(buf, at, len);
  });
  return n;
}

/** NLMSG_ERROR payload: the negative errno (0 = ACK). */
export function errorCodeOf(buf: Buffer, off: number): number {
  return -buf.readInt32LE(off + C.NLMSG_HDRLEN);
}
