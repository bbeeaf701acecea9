/**
 * Real BGP daemons for interop tests and benchmarks: BIRD 2, GoBGP 3, FRR 8 (bgpd only), ExaBGP 4,
 * and a tiny raw BGP sender (Python) for the malformed messages no daemon will send. Each one runs
 * inside a NetnsLab namespace with a config file written into its own temp dir; every handle stops
 * its process by PID, and lab.destroy() kills whatever is left in the namespaces.
 *
 * Each handle answers the same questions in the same shape, so a test reads the same way whichever
 * daemon is the peer: `routes(family)` → DaemonRoute[] (prefix, next hop, AS path, communities,
 * ORIGINATOR_ID, CLUSTER_LIST…) and `peers()` → DaemonPeer[] (address, state, last error).
 *
 * What burned us (see also ../shared/NOTES.md "Real BGP peers"):
 * - Default timers make tests slow: BIRD waits 5 s before connecting, 120 s between retries and
 *   60–300 s after an error; FRR's eBGP MRAI is 30 s under `traditional` defaults (we use
 *   `datacenter`, MRAI 0) and connect retry 120 s. Every config here lowers them (hold 9, keepalive 3).
 * - BIRD iBGP is multihop by default; `direct` makes it treat the neighbour as on-link.
 * - FRR bgpd needs its own `-N NAME` and a /var/run/frr/NAME owned by frr (it drops to user frr).
 *   `-n` keeps it from touching any kernel FIB; without zebra it still accepts on-link next hops.
 *   vtysh prints "% Can't open configuration file …vtysh.conf" on stderr: harmless.
 * - ExaBGP never omits ORIGIN/AS_PATH (its encoder adds defaults), but a generic
 *   `attribute [code flags hex]` replaces the attribute of the same code: that is how it sends
 *   malformed ORIGIN/AS_PATH/MP_REACH. It cannot omit a mandatory attribute: the raw peer does that.
 *   After a session reset ExaBGP replays its Adj-RIB-Out, so withdraw a poisonous route at once.
 * - execFileSync's default maxBuffer (1 MiB) is too small for `show route all` on big tables.
 *
 * This file is the entry point; the launchers live in ./daemons/ (one file per daemon).
 */
export * from './daemons/common.js';
export * from './daemons/bird.js';
export * from './daemons/frr.js';
export * from './daemons/gobgp.js';
export * from './daemons/exabgp.js';
export * from './daemons/rawpeer.js';
export * from './daemons/bulkpeer.js';
export * from './daemons/petrel.js';
