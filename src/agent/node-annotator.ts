/**
 * Keeps this node's own annotations (node-identity.ts decides which) written on its Node object.
 *
 * `sync(rawNode, pools)` is called from every reconcile; it is cheap when nothing differs (a pure diff
 * of the informer's copy) and sends one JSON merge patch of metadata.annotations when something does,
 * to the Node's status subresource: kube-apiserver's node status strategy resets only the spec, so
 * metadata edits land there, and the agent's RBAC holds no write on the Node object (as flannel does).
 * The patch lands back through the node watch, the next reconcile sees it and sync() finds nothing to do:
 * no poll, no timer in the normal path.
 *
 * Complicating factors: reconciles come faster than the watch echoes our own patch, so a node copy
 * with the resourceVersion our last patch was computed from is diffed as if that patch had landed
 * (nothing is sent twice, and a later change sends only the difference); one patch runs at a time and a newer call
 * made meanwhile runs after it (latest wins); an API error is retried with bounded exponential backoff
 * (attempts and delay capped), after which the annotator waits for the next sync() call — the agent
 * reconciles on every watch event, so a later change retries it. A merge patch of annotations only
 * can neither conflict with the kubelet (it writes status) nor clobber other annotations.
 */
import { networkInterfaces } from 'node:os';
import type { Logger } from '../bgp/speaker.js';
import type { KubeClient } from '../k8s/index.js';
import type { PoolSummary } from '../model/topology.js';
import { vtepMac as defaultVtepMac } from '../dataplane/index.js';
import { annotationPatch, annotationsOf, desiredNodeAnnotations, type LocalInterfaceAddress } from './node-identity.js';

export interface NodeAnnotatorOptions {
  nodeName: string;
  log: Logger;
  vtepMac?: (nodeName: string) => string;
  /** Local interface addresses; default: os.networkInterfaces() of this process's network namespace. */
  interfaces?: () => LocalInterfaceAddress[];
  retry?: { attempts?: number; initialMs?: number; maxMs?: number };
}

export function localInterfaces(): LocalInterfaceAddress[] {
  const out: LocalInterfaceAddress[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    for (const a of addrs ?? []) if (!a.internal) out.push({ name, address: a.address, cidr: a.cidr });
  }
  return out;
}

type Patch = NonNullable<ReturnType<typeof annotationPatch>>;

export class NodeAnnotator {
  /** Patches sent and answered 200. */
  patched = 0;
  lastError: string | undefined;
  private pending: { node: unknown; pools: readonly PoolSummary[] } | undefined;
  private running: Promise<void> | undefined;
  /** Our patches not yet seen echoed: the version each was computed from, the version it produced. */
  private history: Array<{ from: string; to: string; annotations: Record<string, string | null> }> = [];
  private stopped = false;
  private readonly abort = new AbortController();
  private timer: { t: NodeJS.Timeout; resolve: () => void } | undefined;

  constructor(private readonly client: Pick<KubeClient, 'patchNodeStatus'>, private readonly o: NodeAnnotatorOptions) {}

  /** What sync() would send for this node now (undefined: nothing to change). */
  patchFor(node: unknown, pools: readonly PoolSummary[]): Patch | undefined {
    const desired = desiredNodeAnnotations({
      node, pools, interfaces: (this.o.interfaces ?? localInterfaces)(), vtepMac: this.o.vtepMac ?? defaultVtepMac,
    });
    return annotationPatch(annotationsOf(node), desired);
  }

  /** Brings the annotations in line with `node` (the informer's raw copy) and `pools`. Never throws. */
  sync(node: unknown, pools: readonly PoolSummary[]): void {
    if (this.stopped || node === undefined) return;
    this.pending = { node, pools };
    if (!this.running) this.running = this.drain().finally(() => { this.running = undefined; });
  }

  /** Resolves once no patch is in flight (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.pending = undefined;
    this.abort.abort();
    if (this.timer) {
      clearTimeout(this.timer.t);
      this.timer.resolve();
    }
    await this.idle();
  }

  private async drain(): Promise<void> {
    for (let rounds = 0; this.pending && !this.stopped && rounds < 100; rounds++) {
      const { node, pools } = this.pending;
      this.pending = undefined;
      const rv = resourceVersion(node);
      const patch = this.patchFor(this.asOnServer(node, rv), pools);
      if (!patch) continue;
      const to = await this.send(patch);
      if (to !== undefined) {
        this.history.push({ from: rv, to, annotations: patch.metadata.annotations });
        if (this.history.length > 16) this.history.shift();
      }
    }
  }

  /**
   * The node as the server has it now, as far as we know: a copy whose resourceVersion is one our own
   * patches left behind gets those later patches applied (the watch has not echoed them yet). A copy at
   * the version our last patch produced, or at a version we never saw (someone else's later write), is
   * taken as is.
   */
  private asOnServer(node: unknown, rv: string): unknown {
    const last = this.history.at(-1);
    if (!last || rv === '' || rv === last.to) {
      this.history = [];
      return node;
    }
    let i = this.history.findIndex((h) => h.from === rv || h.to === rv);
    if (i < 0) {
      this.history = [];
      return node;
    }
    if (this.history[i].to === rv) i++;
    const merged: Record<string, string | null> = {};
    for (const h of this.history.slice(i)) Object.assign(merged, h.annotations);
    return withAnnotations(node, merged);
  }

  /** Sends with bounded retries; the resourceVersion the server answered, or undefined on failure. */
  private async send(patch: Patch): Promise<string | undefined> {
    const attempts = this.o.retry?.attempts ?? 5;
    let delay = this.o.retry?.initialMs ?? 500;
    const maxMs = this.o.retry?.maxMs ?? 8000;
    const keys = Object.keys(patch.metadata.annotations);
    for (let i = 1; i <= attempts && !this.stopped; i++) {
      try {
        const updated = await this.client.patchNodeStatus(this.o.nodeName, patch, 'merge', this.abort.signal);
        this.patched++;
        this.lastError = undefined;
        this.o.log.info({ node: this.o.nodeName, annotations: patch.metadata.annotations }, 'node annotations updated');
        return resourceVersion(updated);
      } catch (e) {
        if (this.stopped) return undefined;
        this.lastError = (e as Error).message;
        const last = i === attempts || this.pending !== undefined; // a newer state supersedes this patch
        this.o.log[last ? 'error' : 'warn']({ node: this.o.nodeName, keys, attempt: i, err: this.lastError },
          last ? 'could not update node annotations (retried on the next change)' : 'node annotation patch failed; retrying');
        if (last) return undefined;
        await this.sleep(delay);
        delay = Math.min(delay * 2, maxMs);
      }
    }
    return undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.timer = undefined; resolve(); }, ms);
      this.timer = { t, resolve };
    });
  }
}

/** `node` with an annotation merge patch applied (RFC 7386: null removes). */
function withAnnotations(node: unknown, patch: Record<string, string | null>): unknown {
  const n = node as { metadata?: Record<string, unknown> };
  const ann: Record<string, unknown> = { ...((n.metadata?.annotations as Record<string, unknown> | undefined) ?? {}) };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete ann[k];
    else ann[k] = v;
  }
  return { ...n, metadata: { ...(n.metadata ?? {}), annotations: ann } };
}

function resourceVersion(node: unknown): string {
  const meta = (node as { metadata?: { resourceVersion?: unknown } } | null)?.metadata;
  return typeof meta?.resourceVersion === 'string' ? meta.resourceVersion : '';
}
