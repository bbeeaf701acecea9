/**
 * `petrel install-cni` (src/cni/install.ts, src/cli/install-cni.ts) into temporary directories — never
 * the host's /opt/cni or /etc/cni: the executable and 10-petrel.conflist, atomic, idempotent, only its
 * own files, portmap chained when present, the agent's directories written into the conflist.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installCni } from '../../src/cni/install.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dirs: string[] = [];
const fresh = () => { const d = mkdtempSync(join(tmpdir(), 'petrel-install-')); dirs.push(d); return d; };
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function setup() {
  const d = fresh();
  const plugin = join(d, 'built-petrel-cni');
  writeFileSync(plugin, '#!/bin/sh\necho fake\n');
  const o = { plugin, binDir: join(d, 'bin'), confDir: join(d, 'net.d'), stateDir: join(d, 'state'), runDir: join(d, 'run') };
  return { d, o };
}

describe('cni/install', () => {
  it('installs the executable (0755) and a conflist naming the agent\'s directories', async () => {
    const { o } = setup();
    const r = await installCni(o);
    assert.deepEqual(r.changed, { binary: true, conflist: true });
    assert.equal(statSync(join(o.binDir, 'petrel')).mode & 0o777, 0o755);
    const list = JSON.parse(readFileSync(join(o.confDir, '10-petrel.conflist'), 'utf8'));
    assert.deepEqual(list, { cniVersion: '1.0.0', name: 'petrel', plugins: [{ type: 'petrel', runDir: o.runDir, stateDir: o.stateDir }] });
  });

  it('is idempotent and touches nothing else in the directories', async () => {
    const { o } = setup();
    mkdirSync(o.binDir, { recursive: true });
    mkdirSync(o.confDir, { recursive: true });
    writeFileSync(join(o.binDir, 'bridge'), 'other');
    writeFileSync(join(o.confDir, '05-other.conflist'), '{}');
    await installCni(o);
    const again = await installCni(o);
    assert.deepEqual(again.changed, { binary: false, conflist: false });
    assert.deepEqual(readdirSync(o.binDir).sort(), ['bridge', 'petrel']);
    assert.deepEqual(readdirSync(o.confDir).sort(), ['05-other.conflist', '10-petrel.conflist']);
    assert.equal(readFileSync(join(o.binDir, 'bridge'), 'utf8'), 'other');
  });

  it('chains portmap (capabilities portMappings) when it is in the bin directory', async () => {
    const { o } = setup();
    mkdirSync(o.binDir, { recursive: true });
    writeFileSync(join(o.binDir, 'portmap'), 'x');
    const r = await installCni({ ...o, cniVersion: '1.1.0', mtu: 1400 });
    assert.deepEqual(r.chained, ['portmap']);
    const list = JSON.parse(readFileSync(join(o.confDir, '10-petrel.conflist'), 'utf8'));
    assert.equal(list.cniVersion, '1.1.0');
    assert.deepEqual(list.plugins[1], { type: 'portmap', snat: true, capabilities: { portMappings: true } });
    assert.equal(list.plugins[0].mtu, 1400);
  });

  it('replaces a changed executable atomically (a new inode; a running copy keeps the old one)', async () => {
    const { o } = setup();
    await installCni(o);
    const ino = statSync(join(o.binDir, 'petrel')).ino;
    writeFileSync(o.plugin, '#!/bin/sh\necho v2\n');
    assert.equal((await installCni(o)).changed.binary, true);
    assert.notEqual(statSync(join(o.binDir, 'petrel')).ino, ino);
    assert.ok(!readdirSync(o.binDir).some((f) => f.includes('tmp')), 'no temporary file left');
  });

  it('the CLI: clear one-line errors, exit 2 for usage, 1 for a missing plugin; installs the built executable by default', () => {
    const cli = join(root, 'dist', 'cli.js');
    if (!existsSync(cli)) return;
    const { d } = setup();
    const run = (args: string[]) => spawnSync(process.execPath, [cli, 'install-cni', ...args], { encoding: 'utf8', timeout: 30_000 });
    const rel = run(['--bin-dir', 'relative/bin']);
    assert.equal(rel.status, 2);
    assert.match(rel.stderr, /--bin-dir: expected an absolute path/);
    const missing = run(['--bin-dir', join(d, 'b'), '--conf-dir', join(d, 'c'), '--plugin', join(d, 'nope')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^petrel install-cni: plugin executable .* not found/);
    assert.doesNotMatch(missing.stderr, /\n\s+at /);
    const ok = run(['--bin-dir', join(d, 'b'), '--conf-dir', join(d, 'c'), '--state-dir', join(d, 's'), '--run-dir', join(d, 'r')]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.ok(readFileSync(join(d, 'b', 'petrel')).equals(readFileSync(join(root, 'native', 'build', 'petrel-cni'))));
  });
});
