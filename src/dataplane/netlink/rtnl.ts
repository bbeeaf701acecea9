/**
 * KernelPort over rtnetlink: one request socket for dumps and batched writes, one monitor socket for
 * route/link/neighbour events, and (when watched) one NETLINK_NETFILTER socket whose only job is to
 * say "some nftables object changed". Separate sockets so that an event burst can never delay or
 * overflow a request's replies (what burned the `netlink` package: one socket for both).
 *
 * Route events for other protocols are dropped after reading one byte (rtm_protocol): an outside
 * burst of 100k routes costs a recv() per skb and no parsing. If the monitor's receive buffer still
 * overflows, the overflow is reported and the reconciler resynchronises with a dump.
 */
import * as C from './constants.js';
import { encodeAddr, encodeGetLinkByName, encodeLink, encodeLinkDelete, encodeNeigh, encodeRoute, parseAddr, parseLink, parseNeigh, parseRoute, routeProtocolOf, type Writer } from './codec.js';
import { NetlinkError } from './errors.js';
import { loadNative, type NativeNetlink } from './native.js';
import { NlSocket } from './socket.js';
import { VERB_CREATE, VERB_REPLACE, type KernelAddr, type KernelEvents, type KernelLink, type KernelNeigh, type KernelOp, type KernelPort, type KernelRoute, type RouteBatch } from '../kernel.js';

export interface RtnlOptions {
  /** Network namespace name (/run/netns/NAME) or an absolute path to a namespace file. */
  netns?: string;
  timeoutMs?: number;
  /** Receive buffer of the monitor socket (bytes); large so bursts are absorbed. */
  monitorRcvbuf?: number;
  /** Receive buffer of the request socket (default 32 MiB: route dumps of a full table). */
  requestRcvbuf?: number;
  /** Writes through the thread pool (socket.ts `asyncSend`): for link creation and deletion. */
  asyncWrites?: boolean;
}

export function netnsPath(netns: string | undefined): string | undefined {
  if (!netns) return undefined;
  return netns.startsWith('/') ? netns : `/run/netns/${netns}`;
}

export function describeOp(o: KernelOp): string {
  switch (o.op) {
    case 'route-create': return `RTM_NEWROUTE(create) ${o.route.dst}`;
    case 'route-replace': return `RTM_NEWROUTE(replace) ${o.route.dst}`;
    case 'route-delete': return `RTM_DELROUTE ${o.route.dst}`;
    case 'link-set': return `RTM_NEWLINK ${o.link.name}`;
    case 'link-delete': return `RTM_DELLINK ${o.name}`;
    case 'addr-add': return `RTM_NEWADDR ${o.addr.address}/${o.addr.prefixLen}`;
    case 'addr-delete': return `RTM_DELADDR ${o.addr.address}/${o.addr.prefixLen}`;
    case 'neigh-set': return `RTM_NEWNEIGH ${o.neigh.family} ${o.neigh.dst ?? ''} ${o.neigh.lladdr ?? ''}`;
    case 'neigh-delete': return `RTM_DELNEIGH ${o.neigh.family} ${o.neigh.dst ?? ''} ${o.neigh.lladdr ?? ''}`;
  }
}

/** Encodes one KernelOp (shared by the socket path and the byte-level tests). */
export function encodeOp(w: Writer, o: KernelOp, seq: number, ack = false): void {
  switch (o.op) {
    case 'route-create': return encodeRoute(w, 'create', o.route, seq, ack);
    case 'route-replace': return encodeRoute(w, 'replace', o.route, seq, ack);
    case 'route-delete': return encodeRoute(w, 'delete', o.route, seq, ack);
    case 'link-set': return encodeLink(w, o.link, seq, ack);
    case 'link-delete': return encodeLinkDelete(w, o.index, seq, ack);
    case 'addr-add': return encodeAddr(w, false, o.addr, seq, ack);
    case 'addr-delete': return encodeAddr(w, true, o.addr, seq, ack);
    case 'neigh-set': return encodeNeigh(w, false, o.neigh, seq, ack);
    case 'neigh-delete': return encodeNeigh(w, true, o.neigh, seq, ack);
  }
}

export class RtnlKernel implements KernelPort {
  readonly nsInode: number;
  private readonly native: NativeNetlink;
  private req: NlSocket;
  private reqClosed = false;
  private mon: NlSocket | undefined;
  private nft: NlSocket | undefined;
  private readonly nsPath: string | undefined;

  constructor(private readonly opts: RtnlOptions = {}) {
    this.native = loadNative();
    this.nsPath = netnsPath(opts.netns);
    this.req = new NlSocket(this.native, { protocol: C.NETLINK_ROUTE, rcvbuf: opts.requestRcvbuf ?? 32 << 20, nsPath: this.nsPath, timeoutMs: opts.timeoutMs, asyncSend: opts.asyncWrites });
    this.nsInode = this.req.nsInode;
  }

  private async dumpBoth<T>(type: number, families: number[], parse: (buf: Buffer, off: number, len: number) => T | undefined, filter?: (buf: Buffer, off: number) => boolean): Promise<T[]> {
    const out: T[] = [];
    for (const fam of families) {
      // A dump interrupted by a concurrent change (NLM_F_DUMP_INTR) is retried, a bounded number of times.
      for (let attempt = 0; ; attempt++) {
        const mark = out.length;
        try {
          await this.request().dump(type, fam, (_t, buf, off, len) => {
            if (filter && !filter(buf, off)) return;
            const v = parse(buf, off, len);
            if (v !== undefined) out.push(v);
          });
          break;
        } catch (e) {
          out.length = mark;
          if (!(e instanceof NetlinkError && e.errno === 4) || attempt >= 4) throw e;
        }
      }
    }
    return out;
  }

  /** The request socket, reopened if close() was called (cleanup after stop). */
  private request(): NlSocket {
    if (this.reqClosed) {
      this.req = new NlSocket(this.native, { protocol: C.NETLINK_ROUTE, rcvbuf: this.opts.requestRcvbuf ?? 32 << 20, nsPath: this.nsPath, timeoutMs: this.opts.timeoutMs, asyncSend: this.opts.asyncWrites });
      this.reqClosed = false;
    }
    return this.req;
  }

  dumpRoutes(protocol: number): Promise<KernelRoute[]> {
    return this.dumpBoth(C.RTM_GETROUTE, [C.AF_INET, C.AF_INET6], parseRoute, (buf, off) => routeProtocolOf(buf, off) === protocol);
  }

  dumpLinks(): Promise<KernelLink[]> {
    return this.dumpBoth(C.RTM_GETLINK, [C.AF_UNSPEC], parseLink);
  }

  async dumpAddrs(index?: number): Promise<KernelAddr[]> {
    const all = await this.dumpBoth(C.RTM_GETADDR, [C.AF_UNSPEC], parseAddr);
    return index === undefined ? all : all.filter((a) => a.index === index);
  }

  async dumpNeighs(ifindex: number): Promise<KernelNeigh[]> {
    const all = await this.dumpBoth(C.RTM_GETNEIGH, [C.AF_INET, C.AF_INET6, C.AF_BRIDGE], parseNeigh);
    return all.filter((n) => n.ifindex === ifindex);
  }

  async getLink(name: string): Promise<KernelLink | undefined> {
    let found: KernelLink | undefined;
    const errs = await this.request().transact(1, (w, _i, seq) => encodeGetLinkByName(w, name, seq), `RTM_GETLINK ${name}`, (type, buf, off, len) => {
      if (type === C.RTM_NEWLINK) found = parseLink(buf, off, len);
    });
    const errno = errs.get(0);
    if (errno === undefined || errno === C.ENODEV) return found;
    throw new NetlinkError(errno, `RTM_GETLINK ${name}`);
  }

  async write(ops: readonly KernelOp[]): Promise<Array<NetlinkError | undefined>> {
    const out: Array<NetlinkError | undefined> = new Array(ops.length).fill(undefined);
    if (ops.length === 0) return out;
    const errs = await this.request().transact(ops.length, (w, i, seq) => encodeOp(w, ops[i], seq), `batch of ${ops.length}`);
    for (const [i, errno] of errs) out[i] = new NetlinkError(errno, describeOp(ops[i]));
    return out;
  }

  async writeRoutes(batch: RouteBatch): Promise<Map<number, NetlinkError>> {
    const out = new Map<number, NetlinkError>();
    if (batch.length === 0) return out;
    const { verbs, routes } = batch;
    // One closure per batch; each route is encoded from the caller's object into the send buffer.
    const errs = await this.request().transact(batch.length, (w, i, seq) => {
      const v = verbs[i];
      encodeRoute(w, v === VERB_CREATE ? 'create' : v === VERB_REPLACE ? 'replace' : 'delete', routes[i], seq);
    }, `batch of ${batch.length} routes`);
    for (const [i, errno] of errs) {
      const v = verbs[i];
      out.set(i, new NetlinkError(errno, `${v === VERB_CREATE ? 'RTM_NEWROUTE(create)' : v === VERB_REPLACE ? 'RTM_NEWROUTE(replace)' : 'RTM_DELROUTE'} ${routes[i].dst}`));
    }
    return out;
  }

  watch(protocol: number, ev: KernelEvents): void {
    if (this.mon) return;
    const mon = new NlSocket(this.native, {
      protocol: C.NETLINK_ROUTE,
      groups: [C.RTNLGRP_LINK, C.RTNLGRP_NEIGH, C.RTNLGRP_IPV4_IFADDR, C.RTNLGRP_IPV6_IFADDR, C.RTNLGRP_IPV4_ROUTE, C.RTNLGRP_IPV6_ROUTE],
      rcvbuf: this.opts.monitorRcvbuf ?? 64 << 20,
      nsPath: this.nsPath,
    });
    mon.onOverflow = () => ev.overflow();
    mon.onEvent = (type, buf, off, len) => {
      if (type === C.RTM_NEWROUTE || type === C.RTM_DELROUTE) {
        if (routeProtocolOf(buf, off) !== protocol) return;
        const r = parseRoute(buf, off, len);
        if (r) ev.route(type === C.RTM_NEWROUTE ? 'new' : 'del', r);
      } else if (type === C.RTM_NEWLINK || type === C.RTM_DELLINK) {
        ev.link(type === C.RTM_NEWLINK ? 'new' : 'del', parseLink(buf, off, len));
      } else if (type === C.RTM_NEWADDR || type === C.RTM_DELADDR) {
        ev.addr(buf.readUInt32LE(off + C.NLMSG_HDRLEN + 4)); // ifaddrmsg.ifa_index
      } else if (type === C.RTM_NEWNEIGH || type === C.RTM_DELNEIGH) {
        const n = parseNeigh(buf, off, len);
        if (n) ev.neigh(type === C.RTM_NEWNEIGH ? 'new' : 'del', n);
      }
    };
    this.mon = mon;
    try {
      const nft = new NlSocket(this.native, { protocol: C.NETLINK_NETFILTER, groups: [C.NFNLGRP_NFTABLES], rcvbuf: 4 << 20, nsPath: this.nsPath });
      nft.onEvent = () => ev.nft();
      nft.onOverflow = () => ev.nft();
      this.nft = nft;
    } catch {
      // No nf_tables netlink here: the NAT reconciler's periodic check still catches drift.
    }
  }

  close(): void {
    this.req.close();
    this.reqClosed = true;
    this.mon?.close();
    this.nft?.close();
    this.mon = undefined;
    this.nft = undefined;
  }
}
