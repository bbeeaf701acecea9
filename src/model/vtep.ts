/**
 * A node's VXLAN tunnel endpoint, derived from its identity so that every node computes every other
 * node's without asking (and the owner configures the same one on its device):
 *
 * - MAC: the first 6 bytes of SHA-1("petrel-vtep:<node name>") with the multicast bit cleared and the
 *   locally-administered bit set (IEEE 802 §8.2.2): never a vendor-assigned address, the same at every
 *   start of the node's agent.
 * - Address: the network address of the node's first IPv4 pod CIDR of /30 or shorter (host-local IPAM
 *   never hands it to a pod); none for a /31, a /32 or a node with only IPv6 blocks.
 *
 * The agent also publishes both as Node annotations (agent/node-annotator.ts), which win when present;
 * without them the Node converts (k8s/resources.ts) to these values, so a new block is reachable
 * through VXLAN as soon as its BGP route and podCIDR are known, and the owner's annotation patch,
 * when it comes back through the API server, converts to the same NodeInfo and wakes no agent.
 */
import { createHash } from 'node:crypto';
import { formatIp, parsePrefix } from './ip.js';

const macs = new Map<string, string>();
const MAC_CACHE_MAX = 20_000;

export function vtepMac(nodeName: string): string {
  const hit = macs.get(nodeName);
  if (hit !== undefined) return hit;
  const b = createHash('sha1').update(`petrel-vtep:${nodeName}`).digest().subarray(0, 6);
  b[0] = (b[0] & 0xfe) | 0x02;
  const mac = [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
  if (macs.size >= MAC_CACHE_MAX) macs.clear(); // node names churn over months: stay bounded
  macs.set(nodeName, mac);
  return mac;
}

/** The VTEP address for these pod CIDRs (see the header), or undefined. Malformed entries are skipped. */
export function vtepAddressOf(podCIDRs: readonly unknown[]): string | undefined {
  for (const c of podCIDRs) {
    if (typeof c !== 'string') continue;
    try {
      const p = parsePrefix(c, true);
      // A /31 or /32 has no address the pod IPAM leaves free (host-local allocates from the network
      // address itself on point-to-point ranges): such a block gets no VTEP address.
      if (p.family === 'ipv4') return p.len <= 30 ? formatIp(p.addr) : undefined;
    } catch {
      // a malformed podCIDR: the topology reports it; look at the next one
    }
  }
  return undefined;
}
