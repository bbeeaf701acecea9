/**
 * The CNI protocol (containernetworking/cni SPEC.md, versions 0.3.0 to 1.1.0) as plain data: a
 * request from the runtime's environment and stdin, a result or an error object back. Pure: no I/O.
 *
 * What a request must carry, by verb (SPEC "Parameters"):
 *   ADD, CHECK  CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME; CHECK also prevResult (config)
 *   DEL         CNI_CONTAINERID, CNI_IFNAME (CNI_NETNS may be empty: the netns can be gone)
 *   GC          cni.dev/valid-attachments (config), version 1.1.0
 *   STATUS      the configuration only, version 1.1.0
 * Errors are the spec's error object: 1 incompatible version, 4 invalid environment variables,
 * 6 failed to decode content, 7 invalid network config, 11 try again later, 50 plugin not available
 * (STATUS); 100 and up are Petrel's own (CniCode). The message names the field or the resource.
 */

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export const PLUGIN_TYPE = 'petrel';

export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  NotAvailable: 50,
  /** Petrel: an unexpected internal failure (a bug, or the kernel refused something). */
  Internal: 100,
  /** Petrel: the node's pod CIDR has no free address. */
  BlockExhausted: 101,
  /** Petrel: CNI_NETNS does not name a network namespace. */
  NoNetns: 102,
  /** Petrel: CNI_IFNAME already exists inside the namespace. */
  InterfaceExists: 103,
  /** Petrel: CHECK found the attachment different from prevResult. */
  CheckFailed: 104,
  /** Petrel: a netlink request failed. */
  Netlink: 105,
} as const;

export class CniError extends Error {
  readonly code: number;
  readonly details: string | undefined;
  constructor(code: number, msg: string, details?: string) {
    super(msg);
    this.name = 'CniError';
    this.code = code;
    this.details = details;
  }
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';
const COMMANDS: readonly string[] = ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION'];

export interface CniAttachmentRef {
  containerId: string;
  ifName: string;
}

export interface PetrelNetConf {
  cniVersion: string;
  name: string;
  type: string;
  /** Agent socket directory and state directory (written by `petrel install-cni`). */
  runDir?: string;
  stateDir?: string;
  /** Overrides the MTU the agent computes (uplink minus encapsulation). */
  mtu?: number;
  prevResult?: CniResult;
  validAttachments?: CniAttachmentRef[];
  /** The raw object, for plugins chained after us (we pass nothing else on). */
  raw: Record<string, unknown>;
}

export interface CniRequest {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS as pairs (K8S_POD_NAMESPACE, K8S_POD_NAME, ...). */
  args: Record<string, string>;
  path: string;
  config: PetrelNetConf;
}

export interface CniInterface { name: string; mac?: string; mtu?: number; sandbox?: string }
export interface CniIp { address: string; gateway?: string; interface?: number; version?: string }
export interface CniRoute { dst: string; gw?: string }
export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips: CniIp[];
  routes?: CniRoute[];
  dns?: Record<string, unknown>;
}

/** Parses "K=V;K=V" (CNI_ARGS). A pair without '=' is an invalid environment (code 4). */
export function parseCniArgs(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!s) return out;
  for (const pair of s.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CniError(CniCode.InvalidEnvironment, 'CNI_ARGS is malformed', `expected KEY=VALUE pairs separated by ';', got '${clip(pair)}'`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

export function clip(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

function versionTuple(v: string): number[] {
  return v.split('.').map((x) => Number(x));
}

export function versionAtLeast(v: string, min: string): boolean {
  const a = versionTuple(v);
  const b = versionTuple(min);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

const IFNAME_RE = /^[^\s/:]{1,15}$/;

/** Decodes and validates the network configuration (stdin). */
export function parseNetConf(stdin: Buffer | string, command: CniCommand): PetrelNetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof stdin === 'string' ? stdin : stdin.toString('utf8'));
  } catch (e) {
    throw new CniError(CniCode.DecodeFailure, 'the network configuration on stdin is not JSON', clip((e as Error).message, 200));
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CniError(CniCode.DecodeFailure, 'the network configuration must be a JSON object');
  const o = raw as Record<string, unknown>;
  const str = (k: string, required: boolean): string | undefined => {
    const v = o[k];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || v === '') throw new CniError(CniCode.InvalidConfig, `network configuration field "${k}" must be a non-empty string`);
    return v;
  };
  const cniVersion = str('cniVersion', true)!;
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion)) {
    throw new CniError(CniCode.IncompatibleVersion, `cniVersion ${clip(cniVersion, 20)} is not supported`, `supported: ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  const conf: PetrelNetConf = { cniVersion, name: str('name', true)!, type: str('type', true)!, raw: o };
  if (conf.type !== PLUGIN_TYPE) throw new CniError(CniCode.InvalidConfig, `network configuration "type" is "${clip(conf.type, 40)}", expected "${PLUGIN_TYPE}"`);
  const runDir = str('runDir', false);
  const stateDir = str('stateDir', false);
  if (runDir !== undefined) conf.runDir = runDir;
  if (stateDir !== undefined) conf.stateDir = stateDir;
  if (o.mtu !== undefined) {
    if (typeof o.mtu !== 'number' || !Number.isInteger(o.mtu) || o.mtu < 576 || o.mtu > 65535) {
      throw new CniError(CniCode.InvalidConfig, 'network configuration field "mtu" must be an integer 576..65535');
    }
    conf.mtu = o.mtu;
  }
  if ((command === 'GC' || command === 'STATUS') && !versionAtLeast(cniVersion, '1.1.0')) {
    throw new CniError(CniCode.IncompatibleVersion, `${command} needs cniVersion 1.1.0 or later, the configuration says ${cniVersion}`);
  }
  if (command === 'CHECK') {
    if (!versionAtLeast(cniVersion, '0.4.0')) throw new CniError(CniCode.IncompatibleVersion, `CHECK needs cniVersion 0.4.0 or later, the configuration says ${cniVersion}`);
    conf.prevResult = parsePrevResult(o.prevResult);
  }
  if (command === 'GC') {
    const va = o['cni.dev/valid-attachments'] ?? [];
    if (!Array.isArray(va)) throw new CniError(CniCode.InvalidConfig, '"cni.dev/valid-attachments" must be an array');
    conf.validAttachments = va.map((a, i) => {
      if (typeof a !== 'object' || a === null) throw new CniError(CniCode.InvalidConfig, `"cni.dev/valid-attachments"[${i}] must be an object`);
      const r = a as Record<string, unknown>;
      if (typeof r.containerID !== 'string' || typeof r.ifname !== 'string') {
        throw new CniError(CniCode.InvalidConfig, `"cni.dev/valid-attachments"[${i}] needs string fields containerID and ifname`);
      }
      return { containerId: r.containerID, ifName: r.ifname };
    });
  }
  return conf;
}

function parsePrevResult(v: unknown): CniResult {
  if (typeof v !== 'object' || v === null) throw new CniError(CniCode.InvalidConfig, 'CHECK needs "prevResult" in the network configuration');
  const r = v as Record<string, unknown>;
  if (!Array.isArray(r.ips)) throw new CniError(CniCode.InvalidConfig, '"prevResult.ips" must be an array');
  const ips: CniIp[] = r.ips.map((x, i) => {
    const ip = x as Record<string, unknown>;
    if (typeof ip?.address !== 'string') throw new CniError(CniCode.InvalidConfig, `"prevResult.ips"[${i}].address must be a string`);
    return { address: ip.address, ...(typeof ip.gateway === 'string' ? { gateway: ip.gateway } : {}), ...(typeof ip.interface === 'number' ? { interface: ip.interface } : {}) };
  });
  const interfaces: CniInterface[] = Array.isArray(r.interfaces)
    ? r.interfaces.map((x) => {
      const f = x as Record<string, unknown>;
      return { name: String(f?.name ?? ''), ...(typeof f?.mac === 'string' ? { mac: f.mac } : {}), ...(typeof f?.sandbox === 'string' ? { sandbox: f.sandbox } : {}) };
    })
    : [];
  const routes: CniRoute[] = Array.isArray(r.routes) ? r.routes.map((x) => ({ dst: String((x as CniRoute)?.dst ?? ''), ...(typeof (x as CniRoute)?.gw === 'string' ? { gw: (x as CniRoute).gw } : {}) })) : [];
  return { cniVersion: String(r.cniVersion ?? ''), interfaces, ips, routes };
}

/** A request from the CNI_* environment and stdin (what a runtime gives a plugin). */
export function parseRequest(env: Record<string, string | undefined>, stdin: Buffer | string): CniRequest {
  const command = env.CNI_COMMAND;
  if (!command) throw new CniError(CniCode.InvalidEnvironment, 'CNI_COMMAND is not set');
  if (!COMMANDS.includes(command)) throw new CniError(CniCode.InvalidEnvironment, `CNI_COMMAND "${clip(command, 20)}" is not one of ${COMMANDS.join(', ')}`);
  const cmd = command as CniCommand;
  const need = (k: string): string => {
    const v = env[k];
    if (!v) throw new CniError(CniCode.InvalidEnvironment, `${k} is required for ${cmd}`);
    return v;
  };
  const containerId = cmd === 'ADD' || cmd === 'DEL' || cmd === 'CHECK' ? need('CNI_CONTAINERID') : env.CNI_CONTAINERID ?? '';
  const netns = cmd === 'ADD' || cmd === 'CHECK' ? need('CNI_NETNS') : env.CNI_NETNS ?? '';
  const ifName = cmd === 'ADD' || cmd === 'DEL' || cmd === 'CHECK' ? need('CNI_IFNAME') : env.CNI_IFNAME ?? '';
  if (ifName && !IFNAME_RE.test(ifName)) throw new CniError(CniCode.InvalidEnvironment, `CNI_IFNAME "${clip(ifName, 20)}" is not a valid interface name (1-15 characters, no '/', ':' or spaces)`);
  if (containerId && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/.test(containerId)) {
    throw new CniError(CniCode.InvalidEnvironment, `CNI_CONTAINERID "${clip(containerId, 40)}" is not a valid container id (alphanumerics, '_', '.', '-')`);
  }
  if (netns && !netns.startsWith('/')) throw new CniError(CniCode.InvalidEnvironment, `CNI_NETNS "${clip(netns, 60)}" must be an absolute path`);
  const args = parseCniArgs(env.CNI_ARGS);
  const config = parseNetConf(stdin, cmd);
  return { command: cmd, containerId, netns, ifName, args, path: env.CNI_PATH ?? '', config };
}

/** The result in the form the request's cniVersion expects (0.3.x/0.4.0 carry ips[].version). */
export function formatResult(r: CniResult, cniVersion: string): CniResult {
  const legacy = !versionAtLeast(cniVersion, '1.0.0');
  return {
    cniVersion,
    interfaces: r.interfaces ?? [],
    ips: r.ips.map((ip) => ({ ...(legacy ? { version: ip.address.includes(':') ? '6' : '4' } : {}), ...ip })),
    routes: r.routes ?? [],
    dns: r.dns ?? {},
  };
}

export function errorObject(e: CniError, cniVersion: string): Record<string, unknown> {
  return { cniVersion, code: e.code, msg: e.message, ...(e.details ? { details: e.details } : {}) };
}

export function versionResult(cniVersion: string): Record<string, unknown> {
  return { cniVersion, supportedVersions: [...SUPPORTED_VERSIONS] };
}
