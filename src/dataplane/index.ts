/**
 * src/dataplane — turns desired routing state into kernel state and keeps it so.
 *
 *   netlink/      our rtnetlink codec (codec.ts) over our own AF_NETLINK socket (native/netlink.c
 *                 via native.ts, socket.ts); rtnl.ts is the KernelPort over it
 *   kernel.ts     the narrow KernelPort interface the reconcilers use (fake in test/dataplane/)
 *   route-table.ts  Felix-style desired-vs-kernel route reconciler (ownership by rtm_protocol)
 *   tunnels.ts    tunl0 (IPIP) and the VXLAN device;  nat.ts  the natOutgoing nftables table
 *   names.ts      host veth names and VTEP MACs;      dataplane.ts  composes all of it
 *   pod-network.ts  a pod's veth, addresses and routes inside its namespace (for the CNI plugin)
 * Why our own codec and addon rather than the `netlink` npm package: docs/dataplane.md.
 * This layer never imports bgp/ or k8s/: its input is plain data from model/.
 */
export { createDataplane, DataplaneError, DEFAULT_PROTOCOL, DEFAULT_VXLAN_DEVICE, DEFAULT_VXLAN_PORT } from './dataplane.js';
export type { Dataplane, DataplaneOptions, DataplaneStatus, ApplyReport } from './dataplane.js';
export type { DataplaneMetrics, Logger, RouteClass, DriftKind } from './log.js';
export { noopMetrics, silentLogger } from './log.js';
export { hostVethName, containerVethName, vtepMac, DEFAULT_VETH_PREFIX } from './names.js';
export { PodNetwork, PodNetworkError, HOST_VETH_MAC, POD_GATEWAY_V4, POD_GATEWAY_V6 } from './pod-network.js';
export type { PodSetup, PodAttachment, PodInspection } from './pod-network.js';
export { renderNatTable } from './nat.js';
export type { NftRunner } from './nat.js';
export type { KernelPort } from './kernel.js';
export { NetlinkError, NetlinkStateError } from './netlink/errors.js';
export type { LocalPodRoute, TunnelSettings, NatPoolSpec, RemoteBlockRoute, LocalBlock } from '../model/routes.js';
