/**
 * What the demo (`npm run demo` = `petrel lab up`) needs from the machine, in one place: the
 * preflight of `npm run demo` (scripts/demo-preflight.ts) installs what is missing through apt-get
 * before anything is built, and `petrel lab up` refuses to start without it, saying what is missing
 * and which Debian package has it. No nftables: the lab's pool has natOutgoing off. No procps:
 * sysctls are written to /proc/sys inside the namespaces (netns.ts).
 */
import { hasCommand } from './netns.js';

export interface Requirement {
  command: string;
  /** The Debian package that provides it. */
  pkg: string;
  why: string;
}

/** Building the netlink addon (node-gyp) and the CNI plugin executable (static: gcc's libc6-dev). */
export const BUILD_REQUIREMENTS: readonly Requirement[] = [
  { command: 'g++', pkg: 'g++', why: 'compiles the netlink addon (node-gyp)' },
  { command: 'cc', pkg: 'gcc', why: 'compiles the CNI plugin executable' },
  { command: 'make', pkg: 'make', why: 'runs the addon build (node-gyp)' },
  { command: 'python3', pkg: 'python3', why: 'runs node-gyp' },
];

/** Running the lab. */
export const LAB_REQUIREMENTS: readonly Requirement[] = [
  { command: 'ip', pkg: 'iproute2', why: 'creates the namespaces, veths, bridges and addresses' },
  { command: 'ping', pkg: 'iputils-ping', why: 'the pod-to-pod ping matrix' },
];

export const MIN_NODE = [20, 19] as const;

export function missingRequirements(reqs: readonly Requirement[], has: (cmd: string) => boolean = hasCommand): Requirement[] {
  return reqs.filter((r) => !has(r.command));
}

/** One line: "ping (Debian package iputils-ping: the pod-to-pod ping matrix), ...". */
export function describeMissing(missing: readonly Requirement[]): string {
  return missing.map((r) => `${r.command} (Debian package ${r.pkg}: ${r.why})`).join(', ');
}

export function nodeIsRecentEnough(version = process.versions.node): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
}

/** Why `ping` failed, from its exit status and stderr (iputils: 1 = no reply, 2 = error). */
export function pingFailureReason(status: number, stderr: string): string {
  if (status === 1) return 'no reply';
  const line = stderr.split('\n').map((l) => l.trim()).find(Boolean);
  return line ? line : `ping exited with status ${status}`;
}
