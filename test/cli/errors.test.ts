// No stack traces for users: every subcommand, given a bad flag, a bad URL, a missing or bad file, or
// a target that does not answer, ends with one line on stderr naming itself and what is wrong, and
// exits with the documented status (0 ok, 1 failure at run time, 2 usage or configuration; see
// src/cli/args.ts and docs/operations.md). Runs the built CLI (dist/cli.js), as a user would.
// Every case fails before anything starts: no agent, lab or cleanup touches this machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { commands } from '../../src/cli/commands.js';
import { CLI, ensureBuilt } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'petrel-cli-errors-'));
const home = join(dir, 'home');
mkdirSync(home);
const file = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
const badYaml = file('bad.yaml', 'asn: [\n  - 1\n');
const notYamlKubeconfig = file('kubeconfig-bad', 'clusters: [\n');
const emptyKubeconfig = file('kubeconfig-empty', 'apiVersion: v1\nkind: Config\n');
const absent = join(dir, 'absent.yaml');
const netns = `nonexistent-${randomBytes(4).toString('hex')}`;

/** An HTTP server in this process that answers 200 with something that is not JSON. */
const html = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>'));
await new Promise<void>((r) => html.listen(0, '127.0.0.1', r));
const htmlUrl = `http://127.0.0.1:${(html.address() as { port: number }).port}`;
test.after(() => html.close());

interface Case { args: string[]; status: 1 | 2; says: RegExp }
const CASES: Record<string, Case[]> = {
  speaker: [
    { args: ['--bogus'], status: 2, says: /Unknown option '--bogus'/ },
    { args: ['--check'], status: 2, says: /--config FILE is required/ },
    { args: ['--config', absent, '--check'], status: 2, says: /absent\.yaml.*cannot read: ENOENT/ },
    { args: ['--config', dir, '--check'], status: 2, says: /cannot read: EISDIR/ },
    { args: ['--config', badYaml, '--check'], status: 2, says: /bad\.yaml: .*YAML/ },
  ],
  status: [
    { args: ['--jsno'], status: 2, says: /Unknown option '--jsno'/ },
    { args: ['--api', 'notaurl'], status: 2, says: /--api: 'notaurl' is not a URL/ },
    { args: ['--api', 'ftp://127.0.0.1/'], status: 2, says: /--api: .* is not an http or https URL/ },
    { args: ['--api', 'http://127.0.0.1:9'], status: 1, says: /cannot reach the speaker at http:\/\/127\.0\.0\.1:9/ },
    { args: ['--api', htmlUrl], status: 1, says: /the answer is not JSON/ },
  ],
  routes: [
    { args: ['--prefix'], status: 2, says: /--prefix/ },
    { args: ['--api', 'http//127.0.0.1:9179'], status: 2, says: /--api: .* is not a URL/ },
    { args: ['--api', htmlUrl, '--prefix', '198.18.0.0/16'], status: 1, says: /the answer is not JSON/ },
  ],
  agent: [
    { args: ['--bogus'], status: 2, says: /Unknown option '--bogus'/ },
    { args: [], status: 2, says: /--node-name \(or \$NODE_NAME\) is required/ },
    { args: ['--node-name', 'n1', '--server', 'notaurl'], status: 2, says: /--server: 'notaurl' is not a URL/ },
    { args: ['--node-name', 'n1', '--state-dir', 'var/lib/petrel'], status: 2, says: /--state-dir: expected an absolute path/ },
    { args: ['--node-name', 'n1', '--log-level', 'loud'], status: 2, says: /log level 'loud'/ },
    { args: ['--node-name', 'n1', '--metrics-address', 'nowhere'], status: 2, says: /--metrics-address/ },
    { args: ['--node-name', 'n1', '--health-address', ':99999'], status: 2, says: /--health-address: port 99999/ },
    { args: ['--node-name', 'n1', '--status-address', 'x'], status: 2, says: /--status-address/ },
    { args: ['--node-name', 'n1', '--connect-retry', 'soon'], status: 2, says: /--connect-retry/ },
    { args: ['--node-name', 'n1', '--kubeconfig', absent], status: 2, says: /absent\.yaml: kubeconfig: cannot read/ },
    { args: ['--node-name', 'n1', '--kubeconfig', notYamlKubeconfig], status: 2, says: /not valid YAML/ },
    { args: ['--node-name', 'n1', '--kubeconfig', emptyKubeconfig], status: 2, says: /kubeconfig/ },
    { args: ['--node-name', 'n1'], status: 2, says: /no --kubeconfig, no \$KUBECONFIG/ },
  ],
  reflector: [
    { args: ['--bogus'], status: 2, says: /Unknown option '--bogus'/ },
    { args: ['--node-name', 'n1', '--netns', 'x'], status: 2, says: /--netns, --protocol, .* are agent options/ },
    { args: ['--node-name', 'n1', '--state-dir', '/x'], status: 2, says: /--state-dir.* are agent options/ },
    { args: ['--node-name', 'n1', '--server', 'ftp://x'], status: 2, says: /--server: .* not an http or https URL/ },
  ],
  lab: [
    { args: [], status: 2, says: /lab needs a command/ },
    { args: ['sideways'], status: 2, says: /unknown lab command 'sideways'/ },
    { args: ['up', '--timeout', 'forever'], status: 2, says: /--timeout/ },
    { args: ['up', '--prefix', 'NO!'], status: 2, says: /--prefix/ },
    { args: ['status', '--bogus'], status: 2, says: /Unknown option '--bogus'/ },
  ],
  cleanup: [
    { args: [], status: 2, says: /refusing without --yes/ },
    { args: ['--yes', '--protocol', '3'], status: 2, says: /--protocol/ },
    { args: ['--yes', '--netns', netns], status: 1, says: new RegExp(`${netns}.*ENOENT`) },
  ],
  'install-cni': [
    { args: ['--bogus'], status: 2, says: /Unknown option '--bogus'/ },
    { args: ['--bin-dir', 'relative/bin'], status: 2, says: /--bin-dir: expected an absolute path/ },
    { args: ['--mtu', 'big'], status: 2, says: /--mtu: expected an integer 576\.\.65535/ },
    { args: ['--bin-dir', `${home}/b`, '--conf-dir', `${home}/c`, '--plugin', `${home}/absent-plugin`], status: 1, says: /plugin executable .*absent-plugin not found/ },
    { args: ['--bin-dir', `${home}/b`, '--conf-dir', `${home}/c`, '--cni-version', '9.9'], status: 1, says: /--cni-version 9\.9: supported are/ },
  ],
  version: [
    { args: ['--bogus'], status: 2, says: /Unknown option '--bogus'/ },
  ],
};

function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  // A clean environment: no kubeconfig, no in-cluster variables, no node name from outside.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, LANG: 'C' };
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

function assertOneLine(r: { status: number | null; stdout: string; stderr: string }, cmd: string, c: Case): void {
  const what = `petrel ${cmd} ${c.args.join(' ')}\n--- stderr:\n${r.stderr}`;
  assert.equal(r.status, c.status, what);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `a stack trace: ${what}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  // A configuration with several problems: one line that says so, then each problem on an indented
  // line of its own (config validation reports every problem at once).
  const several = /, \d+ problems:$/.test(lines[0]);
  if (several) assert.ok(lines.slice(1).every((l) => l.startsWith('  ') && !/^\s+at /.test(l)), `not one problem per line: ${what}`);
  else assert.equal(lines.length, 1, `not one line: ${what}`);
  assert.ok(lines[0].startsWith(`petrel ${cmd}: `), `does not name the command: ${what}`);
  assert.match(several ? lines.join('\n') : lines[0], c.says, what);
  assert.equal(r.stdout, '', what);
}

test('every subcommand has error cases here', () => {
  assert.deepEqual(Object.keys(CASES).sort(), commands.map((c) => c.name).sort());
});

for (const [cmd, cases] of Object.entries(CASES)) {
  test(`petrel ${cmd}: bad input ends with one line on stderr and the documented exit status`, async () => {
    ensureBuilt();
    for (const c of cases) assertOneLine(await run([cmd, ...c.args]), cmd, c);
  });
}

test('an unknown command ends with one line too', async () => {
  ensureBuilt();
  const r = await run(['frobnicate']);
  assert.equal(r.status, 2);
  assert.deepEqual(r.stderr.trimEnd().split('\n'), ["petrel: unknown command 'frobnicate' (`petrel --help` lists the commands)"]);
});
