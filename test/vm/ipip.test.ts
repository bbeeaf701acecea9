// IPIP end to end under Debian's full kernel: boots the microVM (run.sh) with guest-ipip.sh, which
// runs ipip.guest.ts (the three-node namespace lab with IPIP across subnets) and reports back.
// Needs root, qemu and the prepared kernel (test/vm/prepare.sh; .ci/run prepares it). Skips with
// that message elsewhere; in CI (CI=1 or PETREL_VM_REQUIRED=1) a missing VM is a failure instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasCommand, isRoot } from '../../src/lab/netns.js';

const here = dirname(fileURLToPath(import.meta.url));
const vmDir = process.env.PETREL_VM_DIR ?? join(here, 'build');
const ready = existsSync(join(vmDir, 'kernel', 'version')) && existsSync(join(vmDir, 'initrd.img')) && hasCommand('qemu-system-x86_64');
const required = process.env.CI === '1' || process.env.CI === 'true' || process.env.PETREL_VM_REQUIRED === '1';
const skip = !isRoot() ? 'needs root' : !ready && !required ? 'microVM not prepared: run test/vm/prepare.sh (CI does)' : false;

test('IPIP pods reach each other across subnets under a kernel with ipip (microVM)', { skip, timeout: 480_000 }, async () => {
  assert.ok(ready, 'the microVM is required here but not prepared: run test/vm/prepare.sh');
  const out = mkdtempSync(join(tmpdir(), 'petrel-vm-'));
  try {
    let log = '';
    const child = spawn(join(here, 'run.sh'), [join(here, 'guest-ipip.sh'), out], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PETREL_VM_TIMEOUT: '420' },
    });
    child.stdout.on('data', (d: Buffer) => { log += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { log += d.toString(); });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    const tap = log.split('\n').filter((l) => /^(ok|not ok|# (pass|fail|tests))/.test(l)).join('\n');
    console.log(tap.split('\n').map((l) => `# vm: ${l}`).join('\n'));
    assert.equal(code, 0, `guest failed (exit ${code}):\n${log.slice(-6000)}`);
    assert.match(readFileSync(join(out, 'result'), 'utf8'), /rc=0/);
    const pass = Number(/# pass (\d+)/.exec(log)?.[1] ?? 0);
    assert.ok(pass >= 4, `all four guest tests passed (${pass})`);
    assert.match(log, /# fail 0/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
