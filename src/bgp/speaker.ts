/**
 * The Speaker: one Session per configured peer (bgp/session), one listener, one RIB (bgp/rib).
 * Callers give desired state — `setPeers(peers)` and `setLocalRoutes(routes)`, both diffed — and get
 * best-route deltas (`'bestChanged'`), `status()` and `routes()` back. The standalone `petrel
 * speaker`, the agent and the reflector mode all drive it the same way.
 *
 * Route flow: a Session decodes an UPDATE (RFC 7606 handling done by the codec) → Rib.applyUpdate
 * marks prefixes dirty → one flush per event-loop turn (setImmediate) computes best paths, hands the
 * changes to the update groups (one encoding per group, the same frames sent to each member) and to
 * 'bestChanged' listeners. A peer reaching Established joins its update group after an initial dump
 * and End-of-RIB; leaving Established withdraws its paths.
 *
 * Next hop self, per family: the configured `ipv4NextHop`/`ipv6NextHop` if any; else our end of the
 * TCP connection when it is of that family; else an address of that family on the interface that
 * holds our end (what BIRD does; IPv6: global scope); else the router id (IPv4) or the IPv4-mapped
 * form of our IPv4 end (IPv6, what GoBGP does).
 */
import { EventEmitter } from 'node:events';
import { networkInterfaces } from 'node:os';
import { canonicalIp, familyOfIp, type Family } from '../model/ip.js';
import { Rib, type LocalRoute } from './rib/index.js';
import { toBestRoute } from './rib/views.js';
import type { RibPeer, RouteDelta, RouteView, UpdateEncoder } from './rib/types.js';
import { BgpListener, Session, realClock } from './session/index.js';
import { silentLogger } from '../model/log.js';
import type { Clock, Logger, Negotiated, SessionConfig, SessionDown, SessionMetrics } from './session/types.js';
import { CeaseSubcode, bgpErrorName, encodeEndOfRib, encodeUpdates, type AttributeProblem, type UpdateMessage } from './wire/index.js';

export type { Logger, SessionMetrics } from './session/types.js';

/** What the Speaker reports; src/metrics/adapters.ts BgpMetricsAdapter implements it. */
export interface SpeakerMetrics {
  peersConfigured(peers: ReadonlyArray<{ address: string; asn: number; type: string }>): void;
  prefixesReceived(peer: string, family: string, count: number): void;
  prefixesAdvertised(peer: string, family: string, count: number): void;
  ribSize(table: string, family: string, count: number): void;
  bestPathChanged(family: string, count?: number): void;
  connectionRejected(remoteAddress: string): void;
  session(peer: string): SessionMetrics;
}

/** One peer as the speaker takes it (model PeerSpec fits, with its password already resolved). */
export interface SpeakerPeer {
  /** Stable key for diffing; defaults to the address. */
  name?: string;
  /** Shown as PEER TYPE by `petrel status` (e.g. 'node-to-node mesh'); default from the session kind. */
  type?: string;
  address: string;
  port?: number;
  asn: number;
  passive?: boolean;
  rrClient?: boolean;
  holdTime?: number;
  keepaliveTime?: number;
  connectRetryTime?: number;
  idleHoldTime?: number;
  idleHoldMaxTime?: number;
  families?: Family[];
  localAddress?: string;
  password?: string;
  ipv4NextHop?: string;
  ipv6NextHop?: string;
}

export interface SpeakerOptions {
  asn: number;
  routerId: string;
  clusterId?: string;
  listen?: { address: string; port: number };
  holdTime?: number;
  keepaliveTime?: number;
  connectRetryTime?: number;
  idleHoldTime?: number;
  idleHoldMaxTime?: number;
  ipv4NextHop?: string;
  ipv6NextHop?: string;
}

export interface SpeakerDeps {
  log?: Logger;
  clock?: Clock;
  metrics?: SpeakerMetrics;
  /** The codec's encoder; tests wrap it to count calls. */
  encoder?: UpdateEncoder;
  /** Finds our address of the other family beside `local` (default: the host's interfaces). */
  interfaceAddress?: (local: string, family: Family) => string | undefined;
}

export interface PeerStatus {
  name: string;
  address: string;
  asn: number;
  type: string;
  rrClient: boolean;
  state: string;
  /** ISO time of the last state change, or null. */
  since: string | null;
  info: string;
  received: number;
  advertised: number;
  families: Family[];
  routerId: string | null;
  localAddress: string | null;
  updatesIn: number;
  updatesOut: number;
  flaps: number;
  loopsDropped: number;
  attributeProblems: number;
}

export interface SpeakerStatus {
  asn: number;
  routerId: string;
  clusterId: string | null;
  listen: { address: string; port: number } | null;
  connectionsRejected: number;
  peers: PeerStatus[];
  rib: { prefixes: number; paths: number; attrSets: number; updateGroups: number; encodings: number };
}

interface PeerEntry {
  spec: SpeakerPeer;
  fingerprint: string;
  session: Session;
  rib: RibPeer;
  lastDown?: string;
  problems: number;
  negotiated?: Negotiated;
}

export interface SpeakerEvents {
  bestChanged: [deltas: RouteDelta[]];
  peerState: [address: string, from: string, to: string];
}

/**
 * An address of `family` on the interface that holds `local` (global scope for IPv6), as BIRD picks
 * a next hop of the other family for a session. Undefined when there is none.
 */
export function interfaceAddress(local: string, family: Family): string | undefined {
  const want = family === 'ipv4' ? 'IPv4' : 'IPv6';
  for (const addrs of Object.values(networkInterfaces())) {
    if (!addrs || !addrs.some((a) => a.address === local || (a.family === 'IPv6' && safeCanonical(a.address) === local))) continue;
    const hit = addrs.find((a) => a.family === want && !a.internal && !(want === 'IPv6' && (a.address.startsWith('fe80:') || a.scopeid)));
    if (hit) return canonicalIp(hit.address);
  }
  return undefined;
}

function safeCanonical(a: string): string {
  try {
    return canonicalIp(a);
  } catch {
    return a;
  }
}

/** A down reason for `petrel status` INFO: the NOTIFICATION's name and shutdown text when there was one. */
function describeDown(r: SessionDown): string {
  const n = r.notificationReceived ?? r.notificationSent;
  if (!n) return r.message;
  const dir = r.notificationReceived ? 'received' : 'sent';
  const text = n.shutdownMessage ? ` "${n.shutdownMessage}"` : '';
  return `NOTIFICATION ${dir} ${n.code}/${n.subcode} ${bgpErrorName(n.code, n.subcode)}${text}`;
}

function keyOf(p: SpeakerPeer): string {
  return p.name ?? canonicalIp(p.address);
}

function fingerprint(p: SpeakerPeer): string {
  return JSON.stringify({ ...p, name: undefined, type: undefined });
}

export class Speaker extends EventEmitter<SpeakerEvents> {
  readonly rib: Rib;
  private readonly peers = new Map<string, PeerEntry>();
  private readonly byAddress = new Map<string, PeerEntry>();
  private listener: BgpListener | undefined;
  private readonly log: Logger;
  private readonly clock: Clock;
  private started = false;
  private reportedChanges = 0;

  constructor(
    readonly opts: SpeakerOptions,
    private readonly deps: SpeakerDeps = {},
  ) {
    super();
    this.log = deps.log ?? silentLogger;
    this.clock = deps.clock ?? realClock;
    this.rib = new Rib({
      localAsn: opts.asn,
      routerId: opts.routerId,
      clusterId: opts.clusterId,
      encoder: deps.encoder ?? { encodeUpdates, encodeEndOfRib },
    });
    // Best-route deltas are built only while someone listens (a route reflector has nobody).
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event !== 'bestChanged' || this.rib.onChanges) return;
      this.rib.onChanges = (changes) => {
        const deltas: RouteDelta[] = changes.map((c) => {
          const d: RouteDelta = { prefix: c.prefix };
          if (c.before) d.before = toBestRoute(c.prefix, c.before);
          if (c.after) d.after = toBestRoute(c.prefix, c.after);
          return d;
        });
        this.emit('bestChanged', deltas);
      };
    });
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.opts.listen) {
      this.listener = new BgpListener(this.opts.listen, (remote) => this.lookup(remote));
      // TCP-MD5 (RFC 2385): the listener needs each keyed peer's key before that peer's SYN.
      for (const e of this.peers.values()) if (e.spec.password) this.listener.setPassword(e.rib.address, e.spec.password);
      await this.listener.listen();
      this.log.info({ address: this.opts.listen.address, port: this.opts.listen.port }, 'listening');
    }
    for (const e of this.peers.values()) e.session.start();
  }

  /** The port the listener is bound to (useful with `listen.port: 0`), or undefined. */
  get listenPort(): number | undefined {
    return this.listener?.port;
  }

  /** Closes every session with a Cease / Administrative Shutdown (RFC 4486, RFC 8203 text). */
  async stop(message = 'petrel speaker shutting down'): Promise<void> {
    this.started = false;
    await Promise.all(
      [...this.peers.values()].map((e) =>
        e.session.stop({ subcode: CeaseSubcode.AdministrativeShutdown, message }).catch((err: unknown) => {
          this.log.warn({ peer: e.spec.address, err: String(err) }, 'stop failed');
        }),
      ),
    );
    await this.listener?.close();
    this.listener = undefined;
  }

  private lookup(remote: string): Session | undefined {
    let a = remote;
    if (a.startsWith('::ffff:') && a.includes('.')) a = a.slice(7);
    try {
      a = canonicalIp(a);
    } catch {
      return undefined;
    }
    const e = this.byAddress.get(a);
    if (!e) this.deps.metrics?.connectionRejected(remote);
    return e?.session;
  }

  /** Desired peers; diffed by name (or address): new ones start, removed ones get Cease 6/3. */
  setPeers(peers: readonly SpeakerPeer[]): void {
    const next = new Map(peers.map((p) => [keyOf(p), p]));
    for (const [key, e] of this.peers) {
      const p = next.get(key);
      if (!p || fingerprint(p) !== e.fingerprint) this.removePeer(key, e, p ? CeaseSubcode.OtherConfigurationChange : CeaseSubcode.PeerDeconfigured);
    }
    for (const [key, p] of next) if (!this.peers.has(key)) this.addPeer(key, p);
    this.deps.metrics?.peersConfigured(
      [...this.peers.values()].map((e) => ({ address: e.rib.address, asn: e.rib.asn, type: this.peerType(e) })),
    );
  }

  setLocalRoutes(routes: readonly LocalRoute[]): void {
    this.rib.setLocalRoutes(routes);
  }

  private sessionConfig(p: SpeakerPeer): SessionConfig {
    const o = this.opts;
    const cfg: SessionConfig = {
      peerAddress: canonicalIp(p.address),
      peerPort: p.port ?? 179,
      peerAsn: p.asn,
      localAsn: o.asn,
      routerId: o.routerId,
      passive: p.passive ?? false,
      holdTime: p.holdTime ?? o.holdTime ?? 90,
      connectRetryTime: p.connectRetryTime ?? o.connectRetryTime ?? 30,
      families: p.families ?? ['ipv4', 'ipv6'],
      // The RIB keys IPv4 prefixes by number (rib/prefix-table.ts): no string per received prefix.
      ipv4PrefixKeys: true,
    };
    if (p.localAddress) cfg.localAddress = p.localAddress;
    if (p.password) cfg.password = p.password;
    const ka = p.keepaliveTime ?? o.keepaliveTime;
    if (ka !== undefined) cfg.keepaliveTime = ka;
    const ih = p.idleHoldTime ?? o.idleHoldTime;
    if (ih !== undefined) cfg.idleHoldTime = ih;
    const ihm = p.idleHoldMaxTime ?? o.idleHoldMaxTime;
    if (ihm !== undefined) cfg.idleHoldMaxTime = ihm;
    return cfg;
  }

  private addPeer(key: string, p: SpeakerPeer): void {
    const address = canonicalIp(p.address);
    const ribPeer = this.rib.addPeer({ address, asn: p.asn, rrClient: p.rrClient ?? false });
    const sessionMetrics = this.deps.metrics?.session(address);
    const session = new Session(this.sessionConfig(p), {
      clock: this.clock,
      log: this.log,
      ...(sessionMetrics ? { metrics: sessionMetrics } : {}),
    });
    const e: PeerEntry = { spec: p, fingerprint: fingerprint(p), session, rib: ribPeer, problems: 0 };
    session.on('state', (from, to) => {
      this.log.debug({ peer: address, from, to }, 'session state');
      this.emit('peerState', address, from, to);
    });
    session.on('established', (n) => this.onEstablished(e, n));
    session.on('update', (u: UpdateMessage, problems: AttributeProblem[], raw?: Uint8Array) => {
      if (problems.length > 0) {
        e.problems += problems.length;
        this.log.warn({ peer: address, problems }, 'UPDATE with attribute errors (RFC 7606)');
      }
      this.rib.applyUpdate(ribPeer, u, raw);
    });
    session.on('routeRefresh', () => {
      if (e.negotiated) this.rib.refresh(ribPeer);
    });
    session.on('down', (reason: SessionDown) => this.onDown(e, reason));
    this.peers.set(key, e);
    this.byAddress.set(address, e);
    if (p.password) this.setListenerKey(address, p.password);
    if (this.started) session.start();
  }

  private removePeer(key: string, e: PeerEntry, subcode: number): void {
    this.peers.delete(key);
    this.byAddress.delete(e.rib.address);
    this.rib.removePeer(e.rib);
    e.session.removeAllListeners();
    e.session.stop({ subcode, message: 'peer removed from configuration' }).catch(() => {});
    if (e.spec.password) this.setListenerKey(e.rib.address, undefined);
  }

  /** Keeps the listener's TCP-MD5 key for a peer in step with its config (never logs the key). */
  private setListenerKey(address: string, password: string | undefined): void {
    try {
      this.listener?.setPassword(address, password);
    } catch (err) {
      this.log.error({ peer: address, code: (err as { code?: string }).code, err: String((err as Error).message) }, 'cannot set the TCP-MD5 key on the listener');
    }
  }

  private onEstablished(e: PeerEntry, n: Negotiated): void {
    e.negotiated = n;
    e.lastDown = undefined;
    const wanted = e.spec.families ?? ['ipv4', 'ipv6'];
    const families = n.families.filter((f) => wanted.includes(f));
    this.log.info({ peer: e.rib.address, routerId: n.peerRouterId, families, holdTime: n.holdTime }, 'session established');
    this.rib.peerUp(e.rib, n.peerRouterId, {
      families,
      codec: n.codec,
      nextHopSelf: this.nextHopSelf(e.spec, n),
      // One call per flush: the session writes the batch with one writev (cork/uncork).
      send: (frames) => {
        e.session.sendMany(frames);
      },
    });
  }

  private onDown(e: PeerEntry, reason: SessionDown): void {
    const wasUp = e.negotiated !== undefined;
    e.negotiated = undefined;
    e.lastDown = describeDown(reason);
    if (wasUp) this.log.warn({ peer: e.rib.address, code: reason.code, reason: reason.message }, 'session down');
    else this.log.debug({ peer: e.rib.address, code: reason.code, reason: reason.message }, 'connection failed');
    this.rib.peerDown(e.rib);
  }

  private nextHopSelf(p: SpeakerPeer, n: Negotiated): { ipv4?: string; ipv6?: string[] } {
    let local = n.localAddress;
    if (local.startsWith('::ffff:') && local.includes('.')) local = local.slice(7);
    const localFamily = familyOfIp(local);
    const sibling = (family: Family) => (this.deps.interfaceAddress ?? interfaceAddress)(local, family);
    const v4 =
      p.ipv4NextHop ?? this.opts.ipv4NextHop ?? (localFamily === 'ipv4' ? local : (sibling('ipv4') ?? this.opts.routerId));
    let v6: string | undefined = p.ipv6NextHop ?? this.opts.ipv6NextHop;
    if (!v6) v6 = localFamily === 'ipv6' ? canonicalIp(local) : (sibling('ipv6') ?? canonicalIp(`::ffff:${local}`));
    return { ipv4: v4, ipv6: [v6] };
  }

  private peerType(e: PeerEntry): string {
    if (e.spec.type) return e.spec.type;
    if (e.rib.kind === 'ebgp') return 'eBGP';
    return e.rib.rrClient && this.opts.clusterId ? 'iBGP rr-client' : 'iBGP';
  }

  status(): SpeakerStatus {
    const size = this.rib.size;
    const peers: PeerStatus[] = [...this.peers.values()].map((e) => {
      const s = e.session;
      const state = s.state;
      const stats = s.stats;
      return {
        name: keyOf(e.spec),
        address: e.rib.address,
        asn: e.rib.asn,
        type: this.peerType(e),
        rrClient: e.rib.rrClient,
        state,
        since: s.since ? new Date(s.since).toISOString() : null,
        info: state === 'Established' ? 'Established' : e.lastDown ? `${state}: ${e.lastDown}` : state,
        received: e.rib.received,
        advertised: this.rib.advertised(e.rib),
        families: e.rib.out?.families ?? e.spec.families ?? ['ipv4', 'ipv6'],
        routerId: e.negotiated?.peerRouterId ?? null,
        localAddress: e.negotiated?.localAddress ?? null,
        updatesIn: stats.updatesIn,
        updatesOut: stats.updatesOut,
        flaps: stats.flaps,
        loopsDropped: e.rib.loopsDropped,
        attributeProblems: e.problems,
      };
    });
    return {
      asn: this.opts.asn,
      routerId: this.opts.routerId,
      clusterId: this.opts.clusterId ?? null,
      listen: this.opts.listen ?? null,
      connectionsRejected: this.listener?.rejected ?? 0,
      peers,
      rib: { ...size, updateGroups: this.rib.out.groups.size, encodings: this.rib.out.stats.encodings },
    };
  }

  routes(filter?: { prefix?: string }): RouteView[] {
    return this.rib.routes(filter);
  }

  /** Reports RIB sizes and per-peer counts to the metrics sink (call periodically or on scrape). */
  reportMetrics(): void {
    const m = this.deps.metrics;
    if (!m) return;
    for (const e of this.peers.values()) {
      m.prefixesReceived(e.rib.address, 'ipv4', e.rib.receivedByFamily.ipv4);
      m.prefixesReceived(e.rib.address, 'ipv6', e.rib.receivedByFamily.ipv6);
      m.prefixesAdvertised(e.rib.address, 'all', this.rib.advertised(e.rib));
    }
    const size = this.rib.size;
    m.bestPathChanged('all', this.rib.bestChanges - this.reportedChanges);
    this.reportedChanges = this.rib.bestChanges;
    m.ribSize('loc_rib', 'all', size.prefixes);
    m.ribSize('adj_rib_in', 'all', size.paths);
  }
}
