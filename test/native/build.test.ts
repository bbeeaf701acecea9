/**
 * `npm run build:native` from a clean checkout (native/build.mjs in a copy of native/ with no build/
 * directory, as after `git clone` or in CI): both artifacts must be there at the end. The CNI plugin
 * used to be compiled first, and `node-gyp rebuild` (which starts by deleting build/) then removed it,
 * so only a checkout whose addon was already up to date had a plugin to install.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasCommand } from '../../src/lab/netns.js';

const native = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native');
const skip = ['cc', 'make', 'python3'].filter((c) => !hasCommand(c));

describe('native/build.mjs from a clean tree', { skip: skip.length ? `needs ${skip.join(', ')}` : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-native-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves both the netlink addon and the static petrel-cni executable in build/', () => {
    for (const f of ['binding.gyp', 'build.mjs', 'netlink.c', 'petrel-cni.c']) copyFileSync(join(native, f), join(dir, f));
    const r = spawnSync(process.execPath, [join(dir, 'build.mjs')], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.ok(existsSync(join(dir, 'build', 'Release', 'petrel_netlink.node')), 'the addon');
    const bin = join(dir, 'build', 'petrel-cni');
    assert.ok(existsSync(bin), `the CNI plugin executable is missing after a clean build:\n${r.stdout}`);
    assert.ok((statSync(bin).mode & 0o111) !== 0, 'petrel-cni is executable');
  });
});
