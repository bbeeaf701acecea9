/**
 * The `petrel` CNI plugin's verbs, run inside the agent (the executable in /opt/cni/bin only hands
 * requests over: native/petrel-cni.c, docs/cni.md). It composes three things it is given:
 *   - the IPAM store (ipam.ts): addresses from the node's own pod CIDRs, kept on disk;
 *   - a PodNet (dataplane/pod-network.ts): the pod's veth, addresses and routes;
 *   - a CniHost (the agent): the node's pod CIDRs and MTU, and the host route to each pod, which the
 *     agent's dataplane installs at once with Petrel's rtm_protocol and keeps as its own for as long
 *     as the attachment lives — whether or not a Pod object names it (a runtime outside Kubernetes).
 *
 * Complicating factors:
 *   - DEL must succeed whatever is already gone (netns, veth, allocation) — the runtime retries a
 *     failed DEL forever and the pod never finishes terminating.
 *   - The host veth of a Kubernetes pod is named from namespace/name (the agent computes the same
 *     name from the Pod object); a pod recreated under the same name can ADD before the old
 *     sandbox's DEL: a DEL deletes the host veth only when no other attachment records it.
 *   - The agent restarts while pods live: allocations and host routes are recovered from the state
 *     directory (recover()), DELs made while it was down are finished from their markers, and
 *     allocations whose veth is gone (and whose address no live pod holds) are freed after a grace
 *     period (collect()).
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Allocation } from './ipam.js';
import { IpamStore, blocksPerFamily } from './ipam.js';
import { CniCode, CniError, clip, formatResult, type CniRequest, type CniResult } from './spec.js';

/** What the plugin needs of a pod's network (dataplane/pod-network.ts PodNetwork fits). */
export interface PodNet {
  /** Wires the pod; `routes` are its default routes (dst, gateway) for the CNI result. */
  setup(s: { netns: string; ifName: string; hostVeth: string; mtu: number; addresses: string[] }): Promise<{ hostVeth: string; hostMac: string; podMac: string; routes: Array<{ dst: string; gw: string }> }>;
  deleteHostVeth(name: string): Promise<boolean>;
  inspect(netns: string, ifName: string, hostVeth: string): Promise<{
    pod?: { mtu: number; up: boolean; mac?: string; addresses: string[]; routes: Array<{ dst: string; gw?: string }> };
    host?: { mtu: number; up: boolean };
  }>;
  hostLinks(): Promise<Map<string, unknown>>;
}

export interface PodRoute {
  prefix: string;
  ifName: string;
}

/** What the plugin needs of the agent. */
export interface CniHost {
  /** The node's pod CIDRs and pod MTU, or why ADD cannot be served yet. */
  node(): { ready: true; podCidrs: string[]; mtu: number } | { ready: false; reason: string };
  /** Makes `routes` desired for attachment `key` and resolves once the kernel holds them. */
  attach(key: string, routes: PodRoute[]): Promise<void>;
  /** The attachment's routes are no longer desired. */
  detach(key: string): void;
  /** Addresses of this node's live Pod objects; undefined while the Pod cache is not synced. */
  livePodIps(): Set<string> | undefined;
}

export interface VethNaming {
  forPod(namespace: string, name: string): string;
  forContainer(containerId: string, ifName: string): string;
}

export interface CniPluginOptions {
  stateDir: string;
  ipam: IpamStore;
  pods: PodNet;
  host: CniHost;
  veths: VethNaming;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void; debug(o: object, m: string): void };
  /** An allocation whose veth is gone is freed only when older than this (an ADD may be under way). */
  graceMs?: number;
  now?: () => number;
}

export interface CniAnswer {
  /** Exit status of the plugin process: 0 success, 1 error. */
  status: number;
  /** What the plugin prints on stdout (nothing for a successful DEL, GC or STATUS). */
  body?: Record<string, unknown>;
}

export const key = (containerId: string, ifName: string): string => `${containerId}/${ifName}`;

function hostPrefix(ip: string): string {
  return ip.includes(':') ? `${ip}/128` : `${ip}/32`;
}

export class CniPlugin {
  private readonly graceMs: number;
  private readonly now: () => number;
  /** Attachments whose ADD or DEL is running: a second request for the same key waits for the first. */
  private readonly busy = new Map<string, Promise<unknown>>();

  constructor(private readonly o: CniPluginOptions) {
    this.graceMs = o.graceMs ?? 60_000;
    this.now = o.now ?? Date.now;
  }

  private serial<T>(k: string, f: () => Promise<T>): Promise<T> {
    const prev = this.busy.get(k) ?? Promise.resolve();
    const p = prev.then(f, f);
    const done = p.catch(() => undefined);
    this.busy.set(k, done);
    void done.then(() => { if (this.busy.get(k) === done) this.busy.delete(k); });
    return p;
  }

  async handle(req: CniRequest): Promise<CniAnswer> {
    switch (req.command) {
      case 'ADD': return this.serial(key(req.containerId, req.ifName), () => this.add(req));
      case 'DEL': return this.serial(key(req.containerId, req.ifName), () => this.del(req.containerId, req.ifName, req.args));
      case 'CHECK': return this.check(req);
      case 'GC': return this.gc(req);
      case 'STATUS': return this.status();
      case 'VERSION': return { status: 0, body: { cniVersion: req.config.cniVersion } };
    }
  }

  private vethFor(containerId: string, ifName: string, args: Record<string, string>): string {
    const ns = args.K8S_POD_NAMESPACE;
    const name = args.K8S_POD_NAME;
    if (ns && name && ifName === 'eth0') return this.o.veths.forPod(ns, name);
    return this.o.veths.forContainer(containerId, ifName);
  }

  private async add(req: CniRequest): Promise<CniAnswer> {
    const node = this.o.host.node();
    if (!node.ready) throw new CniError(CniCode.TryAgainLater, 'the petrel agent cannot serve ADD yet; try again later', node.reason);
    const blocks = blocksPerFamily(node.podCidrs);
    if (blocks.length === 0) throw new CniError(CniCode.TryAgainLater, 'this node has no pod CIDR yet (Node spec.podCIDRs); try again later');
    const hostVeth = this.vethFor(req.containerId, req.ifName, req.args);
    const podNamespace = req.args.K8S_POD_NAMESPACE;
    const podName = req.args.K8S_POD_NAME;
    const allocs = await this.o.ipam.allocate({
      containerId: req.containerId, ifName: req.ifName, netns: req.netns, hostVeth,
      ...(podNamespace ? { podNamespace } : {}), ...(podName ? { podName } : {}),
    }, blocks);
    const ips = allocs.map((a) => a.ip);
    const k = key(req.containerId, req.ifName);
    const mtu = req.config.mtu ?? node.mtu;
    let att: Awaited<ReturnType<PodNet['setup']>>;
    try {
      att = await this.o.pods.setup({ netns: req.netns, ifName: req.ifName, hostVeth, mtu, addresses: ips });
      await this.o.host.attach(k, ips.map((ip) => ({ prefix: hostPrefix(ip), ifName: hostVeth })));
    } catch (e) {
      this.o.host.detach(k);
      await this.o.pods.deleteHostVeth(hostVeth).catch(() => undefined);
      await this.o.ipam.release(req.containerId, req.ifName);
      throw toCniError(e);
    }
    this.o.log.info({ containerId: req.containerId, ifName: req.ifName, pod: podName ? `${podNamespace}/${podName}` : undefined, ips, hostVeth }, 'cni: add');
    const result: CniResult = {
      cniVersion: req.config.cniVersion,
      interfaces: [{ name: hostVeth, mac: att.hostMac }, { name: req.ifName, mac: att.podMac, sandbox: req.netns }],
      // Each address's gateway is its family's default route's (the pod network decides both).
      ips: ips.map((ip) => ({ address: hostPrefix(ip), gateway: att.routes.find((r) => r.dst.includes(':') === ip.includes(':'))?.gw, interface: 1 })),
      routes: att.routes,
      dns: {},
    };
    return { status: 0, body: formatResult(result, req.config.cniVersion) as unknown as Record<string, unknown> };
  }

  /** Idempotent: succeeds when the netns, the veth or the allocation is already gone. */
  private async del(containerId: string, ifName: string, args: Record<string, string>): Promise<CniAnswer> {
    const allocs = this.o.ipam.find(containerId, ifName);
    const hostVeth = allocs[0]?.hostVeth ?? this.vethFor(containerId, ifName, args);
    const shared = this.o.ipam.list().some((a) => a.hostVeth === hostVeth && a.containerId !== containerId);
    this.o.host.detach(key(containerId, ifName));
    if (!shared) await this.o.pods.deleteHostVeth(hostVeth).catch((e: Error) => this.o.log.warn({ hostVeth, err: e.message }, 'cni: del could not delete the host veth'));
    const freed = await this.o.ipam.release(containerId, ifName);
    this.o.log.info({ containerId, ifName, freed: freed.map((a) => a.ip), hostVeth: shared ? undefined : hostVeth }, 'cni: del');
    return { status: 0 };
  }

  private async check(req: CniRequest): Promise<CniAnswer> {
    const allocs = this.o.ipam.find(req.containerId, req.ifName);
    const prev = req.config.prevResult!;
    const diffs: string[] = [];
    if (allocs.length === 0) throw new CniError(CniCode.CheckFailed, `no allocation for container ${clip(req.containerId, 40)} interface ${req.ifName}`);
    const hostVeth = allocs[0].hostVeth ?? this.vethFor(req.containerId, req.ifName, req.args);
    const want = new Set(allocs.map((a) => hostPrefix(a.ip)));
    const prevIps = new Set(prev.ips.map((i) => i.address));
    for (const a of want) if (!prevIps.has(a)) diffs.push(`allocated ${a} is not in prevResult`);
    for (const a of prevIps) if (!want.has(a)) diffs.push(`prevResult's ${a} is not allocated to this attachment`);
    const seen = await this.o.pods.inspect(req.netns, req.ifName, hostVeth);
    if (!seen.host) diffs.push(`host veth ${hostVeth} is missing`);
    else if (!seen.host.up) diffs.push(`host veth ${hostVeth} is down`);
    if (!seen.pod) {
      diffs.push(`interface ${req.ifName} is missing in ${req.netns}`);
    } else {
      if (!seen.pod.up) diffs.push(`${req.ifName} is down`);
      const node = this.o.host.node();
      const mtu = req.config.mtu ?? (node.ready ? node.mtu : undefined);
      if (mtu !== undefined && seen.pod.mtu !== mtu) diffs.push(`${req.ifName} MTU is ${seen.pod.mtu}, expected ${mtu}`);
      const have = new Set(seen.pod.addresses);
      for (const a of prevIps) if (!have.has(a)) diffs.push(`${req.ifName} lacks address ${a}`);
      for (const r of prev.routes ?? []) {
        if (!seen.pod.routes.some((x) => x.dst === r.dst && (r.gw === undefined || x.gw === r.gw))) diffs.push(`route ${r.dst}${r.gw ? ` via ${r.gw}` : ''} is missing in the pod`);
      }
      const mac = prev.interfaces?.find((i) => i.name === req.ifName && i.sandbox)?.mac;
      if (mac && seen.pod.mac && mac.toLowerCase() !== seen.pod.mac.toLowerCase()) diffs.push(`${req.ifName} MAC is ${seen.pod.mac}, prevResult says ${mac}`);
    }
    if (diffs.length) throw new CniError(CniCode.CheckFailed, `CHECK of ${req.ifName} found ${diffs.length} difference(s)`, diffs.join('; '));
    return { status: 0 };
  }

  /** CNI 1.1 GC: frees every allocation whose attachment is not in cni.dev/valid-attachments. */
  private async gc(req: CniRequest): Promise<CniAnswer> {
    const valid = new Set((req.config.validAttachments ?? []).map((a) => key(a.containerId, a.ifName)));
    const stale = new Map<string, Allocation>();
    for (const a of this.o.ipam.list()) if (!valid.has(key(a.containerId, a.ifName))) stale.set(key(a.containerId, a.ifName), a);
    for (const a of stale.values()) await this.serial(key(a.containerId, a.ifName), () => this.del(a.containerId, a.ifName, {}));
    this.o.log.info({ freed: stale.size, valid: valid.size }, 'cni: gc');
    return { status: 0 };
  }

  private status(): CniAnswer {
    const node = this.o.host.node();
    if (!node.ready) throw new CniError(CniCode.NotAvailable, 'the petrel agent cannot serve ADD yet', node.reason);
    const blocks = blocksPerFamily(node.podCidrs);
    if (blocks.length === 0) throw new CniError(CniCode.NotAvailable, 'this node has no pod CIDR yet (Node spec.podCIDRs)');
    const full = blocks.filter((b) => this.o.ipam.used(b) >= IpamStore.capacity(b));
    if (full.length) throw new CniError(CniCode.NotAvailable, `no free pod address: ${full.join(', ')} full`);
    return { status: 0 };
  }

  // ---- agent start and housekeeping ---------------------------------------------------------------

  /**
   * At agent start: finishes the DELs the executable recorded while the agent was down, then makes
   * the host routes of every remaining attachment whose veth exists desired again.
   */
  async recover(): Promise<{ finished: number; attached: number }> {
    await this.o.ipam.load();
    const dir = join(this.o.stateDir, 'cni', 'pending-del');
    let finished = 0;
    let names: string[] = [];
    try { names = await readdir(dir); } catch { /* none */ }
    for (const n of names) {
      if (n.includes('.tmp')) { await rm(join(dir, n), { force: true }); continue; }
      const env: Record<string, string> = {};
      try {
        for (const line of (await readFile(join(dir, n), 'utf8')).split('\n')) {
          const eq = line.indexOf('=');
          if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
        }
      } catch { continue; }
      if (env.CNI_CONTAINERID) {
        const args: Record<string, string> = {};
        for (const p of (env.CNI_ARGS ?? '').split(';')) { const eq = p.indexOf('='); if (eq > 0) args[p.slice(0, eq)] = p.slice(eq + 1); }
        await this.del(env.CNI_CONTAINERID, env.CNI_IFNAME || 'eth0', args).catch((e: Error) => this.o.log.warn({ marker: n, err: e.message }, 'cni: could not finish a DEL made while the agent was down'));
        finished++;
      }
      await rm(join(dir, n), { force: true });
    }
    const links = await this.o.pods.hostLinks();
    const groups = new Map<string, Allocation[]>();
    for (const a of this.o.ipam.list()) {
      const k = key(a.containerId, a.ifName);
      groups.set(k, [...(groups.get(k) ?? []), a]);
    }
    let attached = 0;
    for (const [k, as] of groups) {
      const veth = as[0].hostVeth;
      if (!veth || !links.has(veth)) continue;
      await this.o.host.attach(k, as.map((a) => ({ prefix: hostPrefix(a.ip), ifName: veth }))).catch((e: Error) => this.o.log.warn({ attachment: k, err: e.message }, 'cni: host route not restored'));
      attached++;
    }
    if (finished || attached) this.o.log.info({ finished, attached }, 'cni: recovered attachments from the state directory');
    return { finished, attached };
  }

  /**
   * Frees allocations whose pod is gone: no host veth, older than the grace period, and no live
   * Pod object on this node holds the address. Does nothing until the Pod cache is synced.
   */
  async collect(): Promise<number> {
    const live = this.o.host.livePodIps();
    if (!live) return 0;
    const links = await this.o.pods.hostLinks();
    const now = this.now();
    let freed = 0;
    const seen = new Set<string>();
    for (const a of this.o.ipam.list()) {
      const k = key(a.containerId, a.ifName);
      if (seen.has(k) || this.busy.has(k)) continue;
      seen.add(k);
      const mine = this.o.ipam.find(a.containerId, a.ifName);
      if (mine.some((x) => now - x.createdAt < this.graceMs)) continue;
      if (a.hostVeth && links.has(a.hostVeth)) continue;
      if (mine.some((x) => live.has(x.ip))) continue;
      await this.serial(k, () => this.del(a.containerId, a.ifName, {}));
      freed += mine.length;
    }
    if (freed) this.o.log.info({ freed }, 'cni: freed the addresses of pods that are gone');
    return freed;
  }
}

export function toCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  const code = (e as { code?: string }).code;
  const msg = (e as Error)?.message ?? String(e);
  if (code === 'NO_NETNS') return new CniError(CniCode.NoNetns, 'CNI_NETNS does not name a network namespace', msg);
  if (code === 'IF_EXISTS') return new CniError(CniCode.InterfaceExists, 'CNI_IFNAME already exists in the namespace', msg);
  if (code === 'NETLINK') return new CniError(CniCode.Netlink, 'a netlink request failed', msg);
  return new CniError(CniCode.Internal, 'internal error in the petrel agent', msg);
}
