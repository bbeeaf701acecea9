/**
 * Issue 2, "Done when" 3 with FRR 8 (bgpd) as the peer: sessions, routes both ways, withdrawals, hold-timer
 * expiry on SIGSTOP and recovery, Bad Peer AS, Cease on SIGTERM. The scenario is in scenario.ts.
 */
import { daemonSuite } from './scenario.js';

daemonSuite('frr');
