/**
 * `petrel install-cni`: puts the plugin executable into the runtime's CNI bin directory and writes
 * `10-petrel.conflist` into its configuration directory — what the DaemonSet's init container runs
 * on every node (Calico's install-cni does the same job).
 *
 * Each file is written beside its destination and renamed over it (a runtime never reads half a
 * file or executes half a binary; one executing the old binary keeps its inode). Idempotent; it
 * touches only `petrel` and `10-petrel.conflist`. The conflist names the agent's run and state
 * directories, so the executable reaches this node's agent (several lab nodes share one machine).
 * `portmap` is chained when it is in the bin directory, so hostPort works as with Calico.
 */
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SUPPORTED_VERSIONS } from './spec.js';

export const CONFLIST_NAME = '10-petrel.conflist';
export const DEFAULT_BIN_DIR = '/opt/cni/bin';
export const DEFAULT_CONF_DIR = '/etc/cni/net.d';
export const DEFAULT_STATE_DIR = '/var/lib/petrel';
export const DEFAULT_RUN_DIR = '/var/run/petrel';

export interface InstallOptions {
  /** The built executable (native/build/petrel-cni). */
  plugin: string;
  binDir: string;
  confDir: string;
  stateDir: string;
  runDir: string;
  cniVersion?: string;
  mtu?: number;
  networkName?: string;
}

export interface InstallResult {
  binary: string;
  conflist: string;
  chained: string[];
  changed: { binary: boolean; conflist: boolean };
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

export function conflist(o: Omit<InstallOptions, 'plugin' | 'binDir' | 'confDir'>, portmap: boolean): Record<string, unknown> {
  return {
    cniVersion: o.cniVersion ?? '1.0.0',
    name: o.networkName ?? 'petrel',
    plugins: [
      { type: 'petrel', runDir: o.runDir, stateDir: o.stateDir, ...(o.mtu ? { mtu: o.mtu } : {}) },
      ...(portmap ? [{ type: 'portmap', snat: true, capabilities: { portMappings: true } }] : []),
    ],
  };
}

async function replaceIfDifferent(dest: string, data: Buffer, mode: number): Promise<boolean> {
  const cur = await readFile(dest).catch(() => undefined);
  if (cur && cur.equals(data)) {
    await chmod(dest, mode);
    return false;
  }
  const tmp = join(dest, '..', `.${process.pid}.petrel-install.tmp`);
  try {
    await writeFile(tmp, data, { mode });
    await chmod(tmp, mode);
    await rename(tmp, dest);
  } finally {
    await rm(tmp, { force: true });
  }
  return true;
}

export async function installCni(o: InstallOptions): Promise<InstallResult> {
  if (o.cniVersion && !(SUPPORTED_VERSIONS as readonly string[]).includes(o.cniVersion)) {
    throw new Error(`--cni-version ${o.cniVersion}: supported are ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  if (!(await exists(o.plugin))) throw new Error(`plugin executable ${o.plugin} not found (built by \`npm run build:native\`)`);
  await mkdir(o.binDir, { recursive: true });
  await mkdir(o.confDir, { recursive: true });
  const binary = join(o.binDir, 'petrel');
  const binChanged = await replaceIfDifferent(binary, await readFile(o.plugin), 0o755);
  const portmap = await exists(join(o.binDir, 'portmap'));
  const file = join(o.confDir, CONFLIST_NAME);
  const text = `${JSON.stringify(conflist(o, portmap), null, 2)}\n`;
  const confChanged = await replaceIfDifferent(file, Buffer.from(text), 0o644);
  return { binary, conflist: file, chained: portmap ? ['portmap'] : [], changed: { binary: binChanged, conflist: confChanged } };
}


