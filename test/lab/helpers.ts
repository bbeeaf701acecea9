/**
 * Shared by the lab tests: one PetrelLab per test file (built in `before`, destroyed in `after`, also
 * on failure), skipped with a clear message when not root. The agents are the built CLI
 * (dist/cli.js): `npm test` builds before it runs the tests.
 */
import { existsSync } from 'node:fs';
import { isRoot, listNamespaces, waitFor } from '../../src/lab/netns.js';
import { defaultCli, PetrelLab, type LabOptions } from '../../src/lab/lab.js';

export const skipReason: string | false = !isRoot()
  ? 'the lab needs root (network namespaces)'
  : !existsSync(defaultCli()) ? 'dist/cli.js is missing: run `npm run build` (npm test does)' : false;

export async function startLab(prefix: string, opts: Partial<LabOptions> = {}): Promise<PetrelLab> {
  const lab = await PetrelLab.up({ prefix, log: () => {}, ...opts });
  try {
    await lab.waitConverged(90_000);
  } catch (e) {
    const logs = [...lab.nodes.keys()].map((n) => `--- ${n}\n${lab.readLog(n, 1500)}`).join('\n');
    await lab.destroy();
    throw new Error(`${(e as Error).message}\n${logs}`);
  }
  return lab;
}

/** Waits until `node`'s kernel holds (or lacks) a Petrel route to `dst`. */
export async function waitRoute(lab: PetrelLab, node: string, dst: string, present = true, timeoutMs = 30_000): Promise<void> {
  await waitFor(`${node} ${present ? 'to have' : 'to lose'} a route to ${dst}`, async () => {
    const have = (await lab.routes(node)).some((r) => r.dst === dst);
    return have === present;
  }, timeoutMs, 50);
}

/** Waits until one pod answers a ping from another. */
export async function waitPing(lab: PetrelLab, fromNs: string, ip: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(`a ping from ${fromNs} to ${ip}`, () => lab.ping(fromNs, ip), timeoutMs, 100);
}

/** A value of a Prometheus text-format sample (summed over series matching every label given). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export async function metricsOf(lab: PetrelLab, node: string): Promise<string> {
  const n = lab.node(node);
  const r = await lab.httpGet(n.ns, `http://${n.address}:9476/metrics`);
  if (r.status !== 200) throw new Error(`${node} /metrics: HTTP ${r.status}`);
  return r.body;
}

export function namespacesWith(prefix: string): string[] {
  return listNamespaces().filter((n) => n.startsWith(`${prefix}-`));
}

export function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}
