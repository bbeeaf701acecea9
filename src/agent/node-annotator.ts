/**
 * Keeps this node's own annotations (node-identity.ts decides which) written on its Node object.
 *
 * `sync(rawNode, pools)` is called from every reconcile; it is cheap when nothing differs (a pure diff
 * of the informer's copy) and sends one JSON merge patch of metadata.annotations when something does.
 * The patch lands back through the node watch, the next reconcile sees it and sync() finds nothing to do:
 * no poll, no timer in the normal path.
 *
 * Complicating factors: reconciles come faster than the watch echoes our own patch, so the same patch
 * computed from the same resourceVersion is not sent twice; one patch runs at a time and a newer call
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
  private lastSent: { rv: string; body: string } | undefined;
  private stopped = false;
  private readonly abort = new AbortController();
  private timer: { t: NodeJS.Timeout; resolve: () => void } | undefined;

  constructor(private readonly client: Pick<KubeClient, 'patchNode'>, private readonly o: NodeAnnotatorOptions) {}

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
      const patch = this.patchFor(node, pools);
      if (!patch) continue;
      const rv = resourceVersion(node);
      const body = JSON.stringify(patch);
      if (this.lastSent && this.lastSent.rv === rv && this.lastSent.body === body) continue; // our echo has not arrived yet
      if (await this.send(patch)) this.lastSent = { rv, body };
    }
  }

  private async send(patch: Patch): Promise<boolean> {
    const attempts = this.o.retry?.attempts ?? 5;
    let delay = this.o.retry?.initialMs ?? 500;
    const maxMs = this.o.retry?.maxMs ?? 8000;
    const keys = Object.keys(patch.metadata.annotations);
    for (let i = 1; i <= attempts && !this.stopped; i++) {
      try {
        await this.client.patchNode(this.o.nodeName, patch, 'merge', this.abort.signal);
        this.patched++;
        this.lastError = undefined;
        this.o.log.info({ node: this.o.nodeName, annotations: patch.metadata.annotations }, 'node annotations updated');
        return true;
      } catch (e) {
        if (this.stopped) return false;
        this.lastError = (e as Error).message;
        const last = i === attempts || this.pending !== undefined; // a newer state supersedes this patch
        this.o.log[last ? 'error' : 'warn']({ node: this.o.nodeName, keys, attempt: i, err: this.lastError },
          last ? 'could not update node annotations (retried on the next change)' : 'node annotation patch failed; retrying');
        if (last) return false;
        await this.sleep(delay);
        delay = Math.min(delay * 2, maxMs);
      }
    }
    return false;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.timer = undefined; resolve(); }, ms);
      this.timer = { t, resolve };
    });
  }
}

function resourceVersion(node: unknown): string {
  const meta = (node as { metadata?: { resourceVersion?: unknown } } | null)?.metadata;
  return typeof meta?.resourceVersion === 'string' ? meta.resourceVersion : '';
}
