/**
 * The in-memory Kubernetes API server used by tests and by the lab demo. See server.ts for what it
 * implements and how faithfully; tests check it against Debian's kubectl (test/lab/apiserver.kubectl.test.ts).
 */
export { TestApiServer, Faults, type ApiServerOptions, type ResourceRequest } from './server.js';
export type { WatchConn } from './watch.js';
export { ApiStatusError, type StatusBody } from './status.js';
export { makeTestPki, type TestPki } from './tls.js';
export { mergePatch, jsonPatch, strategicMergePatch, type PatchType } from './patch.js';
export { parseLabelSelector, matchLabels, parseFieldSelector, matchFields } from './selectors.js';
export { Store, type StoreEvent } from './store.js';
