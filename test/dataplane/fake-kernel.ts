/**
 * An in-memory KernelPort with the kernel semantics the reconcilers rely on (see src/dataplane/kernel.ts):
 * create-exclusive answers EEXIST when any route holds the destination, replace needs no owner check
 * (the reconciler only replaces its own), delete matches the protocol (ESRCH otherwise), a route's
 * nexthop interface must exist (ENODEV), removing a link silently drops its routes (as IPv4 does),
 * an ipip link is refused with EOPNOTSUPP when `ipip` is false. Every write batch is recorded (route
 * batches as the KernelOps they stand for), and `routeOps` counts route requests received.
 */
import { NetlinkError } from '../../src/dataplane/netlink/errors.js';
import { routeKey, VERB_CREATE, VERB_REPLACE, type RouteBatch, type KernelAddr, type KernelEvents, type KernelLink, type KernelNeigh, type KernelOp, type KernelPort, type KernelRoute } from '../../src/dataplane/kernel.js';

export class FakeKernel implements KernelPort {
  nsInode = 4026539999;
  ipip = true;
  links = new Map<number, KernelLink>();
  addrs: KernelAddr[] = [];
  neighs: KernelNeigh[] = [];
  routes = new Map<string, KernelRoute>();
  batches: KernelOp[][] = [];
  /** dst → errno to fail the next write of that route with. */
  failRoute = new Map<string, number>();
  events: KernelEvents | undefined;
  /** Dumps asked for, by kind (a pass that needs no dump must not make one). */
  dumps = { addrs: 0, neighs: 0 };
  /** Echo neighbour writes as events, as the kernel does to a monitor socket. */
  echoNeighs = false;
  private nextIndex = 10;
  closed = false;

  addLink(name: string, extra: Partial<KernelLink> = {}, emit = true): KernelLink {
    const l: KernelLink = { index: this.nextIndex++, name, mtu: 1500, up: true, ...extra };
    this.links.set(l.index, l);
    if (emit) this.events?.link('new', l);
    return l;
  }

  /** Deletes a neighbour as `ip neigh del` would (the event carries no lladdr), emitting it. */
  deleteNeigh(ifindex: number, dst: string): void {
    const n = this.neighs.find((x) => x.ifindex === ifindex && x.family !== 'bridge' && x.dst === dst);
    if (!n) return;
    this.neighs = this.neighs.filter((x) => x !== n);
    this.events?.neigh?.('del', { family: n.family, ifindex, dst, state: 0, flags: 0 });
  }

  removeLink(name: string, emit = true): void {
    const l = this.linkByName(name);
    if (!l) return;
    this.links.delete(l.index);
    for (const [k, r] of this.routes) if (r.nexthops.some((n) => n.ifindex === l.index)) this.routes.delete(k);
    this.addrs = this.addrs.filter((a) => a.index !== l.index);
    this.neighs = this.neighs.filter((n) => n.ifindex !== l.index);
    if (emit) this.events?.link('del', l);
  }

  linkByName(name: string): KernelLink | undefined {
    return [...this.links.values()].find((l) => l.name === name);
  }

  /** A route added behind the reconciler's back (another protocol, or a person). */
  addForeign(r: KernelRoute): void {
    this.routes.set(routeKey(r), r);
  }

  /** Deletes a route as `ip route del` would, emitting the event when `protocol` is watched. */
  deleteRoute(dst: string, table = 254, emit = true): void {
    const r = this.routes.get(routeKey({ table, dst }));
    if (!r) return;
    this.routes.delete(routeKey(r));
    if (emit) this.events?.route('del', r);
  }

  ours(protocol: number): KernelRoute[] {
    return [...this.routes.values()].filter((r) => r.protocol === protocol);
  }

  async dumpRoutes(protocol: number): Promise<KernelRoute[]> {
    return this.ours(protocol).map((r) => structuredClone(r));
  }
  async dumpLinks(): Promise<KernelLink[]> {
    return [...this.links.values()].map((l) => structuredClone(l));
  }
  async dumpAddrs(index?: number): Promise<KernelAddr[]> {
    this.dumps.addrs++;
    return this.addrs.filter((a) => index === undefined || a.index === index).map((a) => ({ ...a }));
  }
  async dumpNeighs(ifindex: number): Promise<KernelNeigh[]> {
    this.dumps.neighs++;
    return this.neighs.filter((n) => n.ifindex === ifindex).map((n) => ({ ...n }));
  }

  /** Route requests received so far (write() and writeRoutes()). */
  routeOps = 0;

  async write(ops: readonly KernelOp[]): Promise<Array<NetlinkError | undefined>> {
    this.batches.push(ops.map((o) => structuredClone(o)));
    for (const o of ops) if (o.op.startsWith('route-')) this.routeOps++;
    return ops.map((o) => this.one(o));
  }

  async writeRoutes(b: RouteBatch): Promise<Map<number, NetlinkError>> {
    const ops: KernelOp[] = [];
    for (let i = 0; i < b.length; i++) {
      const op = b.verbs[i] === VERB_CREATE ? 'route-create' : b.verbs[i] === VERB_REPLACE ? 'route-replace' : 'route-delete';
      ops.push({ op, route: structuredClone(b.routes[i]) });
    }
    this.batches.push(ops);
    this.routeOps += ops.length;
    const out = new Map<number, NetlinkError>();
    ops.forEach((o, i) => { const e = this.one(o); if (e) out.set(i, e); });
    return out;
  }

  private one(o: KernelOp): NetlinkError | undefined {
    const fail = (errno: number) => new NetlinkError(errno, o.op);
    switch (o.op) {
      case 'route-create':
      case 'route-replace': {
        const injected = this.failRoute.get(o.route.dst);
        if (injected) { this.failRoute.delete(o.route.dst); return fail(injected); }
        if (o.route.nexthops.some((n) => !this.links.has(n.ifindex))) return fail(19);
        const key = routeKey(o.route);
        if (o.op === 'route-create' && this.routes.has(key)) return fail(17);
        this.routes.set(key, structuredClone(o.route));
        return undefined;
      }
      case 'route-delete': {
        const key = routeKey(o.route);
        const r = this.routes.get(key);
        if (!r || r.protocol !== o.route.protocol) return fail(3);
        this.routes.delete(key);
        return undefined;
      }
      case 'link-set': {
        const s = o.link;
        if (s.kind === 'ipip' && !this.ipip) return fail(95);
        const l = s.index ? this.links.get(s.index) : this.linkByName(s.name);
        if (!l) {
          if (!s.kind) return fail(19);
          this.addLink(s.name, { kind: s.kind, mtu: s.mtu ?? 1500, up: s.up ?? false, mac: s.mac, vxlan: s.vxlan }, false);
          return undefined;
        }
        if (s.mtu) l.mtu = s.mtu;
        if (s.up !== undefined) l.up = s.up;
        if (s.mac) l.mac = s.mac;
        return undefined;
      }
      case 'link-delete':
        if (!this.links.has(o.index)) return fail(19);
        this.removeLink(o.name, false);
        return undefined;
      case 'addr-add':
        if (!this.links.has(o.addr.index)) return fail(19);
        this.addrs = this.addrs.filter((a) => !(a.index === o.addr.index && a.address === o.addr.address));
        this.addrs.push({ ...o.addr });
        return undefined;
      case 'addr-delete': {
        const before = this.addrs.length;
        this.addrs = this.addrs.filter((a) => !(a.index === o.addr.index && a.address === o.addr.address));
        return before === this.addrs.length ? fail(99) : undefined;
      }
      case 'neigh-set': {
        const n = o.neigh;
        this.neighs = this.neighs.filter((x) => !(x.ifindex === n.ifindex && x.family === n.family && (n.family === 'bridge' ? x.lladdr === n.lladdr : x.dst === n.dst)));
        this.neighs.push({ ...n });
        if (this.echoNeighs) this.events?.neigh?.('new', { ...n });
        return undefined;
      }
      case 'neigh-delete': {
        const n = o.neigh;
        this.neighs = this.neighs.filter((x) => !(x.ifindex === n.ifindex && x.family === n.family && x.dst === n.dst && x.lladdr === n.lladdr));
        if (this.echoNeighs) this.events?.neigh?.('del', { ...n });
        return undefined;
      }
    }
  }

  watch(_protocol: number, events: KernelEvents): void {
    this.events = events;
  }

  close(): void {
    this.closed = true;
  }
}

/** An nft runner over an in-memory set of tables (enough for the NAT reconciler's list/-f/delete). */
export function fakeNft(): { run: (args: string[], input?: string) => Promise<{ status: number; stdout: string; stderr: string }>; tables: Map<string, string> } {
  const tables = new Map<string, string>();
  const run = async (args: string[], input?: string) => {
    if (args[0] === 'list') {
      const t = tables.get(`${args[2]} ${args[3]}`);
      return t === undefined ? { status: 1, stdout: '', stderr: 'No such file or directory' } : { status: 0, stdout: t, stderr: '' };
    }
    if (args[0] === 'delete') {
      tables.delete(`${args[2]} ${args[3]}`);
      return { status: 0, stdout: '', stderr: '' };
    }
    if (args[0] === '-f' && input) {
      const m = /\ntable (\w+) (\S+) \{[\s\S]*$/.exec(input);
      if (m) tables.set(`${m[1]} ${m[2]}`, m[0].trimStart());
      return { status: 0, stdout: '', stderr: '' };
    }
    return { status: 1, stdout: '', stderr: 'unsupported' };
  };
  return { run, tables };
}
