/**
 * `npm run bench`: runs every benchmark module in test/bench/ (each exports
 * `bench(opts) → { title, markdown }`), and writes docs/benchmarks.md with the machine, the versions
 * and the other load on the machine during the run. Benchmarks compare against a reference tool
 * (BIRD, FRR, GoBGP, `ip -batch`) measured in the same run; we quote ratios, not absolute times.
 * `--quick` runs smaller cells; `--only NAME` runs one module.
 */
import { readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const quick = process.argv.includes('--quick');
const onlyIdx = process.argv.indexOf('--only');
const only = onlyIdx >= 0 ? process.argv[onlyIdx + 1] : undefined;

function cpuTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = line[3] + (line[4] ?? 0);
  const total = line.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function version(cmd: string, args: string[]): string {
  // Some tools (BIRD) print their version on stderr.
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  if (r.error) return 'not installed';
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').map((l) => l.trim()).find(Boolean) ?? 'unknown';
}

const modules = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .filter((f) => !only || f.startsWith(only))
  .sort();

// Sections are kept per module between markers, so `--only NAME` refreshes one module's figures and
// leaves the others' (each section says when and under what load it was measured).
const outFile = join(root, 'docs', 'benchmarks.md');
const kept = new Map<string, string>();
if (only) {
  try {
    const old = readFileSync(outFile, 'utf8');
    for (const m of old.matchAll(/<!-- bench:([\w.-]+) -->\n([\s\S]*?)<!-- \/bench:\1 -->/g)) kept.set(m[1], m[2]);
  } catch { /* no earlier file */ }
}
const sections = new Map<string, string>(kept);
for (const file of modules) {
  const mod = (await import(join(here, file))) as { bench?: (o: { quick: boolean }) => Promise<{ title: string; markdown: string }> };
  if (typeof mod.bench !== 'function') continue;
  const before = cpuTicks();
  const t0 = Date.now();
  console.error(`bench: ${file} …`);
  try {
    const r = await mod.bench({ quick });
    const after = cpuTicks();
    const load = (after.busy - before.busy) / Math.max(1, after.total - before.total);
    sections.set(file, `## ${r.title}\n\n${r.markdown.trim()}\n\n_Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${quick ? ' (--quick)' : ''}; the run took ${((Date.now() - t0) / 1000).toFixed(0)} s; machine CPU busy ${(load * 100).toFixed(0)}% during it (all processes, both cores, from /proc/stat)._\n`);
  } catch (e) {
    sections.set(file, `## ${file}\n\nFailed: ${(e as Error).message}\n`);
    console.error(e);
  }
}

const header = `# Benchmarks

Written by \`npm run bench\` (\`-- --only NAME\` refreshes one section; each says when it was measured). Not pass/fail: CI never fails on a time.
The machine is shared and noisy, so each figure is a median of several runs and is quoted as a ratio against
a reference tool measured in the same run.

| machine | value |
| --- | --- |
| CPU | ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length} |
| memory | ${(totalmem() / 2 ** 30).toFixed(0)} GiB |
| kernel | ${release()} |
| node | ${process.version} |
| BIRD | ${version('bird', ['--version'])} |
| FRR | ${version('/usr/lib/frr/bgpd', ['--version'])} |
| GoBGP | ${version('gobgpd', ['--version'])} |
| iproute2 | ${version('ip', ['-V'])} |
`;
const body = [...sections.keys()].sort().map((k) => `<!-- bench:${k} -->\n${sections.get(k)}<!-- /bench:${k} -->\n`).join('\n');
writeFileSync(outFile, `${header}\n${body}`);
console.error('bench: wrote docs/benchmarks.md');
