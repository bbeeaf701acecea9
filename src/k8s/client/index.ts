/**
 * Petrel's Kubernetes client: the calls generated from src/k8s/openapi/spec.json (by @hey-api/openapi-ts,
 * see scripts/k8s-openapi.ts), bound to one Transport, with errors turned into K8sApiError carrying the
 * HTTP status and the apiserver's Status reason. Only the calls in the subset spec exist here, on purpose:
 * adding a call means adding it to the spec, regenerating, and reviewing the diff.
 *
 * `listWatcher(resource, selectors)` gives the reflector what it needs for one resource: a paged LIST and
 * a WATCH returning the raw body as a Node stream (the reflector splits lines itself; a JSON event may
 * arrive split across chunks, and several may arrive in one). The WATCH is built and answered by the
 * generated call like any other, only carried by the transport's `watchFetch` (see transport.ts).
 */
import type { Readable } from 'node:stream';
import { PetrelError } from '../../errors.js';
import { createClient, createConfig, type Client } from '../openapi/gen/client/index.js';
import * as sdk from '../openapi/gen/sdk.gen.js';
import type {
  DevPetrelV1BgpConfiguration, DevPetrelV1BgpPeer, DevPetrelV1IpPool, IoK8sApiCoreV1Event, IoK8sApiCoreV1Node,
  IoK8sApiCoreV1Pod, IoK8sApiCoreV1Secret,
} from '../openapi/gen/types.gen.js';
import { WatchResponse, type Transport } from '../transport.js';

export type Node = IoK8sApiCoreV1Node;
export type Pod = IoK8sApiCoreV1Pod;
export type Secret = IoK8sApiCoreV1Secret;
export type Event = IoK8sApiCoreV1Event;
export type BGPConfiguration = DevPetrelV1BgpConfiguration;
export type BGPPeer = DevPetrelV1BgpPeer;
export type IPPool = DevPetrelV1IpPool;

/** An API call answered with an error status (or a watch ERROR event). */
export class K8sApiError extends PetrelError {
  readonly status: number;
  readonly reason: string | undefined;
  readonly body: unknown;
  constructor(status: number, message: string, reason?: string, body?: unknown) {
    super(status === 410 ? 'K8S_ERR_GONE' : status === 401 ? 'K8S_ERR_UNAUTHORIZED' : status === 409 ? 'K8S_ERR_CONFLICT' : status === 404 ? 'K8S_ERR_NOT_FOUND' : 'K8S_ERR_API', message);
    this.status = status;
    this.reason = reason;
    this.body = body;
  }
  static from(what: string, response: Response | undefined, error: unknown): K8sApiError {
    const st = (error && typeof error === 'object' ? error : {}) as { message?: string; reason?: string; code?: number };
    const status = response?.status ?? 0;
    return new K8sApiError(status, `${what}: ${status} ${st.reason ?? ''} ${st.message ?? (typeof error === 'string' ? error : '')}`.trim(), st.reason, error);
  }
}

/** No HTTP answer at all (connection refused or reset, TLS failure, timeout, abort): the transport's error as is. */
function noResponse(what: string, error: unknown): Error {
  if (error instanceof Error) return error;
  return new K8sApiError(0, `${what}: no response: ${String(error)}`);
}

/** Resources Petrel lists and watches. */
export type WatchedResource = 'nodes' | 'pods' | 'bgpconfigurations' | 'bgppeers' | 'ippools';
export interface ResourceTypes { nodes: Node; pods: Pod; bgpconfigurations: BGPConfiguration; bgppeers: BGPPeer; ippools: IPPool }

export interface ListPage<T> { items: T[]; resourceVersion: string; continue?: string }

export interface ListWatcher<T> {
  /** For logs and metrics labels, e.g. "pods(spec.nodeName=node-1)". */
  readonly description: string;
  list(opts: { limit?: number; continue?: string; signal?: AbortSignal }): Promise<ListPage<T>>;
  /**
   * Opens a watch; resolves once the server answered 200 (anything else throws K8sApiError) with the body
   * as it arrives. Aborting the signal, or destroying the stream, ends it.
   */
  watch(opts: { resourceVersion: string; timeoutSeconds: number; signal: AbortSignal }): Promise<Readable>;
}

export interface Selectors { fieldSelector?: string; labelSelector?: string }

type ListFn = (opts: any) => Promise<{ data?: any; error?: unknown; response?: Response }>; // eslint-disable-line @typescript-eslint/no-explicit-any

const LIST_FNS: Record<WatchedResource, ListFn> = {
  nodes: sdk.listCoreV1Node as ListFn,
  pods: sdk.listCoreV1PodForAllNamespaces as ListFn,
  bgpconfigurations: sdk.listPetrelDevV1BgpConfiguration as ListFn,
  bgppeers: sdk.listPetrelDevV1BgpPeer as ListFn,
  ippools: sdk.listPetrelDevV1IpPool as ListFn,
};

export type PatchType = 'merge' | 'strategic' | 'json';
const PATCH_CT: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
};

export class KubeClient {
  readonly transport: Transport;
  readonly client: Client;

  constructor(transport: Transport) {
    this.transport = transport;
    this.client = createClient(createConfig({ baseUrl: transport.server, fetch: transport.fetch as never }));
  }

  private async call<R>(what: string, p: Promise<{ data?: R; error?: unknown; response?: Response }>): Promise<R> {
    const r = await p;
    if (!r.response) throw noResponse(what, r.error);
    if (r.error !== undefined || !r.response.ok) throw K8sApiError.from(what, r.response, r.error);
    return r.data as R;
  }

  readNode(name: string, signal?: AbortSignal): Promise<Node> {
    return this.call(`get node ${name}`, sdk.readCoreV1Node({ client: this.client, path: { name }, signal }));
  }

  /**
   * PATCH nodes/<name>/status. Strategic merge merges status.conditions by type (the kubelet's stay). The
   * agent also writes its own annotations here, as a JSON merge patch of metadata.annotations only (a null
   * value removes one, RFC 7386 §2): the node status strategy keeps metadata edits and resets only the
   * spec, so the agent needs no write access to the Node object (taints, unschedulable) at all.
   */
  patchNodeStatus(name: string, patch: unknown, type: PatchType = 'strategic', signal?: AbortSignal): Promise<Node> {
    return this.call(`patch node ${name} status`, sdk.patchCoreV1NodeStatus({
      client: this.client, path: { name }, body: patch as never, headers: { 'Content-Type': PATCH_CT[type] }, signal,
    }));
  }

  readSecret(namespace: string, name: string, signal?: AbortSignal): Promise<Secret> {
    return this.call(`get secret ${namespace}/${name}`, sdk.readCoreV1NamespacedSecret({ client: this.client, path: { namespace, name }, signal }));
  }

  createEvent(namespace: string, event: Event, signal?: AbortSignal): Promise<Event> {
    return this.call(`create event in ${namespace}`, sdk.createCoreV1NamespacedEvent({
      client: this.client, path: { namespace }, body: event, headers: { 'Content-Type': 'application/json' }, signal,
    }));
  }

  readBGPConfiguration(name: string, signal?: AbortSignal): Promise<BGPConfiguration> {
    return this.call(`get bgpconfiguration ${name}`, sdk.readPetrelDevV1BgpConfiguration({ client: this.client, path: { name }, signal }));
  }

  /** List+watch access to one resource, for the reflector. Pods are always narrowed by a selector in the agent. */
  listWatcher<R extends WatchedResource>(resource: R, selectors: Selectors = {}): ListWatcher<ResourceTypes[R]> {
    const fn = LIST_FNS[resource];
    const sel = [selectors.fieldSelector, selectors.labelSelector].filter(Boolean).join(';');
    const description = sel ? `${resource}(${sel})` : resource;
    const base = {
      ...(selectors.fieldSelector ? { fieldSelector: selectors.fieldSelector } : {}),
      ...(selectors.labelSelector ? { labelSelector: selectors.labelSelector } : {}),
    };
    return {
      description,
      list: async ({ limit, continue: cont, signal }) => {
        const data = await this.call<{ items?: ResourceTypes[R][]; metadata?: { resourceVersion?: string; continue?: string } }>(
          `list ${description}`,
          fn({ client: this.client, query: { ...base, ...(limit ? { limit } : {}), ...(cont ? { continue: cont } : {}) }, signal }),
        );
        return { items: data.items ?? [], resourceVersion: data.metadata?.resourceVersion ?? '', ...(data.metadata?.continue ? { continue: data.metadata.continue } : {}) };
      },
      watch: async ({ resourceVersion, timeoutSeconds, signal }) => {
        const r = await fn({
          client: this.client, parseAs: 'stream', signal, fetch: this.transport.watchFetch,
          query: { ...base, watch: true, allowWatchBookmarks: true, resourceVersion, timeoutSeconds },
        });
        if (!r.response) throw noResponse(`watch ${description}`, r.error);
        // A 2xx answer is always a WatchResponse (transport.watchFetch); anything else is an error answer.
        if (r.error !== undefined || !(r.response instanceof WatchResponse)) throw K8sApiError.from(`watch ${description}`, r.response, r.error);
        return r.response.stream;
      },
    };
  }
}
