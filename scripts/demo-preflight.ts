/**
 * `npm run demo`, step 1, before anything is built: checks what the demo needs (src/lab/requirements.ts:
 * Node ≥ 20.19, root, the addon's toolchain, iproute2, ping) and installs the missing Debian packages
 * with apt-get, saying which and why. Anything it cannot fix ends the demo with one line saying why
 * and exit 1.
 *
 *   node --import tsx scripts/demo-preflight.ts [--no-install]
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { hasCommand, isRoot } from '../src/lab/netns.js';
import {
  BUILD_REQUIREMENTS, describeMissing, LAB_REQUIREMENTS, MIN_NODE, missingRequirements, nodeIsRecentEnough, type Requirement,
} from '../src/lab/requirements.js';

const say = (s: string) => process.stdout.write(`demo: ${s}\n`);
function fail(s: string): never {
  process.stderr.write(`demo: ${s}\n`);
  process.exit(1);
}

/** Runs apt-get quietly; its last error line when it fails. */
function aptGet(args: string[]): string | undefined {
  const r = spawnSync('apt-get', args, {
    encoding: 'utf8', timeout: 600_000, maxBuffer: 64 << 20,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status === 0) return undefined;
  const last = `${r.stderr ?? ''}`.split('\n').map((l) => l.trim()).filter(Boolean).at(-1);
  return `apt-get ${args[0]} failed (${r.error ? r.error.message : `exit ${r.status}`})${last ? `: ${last}` : ''}`;
}

const { values } = parseArgs({ options: { 'no-install': { type: 'boolean' } }, strict: true });
const reqs: Requirement[] = [...BUILD_REQUIREMENTS, ...LAB_REQUIREMENTS];

if (!nodeIsRecentEnough()) {
  fail(`Node.js ${process.versions.node} is too old: Petrel needs ≥ ${MIN_NODE.join('.')} (Debian 12's nodejs is 18; README.md says where to get 20 or newer)`);
}
if (!isRoot()) fail('the demo creates network namespaces: run it as root (e.g. sudo npm run demo)');

let missing = missingRequirements(reqs);
if (missing.length === 0) {
  say(`found ${reqs.map((r) => r.command).join(', ')}`);
  process.exit(0);
}
const pkgs = [...new Set(missing.map((r) => r.pkg))];
if (values['no-install']) fail(`missing ${describeMissing(missing)}; install: apt-get install ${pkgs.join(' ')}`);
if (!hasCommand('apt-get')) fail(`missing ${describeMissing(missing)}, and there is no apt-get here to install ${pkgs.join(' ')}: install them yourself`);

say(`installing ${pkgs.join(' ')} with apt-get, for ${describeMissing(missing)}`);
const err = aptGet(['update', '-qq']) ?? aptGet(['install', '-y', '-qq', '--no-install-recommends', ...pkgs]);
if (err) fail(`${err}; install ${pkgs.join(' ')} yourself and run the demo again`);
missing = missingRequirements(reqs);
if (missing.length > 0) fail(`apt-get ran, but these are still missing: ${describeMissing(missing)}`);
say(`installed ${pkgs.join(' ')}`);
