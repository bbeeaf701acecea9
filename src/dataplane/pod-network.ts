/**
 * A pod's interface, as the CNI plugin (src/cni/) asks for it: a veth pair whose host side stays in
 * the node's namespace and whose other end is created directly inside the pod's namespace
 * (IFLA_NET_NS_FD), the pod's addresses, and its routes through a gateway that needs no per-node
 * address — Calico's shape:
 *
 *   pod:  eth0  198.18.0.5/32                     host: pet0123456789ab  (MAC ee:ee:ee:ee:ee:ee)
 *         169.254.1.1 dev eth0 scope link               198.18.0.5/32 dev pet… (the dataplane's
 *         default via 169.254.1.1 dev eth0                local-pod route, our rtm_protocol)
 *         neigh 169.254.1.1 lladdr ee:ee:ee:ee:ee:ee PERMANENT
 *   IPv6: default via fe80::ecee:eeff:feee:eeee (the host side's EUI-64 link-local), neigh PERMANENT
 *
 * A permanent neighbour entry instead of proxy ARP on the host side: the pod reaches its gateway
 * whatever routes the host has (proxy ARP answers only when the host routes the target elsewhere)
 * and nothing is written under /proc/sys. Every host veth carries the same MAC, as Calico's do:
 * each is its own L2 segment.
 *
 * The pod's namespace is reached by a netlink socket created inside it (the addon's setns/socket/
 * setns back, native/netlink.c) for the few requests an attachment needs, then closed.
 */
import { closeSync, openSync } from 'node:fs';
import type { KernelLink, KernelOp, KernelPort, KernelRoute } from './kernel.js';
import * as C from './netlink/constants.js';
import { NetlinkError } from './netlink/errors.js';
import { RtnlKernel } from './netlink/rtnl.js';

export const HOST_VETH_MAC = 'ee:ee:ee:ee:ee:ee';
export const POD_GATEWAY_V4 = '169.254.1.1';
export const POD_GATEWAY_V6 = 'fe80::ecee:eeff:feee:eeee';

export interface PodSetup {
  /** Path of the pod's network namespace (CNI_NETNS). */
  netns: string;
  /** Interface name inside the pod (CNI_IFNAME). */
  ifName: string;
  hostVeth: string;
  mtu: number;
  /** The pod's addresses (one per family). */
  addresses: string[];
}

export interface PodAttachment {
  hostVeth: string;
  hostMac: string;
  /** The pod's default routes as a CNI result lists them (one per family). */
  routes: Array<{ dst: string; gw: string }>;
  podIndex: number;
  podMac: string;
}

export interface PodInspection {
  /** Absent: no interface of that name in the pod's namespace. */
  pod?: { mtu: number; up: boolean; mac?: string; addresses: string[]; routes: Array<{ dst: string; gw?: string }> };
  host?: { mtu: number; up: boolean; mac?: string };
}

export class PodNetworkError extends Error {
  constructor(readonly code: 'NO_NETNS' | 'IF_EXISTS' | 'NETLINK', message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PodNetworkError';
  }
}

export interface PodNetworkOptions {
  /** The node's namespace (the agent's --netns); default: the process's own. */
  netns?: string;
  /** Test seam: the port for the node's namespace and a factory for pods' namespaces. */
  hostKernel?: KernelPort;
  podKernel?: (netnsPath: string) => KernelPort;
}

function podRoutes(ifindex: number, addresses: string[]): KernelRoute[] {
  const out: KernelRoute[] = [];
  const base = { table: C.RT_TABLE_MAIN, protocol: C.RTPROT_STATIC, type: 'unicast' as const };
  if (addresses.some((a) => !a.includes(':'))) {
    out.push({ ...base, dst: `${POD_GATEWAY_V4}/32`, scope: C.RT_SCOPE_LINK, nexthops: [{ ifindex, onlink: false }] });
    out.push({ ...base, dst: '0.0.0.0/0', scope: C.RT_SCOPE_UNIVERSE, nexthops: [{ gateway: POD_GATEWAY_V4, ifindex, onlink: false }] });
  }
  if (addresses.some((a) => a.includes(':'))) {
    out.push({ ...base, dst: '::/0', scope: C.RT_SCOPE_UNIVERSE, nexthops: [{ gateway: POD_GATEWAY_V6, ifindex, onlink: false }] });
  }
  return out;
}

export class PodNetwork {
  private readonly host: KernelPort;
  private readonly podKernel: (netnsPath: string) => KernelPort;

  constructor(opts: PodNetworkOptions = {}) {
    // Writes leave the event loop (a veth takes 8–25 ms of kernel time inside sendmsg); a pod's
    // socket lives for one request, so its receive buffer is small.
    this.host = opts.hostKernel ?? new RtnlKernel({ netns: opts.netns, timeoutMs: 10_000, asyncWrites: true, requestRcvbuf: 4 << 20 });
    this.podKernel = opts.podKernel ?? ((path) => new RtnlKernel({ netns: path, timeoutMs: 10_000, asyncWrites: true, requestRcvbuf: 256 << 10 }));
  }

  async hostLinks(): Promise<Map<string, KernelLink>> {
    return new Map((await this.host.dumpLinks()).map((l) => [l.name, l]));
  }

  private openPod(netns: string): KernelPort {
    try {
      return this.podKernel(netns);
    } catch (e) {
      throw new PodNetworkError('NO_NETNS', `cannot enter network namespace ${netns}: ${(e as Error).message}`, { cause: e });
    }
  }

  private static check(errs: Array<NetlinkError | undefined>, what: string): void {
    const e = errs.find((x) => x !== undefined);
    if (e) throw new PodNetworkError('NETLINK', `${what}: ${e.message}`, { cause: e });
  }

  /** Creates the attachment. On failure nothing is left behind (the host veth is deleted). */
  async setup(s: PodSetup): Promise<PodAttachment> {
    let nsFd: number;
    try {
      nsFd = openSync(s.netns, 'r');
    } catch (e) {
      throw new PodNetworkError('NO_NETNS', `network namespace ${s.netns} does not exist (${(e as NodeJS.ErrnoException).code})`, { cause: e });
    }
    let created = false;
    try {
      const create: KernelOp = {
        op: 'link-set',
        link: { name: s.hostVeth, kind: 'veth', mtu: s.mtu, mac: HOST_VETH_MAC, up: true, veth: { name: s.ifName, netnsFd: nsFd, mtu: s.mtu } },
      };
      let [err] = await this.host.write([create]);
      if (err?.errno === C.EEXIST && await this.deleteHostVeth(s.hostVeth)) {
        // A host side left by an earlier attempt (a crashed ADD, a pod recreated under the same
        // name): it goes, and the veth is made again. (Looked for only on EEXIST: no dump per ADD.)
        [err] = await this.host.write([create]);
      }
      if (err) {
        if (err.errno === C.EEXIST) throw new PodNetworkError('IF_EXISTS', `interface ${s.ifName} already exists in ${s.netns}`, { cause: err });
        throw new PodNetworkError('NETLINK', `create veth ${s.hostVeth} / ${s.ifName}: ${err.message}`, { cause: err });
      }
      created = true;
      const pod = this.openPod(s.netns);
      try {
        const podLink = (await pod.dumpLinks()).find((l) => l.name === s.ifName);
        if (!podLink) throw new PodNetworkError('NETLINK', `${s.ifName} is not in ${s.netns} after the veth was created`);
        const ops: KernelOp[] = [{ op: 'link-set', link: { index: podLink.index, name: s.ifName, up: true } }];
        for (const a of s.addresses) {
          const v6 = a.includes(':');
          ops.push({ op: 'addr-add', addr: { index: podLink.index, address: a, prefixLen: v6 ? 128 : 32, ...(v6 ? { nodad: true } : {}) } });
          ops.push({ op: 'neigh-set', neigh: { family: v6 ? 'inet6' : 'inet', ifindex: podLink.index, dst: v6 ? POD_GATEWAY_V6 : POD_GATEWAY_V4, lladdr: HOST_VETH_MAC, state: C.NUD_PERMANENT, flags: 0 } });
        }
        for (const r of podRoutes(podLink.index, s.addresses)) ops.push({ op: 'route-replace', route: r });
        PodNetwork.check(await pod.write(ops), `configure ${s.ifName} in ${s.netns}`);
        // The node learns the pod's MAC now, as a STALE neighbour: its first packets to the pod go
        // out at once instead of after an ARP/ND exchange, whose first request can be lost while the
        // new veth's queue is still being activated (the kernel's link watch defers that by up to a
        // second: the 1 s outliers of the bench). STALE is still verified by the kernel's usual
        // unicast probe, so a pod that changes its MAC is followed.
        if (podLink.peerIndex && podLink.mac) {
          const neigh: KernelOp[] = s.addresses.map((a) => ({ op: 'neigh-set', neigh: { family: a.includes(':') ? 'inet6' : 'inet', ifindex: podLink.peerIndex!, dst: a, lladdr: podLink.mac!, state: C.NUD_STALE, flags: 0 } }));
          PodNetwork.check(await this.host.write(neigh), `neighbour entries for ${s.hostVeth}`);
        }
        return { hostVeth: s.hostVeth, hostMac: HOST_VETH_MAC, podIndex: podLink.index, podMac: podLink.mac ?? '', routes: podResultRoutes(s.addresses) };
      } finally {
        pod.close();
      }
    } catch (e) {
      if (created) await this.deleteHostVeth(s.hostVeth).catch(() => undefined);
      throw e;
    } finally {
      closeSync(nsFd);
    }
  }

  /** Deletes the host side (and with it the pod side). Idempotent: a missing veth is success. */
  async deleteHostVeth(name: string): Promise<boolean> {
    const l = this.host.getLink ? await this.host.getLink(name) : (await this.hostLinks()).get(name);
    if (!l) return false;
    if (l.kind !== undefined && l.kind !== 'veth') throw new PodNetworkError('NETLINK', `${name} is a ${l.kind} link, not a pod veth: left alone`);
    const [err] = await this.host.write([{ op: 'link-delete', index: l.index, name }]);
    if (err && err.errno !== C.ENODEV) throw new PodNetworkError('NETLINK', `delete ${name}: ${err.message}`, { cause: err });
    return true;
  }

  /** What the attachment looks like now (for CHECK). A missing namespace gives no `pod`. */
  async inspect(netns: string, ifName: string, hostVeth: string): Promise<PodInspection> {
    const out: PodInspection = {};
    const h = (await this.hostLinks()).get(hostVeth);
    if (h) out.host = { mtu: h.mtu, up: h.up, ...(h.mac ? { mac: h.mac } : {}) };
    let pod: KernelPort;
    try {
      pod = this.openPod(netns);
    } catch {
      return out;
    }
    try {
      const l = (await pod.dumpLinks()).find((x) => x.name === ifName);
      if (!l) return out;
      const addresses = (await pod.dumpAddrs(l.index)).filter((a) => !a.address.startsWith('fe80:')).map((a) => `${a.address}/${a.prefixLen}`);
      const routes = (await pod.dumpRoutes(C.RTPROT_STATIC))
        .filter((r) => r.nexthops.some((n) => n.ifindex === l.index))
        .map((r) => ({ dst: r.dst, ...(r.nexthops[0]?.gateway ? { gw: r.nexthops[0].gateway } : {}) }));
      out.pod = { mtu: l.mtu, up: l.up, ...(l.mac ? { mac: l.mac } : {}), addresses, routes };
      return out;
    } finally {
      pod.close();
    }
  }

  close(): void {
    this.host.close();
  }
}

/** The default routes a pod gets, as a CNI result lists them. */
function podResultRoutes(addresses: string[]): Array<{ dst: string; gw: string }> {
  const out: Array<{ dst: string; gw: string }> = [];
  if (addresses.some((a) => !a.includes(':'))) out.push({ dst: '0.0.0.0/0', gw: POD_GATEWAY_V4 });
  if (addresses.some((a) => a.includes(':'))) out.push({ dst: '::/0', gw: POD_GATEWAY_V6 });
  return out;
}
