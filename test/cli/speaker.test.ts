// `petrel speaker` as a process: configuration errors exit 2 naming the file and the field; a
// running speaker answers `petrel status` and `petrel routes` (table and JSON) through its status API,
// SIGHUP reloads its file, and SIGTERM ends it with exit status 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { waitFor } from '../../src/lab/netns.js';
import { CLI, ensureBuilt, freePort, petrel, tempFile } from './helpers.js';

const BAD: Array<[string, string, string]> = [
  ['asn: 64512\nrouterId: 198.51.100.1\npeers:\n  - address: 198.51.100.2\n    asn: -5\n', 'peers[0].asn', 'between 1 and 4294967295'],
  ['asn: 64512\nrouterId: 198.51.100.1\nholdTime: 1\n', 'holdTime', 'RFC 4271'],
  ['asn: 64512\nrouterId: 198.51.100.1\noriginate: [not-a-prefix]\n', 'originate[0]', 'CIDR'],
  ['asn: 64512\nrouterId: 198.51.100.1\nhttp: { address: localhost }\n', 'http.address', 'IP address'],
  ['asn: 64512\nrouterid: 198.51.100.1\n', 'routerid', 'unknown field'],
];
for (const [yaml, field, what] of BAD) {
  test(`an invalid ${field} exits 2 naming the file and the field`, () => {
    const f = tempFile('speaker.yaml', yaml);
    const r = petrel(['speaker', '--config', f]);
    assert.equal(r.status, 2, r.stderr);
    assert.ok(r.stderr.includes(`${f}: ${field}: `), r.stderr);
    assert.ok(r.stderr.includes(what), r.stderr);
  });
}

test('a missing configuration file exits 2 naming it', () => {
  const r = petrel(['speaker', '--config', '/nonexistent/petrel.yaml']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /\/nonexistent\/petrel\.yaml: \(file\): cannot read/);
});

test('speaker without --config is a usage error (exit 2)', () => {
  const r = petrel(['speaker']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--config FILE is required/);
});

test('--check validates without starting', () => {
  const f = tempFile('ok.yaml', 'asn: 64512\nrouterId: 198.51.100.1\noriginate: [203.0.113.0/24]\n');
  const r = petrel(['speaker', '--config', f, '--check']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /valid \(0 peers, 1 prefixes\)/);
});

test('a running speaker answers petrel status and petrel routes, and exits 0 on SIGTERM', async () => {
  ensureBuilt();
  const httpPort = await freePort();
  const f = tempFile('speaker.yaml', [
    'asn: 64512',
    'routerId: 198.51.100.1',
    'connectRetryTime: 1',
    'idleHoldTime: 1',
    'peers:',
    '  - { address: 127.0.0.1, asn: 65001, port: 9 }   # nobody there: the session stays down',
    '  - { address: "2001:db8::2", asn: 64512, passive: true }',
    'originate: [203.0.113.0/24, 2001:db8:1::/48]',
    `http: { address: 127.0.0.1, port: ${httpPort} }`,
  ].join('\n'));
  const child = spawn(process.execPath, [CLI, 'speaker', '--config', f], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const api = `http://127.0.0.1:${httpPort}`;
  try {
    await waitFor('the status API', () => petrel(['status', '--json', '--api', api]).status === 0, 15_000, 100);
    const st = JSON.parse(petrel(['status', '--json', '--api', api]).stdout);
    assert.equal(st.asn, 64512);
    assert.equal(st.routerId, '198.51.100.1');
    assert.deepEqual(st.peers.map((p: { address: string; asn: number; type: string }) => [p.address, p.asn, p.type]), [
      ['127.0.0.1', 65001, 'eBGP'],
      ['2001:db8::2', 64512, 'iBGP'],
    ]);
    for (const p of st.peers) {
      assert.notEqual(p.state, 'Established');
      assert.equal(p.received, 0);
      assert.equal(p.advertised, 0);
      for (const k of ['since', 'info']) assert.ok(k in p, k);
    }
    const table = petrel(['status', '--api', api]);
    assert.equal(table.status, 0);
    assert.match(table.stdout, /IPv4 BGP status\n\+-+/);
    assert.match(table.stdout, /\| PEER ADDRESS \| PEER TYPE \| STATE \|\s+SINCE\s+\|\s+INFO\s+\|/);
    assert.match(table.stdout, /\| 127\.0\.0\.1 +\| eBGP +\|/);
    assert.match(table.stdout, /IPv6 BGP status\n[\s\S]*\| 2001:db8::2 +\| iBGP +\|/);

    const routes = JSON.parse(petrel(['routes', '--json', '--api', api]).stdout).routes;
    assert.deepEqual(routes.map((r: { prefix: string }) => r.prefix).sort(), ['2001:db8:1::/48', '203.0.113.0/24']);
    const r0 = routes.find((r: { prefix: string }) => r.prefix === '203.0.113.0/24');
    assert.deepEqual(r0, {
      prefix: '203.0.113.0/24', nextHop: 'self', nextHops: [], asPath: [], localPref: 100, med: null, origin: 'igp',
      communities: [], originatorId: null, clusterList: [], peer: 'local', best: true, reason: 'only path',
    });
    const one = JSON.parse(petrel(['routes', '--json', '--prefix', '2001:DB8:1::/48', '--api', api]).stdout).routes;
    assert.equal(one.length, 1);
    const text = petrel(['routes', '--api', api]).stdout;
    assert.match(text, /\| \* \| 203\.0\.113\.0\/24 +\| self +\|/);

    // SIGHUP re-reads the file: a new originated prefix appears, a removed one goes; an invalid
    // file is refused and changes nothing.
    writeFileSync(f, readFileSync(f, 'utf8').replace('originate: [203.0.113.0/24, 2001:db8:1::/48]', 'originate: [203.0.113.0/24, 198.18.9.0/24]'));
    child.kill('SIGHUP');
    const prefixes = () => (JSON.parse(petrel(['routes', '--json', '--api', api]).stdout).routes as Array<{ prefix: string }>).map((r) => r.prefix).sort().join(' ');
    await waitFor('the reloaded prefixes', () => prefixes() === '198.18.9.0/24 203.0.113.0/24', 10_000, 100);
    writeFileSync(f, readFileSync(f, 'utf8').replace('asn: 64512', 'asn: 0'));
    child.kill('SIGHUP');
    await waitFor('the refused reload to be logged', () => /reload refused: invalid configuration/.test(stderr), 10_000, 100);
    assert.equal(prefixes(), '198.18.9.0/24 203.0.113.0/24');
    assert.equal(child.exitCode, null, 'still running');

    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /"msg":"shutting down: Cease \/ Administrative Shutdown to every peer"/);
    for (const line of stderr.trim().split('\n')) JSON.parse(line); // every log line is pino JSON
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
