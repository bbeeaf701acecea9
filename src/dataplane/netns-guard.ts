/**
 * The namespace safety guard (PETREL_REQUIRE_NETNS=1): a dataplane must never program the host's
 * network namespace by accident. The netlink socket's namespace (SIOCGSKNS, read by the addon) is
 * compared with:
 *
 * - PID 1's namespace (/proc/1/ns/net), when this process may read it: that is the host's, refused.
 *   Any other namespace is allowed — including the process's own, so an agent started inside its
 *   node namespace (`ip netns exec NODE petrel agent --netns NODE`, as the lab does) may program it.
 * - Inside a container /proc/1/ns/net is unreadable (PID 1 belongs to another user namespace or the
 *   proc mount hides it), so the host cannot be recognised. Then the process's own namespace is
 *   refused, unless the caller named the namespace explicitly (`netns`): a name is a deliberate
 *   choice, an absent option is how tests ended up in the root namespace.
 *
 * What burned us: the first rule refused the own namespace always, which refused the lab's agents
 * (started inside their node namespace) and the lab had to run without the variable.
 */
import { statSync } from 'node:fs';

export interface NamespaceFacts {
  /** Inode of the socket's namespace (<= 0: unknown). */
  socketInode: number;
  /** Inode of /proc/1/ns/net, undefined when unreadable. */
  pid1Inode: number | undefined;
  /** Inode of /proc/self/ns/net. */
  selfInode: number | undefined;
  /** The namespace was given by name or path (the `netns` option). */
  explicit: boolean;
}

/** Why the namespace is refused, or undefined when it may be programmed. */
export function namespaceRefusal(f: NamespaceFacts): string | undefined {
  if (f.socketInode <= 0) return `the socket's network namespace is unknown (inode ${f.socketInode})`;
  if (f.pid1Inode !== undefined) {
    return f.socketInode === f.pid1Inode ? `inode ${f.socketInode} is PID 1's network namespace (the host's)` : undefined;
  }
  if (f.socketInode === f.selfInode && !f.explicit) {
    return `inode ${f.socketInode} is this process's own namespace, PID 1's is unreadable (a container?) and no netns was named`;
  }
  return undefined;
}

function inodeOf(path: string): number | undefined {
  try { return statSync(path).ino; } catch { return undefined; }
}

/** The facts as this process sees them now. */
export function namespaceFacts(socketInode: number, explicit: boolean): NamespaceFacts {
  return { socketInode, pid1Inode: inodeOf('/proc/1/ns/net'), selfInode: inodeOf('/proc/self/ns/net'), explicit };
}
