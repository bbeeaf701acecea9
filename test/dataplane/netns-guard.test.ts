// The namespace guard (src/dataplane/netns-guard.ts): the rule on real namespace inodes made with
// NetnsLab, then end to end — a dataplane in a named namespace, and an agent-like process started
// inside its node namespace with PETREL_REQUIRE_NETNS=1 (what the lab does).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetnsLab, isRoot, uniquePrefix } from '../../src/lab/netns.js';
import { createDataplane } from '../../src/dataplane/index.js';
import { namespaceRefusal } from '../../src/dataplane/netns-guard.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const skip = isRoot() ? false : 'needs root (creates network namespaces)';
const ino = (ns: string) => statSync(`/run/netns/${ns}`).ino;
const pid1Readable = (() => { try { statSync('/proc/1/ns/net'); return true; } catch { return false; } })();

test('the guard refuses PID 1\'s namespace when it is readable, named or not, and allows every other one including the own', { skip }, async () => {
  const lab = new NetnsLab(uniquePrefix('ptgd'));
  try {
    const host = ino(lab.addNs('host'));
    const node = ino(lab.addNs('node'));
    const other = ino(lab.addNs('other'));
    assert.notEqual(host, node);
    assert.match(namespaceRefusal({ socketInode: host, pid1Inode: host, selfInode: host, explicit: false }) ?? '', /PID 1/);
    assert.match(namespaceRefusal({ socketInode: host, pid1Inode: host, selfInode: node, explicit: true }) ?? '', /PID 1/);
    // An agent started inside its node namespace programs that namespace: allowed, named or not.
    assert.equal(namespaceRefusal({ socketInode: node, pid1Inode: host, selfInode: node, explicit: true }), undefined);
    assert.equal(namespaceRefusal({ socketInode: node, pid1Inode: host, selfInode: node, explicit: false }), undefined);
    assert.equal(namespaceRefusal({ socketInode: other, pid1Inode: host, selfInode: node, explicit: false }), undefined);
  } finally {
    await lab.destroy();
  }
});

test('when PID 1\'s namespace is unreadable the guard refuses the own namespace unless it was named, and allows others', { skip }, async () => {
  const lab = new NetnsLab(uniquePrefix('ptgd'));
  try {
    const self = ino(lab.addNs('self'));
    const other = ino(lab.addNs('other'));
    assert.match(namespaceRefusal({ socketInode: self, pid1Inode: undefined, selfInode: self, explicit: false }) ?? '', /own namespace/);
    assert.equal(namespaceRefusal({ socketInode: self, pid1Inode: undefined, selfInode: self, explicit: true }), undefined);
    assert.equal(namespaceRefusal({ socketInode: other, pid1Inode: undefined, selfInode: self, explicit: false }), undefined);
    assert.match(namespaceRefusal({ socketInode: 0, pid1Inode: undefined, selfInode: self, explicit: true }) ?? '', /unknown/);
  } finally {
    await lab.destroy();
  }
});

test('a dataplane for a namespace named from outside it passes the guard and opens a real socket there', { skip }, async () => {
  const lab = new NetnsLab(uniquePrefix('ptgd'));
  try {
    const ns = lab.addNs('n');
    const dp = createDataplane({ netns: ns, requireNetns: true });
    assert.equal(dp.status().netnsInode, ino(ns));
    await dp.stop();
  } finally {
    await lab.destroy();
  }
});

test('a process started inside its node namespace with PETREL_REQUIRE_NETNS=1 may program it when it names it; unnamed only when PID 1 is readable', { skip }, async () => {
  const lab = new NetnsLab(uniquePrefix('ptgd'));
  const dir = mkdtempSync(join(tmpdir(), 'petrel-guard-'));
  try {
    const ns = lab.addNs('node');
    lab.ip(ns, 'link', 'set', 'lo', 'up');
    const script = join(dir, 'probe.mts');
    writeFileSync(script, [
      `import { createDataplane } from ${JSON.stringify(join(root, 'src', 'dataplane', 'index.ts'))};`,
      `const netns = process.argv[2] || undefined;`,
      `try {`,
      `  const dp = createDataplane({ netns, protocol: 97 });`,
      `  dp.setLocalBlocks([{ prefix: '198.18.9.0/26', natOutgoing: false }]);`,
      `  const r = await dp.apply();`,
      `  await dp.stop();`,
      `  console.log(r.ok ? 'programmed' : 'failed ' + JSON.stringify(r.issues));`,
      `} catch (e) { console.log('refused ' + e.code); }`,
    ].join('\n'));
    const run = (arg: string) => {
      const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', script, arg], {
        cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, PETREL_REQUIRE_NETNS: '1' },
      });
      return `${r.stdout}${r.stderr}`.trim();
    };
    assert.equal(run(ns), 'programmed');
    assert.match(lab.ip(ns, 'route', 'show', 'proto', '97'), /blackhole 198\.18\.9\.0\/26/);
    lab.ip(ns, 'route', 'del', 'blackhole', '198.18.9.0/26');
    assert.equal(run(''), pid1Readable ? 'programmed' : 'refused DP_ERR_ROOT_NETNS');
  } finally {
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
