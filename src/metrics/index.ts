/**
 * metrics/: the only place prom-client is used. registry.ts defines every metric; adapters.ts turns
 * the domain's narrow metrics interfaces into prom-client calls; health.ts holds liveness/readiness
 * checks; server.ts serves /metrics, /livez and /readyz. agent/ and cli/ compose them.
 */
export * from './registry.js';
export * from './adapters.js';
export * from './health.js';
export * from './server.js';
export * from './observability.js';
