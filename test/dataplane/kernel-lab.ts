/**
 * The three-node lab the dataplane's kernel tests (and the IPIP scenario in the VM) share:
 *   n1 192.0.2.11 and n2 192.0.2.12 on segment a (L2-adjacent), n3 198.51.100.13 on segment b behind
 *   the router; one pod per node (198.18.N.2 in block 198.18.N.0/26, host veth named by the
 *   dataplane's rule); an outside host `ext` 198.51.100.50 on segment b, in no pool.
 * Each node gets a Dataplane programming its namespace through netlink, in this process.
 */
import { NetnsLab, uniquePrefix, removeStaleNamespaces, type LabProcess } from '../../src/lab/netns.js';
import { LabNetwork } from '../../src/lab/topology.js';
import { createDataplane, hostVethName, vtepMac, type Dataplane } from '../../src/dataplane/index.js';
import type { ReachMode, RemoteBlockRoute } from '../../src/model/routes.js';

export const PROTO = 97;

export interface LabNode {
  name: string;
  ns: string;
  address: string;
  block: string;
  vtep: string;
  pod: { ns: string; ip: string; ifName: string };
  dp: Dataplane;
}

export interface DpLab {
  lab: NetnsLab;
  net: LabNetwork;
  nodes: LabNode[];
  ext: string;
  destroy(): Promise<void>;
}

const NODES = [
  { name: 'n1', segment: 'a', address: '192.0.2.11', idx: 1 },
  { name: 'n2', segment: 'a', address: '192.0.2.12', idx: 2 },
  { name: 'n3', segment: 'b', address: '198.51.100.13', idx: 3 },
];

export function buildLab(tag: string, dpOpts: { resyncIntervalMs?: number; natCheckIntervalMs?: number } = {}): DpLab {
  process.env.PETREL_REQUIRE_NETNS = '1';
  removeStaleNamespaces(`${tag}`);
  const lab = new NetnsLab(uniquePrefix(tag));
  const nodes: LabNode[] = [];
  try {
    const net = new LabNetwork(lab);
    for (const n of NODES) {
      const ns = net.addHost({ name: n.name, segment: n.segment, address: n.address });
      const ifName = hostVethName('default', `pod${n.idx}`);
      const ip = `198.18.${n.idx}.2`;
      const podNs = net.addPod({ namespace: 'default', name: `pod${n.idx}`, node: n.name, ip, hostIfName: ifName });
      const log = process.env.PETREL_TEST_LOG ? consoleLogger(n.name) : undefined;
      const dp = createDataplane({ log, netns: ns, uplink: 'eth0', nodeAddress: n.address, nodeName: n.name, protocol: PROTO, debounceMs: 5, graceMs: 2000, ...dpOpts });
      nodes.push({ name: n.name, ns, address: n.address, block: `198.18.${n.idx}.0/26`, vtep: `198.18.${n.idx}.1`, pod: { ns: podNs, ip, ifName }, dp });
    }
    const ext = net.addHost({ name: 'ext', segment: 'b', address: '198.51.100.50' });
    return {
      lab, net, nodes, ext,
      async destroy() {
        for (const n of nodes) await n.dp.stop().catch(() => undefined);
        await lab.destroy();
      },
    };
  } catch (e) {
    for (const n of nodes) void n.dp.stop().catch(() => undefined);
    void lab.destroy();
    throw e;
  }
}

/** Remote blocks of `self` toward every other node: `mode(self, other)` picks direct/ipip/vxlan. */
/** PETREL_TEST_LOG=1: every dataplane log line on stderr, prefixed with the node (debugging aid). */
function consoleLogger(node: string) {
  const out = (lvl: string) => (o: object, m?: string) => console.error(`# ${node} ${lvl} ${m ?? ''} ${JSON.stringify(o)}`);
  return { debug: out('debug'), info: out('info'), warn: out('warn'), error: out('error') };
}

export function remoteBlocksFor(self: LabNode, all: LabNode[], mode: (a: LabNode, b: LabNode) => ReachMode): RemoteBlockRoute[] {
  return all.filter((o) => o !== self).map((o) => {
    const m = mode(self, o);
    return { prefix: o.block, node: o.name, nextHop: o.address, mode: m, ...(m === 'vxlan' ? { vtep: { address: o.vtep, mac: vtepMac(o.name) } } : {}) };
  });
}

export const crossSubnet = (a: LabNode, b: LabNode): ReachMode => (a.address.startsWith('192.0.2.') === b.address.startsWith('192.0.2.') ? 'direct' : 'vxlan');

/** `ip -j route show proto 97` of a namespace, as comparable strings "dst type dev via flags". */
export function ourRoutes(lab: NetnsLab, ns: string, proto = PROTO): string[] {
  const rows = JSON.parse(lab.ip(ns, '-j', 'route', 'show', 'proto', String(proto)) || '[]') as Array<Record<string, unknown>>;
  return rows.map((r) => {
    const hops = (r.nexthops as Array<Record<string, unknown>> | undefined) ?? [r];
    const nh = hops.map((h) => `${h.gateway ?? ''}@${h.dev ?? ''}${(h.flags as string[] | undefined)?.includes('onlink') ? ':onlink' : ''}`).sort().join(',');
    return `${r.dst} ${r.type ?? 'unicast'} ${r.scope ?? 'global'} ${nh}`;
  }).sort();
}

/** Every route of the namespace (all protocols), for "untouched" comparisons. */
export function allRoutes(lab: NetnsLab, ns: string): string {
  return lab.ip(ns, 'route', 'show', 'table', 'all');
}

export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000, stepMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < Math.ceil(timeoutMs / stepMs) + 1; i++) {
    if (await check()) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** A UDP listener in `ns` that prints the source address of each datagram; stopped by the lab. */
export function udpListener(lab: NetnsLab, ns: string, addr: string, port: number): LabProcess {
  const js = `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>console.log('FROM '+r.address+' '+m));s.bind(${port},'${addr}',()=>console.log('READY'));setTimeout(()=>process.exit(0),120000).unref();`;
  return lab.spawn('udp-listener', ns, process.execPath, ['-e', js]);
}
