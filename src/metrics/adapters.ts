/**
 * Adapters from the domain's narrow metrics interfaces to the prom-client registry (registry.ts).
 *
 * The domain layers (bgp/, dataplane/, k8s/) may not import prom-client or metrics/ (see
 * scripts/check-boundaries.mjs): each defines the few calls it makes, with a no-op default, and
 * agent/ hands it one of these objects. The adapters `implements` the domain's interfaces where
 * they exist (bgp/session/types.ts SessionMetrics, bgp/speaker.ts SpeakerMetrics,
 * dataplane/log.ts DataplaneMetrics), so a change there fails the type-check here; the k8s
 * reflector's interface is mirrored below, and convergence (measured by agent/) has its own.
 *
 * Every label value crosses a sanitiser: free-form strings (a peer type, a watch error reason)
 * map onto the fixed lists of registry.ts or become 'other', so no caller can blow up cardinality.
 * Per-peer series are removed with the peer (`BgpMetricsAdapter.forgetPeer`), including the
 * NOTIFICATION counters whose code/subcode combinations are only known once seen.
 */
import type { DataplaneMetrics } from '../dataplane/log.js';
import type { SessionMetrics } from '../bgp/session/types.js';
import type { SpeakerMetrics } from '../bgp/speaker.js';
import type { HttpProblems } from './http.js';
import type { PetrelMetrics, SessionState } from './registry.js';
import {
  ATTRIBUTE_ACTIONS, CONVERGENCE_PATHS, DATAPLANE_FEATURES, ERROR_BOUNDARIES, HTTP_REJECT_REASONS, HTTP_SERVERS, DATAPLANE_OBJECTS, FAMILIES, K8S_RESOURCES,
  RELIST_REASONS, RESTART_REASONS, RESYNC_TRIGGERS, RIB_TABLES, ROUTE_CLASSES, SESSION_STATE_VALUE, WATCH_EVENT_TYPES,
  CNI_COMMANDS,
} from './registry.js';

/** The value if it is one of `list`, else 'other' (documented as a possible value of every such label). */
function oneOf(list: readonly string[], value: string): string {
  return list.includes(value) ? value : 'other';
}
/** 'treat-as-withdraw' and 'treat_as_withdraw' alike; lower case. */
function snake(s: string): string {
  return s.trim().toLowerCase().replace(/[^a-z0-9]+/g, '_');
}
function family(f: string): string {
  return oneOf(FAMILIES, snake(f));
}

// ------------------------------------------------------------------------------------------------
// BGP: one SessionMetrics per session, one SpeakerMetrics for the speaker.
// ------------------------------------------------------------------------------------------------

/** What a Session reports (bgp/session). Counts default to 1. */
export interface SessionMetricsSink {
  stateChanged(from: SessionState | string, to: SessionState | string): void;
  updateReceived(count?: number): void;
  updateSent(count?: number): void;
  notificationReceived(code: number, subcode: number): void;
  notificationSent(code: number, subcode: number): void;
  /** An RFC 7606 outcome: 'treat-as-withdraw' | 'attribute-discard' | 'session-reset'. */
  attributeProblem(action: string): void;
  /** An exception of ours caught while handling the session (it was reset). */
  internalError?(): void;
}

/** What the Speaker reports (bgp/speaker.ts). */
export interface SpeakerMetricsSink {
  /** The configured peers now (replaces the previous set; series of removed peers are dropped). */
  peersConfigured(peers: ReadonlyArray<{ address: string; asn: number; type: string }>): void;
  prefixesReceived(peer: string, family: string, count: number): void;
  prefixesAdvertised(peer: string, family: string, count: number): void;
  /** Stale paths held for a peer restarting gracefully (RFC 4724). */
  stalePaths(peer: string, count: number): void;
  maxPrefixes(peer: string, family: string, limit: number | undefined): void;
  maxPrefixesEvent(peer: string, family: string, event: 'warning' | 'exceeded'): void;
  /** table: 'adj_rib_in' | 'loc_rib' | 'adj_rib_out' (also 'adj-rib-in', 'loc-rib', …). */
  ribSize(table: string, family: string, count: number): void;
  bestPathChanged(family: string, count?: number): void;
  connectionRejected(remoteAddress: string): void;
  /** A per-session sink, to pass in Session deps. */
  session(peer: string): SessionMetricsSink;
}

type NotifKey = string; // `${code}/${subcode}`

export class BgpMetricsAdapter implements SpeakerMetricsSink, SpeakerMetrics {
  private readonly touched = new Map<string, { notifIn: Set<NotifKey>; notifOut: Set<NotifKey>; actions: Set<string>; families: Set<string>; info?: { peer_asn: string; peer_type: string } }>();
  constructor(private readonly m: PetrelMetrics) {}

  private peer(address: string) {
    let t = this.touched.get(address);
    if (!t) {
      t = { notifIn: new Set(), notifOut: new Set(), actions: new Set(), families: new Set() };
      this.touched.set(address, t);
    }
    return t;
  }

  peersConfigured(peers: ReadonlyArray<{ address: string; asn: number; type: string }>): void {
    const now = new Set(peers.map((p) => p.address));
    for (const address of [...this.touched.keys()]) if (!now.has(address)) this.forgetPeer(address);
    for (const p of peers) {
      const t = this.peer(p.address);
      const info = { peer_asn: String(p.asn), peer_type: peerType(p.type) };
      if (t.info && (t.info.peer_asn !== info.peer_asn || t.info.peer_type !== info.peer_type)) {
        this.m.peerInfo.remove({ peer: p.address, ...t.info });
      }
      t.info = info;
      this.m.peerInfo.set({ peer: p.address, ...info }, 1);
      // A configured peer is visible from the start, Idle, not absent (so "peer down" can fire).
      if (!this.hasState(p.address)) this.setState(p.address, 'Idle');
      this.m.sessionFlaps.inc({ peer: p.address }, 0);
      this.m.updatesReceived.inc({ peer: p.address }, 0);
      this.m.updatesSent.inc({ peer: p.address }, 0);
    }
  }

  /** Drops every series of a peer that is no longer configured. */
  forgetPeer(address: string): void {
    const t = this.touched.get(address);
    if (!t) return;
    const peer = address;
    if (t.info) this.m.peerInfo.remove({ peer, ...t.info });
    for (const g of [this.m.sessionState, this.m.sessionEstablished]) g.remove({ peer });
    for (const c of [this.m.sessionFlaps, this.m.sessionInternalErrors, this.m.updatesReceived, this.m.updatesSent]) c.remove({ peer });
    this.m.stalePaths.remove({ peer });
    for (const fam of ['ipv4', 'ipv6']) {
      this.m.maxPrefixes.remove({ peer, family: fam });
      for (const event of ['warning', 'exceeded']) this.m.maxPrefixesEvents.remove({ peer, family: fam, event });
    }
    for (const k of t.notifIn) { const [code, subcode] = k.split('/'); this.m.notificationsReceived.remove({ peer, code, subcode }); }
    for (const k of t.notifOut) { const [code, subcode] = k.split('/'); this.m.notificationsSent.remove({ peer, code, subcode }); }
    for (const action of t.actions) this.m.attributeProblems.remove({ peer, action });
    for (const fam of t.families) {
      this.m.prefixesReceived.remove({ peer, family: fam });
      this.m.prefixesAdvertised.remove({ peer, family: fam });
    }
    this.touched.delete(address);
  }

  private readonly states = new Set<string>();
  private hasState(peer: string): boolean { return this.states.has(peer); }
  private setState(peer: string, to: SessionState): void {
    this.peer(peer);
    this.states.add(peer);
    this.m.sessionState.set({ peer }, SESSION_STATE_VALUE[to] ?? 0);
    this.m.sessionEstablished.set({ peer }, to === 'Established' ? 1 : 0);
  }

  prefixesReceived(peer: string, fam: string, count: number): void {
    const f = family(fam);
    this.peer(peer).families.add(f);
    this.m.prefixesReceived.set({ peer, family: f }, count);
  }
  prefixesAdvertised(peer: string, fam: string, count: number): void {
    const f = family(fam);
    this.peer(peer).families.add(f);
    this.m.prefixesAdvertised.set({ peer, family: f }, count);
  }
  /** Exported only while a peer has stale paths (a graceful restart is rare: no series per peer otherwise). */
  stalePaths(peer: string, count: number): void {
    this.peer(peer);
    if (count > 0) this.m.stalePaths.set({ peer }, count);
    else this.m.stalePaths.remove({ peer });
  }
  maxPrefixes(peer: string, fam: string, limit: number | undefined): void {
    this.peer(peer);
    if (limit === undefined) this.m.maxPrefixes.remove({ peer, family: family(fam) });
    else this.m.maxPrefixes.set({ peer, family: family(fam) }, limit);
  }
  maxPrefixesEvent(peer: string, fam: string, event: 'warning' | 'exceeded'): void {
    this.peer(peer);
    this.m.maxPrefixesEvents.inc({ peer, family: family(fam), event });
  }
  ribSize(table: string, fam: string, count: number): void {
    this.m.ribRoutes.set({ table: oneOf(RIB_TABLES, snake(table)), family: family(fam) }, count);
  }
  bestPathChanged(fam: string, count = 1): void {
    this.m.bestPathChanges.inc({ family: family(fam) }, count);
  }
  connectionRejected(_remoteAddress: string): void {
    this.m.connectionsRejected.inc();
  }

  session(peer: string): SessionMetricsSink & SessionMetrics {
    const m = this.m;
    const t = () => this.peer(peer);
    return {
      stateChanged: (from, to) => {
        if (from === 'Established' && to !== 'Established') m.sessionFlaps.inc({ peer });
        this.setState(peer, to as SessionState);
      },
      updateReceived: (n = 1) => { t(); m.updatesReceived.inc({ peer }, n); },
      updateSent: (n = 1) => { t(); m.updatesSent.inc({ peer }, n); },
      notificationReceived: (code, subcode) => {
        t().notifIn.add(`${code}/${subcode}`);
        m.notificationsReceived.inc({ peer, code: String(code), subcode: String(subcode) });
      },
      notificationSent: (code, subcode) => {
        t().notifOut.add(`${code}/${subcode}`);
        m.notificationsSent.inc({ peer, code: String(code), subcode: String(subcode) });
      },
      attributeProblem: (action) => {
        const a = oneOf(ATTRIBUTE_ACTIONS, snake(action));
        t().actions.add(a);
        m.attributeProblems.inc({ peer, action: a });
      },
      internalError: () => { t(); m.sessionInternalErrors.inc({ peer }); },
    };
  }
}

/** Calico's `calicoctl node status` peer types, as label values. */
export function peerType(t: string): string {
  const s = snake(t);
  if (s.includes('mesh')) return 'node_mesh';
  if (s.includes('reflector') || s === 'rr') return 'route_reflector';
  if (s.includes('global')) return 'global';
  if (s.includes('node')) return 'node_specific';
  return 'other';
}

// ------------------------------------------------------------------------------------------------
// Dataplane: implements dataplane/log.ts DataplaneMetrics.
// ------------------------------------------------------------------------------------------------

const DRIFT_ALIASES: Record<string, string> = { addr: 'address', neigh: 'neighbour', nft: 'nftables' };

/** An error code as a label value: a stable upper-case code (NL_ERR_ENOBUFS), else 'other'. */
export function errorCode(code: string): string {
  return /^[A-Z][A-Z0-9_]{1,47}$/.test(code) ? code : 'other';
}

export class DataplaneMetricsAdapter implements DataplaneMetrics {
  constructor(private readonly m: PetrelMetrics) {
    for (const c of ROUTE_CLASSES) m.dataplaneRoutes.set({ class: c }, 0);
    for (const o of DATAPLANE_OBJECTS) m.driftRepairs.inc({ object: o }, 0);
    for (const t of RESYNC_TRIGGERS) m.resyncs.inc({ trigger: t }, 0);
  }
  routes(cls: string, count: number): void {
    this.m.dataplaneRoutes.set({ class: oneOf(ROUTE_CLASSES, snake(cls)) }, count);
  }
  applyLatency(seconds: number): void {
    this.m.applyDuration.observe(seconds);
  }
  error(code: string): void {
    this.m.dataplaneErrors.inc({ code: errorCode(code) });
  }
  driftRepair(kind: string): void {
    const k = snake(kind);
    this.m.driftRepairs.inc({ object: oneOf(DATAPLANE_OBJECTS, DRIFT_ALIASES[k] ?? k) });
  }
  resync(reason: string): void {
    this.m.resyncs.inc({ trigger: oneOf(RESYNC_TRIGGERS, snake(reason)) });
  }
  ipipUnsupported(flag: boolean): void {
    this.feature('ipip', !flag);
  }
  /** For agent/: what else the kernel can or cannot do (vxlan, nftables). */
  feature(name: string, available: boolean): void {
    this.m.featureAvailable.set({ feature: oneOf(DATAPLANE_FEATURES, snake(name)) }, available ? 1 : 0);
  }
}

// ------------------------------------------------------------------------------------------------
// Kubernetes: one object for every informer. Structurally k8s/reflector.ts ReflectorMetrics (kept
// as a local copy so this file does not depend on the reflector's module; agent/ passes this
// adapter where that interface is expected, so a drift fails the type-check there).
// ------------------------------------------------------------------------------------------------

export interface ReflectorMetricsSink {
  event(resource: string, type: string): void;
  /** reason: initial | expired (410 Gone) | error. */
  relist(resource: string, reason: string): void;
  /** reason: closed | idle | error. */
  restart(resource: string, reason: string): void;
  /** code: a PetrelError code, e.g. K8S_ERR_GONE. */
  error(resource: string, code: string): void;
}

/** What the adapter reads from an informer at scrape time (k8s/reflector.ts Informer fits). */
export interface InformerView {
  readonly resource: string;
  readonly hasSynced: boolean;
  list(): readonly unknown[];
}

function resourceLabel(resource: string): string {
  return oneOf(K8S_RESOURCES, snake(resource).replace(/_/g, ''));
}

export class K8sMetricsAdapter implements ReflectorMetricsSink {
  constructor(private readonly m: PetrelMetrics) {}
  event(resource: string, type: string): void {
    this.m.watchEvents.inc({ resource: resourceLabel(resource), type: oneOf(WATCH_EVENT_TYPES, type.toUpperCase()) });
  }
  relist(resource: string, reason: string): void {
    this.m.relists.inc({ resource: resourceLabel(resource), reason: oneOf(RELIST_REASONS, snake(reason)) });
  }
  restart(resource: string, reason: string): void {
    this.m.watchRestarts.inc({ resource: resourceLabel(resource), reason: oneOf(RESTART_REASONS, snake(reason)) });
  }
  error(resource: string, code: string): void {
    this.m.watchErrors.inc({ resource: resourceLabel(resource), code: errorCode(code) });
  }
  /** Cache state (petrel_k8s_cache_synced, petrel_k8s_cache_objects) of these informers, read at every scrape. */
  watchInformers(informers: ReadonlyArray<InformerView>): void {
    const read = () => {
      for (const i of informers) {
        const r = resourceLabel(i.resource);
        this.m.cacheSynced.set({ resource: r }, i.hasSynced ? 1 : 0);
        this.m.cacheObjects.set({ resource: r }, i.list().length);
      }
    };
    read();
    this.m.onScrape(read);
  }
}

// ------------------------------------------------------------------------------------------------
// End to end (agent/)
// ------------------------------------------------------------------------------------------------

export interface ConvergenceMetricsSink {
  /** path: k8s_to_kernel | bgp_to_kernel | k8s_to_bgp. */
  observe(path: string, seconds: number): void;
}

export class ConvergenceMetricsAdapter implements ConvergenceMetricsSink {
  constructor(private readonly m: PetrelMetrics) {}
  observe(path: string, seconds: number): void {
    this.m.convergence.observe({ path: oneOf(CONVERGENCE_PATHS, snake(path)) }, seconds);
  }
}

/** The CNI plugin's requests as the agent answers them, and IPAM occupancy per block (src/agent/cni.ts). */
export class CniMetricsAdapter {
  constructor(private readonly m: PetrelMetrics) {}
  request(command: string, code: number, seconds: number): void {
    const c = oneOf(CNI_COMMANDS, command);
    this.m.cniRequests.inc({ command: c, code: String(code) });
    this.m.cniDuration.observe({ command: c }, seconds);
  }
  /** `block` is one of this node's podCIDRs (one or two per node: bounded). */
  allocated(block: string, n: number): void {
    this.m.ipamAllocated.set({ block }, n);
  }
}

// ------------------------------------------------------------------------------------------------
// Boundaries: refused HTTP requests (metrics/http.ts) and unexpected errors caught and survived.
// ------------------------------------------------------------------------------------------------

export class ProblemMetricsAdapter {
  constructor(private readonly m: PetrelMetrics) {}
  /** The counters one HTTP listener reports to ('status', 'metrics' or 'health'). */
  http(server: string): HttpProblems {
    const s = oneOf(HTTP_SERVERS, snake(server));
    return {
      rejected: (reason) => this.m.httpRejected.inc({ server: s, reason: oneOf(HTTP_REJECT_REASONS, reason) }),
      handlerError: () => this.unexpected('http_handler'),
      serverError: () => this.unexpected('http_server'),
    };
  }
  /** where: 'http_handler' | 'http_server' | 'reload' | 'event_listener'. */
  unexpected(where: string): void {
    this.m.unexpectedErrors.inc({ where: oneOf(ERROR_BOUNDARIES, snake(where)) });
  }
}
