import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { defaultPluginPath } from '../../src/cli/install-cni.js';
import { addonPath } from '../../src/dataplane/netlink/native.js';
import { ROOT } from './manifests.js';

interface Instr { op: string; args: string }
interface Stage { from: string; name?: string; instrs: Instr[] }

/** Dockerfile → stages of instructions (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const l of lines) {
    const [op, ...rest] = l.split(/\s+/);
    const a = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(a)!;
      const from = m[1].replace(/\$\{(\w+)\}/g, (_, v: string) => args.get(v) ?? '');
      stages.push({ from, name: m[2], instrs: [] });
    } else if (op.toUpperCase() === 'ARG' && stages.length === 0) {
      const [k, v] = a.split('=');
      args.set(k, v ?? '');
    } else {
      stages.at(-1)?.instrs.push({ op: op.toUpperCase(), args: a });
    }
  }
  return { args, stages };
}

const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

/** .dockerignore semantics for the simple patterns we use: a path or any of its parents listed, or *.ext. */
function ignored(path: string): boolean {
  const parts = path.split('/');
  return ignore.some((p) => {
    if (p.startsWith('*.')) return path.endsWith(p.slice(1)) && !path.includes('/');
    return parts.some((_, i) => parts.slice(0, i + 1).join('/') === p);
  });
}

test('the image is built in two stages on a current Node LTS over Debian slim', () => {
  const { stages } = dockerfile;
  assert.equal(stages.length, 2);
  for (const s of stages) {
    const m = /^node:(\d+)-bookworm-slim$/.exec(s.from);
    assert.ok(m, `base image ${s.from}`);
    const major = Number(m[1]);
    assert.ok(major >= 22 && major % 2 === 0, `Node ${major} is not a current LTS line`);
  }
  assert.deepEqual(stages.map((s) => s.name), ['build', 'runtime']);
});

test('the build stage installs, builds (addon and TypeScript) and prunes dev dependencies', () => {
  const build = dockerfile.stages[0].instrs.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
  assert.match(build, /npm ci\b/);
  assert.match(build, /npm run build\b/);
  assert.match(build, /npm prune --omit=dev/);
  assert.match(build, /apt-get install[^\n]*\bg\+\+/);
});

test('every file `npm run build` runs or reads is in the build context the build stage copies', () => {
  // Expand `npm run X` recursively from `build`; every word that names a file of this repository
  // (native/build.mjs, tsconfig.build.json, ...) must be copied by a COPY of the build stage, itself
  // or a directory holding it. The build once ran `node native/build.mjs` with only two files of
  // native/ copied, and the image could not build.
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const words: string[] = [];
  const expand = (name: string, depth = 0) => {
    assert.ok(depth < 5 && pkg.scripts[name], `npm script ${name}`);
    for (const w of pkg.scripts[name].split(/\s+/)) words.push(w);
    for (const m of pkg.scripts[name].matchAll(/npm run ([\w:-]+)/g)) expand(m[1], depth + 1);
  };
  expand('build');
  const files = [...new Set(words.filter((w) => /[./]/.test(w) && !w.startsWith('-') && existsSync(join(ROOT, w)) && statSync(join(ROOT, w)).isFile()))];
  assert.ok(files.includes('native/build.mjs') && files.includes('tsconfig.build.json'), `found ${files.join(', ')}`);
  const copied = dockerfile.stages[0].instrs.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1)).map((p) => p.replace(/\/$/, ''));
  for (const f of files) {
    assert.ok(copied.some((c) => f === c || f.startsWith(`${c}/`)), `${f} is used by npm run build but the build stage does not copy it`);
    assert.ok(!ignored(f), `${f} is excluded by .dockerignore`);
  }
  // tsc reads what tsconfig.build.json includes.
  const tsb = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { extends?: string; include?: string[] };
  for (const inc of tsb.include ?? []) assert.ok(copied.some((c) => inc === c || inc.startsWith(`${c}/`)), `tsconfig.build.json includes ${inc}, not copied`);
  if (tsb.extends) assert.ok(copied.includes(tsb.extends.replace(/^\.\//, '')), `${tsb.extends} not copied`);
});

test('the runtime stage holds only dist/, production node_modules, the addon where the loader looks, the CNI plugin executable where install-cni looks, and nft', () => {
  const rt = dockerfile.stages[1].instrs;
  const workdir = rt.find((i) => i.op === 'WORKDIR')!.args;
  const copies = rt.filter((i) => i.op === 'COPY').map((i) => i.args);
  assert.ok(copies.every((c) => c.startsWith('--from=build ')), 'the runtime copies nothing from the context');
  const targets = copies.map((c) => c.split(/\s+/).at(-1)!.replace(/^\.\//, ''));
  assert.deepEqual(targets.sort(), ['dist', 'native/build/Release/petrel_netlink.node', 'native/build/petrel-cni', 'node_modules', 'package.json'].sort());
  // src/cli/install-cni.ts installs the executable from beside the program by default.
  assert.equal(relative(ROOT, defaultPluginPath()), 'native/build/petrel-cni');
  // src/dataplane/netlink/native.ts finds the addon relative to the package root.
  const saved = process.env.PETREL_NETLINK_ADDON;
  delete process.env.PETREL_NETLINK_ADDON;
  try {
    assert.equal(relative(ROOT, addonPath()), 'native/build/Release/petrel_netlink.node');
  } finally {
    if (saved !== undefined) process.env.PETREL_NETLINK_ADDON = saved;
  }
  assert.ok(workdir.startsWith('/'));
  const runs = rt.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
  const usesNft = readdirSync(join(ROOT, 'src', 'dataplane')).some((f) => f.endsWith('.ts') && /['"]nft['"]/.test(readFileSync(join(ROOT, 'src', 'dataplane', f), 'utf8')));
  if (usesNft) assert.match(runs, /apt-get install[^\n]*\bnftables\b/, 'the dataplane runs nft: the image needs nftables');
  assert.ok(!/\b(g\+\+|make|python3)\b/.test(runs), 'no compiler in the runtime image');
  const cmd = rt.find((i) => i.op === 'CMD')!.args;
  assert.deepEqual(JSON.parse(cmd).slice(0, 2), ['node', 'dist/cli.js']);
  assert.ok(existsSync(join(ROOT, 'src', 'cli.ts')), 'dist/cli.js is built from src/cli.ts');
});

test('everything the build stage copies from the context exists and is not excluded by .dockerignore', () => {
  const sources = dockerfile.stages[0].instrs.filter((i) => i.op === 'COPY').flatMap((i) => i.args.split(/\s+/).slice(0, -1));
  assert.ok(sources.length >= 5);
  for (const s of sources) {
    assert.ok(existsSync(join(ROOT, s)), `${s} does not exist`);
    assert.ok(!ignored(s), `${s} is excluded by .dockerignore`);
  }
  for (const heavy of ['node_modules', 'dist', 'native/build', '.git', 'test']) assert.ok(ignored(heavy), `${heavy} is not in .dockerignore`);
  // Every source file of native/ that binding.gyp compiles is copied.
  const gyp = readFileSync(join(ROOT, 'native', 'binding.gyp'), 'utf8');
  for (const m of gyp.matchAll(/"([\w./-]+\.(?:c|cc|cpp|h))"/g)) {
    assert.ok(sources.some((s) => s === `native/${m[1]}` || s === 'native' || s === 'native/'), `native/${m[1]} is not copied`);
  }
  assert.ok(statSync(join(ROOT, 'src')).isDirectory());
});
