/**
 * Petrel's Kubernetes layer: configuration discovery (kubeconfig / in-cluster / endpoint override), the
 * transport (undici fetch, node:https watches, cluster CA, rotating tokens), the generated client, and the list-watch informer.
 * k8s/ never imports bgp/ or dataplane/; the agent composes them.
 */
export { loadClusterConfig, SERVICE_ACCOUNT_DIR, type ClusterConfig, type LoadOptions } from './kubeconfig.js';
export { Transport, K8sTransportError, type TransportOptions, type FetchFn } from './transport.js';
export {
  KubeClient, K8sApiError, type ListWatcher, type ListPage, type Selectors, type WatchedResource, type ResourceTypes,
  type PatchType, type Node, type Pod, type Secret, type Event, type BGPConfiguration, type BGPPeer, type IPPool,
} from './client/index.js';
export {
  Informer, ReflectorError, noopReflectorMetrics, objectKey, type KubeObject, type Handlers, type ReflectorMetrics,
  type ReflectorOptions, type WatchEventType, type Logger,
} from './reflector.js';
