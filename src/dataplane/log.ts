/**
 * The dataplane's narrow outward interfaces: a pino-compatible logger subset and a metrics sink, both
 * with no-op defaults, so domain code never imports prom-client (src/metrics/ adapts these).
 * Log lines use BIRD's verbs for kernel sync: seen (already right in the kernel), install (added),
 * update (replaced), delete (removed), ignore (not ours, or cannot be applied).
 */
export { silentLogger, type Logger } from '../model/log.js';

export type RouteClass = 'local-pod' | 'remote-direct' | 'remote-ipip' | 'remote-vxlan' | 'local-block';
export type DriftKind = 'route' | 'link' | 'addr' | 'neigh' | 'nft';

export interface DataplaneMetrics {
  /** Routes of each class Petrel has in the kernel after an apply. */
  routes(cls: RouteClass, count: number): void;
  /** Wall time of one apply() in seconds. */
  applyLatency(seconds: number): void;
  /** One failed kernel operation (code = NL_ERR_* / DP_ERR_*). */
  error(code: string): void;
  /** One object restored after a change behind our back. */
  driftRepair(kind: DriftKind): void;
  /** One full resynchronisation (start, periodic, after an overflow). */
  resync(reason: 'start' | 'periodic' | 'overflow' | 'error'): void;
  /** 1 when the kernel cannot make IPIP tunnels (no ipip module). */
  ipipUnsupported(flag: boolean): void;
}

export const noopMetrics: DataplaneMetrics = {
  routes() {}, applyLatency() {}, error() {}, driftRepair() {}, resync() {}, ipipUnsupported() {},
};
