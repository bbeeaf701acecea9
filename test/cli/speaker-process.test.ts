// `petrel speaker` as a process under hostile input and impatient operators: malformed HTTP requests
// to its status API never end it, `petrel routes` walks a table bigger than one page, and a second
// SIGTERM during the graceful shutdown is ignored (it used to end the process with 143).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { waitFor } from '../../src/lab/netns.js';
import { MALFORMED_REQUESTS, rawGet, rawRequest } from '../helpers/raw-http.js';
import { CLI, ensureBuilt, freePort, petrel, tempFile } from './helpers.js';

function start(config: string): { child: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; stderr: () => string } {
  ensureBuilt();
  const child = spawn(process.execPath, [CLI, 'speaker', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return { child, exited, stderr: () => stderr };
}

test('malformed HTTP requests to a running speaker get 4xx answers and the speaker keeps serving; petrel routes walks every page', async () => {
  const httpPort = await freePort();
  const originate = Array.from({ length: 6001 }, (_, i) => `198.18.${i >> 8}.${i & 255}/32`);
  const f = tempFile('speaker.yaml', `asn: 64512\nrouterId: 198.51.100.1\noriginate: [${originate.join(', ')}]\nhttp: { address: 127.0.0.1, port: ${httpPort} }\n`);
  const { child, exited, stderr } = start(f);
  try {
    await waitFor('the status API', async () => (await rawGet(httpPort, '/status').catch(() => ({ status: 0 }))).status === 200, 15_000, 100);
    for (const [what, bytes] of MALFORMED_REQUESTS) {
      const r = await rawRequest(httpPort, bytes);
      assert.ok(r.status !== undefined && r.status >= 400 && r.status < 500, `${what}: expected a 4xx, got ${r.status}`);
      assert.equal(child.exitCode, null, `${what}: the speaker is still running\n${stderr()}`);
    }
    assert.equal((await rawGet(httpPort, '/status')).status, 200);
    // 6001 prefixes are two pages of `petrel routes`; the output holds each once.
    const r = petrel(['routes', '--json', '--api', `http://127.0.0.1:${httpPort}`], { timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const got = (JSON.parse(r.stdout).routes as Array<{ prefix: string }>).map((x) => x.prefix);
    assert.equal(got.length, originate.length);
    assert.deepEqual(new Set(got), new Set(originate));
    child.kill('SIGTERM');
    assert.deepEqual(await exited, { code: 0, signal: null });
    assert.match(stderr(), /HTTP request refused: the request target is not a URL/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('a second SIGTERM while the speaker shuts down gracefully is logged and ignored; it still exits 0', async () => {
  // A peer that accepts the connection and never answers nor closes: the speaker's Cease to it
  // lingers (up to 2 s) waiting for the peer's FIN, so the shutdown is surely still running when
  // the NOTIFICATION arrives here and the second SIGTERM is sent.
  const sockets: net.Socket[] = [];
  let notified: () => void = () => {};
  const notification = new Promise<void>((r) => (notified = r));
  const peer = net.createServer((s) => {
    sockets.push(s);
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 19) {
        const len = buf.readUInt16BE(16);
        if (len < 19 || buf.length < len) break;
        if (buf[18] === 3) notified(); // NOTIFICATION
        buf = buf.subarray(len);
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', () => r()));
  const peerPort = (peer.address() as net.AddressInfo).port;
  const f = tempFile('speaker.yaml', `asn: 64512\nrouterId: 198.51.100.1\nconnectRetryTime: 1\npeers:\n  - { address: 127.0.0.1, asn: 65001, port: ${peerPort} }\n`);
  const { child, exited, stderr } = start(f);
  try {
    await waitFor('the speaker to connect to the peer', () => sockets.length > 0, 15_000, 50);
    await waitFor('the speaker to be started', () => /speaker started/.test(stderr()), 15_000, 50);
    child.kill('SIGTERM');
    await notification;
    assert.equal(child.exitCode, null, 'still shutting down');
    child.kill('SIGTERM');
    assert.deepEqual(await exited, { code: 0, signal: null }, stderr());
    assert.match(stderr(), /already shutting down: signal ignored/);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => peer.close(() => r()));
  }
});

test('--check lists every problem of the file, one per line, and never a password', () => {
  const f = tempFile('bad.yaml', 'asn: 0\nrouterId: 198.51.100.1\npeers:\n  - { address: 198.51.100.2, asn: 65001, password: [s3cret-hunter2] }\n  - { address: 198.51.100.3, asn: 65001, holdTime: 1 }\n');
  const r = petrel(['speaker', '--config', f, '--check']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /invalid configuration, 3 problems:\n/);
  for (const field of ['asn', 'peers[0].password', 'peers[1].holdTime']) assert.ok(r.stderr.includes(`  ${f}: ${field}: `), r.stderr);
  assert.doesNotMatch(r.stderr, /s3cret|hunter2/);
});

test('SIGHUP with a wrong-type password or 10 MB of garbage: reload refused, every problem logged, no password, no huge line', async () => {
  const good = 'asn: 64512\nrouterId: 198.51.100.1\noriginate: [203.0.113.0/24]\n';
  const f = tempFile('speaker.yaml', good);
  const { child, exited, stderr } = start(f);
  try {
    await waitFor('the speaker to be started', () => /speaker started/.test(stderr()), 15_000, 50);
    writeFileSync(f, 'asn: 0\nrouterId: 198.51.100.1\npeers:\n  - { address: 198.51.100.2, asn: 65001, password: [s3cret-hunter2] }\n');
    child.kill('SIGHUP');
    await waitFor('the refused reload', () => (stderr().match(/reload refused/g) ?? []).length === 1, 15_000, 50);
    const line = stderr().split('\n').find((l) => l.includes('reload refused'))!;
    assert.deepEqual(JSON.parse(line).errors.map((e: string) => e.split(': ')[1]), ['asn', 'peers[0].password']);
    writeFileSync(f, `asn: 64512\nrouterId: ${'x'.repeat(10 * 1024 * 1024)}\n`);
    child.kill('SIGHUP');
    await waitFor('the second refused reload', () => (stderr().match(/reload refused/g) ?? []).length === 2, 30_000, 100);
    assert.doesNotMatch(stderr(), /s3cret|hunter2/);
    for (const l of stderr().split('\n')) assert.ok(l.length < 2000, `a log line of ${l.length} characters`);
    assert.equal(child.exitCode, null);
    child.kill('SIGTERM');
    assert.deepEqual(await exited, { code: 0, signal: null });
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
