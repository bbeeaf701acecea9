/**
 * Every Prometheus metric Petrel exports, defined in one place so the names, label sets and HELP
 * texts can be read (and reviewed, and cross-checked against deploy/'s alerts and dashboard) together.
 *
 * Conventions (https://prometheus.io/docs/practices/naming/): the `petrel_` prefix; base units
 * (seconds, bytes); counters end in `_total`; histograms of durations end in `_seconds`; a gauge
 * named by what it counts (`petrel_dataplane_routes`) holds a current amount. An "info" metric
 * (`petrel_bgp_peer_info`, value 1) carries descriptive labels so that the per-peer series keep
 * one label, `peer`, and a peer's type changing does not orphan its counters.
 *
 * Cardinality is bounded by design: every label value is either the address of a configured peer
 * (removed with the peer, see adapters.ts), a family (`ipv4`, `ipv6`), or one of a short fixed list
 * defined here. Nothing ever takes a pod name, a prefix or an error message as a label value.
 * docs/operations.md lists every metric and what a 100-node full mesh costs.
 *
 * Process metrics come from prom-client's collectDefaultMetrics with the same prefix
 * (petrel_process_*, petrel_nodejs_*), less three misnamed sums (see the constructor).
 *
 * What burned us: prom-client keeps a labelled series forever once touched, so a peer that leaves
 * must be removed explicitly from every per-peer metric, including the counters whose other labels
 * (NOTIFICATION code/subcode) are only known at run time — the adapter records which it touched.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const METRIC_PREFIX = 'petrel_';

/**
 * Sampling period of petrel_nodejs_eventloop_lag_* (ms): each sample is the full delay of one timer,
 * so a stall of any length is still seen; a scrape every 15–30 s gets 15–30 samples.
 */
export const EVENT_LOOP_MONITORING_MS = 1000;

/** RFC 4273 (BGP4-MIB) bgpPeerState numbering, used as the value of petrel_bgp_session_state. */
export const SESSION_STATE_VALUE = {
  Idle: 1,
  Connect: 2,
  Active: 3,
  OpenSent: 4,
  OpenConfirm: 5,
  Established: 6,
} as const;
export type SessionState = keyof typeof SESSION_STATE_VALUE;

/** Fixed label values; anything else is folded into 'other' by the adapters. */
/** 'all' when a caller counts both families together (the speaker's Adj-RIB-Out and Loc-RIB totals). */
export const FAMILIES = ['ipv4', 'ipv6', 'all'] as const;
export const RIB_TABLES = ['adj_rib_in', 'loc_rib', 'adj_rib_out'] as const;
/** dataplane/log.ts RouteClass, snake-cased; local_block is the blackhole route of a block this node owns. */
export const ROUTE_CLASSES = ['local_pod', 'remote_direct', 'remote_ipip', 'remote_vxlan', 'local_block'] as const;
/** dataplane/log.ts DriftKind, spelt out. */
export const DATAPLANE_OBJECTS = ['route', 'link', 'address', 'neighbour', 'nftables'] as const;
export const DATAPLANE_FEATURES = ['ipip', 'vxlan', 'nftables'] as const;
/** dataplane/log.ts resync reasons: start, periodic timer, netlink receive-buffer overflow, socket error. */
export const RESYNC_TRIGGERS = ['start', 'periodic', 'overflow', 'error'] as const;
export const WATCH_EVENT_TYPES = ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR'] as const;
/** k8s/reflector.ts reasons for a LIST (initial, expired = 410 Gone, error) and for a new WATCH (closed, idle, error). */
export const RELIST_REASONS = ['initial', 'expired', 'error'] as const;
export const RESTART_REASONS = ['closed', 'idle', 'error'] as const;
export const K8S_RESOURCES = ['nodes', 'pods', 'bgpconfigurations', 'bgppeers', 'ippools', 'secrets'] as const;
export const CONVERGENCE_PATHS = ['k8s_to_kernel', 'bgp_to_kernel', 'k8s_to_bgp'] as const;
/** CNI commands (anything else is 'other'). */
export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION'] as const;
export const ATTRIBUTE_ACTIONS = ['treat_as_withdraw', 'attribute_discard', 'session_reset'] as const;
/** The HTTP listeners (metrics/http.ts) and why one refused a request or connection. */
export const HTTP_SERVERS = ['status', 'metrics', 'health'] as const;
export const HTTP_REJECT_REASONS = ['bad_request', 'header_too_large', 'timeout', 'connection_limit'] as const;
/** Boundaries where an unexpected throw is caught, logged and counted instead of ending the process. */
export const ERROR_BOUNDARIES = ['http_handler', 'http_server', 'reload', 'event_listener'] as const;

/** Dataplane apply() latency: 100 µs (a few routes) … 10 s (a full resync of 1M routes). */
export const APPLY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Event → kernel convergence: 1 ms … 30 s; the target is p99 ≤ 100 ms at 50 nodes. */
export const CONVERGENCE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface PetrelMetricsOptions {
  /** A registry to register into; a fresh one by default (never prom-client's global one). */
  registry?: Registry;
  /** Collect process and Node.js runtime metrics (petrel_process_*, petrel_nodejs_*). Default true. */
  processMetrics?: boolean;
  /** Values of petrel_build_info. */
  build?: { version: string; mode: 'agent' | 'reflector' | 'speaker' | 'lab' };
}

/** The registry plus every metric, typed. Domain code never sees this: it gets adapters (adapters.ts). */
export class PetrelMetrics {
  readonly registry: Registry;

  // --- process / build ----------------------------------------------------------------------
  readonly buildInfo: Gauge<'version' | 'mode' | 'nodejs_version'>;
  readonly ready: Gauge<string>;
  readonly httpRejected: Counter<'server' | 'reason'>;
  readonly unexpectedErrors: Counter<'where'>;

  // --- BGP sessions (label `peer` = the peer's address as configured) -------------------------
  readonly peerInfo: Gauge<'peer' | 'peer_asn' | 'peer_type'>;
  readonly sessionState: Gauge<'peer'>;
  readonly sessionEstablished: Gauge<'peer'>;
  readonly sessionFlaps: Counter<'peer'>;
  readonly sessionInternalErrors: Counter<'peer'>;
  readonly updatesReceived: Counter<'peer'>;
  readonly updatesSent: Counter<'peer'>;
  readonly notificationsReceived: Counter<'peer' | 'code' | 'subcode'>;
  readonly notificationsSent: Counter<'peer' | 'code' | 'subcode'>;
  readonly attributeProblems: Counter<'peer' | 'action'>;
  readonly prefixesReceived: Gauge<'peer' | 'family'>;
  readonly prefixesAdvertised: Gauge<'peer' | 'family'>;
  readonly stalePaths: Gauge<'peer'>;
  readonly maxPrefixes: Gauge<'peer' | 'family'>;
  readonly maxPrefixesEvents: Counter<'peer' | 'family' | 'event'>;
  readonly connectionsRejected: Counter<string>;

  // --- BGP speaker -----------------------------------------------------------------------------
  readonly ribRoutes: Gauge<'table' | 'family'>;
  readonly bestPathChanges: Counter<'family'>;

  // --- dataplane -------------------------------------------------------------------------------
  readonly dataplaneRoutes: Gauge<'class'>;
  readonly applyDuration: Histogram<string>;
  readonly dataplaneErrors: Counter<'code'>;
  readonly driftRepairs: Counter<'object'>;
  readonly resyncs: Counter<'trigger'>;
  readonly featureAvailable: Gauge<'feature'>;

  // --- Kubernetes ------------------------------------------------------------------------------
  readonly watchEvents: Counter<'resource' | 'type'>;
  readonly relists: Counter<'resource' | 'reason'>;
  readonly watchRestarts: Counter<'resource' | 'reason'>;
  readonly watchErrors: Counter<'resource' | 'code'>;
  readonly cacheSynced: Gauge<'resource'>;
  readonly cacheObjects: Gauge<'resource'>;

  // --- end to end --------------------------------------------------------------------------------
  readonly convergence: Histogram<'path'>;

  // --- CNI plugin (served by the agent) ------------------------------------------------------------
  readonly cniRequests: Counter<'command' | 'code'>;
  readonly cniDuration: Histogram<'command'>;
  readonly ipamAllocated: Gauge<'block'>;

  constructor(opts: PetrelMetricsOptions = {}) {
    const registers = [(this.registry = opts.registry ?? new Registry())];
    const p = METRIC_PREFIX;

    this.buildInfo = new Gauge({ name: `${p}build_info`, help: 'Petrel build and mode; always 1.', labelNames: ['version', 'mode', 'nodejs_version'], registers });
    this.ready = new Gauge({ name: `${p}ready`, help: 'Whether /readyz currently answers 200 (1) or 503 (0).', registers });
    this.httpRejected = new Counter({ name: `${p}http_rejected_total`, help: 'HTTP requests or connections refused before a handler ran, by listener and reason (bad_request 400, header_too_large 431, timeout 408, connection_limit).', labelNames: ['server', 'reason'], registers });
    this.unexpectedErrors = new Counter({ name: `${p}unexpected_errors_total`, help: 'Unexpected errors (bugs) caught at a boundary, logged with their stack and survived, by boundary.', labelNames: ['where'], registers });

    this.peerInfo = new Gauge({ name: `${p}bgp_peer_info`, help: 'A configured BGP peer; always 1. peer_type is node_mesh, route_reflector, global or node_specific.', labelNames: ['peer', 'peer_asn', 'peer_type'], registers });
    this.sessionState = new Gauge({ name: `${p}bgp_session_state`, help: 'BGP FSM state of the session (RFC 4273 bgpPeerState: 1 Idle, 2 Connect, 3 Active, 4 OpenSent, 5 OpenConfirm, 6 Established).', labelNames: ['peer'], registers });
    this.sessionEstablished = new Gauge({ name: `${p}bgp_session_established`, help: 'Whether the BGP session is Established (1) or not (0).', labelNames: ['peer'], registers });
    this.sessionFlaps = new Counter({ name: `${p}bgp_session_flaps_total`, help: 'Times the BGP session left the Established state.', labelNames: ['peer'], registers });
    this.sessionInternalErrors = new Counter({ name: `${p}bgp_session_internal_errors_total`, help: 'Exceptions of Petrel\'s own caught while handling the session; each reset that session only (logged with its stack).', labelNames: ['peer'], registers });
    this.updatesReceived = new Counter({ name: `${p}bgp_updates_received_total`, help: 'BGP UPDATE messages received from the peer.', labelNames: ['peer'], registers });
    this.updatesSent = new Counter({ name: `${p}bgp_updates_sent_total`, help: 'BGP UPDATE messages sent to the peer.', labelNames: ['peer'], registers });
    this.notificationsReceived = new Counter({ name: `${p}bgp_notifications_received_total`, help: 'BGP NOTIFICATION messages received, by error code and subcode (IANA BGP Error Codes registry numbers).', labelNames: ['peer', 'code', 'subcode'], registers });
    this.notificationsSent = new Counter({ name: `${p}bgp_notifications_sent_total`, help: 'BGP NOTIFICATION messages sent, by error code and subcode (IANA BGP Error Codes registry numbers).', labelNames: ['peer', 'code', 'subcode'], registers });
    this.attributeProblems = new Counter({ name: `${p}bgp_update_attribute_errors_total`, help: 'Malformed path attributes received, by RFC 7606 action taken.', labelNames: ['peer', 'action'], registers });
    this.prefixesReceived = new Gauge({ name: `${p}bgp_prefixes_received`, help: 'Prefixes currently held in the Adj-RIB-In from the peer.', labelNames: ['peer', 'family'], registers });
    this.prefixesAdvertised = new Gauge({ name: `${p}bgp_prefixes_advertised`, help: 'Prefixes currently advertised to the peer.', labelNames: ['peer', 'family'], registers });
    this.stalePaths = new Gauge({ name: `${p}bgp_stale_paths`, help: 'Paths kept as stale for a peer that is restarting gracefully (RFC 4724), until its End-of-RIB or restart time.', labelNames: ['peer'], registers });
    this.maxPrefixes = new Gauge({ name: `${p}bgp_max_prefixes`, help: 'The maximum-prefix limit of a peer per family (RFC 4486); absent when the peer has none.', labelNames: ['peer', 'family'], registers });
    this.maxPrefixesEvents = new Counter({ name: `${p}bgp_max_prefixes_events_total`, help: 'A peer reached its maximum-prefix warning threshold (event="warning", once per session) or exceeded its limit and was closed (event="exceeded").', labelNames: ['peer', 'family', 'event'], registers });
    this.connectionsRejected = new Counter({ name: `${p}bgp_connections_rejected_total`, help: 'TCP connections to the BGP listener from addresses that are not configured peers, closed at once.', registers });

    this.ribRoutes = new Gauge({ name: `${p}bgp_rib_routes`, help: 'Routes held in a RIB (adj_rib_in and adj_rib_out summed over peers; loc_rib counts prefixes).', labelNames: ['table', 'family'], registers });
    this.bestPathChanges = new Counter({ name: `${p}bgp_best_path_changes_total`, help: 'Loc-RIB best path changes (a prefix gained, lost or changed its best path).', labelNames: ['family'], registers });

    this.dataplaneRoutes = new Gauge({ name: `${p}dataplane_routes`, help: 'Kernel routes Petrel owns, by class.', labelNames: ['class'], registers });
    this.applyDuration = new Histogram({ name: `${p}dataplane_apply_duration_seconds`, help: 'Time one dataplane apply() took, from desired-state diff to the last kernel acknowledgement.', buckets: APPLY_BUCKETS, registers });
    this.dataplaneErrors = new Counter({ name: `${p}dataplane_errors_total`, help: 'Kernel operations that failed, by Petrel error code (NL_ERR_*, DP_ERR_*).', labelNames: ['code'], registers });
    this.driftRepairs = new Counter({ name: `${p}dataplane_drift_repairs_total`, help: 'Objects changed or removed behind Petrel\'s back and restored, by kind of object.', labelNames: ['object'], registers });
    this.resyncs = new Counter({ name: `${p}dataplane_resyncs_total`, help: 'Full resyncs of the dataplane against the kernel, by trigger (start, periodic, overflow, error: the last two follow a netlink failure).', labelNames: ['trigger'], registers });
    this.featureAvailable = new Gauge({ name: `${p}dataplane_feature_available`, help: 'Whether the kernel offers a feature Petrel may need (1) or not (0).', labelNames: ['feature'], registers });

    this.watchEvents = new Counter({ name: `${p}k8s_watch_events_total`, help: 'Watch events received from the Kubernetes API, by resource and event type.', labelNames: ['resource', 'type'], registers });
    this.relists = new Counter({ name: `${p}k8s_lists_total`, help: 'Full LISTs of a resource, by reason (initial, expired: 410 Gone, error).', labelNames: ['resource', 'reason'], registers });
    this.watchRestarts = new Counter({ name: `${p}k8s_watch_restarts_total`, help: 'WATCH requests started again without a LIST, by resource and reason (closed by the server, idle, error).', labelNames: ['resource', 'reason'], registers });
    this.watchErrors = new Counter({ name: `${p}k8s_watch_errors_total`, help: 'Failed LIST or WATCH requests, by resource and Petrel error code (K8S_ERR_*).', labelNames: ['resource', 'code'], registers });
    this.cacheSynced = new Gauge({ name: `${p}k8s_cache_synced`, help: 'Whether the resource\'s cache holds a complete LIST (1) or not yet (0).', labelNames: ['resource'], registers });
    this.cacheObjects = new Gauge({ name: `${p}k8s_cache_objects`, help: 'Objects in the resource\'s cache.', labelNames: ['resource'], registers });

    this.convergence = new Histogram({ name: `${p}convergence_seconds`, help: 'Time from a triggering event to the resulting route in the kernel or in BGP, by path.', labelNames: ['path'], buckets: CONVERGENCE_BUCKETS, registers });
    this.cniRequests = new Counter({ name: `${p}cni_requests_total`, help: 'CNI plugin requests served by the agent, by command and CNI error code (0 = success).', labelNames: ['command', 'code'], registers });
    this.cniDuration = new Histogram({ name: `${p}cni_request_duration_seconds`, help: 'Time the agent took to answer a CNI plugin request, by command.', labelNames: ['command'], buckets: CONVERGENCE_BUCKETS, registers });
    this.ipamAllocated = new Gauge({ name: `${p}ipam_allocated_addresses`, help: 'Pod addresses allocated from each of this node\'s pod CIDRs.', labelNames: ['block'], registers });

    if (opts.build) {
      this.buildInfo.set({ version: opts.build.version, mode: opts.build.mode, nodejs_version: process.versions.node }, 1);
    }
    this.ready.set(0);
    this.connectionsRejected.inc(0);
    if (opts.processMetrics ?? true) {
      // The event-loop lag metric arms a libuv timer every `eventLoopMonitoringPrecision` ms; at
      // prom-client's default of 10 ms an idle agent woke 100 times a second (about 3 ms of CPU a
      // second each: on a 50-node lab sharing 2 cores, 7% of the machine doing nothing). At 100 ms
      // those wakes were still most of an idle agent's CPU (~0.7 ms a second, strace: 10 of its 11
      // wakes a second); one a second leaves the watch bookmarks and BGP keepalives.
      collectDefaultMetrics({ register: this.registry, prefix: p, eventLoopMonitoringPrecision: EVENT_LOOP_MONITORING_MS });
      // prom-client also exports the sums of three labelled gauges as gauges named *_total, which
      // the naming rules (and `promtool check metrics`) reserve for counters; the labelled gauges
      // (petrel_nodejs_active_handles{type}, …) carry the same information, so the sums go.
      for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
        this.registry.removeSingleMetric(`${p}${n}`);
      }
    }
  }

  private readonly scrapeHooks: Array<() => void> = [];

  /**
   * Runs `fn` before every scrape: for values cheaper to read than to track (the speaker's
   * reportMetrics(), the informers' cache state). A hook that throws is skipped for that scrape.
   */
  onScrape(fn: () => void): void {
    this.scrapeHooks.push(fn);
  }

  /** The text exposition format (what GET /metrics returns). */
  async scrape(): Promise<{ contentType: string; body: string }> {
    for (const fn of this.scrapeHooks) {
      try {
        fn();
      } catch {
        // A broken hook must not cost the whole scrape; its metrics simply keep their last values.
      }
    }
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Names of every metric family in the registry (for cross-checks of alerts and dashboards). */
  familyNames(): string[] {
    return this.registry.getMetricsAsArray().map((m) => m.name);
  }
}
