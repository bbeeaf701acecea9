/**
 * `petrel install-cni`: copies the CNI plugin executable and writes 10-petrel.conflist (src/cni/install.ts).
 * The DaemonSet's init container runs it with the host's /opt/cni/bin and /etc/cni/net.d mounted.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_BIN_DIR, DEFAULT_CONF_DIR, DEFAULT_RUN_DIR, DEFAULT_STATE_DIR, installCni } from '../cni/install.js';
import { parse, UsageError, withUsage } from './args.js';

const usage = `Usage: petrel install-cni [options]

Installs the petrel CNI plugin on this node: the executable into the CNI bin directory and
10-petrel.conflist into the CNI configuration directory (atomic, idempotent; touches only its own files).
  --bin-dir DIR       CNI plugin directory (default ${DEFAULT_BIN_DIR})
  --conf-dir DIR      CNI configuration directory (default ${DEFAULT_CONF_DIR})
  --state-dir DIR     the agent's state directory, written into the conflist (default ${DEFAULT_STATE_DIR})
  --run-dir DIR       the agent's socket directory, written into the conflist (default ${DEFAULT_RUN_DIR})
  --plugin FILE       the plugin executable to install (default: the one built beside this program)
  --cni-version V     cniVersion of the conflist (default 1.0.0; 1.1.0 for GC and STATUS)
  --mtu N             pods' MTU (default: the agent computes uplink MTU minus encapsulation)`;

export function defaultPluginPath(): string {
  // src/cli/ (tsx) and dist/cli/ (built) both sit two levels below the package root.
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'build', 'petrel-cni');
}

export async function run(argv: string[]): Promise<number> {
  return withUsage(usage, async () => {
    const { values } = parse(argv, {
      'bin-dir': { type: 'string' }, 'conf-dir': { type: 'string' }, 'state-dir': { type: 'string' }, 'run-dir': { type: 'string' },
      plugin: { type: 'string' }, 'cni-version': { type: 'string' }, mtu: { type: 'string' },
    });
    if (values.help) {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    let mtu: number | undefined;
    if (values.mtu !== undefined) {
      mtu = Number(values.mtu);
      if (!Number.isInteger(mtu) || mtu < 576 || mtu > 65535) throw new UsageError(`--mtu: expected an integer 576..65535, got '${values.mtu}'`);
    }
    for (const f of ['bin-dir', 'conf-dir', 'state-dir', 'run-dir'] as const) {
      const v = values[f];
      if (v !== undefined && !v.startsWith('/')) throw new UsageError(`--${f}: expected an absolute path, got '${v}'`);
    }
    try {
      const r = await installCni({
        plugin: values.plugin ?? defaultPluginPath(),
        binDir: values['bin-dir'] ?? DEFAULT_BIN_DIR,
        confDir: values['conf-dir'] ?? DEFAULT_CONF_DIR,
        stateDir: values['state-dir'] ?? DEFAULT_STATE_DIR,
        runDir: values['run-dir'] ?? DEFAULT_RUN_DIR,
        ...(values['cni-version'] ? { cniVersion: values['cni-version'] } : {}),
        ...(mtu ? { mtu } : {}),
      });
      process.stdout.write(`petrel install-cni: ${r.binary} (${r.changed.binary ? 'installed' : 'unchanged'}), ${r.conflist} (${r.changed.conflist ? 'written' : 'unchanged'})${r.chained.length ? `, chained: ${r.chained.join(', ')}` : ''}\n`);
      return 0;
    } catch (e) {
      process.stderr.write(`petrel install-cni: ${(e as Error).message}\n`);
      return 1;
    }
  });
}
