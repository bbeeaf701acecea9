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
import { CeaseSubcode, bgpErrorName, encodeEndOfRib, encodeUpdates, isEndOfRib, type AttributeProblem, type UpdateMessage } from './wire/index.js';
import { GR_DEFAULTS, familiesToFlushOnReturn, familiesToRetain, isHardReset, type GracefulRestartOptions } from './graceful-restart.js';

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
  /** Stale paths held for a peer restarting gracefully (RFC 4724). */
  stalePaths?(peer: string, count: number): void;
  /** A peer's maximum-prefix limit for a family (RFC 4486), or undefined when it has none. */
  maxPrefixes?(peer: string, family: string, limit: number | undefined): void;
  /** A peer crossed its warning threshold ('warning') or its limit ('exceeded'). */
  maxPrefixesEvent?(peer: string, family: string, event: 'warning' | 'exceeded'): void;
}

/**
 * Maximum-prefix limits of one peer (RFC 4486 §4, Cease subcode 1): the prefixes received from it
 * per address family, after loop checks. Above the limit the session is closed with a
 * NOTIFICATION whose data is the AFI, SAFI and limit, and stays down — for `restartAfterSeconds`
 * when set, else until the peer's configuration changes or the process restarts.
 */
export interface MaxPrefixes {
  ipv4?: number;
  ipv6?: number;
  /** Log (once per session) and count when a family reaches this share of its limit, percent 1-100. */
  warningPercent?: number;
  restartAfterSeconds?: number;
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
  maxPrefixes?: MaxPrefixes;
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
  /** RFC 4724 Graceful Restart (graceful-restart.ts); absent or disabled = no capability, Cease on stop. */
  gracefulRestart?: GracefulRestartOptions;
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
  /** Prefixes treated as withdrawn because their next hop cannot be used (RFC 4271 §6.3). */
  nextHopsRejected: number;
  attributeProblems: number;
  /** Prefixes received per family, and the maximum-prefix limits (null when none is set). */
  receivedByFamily: { ipv4: number; ipv6: number };
  maxPrefixes: { ipv4: number | null; ipv6: number | null; warningPercent: number | null; restartAfterSeconds: number | null } | null;
  /** Set while the session is held down after its limit was exceeded. */
  maxPrefixesExceeded: { family: Family; limit: number; at: string; restartAt: string | null } | null;
  /** RFC 4724 state for this peer. */
  gracefulRestart: PeerGracefulRestartStatus;
}

export interface PeerGracefulRestartStatus {
  /** Both OPENs of the current (or last) session carried the capability. */
  negotiated: boolean;
  /** The peer's advertised restart time, seconds (null when it did not advertise GR). */
  peerRestartTime: number | null;
  /** 'restarting': the peer is gone and we keep its paths; 'awaiting-eor': it is back, stale paths wait for its End-of-RIB. */
  phase: 'none' | 'restarting' | 'awaiting-eor';
  stalePaths: number;
  /** Seconds until the stale paths are removed anyway (restart or stale timer), or null. */
  secondsLeft: number | null;
}

export interface SpeakerStatus {
  asn: number;
  routerId: string;
  clusterId: string | null;
  listen: { address: string; port: number } | null;
  connectionsRejected: number;
  peers: PeerStatus[];
  rib: {
    prefixes: number; paths: number; attrSets: number; updateGroups: number; encodings: number;
    /** The longest single piece of RIB work so far (wall and CPU ms): how long the event loop was held. */
    longestSliceMs: number; longestSliceCpuMs: number;
    /** What that longest piece of work was ('peer down', 'flush'). */
    longestSliceWhat: string;
  };
}

interface PeerEntry {
  spec: SpeakerPeer;
  fingerprint: string;
  session: Session;
  rib: RibPeer;
  lastDown?: string;
  problems: number;
  negotiated?: Negotiated;
  /** The peer's GR capability from the last session that had one (its restart time outlives the session). */
  lastGr?: Negotiated['gracefulRestart'];
  /** RFC 4724 helper state: the restart timer (peer gone) or the stale timer (peer back, waiting for End-of-RIB). */
  gr?: { phase: 'restarting' | 'awaiting-eor'; timer: unknown; deadline: number };
  /** Families whose End-of-RIB arrived in the current session. */
  eor: Set<Family>;
  /** Families whose maximum-prefix warning was logged in the current session. */
  warned: Set<Family>;
  /** The limit that closed the session, while it is held down (and the restart timer, if any). */
  exceeded?: { family: Family; limit: number; at: number; restartAt?: number; timer?: unknown };
}

export interface SpeakerEvents {
  bestChanged: [deltas: RouteDelta[]];
  peerState: [address: string, from: string, to: string];
  /**
   * Once after start(): every configured peer is Established and has sent End-of-RIB for each of its
   * families, or the restart time has passed (RFC 4724 §4.1: the restarting speaker's deferral).
   */
  initialSync: [reason: 'end-of-rib' | 'timeout'];
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
  // RFC 8538 §3: a Hard Reset carries the NOTIFICATION it stands for.
  const inner = isHardReset(n) && n.data.length >= 2 ? ` (for ${n.data[0]}/${n.data[1]} ${bgpErrorName(n.data[0], n.data[1])})` : '';
  return `NOTIFICATION ${dir} ${n.code}/${n.subcode} ${bgpErrorName(n.code, n.subcode)}${inner}${text}`;
}

/** `petrel status` INFO: the state, then the graceful-restart situation while stale paths are held. */
function withGrInfo(info: string, gr: PeerGracefulRestartStatus): string {
  if (gr.phase === 'none' && gr.stalePaths === 0) return info;
  const left = gr.secondsLeft !== null ? `, ${gr.secondsLeft} s left` : '';
  const what = gr.phase === 'awaiting-eor' ? ' (waiting for End-of-RIB)' : '';
  return `${info}; Graceful restart: ${gr.stalePaths} stale paths${left}${what}`;
}

/** `petrel status` INFO: prefixes received against the maximum-prefix limits, and a hold-down. */
function withPrefixInfo(info: string, e: PeerEntry, now: number): string {
  const mp = e.spec.maxPrefixes;
  if (!mp) return info;
  const parts: string[] = [];
  for (const f of ['ipv4', 'ipv6'] as const) {
    const limit = mp[f];
    if (limit !== undefined) parts.push(`${f} ${e.rib.receivedByFamily[f]}/${limit}`);
  }
  let out = parts.length > 0 ? `${info}; prefixes ${parts.join(', ')}` : info;
  const x = e.exceeded;
  if (x) {
    const restart = x.restartAt !== undefined ? `, restart in ${Math.max(0, Math.ceil((x.restartAt - now) / 1000))} s` : ', down until reconfigured';
    out += `; maximum prefixes (${x.limit} ${x.family}) exceeded${restart}`;
  }
  return out;
}

/** Our end of a session as a plain address (an IPv4-mapped IPv6 socket address unwrapped). */
function ownAddress(local: string): string {
  const a = local.startsWith('::ffff:') && local.includes('.') ? local.slice(7) : local;
  try {
    return canonicalIp(a);
  } catch {
    return a;
  }
}

/** RFC 4486 §4: the data of Cease subcode 1 — AFI (2 octets), SAFI (1), the upper bound (4). */
export function maxPrefixesData(family: Family, limit: number): Uint8Array {
  const d = new Uint8Array(7);
  const v = new DataView(d.buffer);
  v.setUint16(0, family === 'ipv4' ? 1 : 2);
  d[2] = 1; // unicast
  v.setUint32(3, Math.min(limit, 0xffffffff));
  return d;
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
  private synced = false;
  private syncTimer: unknown;

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
      this.listener = new BgpListener(this.opts.listen, (remote) => this.lookup(remote), { log: this.log, clock: this.clock });
      // TCP-MD5 (RFC 2385): the listener needs each keyed peer's key before that peer's SYN.
      for (const e of this.peers.values()) if (e.spec.password) this.listener.setPassword(e.rib.address, e.spec.password);
      await this.listener.listen();
      this.log.info({ address: this.opts.listen.address, port: this.opts.listen.port }, 'listening');
    }
    for (const e of this.peers.values()) e.session.start();
    const gr = this.opts.gracefulRestart;
    if (gr?.enabled) {
      this.syncTimer = this.clock.setTimeout(() => {
        this.syncTimer = undefined;
        this.finishInitialSync('timeout');
      }, (gr.restartTime ?? GR_DEFAULTS.restartTime) * 1000);
    }
    this.checkInitialSync();
  }

  /** True once 'initialSync' has been emitted. */
  get initiallySynced(): boolean {
    return this.synced;
  }

  private checkInitialSync(): void {
    if (this.synced || !this.started) return;
    for (const e of this.peers.values()) {
      const n = e.negotiated;
      if (!n) return;
      const families = n.families.filter((f) => (e.spec.families ?? ['ipv4', 'ipv6']).includes(f));
      if (!families.every((f) => e.eor.has(f))) return;
    }
    this.finishInitialSync('end-of-rib');
  }

  private finishInitialSync(reason: 'end-of-rib' | 'timeout'): void {
    if (this.synced) return;
    this.synced = true;
    if (this.syncTimer !== undefined) this.clock.clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    // The restart is over: later OPENs no longer carry the R bit.
    for (const e of this.peers.values()) e.session.setGracefulRestarting(false);
    this.log.info({ reason, peers: this.peers.size }, 'initial routing exchange complete');
    this.emit('initialSync', reason);
  }

  /** The port the listener is bound to (useful with `listen.port: 0`), or undefined. */
  get listenPort(): number | undefined {
    return this.listener?.port;
  }

  /**
   * Closes every session with a Cease / Administrative Shutdown (RFC 4486, RFC 8203 text). With
   * `graceful` (and Graceful Restart enabled), sessions that negotiated GR are closed without a
   * NOTIFICATION instead, so their peers keep our routes while we restart (RFC 4724 §4.1).
   */
  async stop(message = 'petrel speaker shutting down', opts: { graceful?: boolean } = {}): Promise<void> {
    this.started = false;
    if (this.syncTimer !== undefined) this.clock.clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    const graceful = opts.graceful === true && this.opts.gracefulRestart?.enabled === true;
    for (const e of this.peers.values()) {
      this.clearGrTimer(e);
      this.clearMaxPrefixes(e);
    }
    await Promise.all(
      [...this.peers.values()].map((e) =>
        e.session.stop({ subcode: CeaseSubcode.AdministrativeShutdown, message, graceful }).catch((err: unknown) => {
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
    this.checkInitialSync();
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
    const gr = o.gracefulRestart;
    if (gr?.enabled) {
      cfg.gracefulRestart = {
        restartTime: gr.restartTime ?? GR_DEFAULTS.restartTime,
        restarting: (gr.restarting ?? false) && !this.synced,
        forwardingPreserved: gr.forwardingPreserved ?? true,
        notification: gr.notification ?? true,
      };
    }
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
    const e: PeerEntry = { spec: p, fingerprint: fingerprint(p), session, rib: ribPeer, problems: 0, eor: new Set(), warned: new Set() };
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
      const eor = isEndOfRib(u);
      if (eor) this.onEndOfRib(e, eor);
      else {
        const rejected = ribPeer.nextHopsRejected;
        this.rib.applyUpdate(ribPeer, this.negotiatedOnly(e, u), raw);
        if (ribPeer.nextHopsRejected !== rejected) {
          this.log.warn({ peer: address, nextHop: u.attrs.nextHop ?? u.attrs.mpReach?.nextHops[0], prefixes: ribPeer.nextHopsRejected - rejected }, 'UPDATE with an unusable next hop: treated as withdrawn (RFC 4271 §6.3, RFC 7606 §7.3)');
        }
        if (e.spec.maxPrefixes) this.checkMaxPrefixes(e, e.spec.maxPrefixes);
      }
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
    this.clearGrTimer(e);
    this.clearMaxPrefixes(e);
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

  /**
   * RFC 4486 §4: after each UPDATE, a family above its limit closes the session (Cease subcode 1,
   * data: AFI, SAFI, the limit); one at the warning threshold is logged and counted, once per session.
   */
  /**
   * RFC 4760 §6: routes of an address family are exchanged only when both OPENs carried it. A
   * MP_REACH/MP_UNREACH (or IPv4 NLRI) of a family this session did not negotiate is ignored —
   * the attribute discarded, as for an AFI/SAFI we do not speak (RFC 4760 §7, RFC 7606 §7.11
   * leave the reaction to the receiver; a reset would punish a peer for a family we never use) —
   * logged and counted with the RFC 7606 problems.
   */
  private negotiatedOnly(e: PeerEntry, u: UpdateMessage): UpdateMessage {
    const families = e.rib.out?.families;
    if (!families) return u;
    const afiOk = (afi: number) => families.includes(afi === 2 ? 'ipv6' : 'ipv4');
    const { mpReach, mpUnreach } = u.attrs;
    const dropReach = mpReach !== undefined && !afiOk(mpReach.afi);
    const dropUnreach = mpUnreach !== undefined && !afiOk(mpUnreach.afi);
    const dropV4 = !families.includes('ipv4') && (u.nlri.length + (u.nlriKeys?.length ?? 0) + u.withdrawn.length + (u.withdrawnKeys?.length ?? 0)) > 0;
    if (!dropReach && !dropUnreach && !dropV4) return u;
    e.problems++;
    this.log.warn({ peer: e.rib.address, negotiated: families, mpReachAfi: mpReach?.afi, mpUnreachAfi: mpUnreach?.afi, ipv4Nlri: dropV4 }, 'UPDATE for an address family the session did not negotiate: ignored (RFC 4760 §6)');
    const attrs = { ...u.attrs };
    if (dropReach) delete attrs.mpReach;
    if (dropUnreach) delete attrs.mpUnreach;
    const out: UpdateMessage = { ...u, attrs };
    if (dropV4) {
      out.nlri = [];
      out.withdrawn = [];
      delete out.nlriKeys;
      delete out.withdrawnKeys;
    }
    return out;
  }

  private checkMaxPrefixes(e: PeerEntry, mp: MaxPrefixes): void {
    if (e.exceeded) return;
    for (const family of ['ipv4', 'ipv6'] as const) {
      const limit = mp[family];
      if (limit === undefined) continue;
      const n = e.rib.receivedByFamily[family];
      if (n > limit) {
        this.maxPrefixesExceeded(e, family, limit, mp.restartAfterSeconds);
        return;
      }
      if (mp.warningPercent !== undefined && n * 100 >= limit * mp.warningPercent && !e.warned.has(family)) {
        e.warned.add(family);
        this.log.warn({ peer: e.rib.address, family, received: n, limit, warningPercent: mp.warningPercent }, 'maximum-prefix warning threshold reached');
        this.deps.metrics?.maxPrefixesEvent?.(e.rib.address, family, 'warning');
      }
    }
  }

  private maxPrefixesExceeded(e: PeerEntry, family: Family, limit: number, restartAfterSeconds: number | undefined): void {
    const now = this.clock.now();
    e.exceeded = { family, limit, at: now };
    this.log.error({ peer: e.rib.address, family, received: e.rib.receivedByFamily[family], limit, restartAfterSeconds: restartAfterSeconds ?? null }, 'maximum number of prefixes exceeded: closing the session');
    this.deps.metrics?.maxPrefixesEvent?.(e.rib.address, family, 'exceeded');
    if (restartAfterSeconds !== undefined && restartAfterSeconds > 0) {
      const ms = restartAfterSeconds * 1000;
      const timer = this.clock.setTimeout(() => {
        if (e.exceeded?.timer !== timer) return;
        e.exceeded = undefined;
        this.log.info({ peer: e.rib.address }, 'maximum-prefix hold-down over: restarting the session');
        if (this.started && this.peers.get(keyOf(e.spec)) === e) e.session.start();
      }, ms);
      e.exceeded.timer = timer;
      e.exceeded.restartAt = now + ms;
    }
    e.session.automaticStop(CeaseSubcode.MaxPrefixesReached, maxPrefixesData(family, limit), `maximum number of prefixes (${limit} ${family}) exceeded`);
  }

  private clearMaxPrefixes(e: PeerEntry): void {
    if (e.exceeded?.timer !== undefined) this.clock.clearTimeout(e.exceeded.timer);
    e.exceeded = undefined;
  }

  private onEstablished(e: PeerEntry, n: Negotiated): void {
    e.negotiated = n;
    e.warned.clear();
    e.lastDown = undefined;
    const wanted = e.spec.families ?? ['ipv4', 'ipv6'];
    const families = n.families.filter((f) => wanted.includes(f));
    this.log.info({ peer: e.rib.address, routerId: n.peerRouterId, families, holdTime: n.holdTime, outbound: n.outbound }, 'session established');
    e.eor.clear();
    if (n.gracefulRestart) e.lastGr = n.gracefulRestart;
    if (e.rib.stale) this.peerReturned(e, n);
    this.rib.peerUp(e.rib, n.peerRouterId, {
      families,
      codec: n.codec,
      nextHopSelf: this.nextHopSelf(e.spec, n),
      ownAddresses: [ownAddress(n.localAddress)],
      // One call per flush: the session writes the batch with one writev (cork/uncork).
      send: (frames) => {
        e.session.sendMany(frames);
      },
    });
  }

  private onDown(e: PeerEntry, reason: SessionDown): void {
    const wasUp = e.negotiated !== undefined;
    const retain = familiesToRetain(this.opts.gracefulRestart, e.negotiated, reason);
    e.negotiated = undefined;
    e.eor.clear();
    e.lastDown = describeDown(reason);
    if (wasUp) this.log.warn({ peer: e.rib.address, code: reason.code, reason: reason.message }, 'session down');
    else this.log.debug({ peer: e.rib.address, code: reason.code, reason: reason.message }, 'connection failed');
    // A connection attempt that failed before Established while we hold the peer's stale paths
    // (it is restarting, and we keep trying) changes nothing: the restart timer decides.
    if (!reason.wasEstablished && e.gr) return;
    if (retain.length === 0) {
      this.clearGrTimer(e);
      this.rib.peerDown(e.rib);
      return;
    }
    // RFC 4724 §4.2: keep its paths (stale) for the restart time it advertised. A failure while
    // stale paths from an earlier restart are still held keeps those too and starts the clock again.
    this.rib.peerDown(e.rib, retain);
    const seconds = e.lastGr?.restartTime ?? 0;
    this.armGrTimer(e, 'restarting', seconds);
    this.log.warn({ peer: e.rib.address, families: retain, stalePaths: this.rib.staleCount(e.rib), restartTime: seconds }, 'graceful restart: keeping the peer\'s routes as stale');
  }

  /** The peer is Established again while we hold stale paths from it (RFC 4724 §4.2). */
  private peerReturned(e: PeerEntry, n: Negotiated): void {
    const staleFamilies = [...(e.rib.stale?.keys() ?? [])];
    for (const f of familiesToFlushOnReturn(staleFamilies, n)) {
      const removed = this.rib.sweepStale(e.rib, f);
      this.log.info({ peer: e.rib.address, family: f, removed }, 'graceful restart: family not preserved by the peer, stale routes removed');
    }
    if (!e.rib.stale) {
      this.clearGrTimer(e);
      return;
    }
    const staleTime = this.opts.gracefulRestart?.staleTime ?? GR_DEFAULTS.staleTime;
    this.armGrTimer(e, 'awaiting-eor', staleTime);
  }

  private onEndOfRib(e: PeerEntry, family: Family): void {
    e.eor.add(family);
    this.log.debug({ peer: e.rib.address, family }, 'End-of-RIB received');
    if (e.rib.stale?.has(family)) {
      const removed = this.rib.sweepStale(e.rib, family);
      this.log.info({ peer: e.rib.address, family, removed }, 'graceful restart: End-of-RIB, stale routes not re-announced removed');
      if (!e.rib.stale) this.clearGrTimer(e);
    }
    this.checkInitialSync();
  }

  private armGrTimer(e: PeerEntry, phase: 'restarting' | 'awaiting-eor', seconds: number): void {
    this.clearGrTimer(e);
    const ms = seconds * 1000;
    const timer = this.clock.setTimeout(() => {
      if (e.gr?.timer !== timer) return;
      e.gr = undefined;
      const removed = this.rib.sweepStale(e.rib);
      this.log.warn({ peer: e.rib.address, removed, phase }, phase === 'restarting'
        ? 'graceful restart: the peer did not come back within its restart time, stale routes removed'
        : 'graceful restart: no End-of-RIB within the stale time, stale routes removed');
    }, ms);
    e.gr = { phase, timer, deadline: this.clock.now() + ms };
  }

  private clearGrTimer(e: PeerEntry): void {
    if (e.gr) this.clock.clearTimeout(e.gr.timer);
    e.gr = undefined;
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
        info: withPrefixInfo(withGrInfo(state === 'Established' ? 'Established' : e.lastDown ? `${state}: ${e.lastDown}` : state, this.grStatus(e)), e, this.clock.now()),
        received: e.rib.received,
        advertised: this.rib.advertised(e.rib),
        families: e.rib.out?.families ?? e.spec.families ?? ['ipv4', 'ipv6'],
        routerId: e.negotiated?.peerRouterId ?? null,
        localAddress: e.negotiated?.localAddress ?? null,
        updatesIn: stats.updatesIn,
        updatesOut: stats.updatesOut,
        flaps: stats.flaps,
        loopsDropped: e.rib.loopsDropped,
        nextHopsRejected: e.rib.nextHopsRejected,
        attributeProblems: e.problems,
        receivedByFamily: { ...e.rib.receivedByFamily },
        maxPrefixes: e.spec.maxPrefixes
          ? {
              ipv4: e.spec.maxPrefixes.ipv4 ?? null, ipv6: e.spec.maxPrefixes.ipv6 ?? null,
              warningPercent: e.spec.maxPrefixes.warningPercent ?? null, restartAfterSeconds: e.spec.maxPrefixes.restartAfterSeconds ?? null,
            }
          : null,
        maxPrefixesExceeded: e.exceeded
          ? { family: e.exceeded.family, limit: e.exceeded.limit, at: new Date(e.exceeded.at).toISOString(), restartAt: e.exceeded.restartAt ? new Date(e.exceeded.restartAt).toISOString() : null }
          : null,
        gracefulRestart: this.grStatus(e),
      };
    });
    return {
      asn: this.opts.asn,
      routerId: this.opts.routerId,
      clusterId: this.opts.clusterId ?? null,
      listen: this.opts.listen ?? null,
      connectionsRejected: this.listener?.rejected ?? 0,
      peers,
      rib: {
        ...size, updateGroups: this.rib.out.groups.size, encodings: this.rib.out.stats.encodings,
        longestSliceMs: Math.round(this.rib.longest.wallMs), longestSliceCpuMs: Math.round(this.rib.longest.cpuMs),
        longestSliceWhat: this.rib.longest.what,
      },
    };
  }

  private grStatus(e: PeerEntry): PeerGracefulRestartStatus {
    const n = e.negotiated?.gracefulRestart ?? e.lastGr;
    return {
      negotiated: n !== undefined,
      peerRestartTime: n?.restartTime ?? null,
      phase: e.gr?.phase ?? 'none',
      stalePaths: this.rib.staleCount(e.rib),
      secondsLeft: e.gr ? Math.max(0, Math.ceil((e.gr.deadline - this.clock.now()) / 1000)) : null,
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
      m.stalePaths?.(e.rib.address, this.rib.staleCount(e.rib));
      m.maxPrefixes?.(e.rib.address, 'ipv4', e.spec.maxPrefixes?.ipv4);
      m.maxPrefixes?.(e.rib.address, 'ipv6', e.spec.maxPrefixes?.ipv6);
    }
    const size = this.rib.size;
    m.bestPathChanged('all', this.rib.bestChanges - this.reportedChanges);
    this.reportedChanges = this.rib.bestChanges;
    m.ribSize('loc_rib', 'all', size.prefixes);
    m.ribSize('adj_rib_in', 'all', size.paths);
  }
}
