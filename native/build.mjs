#!/usr/bin/env node
// Builds the netlink addon (native/netlink.c) with node-gyp and the CNI plugin executable
// (native/petrel-cni.c → native/build/petrel-cni, a static binary: it runs on hosts without Node.js
// or any shared library but the kernel's) with cc — `npm run build:native`, chained in `npm run build`. Works offline: node-gyp is told where this Node's headers are (npm's nodedir
// setting, else the headers installed beside this node binary, e.g. /usr/include/node), so it never
// tries to download them. Skips the compile when the addon is newer than its sources.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// The addon first: `node-gyp rebuild` starts by deleting native/build/, the plugin's directory too.
buildAddon();
buildCniPlugin();

function buildAddon() {
  const out = join(here, 'build', 'Release', 'petrel_netlink.node');
  const sources = ['netlink.c', 'binding.gyp'].map((f) => join(here, f));
  if (!process.argv.includes('--force') && existsSync(out) && sources.every((s) => statSync(s).mtimeMs < statSync(out).mtimeMs)) {
    console.log('build:native: petrel_netlink.node is up to date');
    return;
  }
  const prefix = resolve(dirname(process.execPath), '..');
  const nodedir = process.env.npm_config_nodedir
    || [prefix, '/usr', '/usr/local'].find((d) => existsSync(join(d, 'include', 'node', 'node_api.h')));
  const args = ['rebuild', '--directory', here, ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  // node-gyp ships with npm; inside `npm run` it is on PATH, otherwise find it beside npm.
  const npmGyp = [
    process.env.npm_execpath ? join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js') : '',
    join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].find((p) => p && existsSync(p)) ?? '';
  const r = npmGyp
    ? spawnSync(process.execPath, [npmGyp, ...args], { stdio: 'inherit', timeout: 300_000 })
    : spawnSync('node-gyp', args, { stdio: 'inherit', timeout: 300_000 });
  if (r.status !== 0) {
    console.error('build:native: node-gyp failed — it needs g++, make, python3 and the Node headers (include/node/node_api.h)');
    process.exit(r.status ?? 1);
  }
}

function buildCniPlugin() {
  const src = join(here, 'petrel-cni.c');
  const bin = join(here, 'build', 'petrel-cni');
  if (!process.argv.includes('--force') && existsSync(bin) && statSync(src).mtimeMs < statSync(bin).mtimeMs) {
    console.log('build:native: petrel-cni is up to date');
    return;
  }
  mkdirSync(join(here, 'build'), { recursive: true });
  const cc = process.env.CC || 'cc';
  const r = spawnSync(cc, ['-static', '-O2', '-Wall', '-Werror', '-o', bin, src], { stdio: 'inherit', timeout: 120_000 });
  if (r.status !== 0) {
    console.error(`build:native: ${cc} could not build petrel-cni — it needs a C compiler and the static C library (Debian: gcc, libc6-dev)`);
    process.exit(r.status ?? 1);
  }
  console.log('build:native: built petrel-cni');
}
