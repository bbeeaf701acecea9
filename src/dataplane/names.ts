/**
 * Names and addresses derived from identities, so that they are stable across restarts and nodes
 * can compute each other's without asking.
 *
 * Host-side veth of a pod: `prefix + first (15 - prefix.length) hex digits of
 * SHA-1("<namespace>.<name>")`. With the default prefix "pet" that is 3 + 12 = 15 characters,
 * the kernel's IFNAMSIZ - 1 limit. (Calico's rule is the same shape: "cali" + 11 hex digits.)
 * The CNI plugin and the agent must use the same prefix.
 *
 * VTEP MAC and address of a node: model/vtep.ts.
 */
import { createHash } from 'node:crypto';
import { PetrelError } from '../errors.js';

export const DEFAULT_VETH_PREFIX = 'pet';
const IFNAMSIZ = 16;

export function hostVethName(namespace: string, pod: string, prefix = DEFAULT_VETH_PREFIX): string {
  const room = IFNAMSIZ - 1 - prefix.length;
  if (prefix.length === 0 || room < 4 || !/^[A-Za-z0-9_.-]+$/.test(prefix)) {
    throw new PetrelError('CONFIG_INVALID', `veth prefix "${prefix}" must be 1-11 characters of [A-Za-z0-9_.-]`);
  }
  return prefix + createHash('sha1').update(`${namespace}.${pod}`).digest('hex').slice(0, room);
}

export { vtepMac } from '../model/vtep.js';

/**
 * Host-side veth of an attachment made outside Kubernetes (no K8S_POD_NAMESPACE/K8S_POD_NAME in
 * CNI_ARGS, e.g. `ctr run --cni`): the same prefix and length, from the container ID and interface.
 * The "cid:" in the hashed text keeps it apart from every "<namespace>.<name>" of a pod.
 */
export function containerVethName(containerId: string, ifName: string, prefix = DEFAULT_VETH_PREFIX): string {
  const room = IFNAMSIZ - 1 - prefix.length;
  hostVethName('x', 'y', prefix); // validates the prefix
  return prefix + createHash('sha1').update(`cid:${containerId}/${ifName}`).digest('hex').slice(0, room);
}
