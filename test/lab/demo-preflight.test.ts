// `npm run demo` on a fresh machine: the preflight (scripts/demo-preflight.ts) finds what is missing
// before anything is built and installs it through apt-get, saying what and why; when it cannot, it
// stops with one line saying why. `petrel lab up` without ping refuses before creating anything.
// The "fresh machine" is a PATH holding only symlinks to the tools the test keeps, and apt-get is a
// script of the test's that records its arguments (and "installs" ping by writing one): nothing is
// installed on this machine.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hasCommand, isRoot, uniquePrefix } from '../../src/lab/netns.js';
import { describeMissing, LAB_REQUIREMENTS, missingRequirements, nodeIsRecentEnough, pingFailureReason } from '../../src/lab/requirements.js';
import { CLI, ensureBuilt } from '../cli/helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const which = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();

/** A bin directory with these commands (symlinks to the real ones) and, optionally, a fake apt-get. */
function freshBin(keep: string[], apt?: 'installs-ping' | 'fails'): { bin: string; log: string; done: () => void } {
  const bin = mkdtempSync(join(tmpdir(), 'petrel-fresh-'));
  for (const c of keep) symlinkSync(which(c), join(bin, c));
  const log = join(bin, 'apt.log');
  if (apt) {
    const install = apt === 'installs-ping'
      ? `for p in "$@"; do [ "$p" = iputils-ping ] && printf '#!/bin/sh\\nexit 0\\n' > "${bin}/ping" && chmod +x "${bin}/ping"; done; exit 0`
      : 'echo "E: Unable to locate package iputils-ping" >&2; exit 100';
    writeFileSync(join(bin, 'apt-get'), `#!/bin/sh\necho "$DEBIAN_FRONTEND $*" >> "${log}"\ncase "$1" in update) exit 0;; install) ${install};; esac\nexit 1\n`);
    chmodSync(join(bin, 'apt-get'), 0o755);
  }
  return { bin, log, done: () => rmSync(bin, { recursive: true, force: true }) };
}

function preflight(bin: string, args: string[] = []) {
  // Node and tsx by absolute path; everything the preflight looks for, through PATH only.
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/demo-preflight.ts'), ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { PATH: bin, HOME: tmpdir() },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Tools found outside PATH by hasCommand's fallback directories (/usr/sbin) stay visible; ping,
// g++, make and python3 live in /usr/bin on Debian, so a PATH without them hides them.
const BUILD = ['g++', 'cc', 'make', 'python3'];

describe('the demo\'s preflight', { skip: !isRoot() ? 'needs root (the preflight refuses without it)' : hasCommand('ping') && BUILD.every(hasCommand) ? false : 'needs ping, g++, cc, make and python3 on this machine to link them' }, () => {
  it('installs a missing ping with apt-get, says so, and then passes', () => {
    const f = freshBin([...BUILD, 'ip'], 'installs-ping');
    try {
      const r = preflight(f.bin);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /demo: installing iputils-ping with apt-get, for ping \(Debian package iputils-ping: the pod-to-pod ping matrix\)/);
      assert.match(r.stdout, /demo: installed iputils-ping/);
      assert.deepEqual(readFileSync(f.log, 'utf8').trim().split('\n'), [
        'noninteractive update -qq', 'noninteractive install -y -qq --no-install-recommends iputils-ping',
      ]);
    } finally {
      f.done();
    }
  });

  it('asks apt for every missing package at once, the toolchain too', () => {
    const f = freshBin(['ip'], 'installs-ping');
    try {
      const r = preflight(f.bin);
      // The fake apt-get installs only ping: the toolchain is still missing afterwards, and it says so.
      assert.equal(r.status, 1);
      assert.match(r.stdout, /installing g\+\+ gcc make python3 iputils-ping with apt-get/);
      assert.deepEqual(r.stderr.trimEnd().split('\n'), [
        'demo: apt-get ran, but these are still missing: g++ (Debian package g++: compiles the netlink addon (node-gyp)), cc (Debian package gcc: compiles the CNI plugin executable), make (Debian package make: runs the addon build (node-gyp)), python3 (Debian package python3: runs node-gyp)',
      ]);
    } finally {
      f.done();
    }
  });

  it('stops with apt-get\'s reason when apt-get fails', () => {
    const f = freshBin([...BUILD, 'ip'], 'fails');
    try {
      const r = preflight(f.bin);
      assert.equal(r.status, 1);
      assert.deepEqual(r.stderr.trimEnd().split('\n'), [
        'demo: apt-get install failed (exit 100): E: Unable to locate package iputils-ping; install iputils-ping yourself and run the demo again',
      ]);
    } finally {
      f.done();
    }
  });

  it('stops with what is missing where there is no apt-get, or with --no-install', () => {
    const f = freshBin([...BUILD, 'ip']);
    try {
      const r = preflight(f.bin);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^demo: missing ping \(Debian package iputils-ping: the pod-to-pod ping matrix\), and there is no apt-get here to install iputils-ping: install them yourself\n$/);
      const n = preflight(f.bin, ['--no-install']);
      assert.equal(n.status, 1);
      assert.match(n.stderr, /^demo: missing ping .*; install: apt-get install iputils-ping\n$/);
    } finally {
      f.done();
    }
  });

  it('passes quietly, in one line, when everything is there', () => {
    const f = freshBin([...BUILD, 'ip', 'ping']);
    try {
      const r = preflight(f.bin);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'demo: found g++, cc, make, python3, ip, ping\n');
      assert.ok(!existsSync(f.log));
    } finally {
      f.done();
    }
  });
});

describe('petrel lab up without ping', { skip: isRoot() ? false : 'needs root' }, () => {
  it('refuses before building anything, naming the command and its package', () => {
    ensureBuilt();
    const f = freshBin(['ip']);
    const prefix = uniquePrefix('pf');
    try {
      const r = spawnSync(process.execPath, [CLI, 'lab', 'up', '--prefix', prefix], { encoding: 'utf8', timeout: 30_000, env: { PATH: f.bin, HOME: tmpdir() } });
      assert.equal(r.status, 1, r.stderr);
      assert.deepEqual(r.stderr.trimEnd().split('\n'), [
        'petrel lab: missing ping (Debian package iputils-ping: the pod-to-pod ping matrix); install with apt-get install iputils-ping (npm run demo does it)',
      ]);
      assert.equal(r.stdout, '');
      assert.ok(!spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.includes(prefix), 'a namespace was created');
    } finally {
      f.done();
    }
  });
});

describe('requirements', () => {
  it('are found through the given lookup and described with their Debian package', () => {
    assert.deepEqual(missingRequirements(LAB_REQUIREMENTS, (c) => c === 'ip').map((r) => r.pkg), ['iputils-ping']);
    assert.equal(describeMissing(missingRequirements(LAB_REQUIREMENTS, () => false)), 'ip (Debian package iproute2: creates the namespaces, veths, bridges and addresses), ping (Debian package iputils-ping: the pod-to-pod ping matrix)');
  });

  it('know Node 20.19 from 20.18 and 18', () => {
    assert.equal(nodeIsRecentEnough('20.19.0'), true);
    assert.equal(nodeIsRecentEnough('22.1.0'), true);
    assert.equal(nodeIsRecentEnough('20.18.3'), false);
    assert.equal(nodeIsRecentEnough('18.20.4'), false);
  });

  it('say why a ping failed: no reply, or ping\'s own error', () => {
    assert.equal(pingFailureReason(1, ''), 'no reply');
    assert.equal(pingFailureReason(255, 'exec of "ping" failed: No such file or directory\n'), 'exec of "ping" failed: No such file or directory');
    assert.equal(pingFailureReason(2, ''), 'ping exited with status 2');
  });
});
