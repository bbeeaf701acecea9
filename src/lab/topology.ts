/**
 * The lab's network, built from network namespaces (the shape tests, benchmarks and the demo share):
 *
 *   switch namespace "sw": one bridge per L2 segment (segA 192.0.2.0/24, segB 198.51.100.0/24)
 *   router namespace "rtr": one leg on each segment, forwarding; nodes in different segments are
 *       not L2-adjacent, so CrossSubnet encapsulation is exercised
 *   node namespaces "nN": eth0 on a segment, default route via the segment's router address
 *   pod namespaces "nN-pM": eth0 (a /32 from the node's block) with a veth to its node, default route
 *       via 169.254.1.1 onlink, host side with proxy ARP — how Calico wires pods; the lab plays kubelet
 *       and the CNI plugin
 *   service namespace "api": on segA, holds the embedded API server (and Prometheus when asked)
 *
 * Nothing is created in the root namespace. All names come from one NetnsLab, so destroy() removes all.
 */
import { NetnsLab } from './netns.js';

export interface SegmentSpec {
  name: string; // short: 'a', 'b'
  cidr: string; // e.g. 192.0.2.0/24
  router: string; // router's address on it, e.g. 192.0.2.254
}

export interface HostSpec {
  name: string; // node name (Kubernetes) and short namespace name
  segment: string;
  address: string; // on the segment
}

export interface PodSpec {
  namespace: string; // Kubernetes namespace
  name: string;
  node: string;
  ip: string;
  hostIfName: string; // host-side veth name (the dataplane's naming rule)
}

export const DEFAULT_SEGMENTS: SegmentSpec[] = [
  { name: 'a', cidr: '192.0.2.0/24', router: '192.0.2.254' },
  { name: 'b', cidr: '198.51.100.0/24', router: '198.51.100.254' },
];

export class LabNetwork {
  readonly lab: NetnsLab;
  readonly segments: SegmentSpec[];
  private readonly swNs: string;
  private readonly rtrNs: string;
  private readonly hostNs = new Map<string, string>();
  private readonly podNs = new Map<string, string>();
  private linkSeq = 0;

  constructor(lab: NetnsLab, segments: SegmentSpec[] = DEFAULT_SEGMENTS) {
    this.lab = lab;
    this.segments = segments;
    this.swNs = lab.addNs('sw');
    this.rtrNs = lab.addNs('rtr');
    lab.sysctl(this.rtrNs, 'net.ipv4.ip_forward', '1');
    for (const seg of segments) {
      lab.bridge(this.swNs, `br-${seg.name}`);
      const sw = this.swPort();
      lab.veth(this.rtrNs, `eth-${seg.name}`, this.swNs, sw);
      lab.attach(this.swNs, sw, `br-${seg.name}`);
      lab.addr(this.rtrNs, `eth-${seg.name}`, `${seg.router}/${seg.cidr.split('/')[1]}`);
    }
  }

  private swPort(): string {
    return `p${this.linkSeq++}`;
  }

  segment(name: string): SegmentSpec {
    const s = this.segments.find((x) => x.name === name);
    if (!s) throw new Error(`no lab segment ${name}`);
    return s;
  }

  /** A host (node, reflector, API server) namespace with eth0 on `segment`. Returns the namespace name. */
  addHost(h: HostSpec): string {
    const seg = this.segment(h.segment);
    const ns = this.lab.addNs(h.name);
    const sw = this.swPort();
    this.lab.veth(ns, 'eth0', this.swNs, sw);
    this.lab.attach(this.swNs, sw, `br-${seg.name}`);
    this.lab.addr(ns, 'eth0', `${h.address}/${seg.cidr.split('/')[1]}`);
    this.lab.ip(ns, 'route', 'add', 'default', 'via', seg.router);
    this.lab.sysctl(ns, 'net.ipv4.ip_forward', '1');
    this.hostNs.set(h.name, ns);
    return ns;
  }

  nsOf(host: string): string {
    const ns = this.hostNs.get(host);
    if (!ns) throw new Error(`no lab host ${host}`);
    return ns;
  }

  /** A pod namespace wired to its node as a CNI plugin would (veth, /32, proxy ARP, 169.254.1.1 gateway). */
  addPod(p: PodSpec): string {
    const nodeNs = this.nsOf(p.node);
    const ns = this.lab.addNs(`${p.node}-${p.name}`.slice(0, 40));
    this.lab.veth(ns, 'eth0', nodeNs, p.hostIfName);
    this.lab.addr(ns, 'eth0', `${p.ip}/32`);
    this.lab.ip(ns, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link');
    this.lab.ip(ns, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0', 'onlink');
    this.lab.sysctl(nodeNs, `net.ipv4.conf.${p.hostIfName}.proxy_arp`, '1');
    this.podNs.set(`${p.namespace}/${p.name}`, ns);
    return ns;
  }

  /** An empty pod namespace (loopback up), as a runtime makes one before it calls the CNI plugin. */
  addPodNs(node: string, namespace: string, name: string): string {
    this.nsOf(node);
    const ns = this.lab.addNs(`${node}-${name}`.slice(0, 40));
    this.podNs.set(`${namespace}/${name}`, ns);
    return ns;
  }

  forgetPod(namespace: string, name: string): void {
    this.podNs.delete(`${namespace}/${name}`);
  }

  removePod(namespace: string, name: string): void {
    const ns = this.podNs.get(`${namespace}/${name}`);
    if (!ns) return;
    this.lab.exec(ns, 'ip', ['link', 'del', 'eth0']);
    this.podNs.delete(`${namespace}/${name}`);
  }

  podNsOf(namespace: string, name: string): string | undefined {
    return this.podNs.get(`${namespace}/${name}`);
  }

  /** One ping from a pod (or host) namespace; true when answered. */
  ping(fromNs: string, ip: string, timeoutS = 1): boolean {
    return this.lab.tryExec(fromNs, 'ping', ['-c', '1', '-W', String(timeoutS), '-q', ip]).status === 0;
  }
}
