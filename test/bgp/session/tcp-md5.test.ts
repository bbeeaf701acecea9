/**
 * TCP-MD5 (RFC 2385): the `struct tcp_md5sig` bytes we hand the kernel, then real Sessions over
 * loopback in the root namespace (127.0.0.1 / ::1 only): one passive behind a BgpListener holding the
 * key, one active connecting from a keyed socket. Matching keys reach Established; a wrong or missing
 * key never gets past TCP — the kernel drops the segments and counts them (TCPMD5Failure /
 * TCPMD5Unexpected in /proc/net/netstat), which is what the negative tests wait for: a positive,
 * bounded event rather than "nothing happened for N seconds". No assertion on durations.
 * setsockopt(TCP_MD5SIG) needs no privilege, so these run as any user.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { BgpListener, Session, type Logger, type SessionConfig } from '../../../src/bgp/session/index.js';
import {
  assertTcpMd5Available, md5KeyBytes, md5SigStruct, TCP_MD5SIG_SIZE, TcpMd5Error,
} from '../../../src/bgp/session/tcp-md5.js';
import { ConfigError } from '../../../src/errors.js';

const WAIT_MS = 10_000;
const le = endianness() === 'LE';
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const u16 = (n: number) => hex(new Uint8Array(le ? [n & 0xff, n >> 8] : [n >> 8, n & 0xff]));

// ------------------------------------------------------------------------------ struct layout

test('the key struct for an IPv4 peer on an IPv4 socket is sockaddr_in, then the key length at 130 and the key at 136', () => {
  const s = md5SigStruct(4, '192.0.2.7', new TextEncoder().encode('s3cret'));
  assert.equal(s.length, TCP_MD5SIG_SIZE);
  assert.equal(hex(s.subarray(0, 2)), u16(2)); // sin_family AF_INET, host order
  assert.equal(hex(s.subarray(2, 4)), '0000'); // sin_port: ignored, zero
  assert.equal(hex(s.subarray(4, 8)), 'c0000207'); // sin_addr 192.0.2.7
  assert.ok(s.subarray(8, 128).every((b) => b === 0)); // rest of sockaddr_storage
  assert.equal(hex(s.subarray(128, 130)), '0000'); // tcpm_flags, tcpm_prefixlen
  assert.equal(hex(s.subarray(130, 132)), u16(6)); // tcpm_keylen
  assert.equal(hex(s.subarray(132, 136)), '00000000'); // tcpm_ifindex
  assert.equal(Buffer.from(s.subarray(136, 142)).toString(), 's3cret'); // tcpm_key
  assert.ok(s.subarray(142).every((b) => b === 0));
});

test('the key struct for an IPv6 peer is sockaddr_in6 with the address at offset 8', () => {
  const s = md5SigStruct(6, '2001:db8::1', new TextEncoder().encode('k'));
  assert.equal(hex(s.subarray(0, 2)), u16(10)); // sin6_family AF_INET6
  assert.equal(hex(s.subarray(2, 8)), '000000000000'); // sin6_port, sin6_flowinfo
  assert.equal(hex(s.subarray(8, 24)), '20010db8000000000000000000000001'); // sin6_addr
  assert.equal(hex(s.subarray(24, 28)), '00000000'); // sin6_scope_id
  assert.equal(hex(s.subarray(130, 132)), u16(1));
  assert.equal(s[136], 0x6b);
});

test('an IPv4 peer on an IPv6 socket is keyed by its IPv4-mapped address', () => {
  const s = md5SigStruct(6, '198.51.100.20', new TextEncoder().encode('k'));
  assert.equal(hex(s.subarray(0, 2)), u16(10));
  assert.equal(hex(s.subarray(8, 24)), '00000000000000000000ffffc6336414');
});

test('deleting a key sends the peer address with key length zero and no key bytes', () => {
  const s = md5SigStruct(4, '192.0.2.7', undefined);
  assert.equal(hex(s.subarray(4, 8)), 'c0000207');
  assert.ok(s.subarray(128).every((b) => b === 0));
});

test('an IPv6 peer cannot be keyed on an IPv4 socket', () => {
  assert.throws(() => md5SigStruct(4, '2001:db8::1', undefined), (e: unknown) => e instanceof TcpMd5Error && e.code === 'BGP_ERR_TCP_MD5_FAMILY');
});

test('passwords are 1 to 80 bytes of UTF-8, and a config error names the field without echoing the password', () => {
  assert.equal(md5KeyBytes('x'.repeat(80)).length, 80);
  assert.equal(md5KeyBytes('é').length, 2);
  for (const bad of ['', 'y'.repeat(81), 'é'.repeat(41)]) {
    assert.throws(() => md5KeyBytes(bad, 'peers[0].password'), (e: unknown) =>
      e instanceof ConfigError && e.field === 'peers[0].password' && (bad === '' || !e.message.includes(bad)));
  }
  assert.throws(() => new Session(cfg({ password: 'z'.repeat(81) })), (e: unknown) => e instanceof ConfigError && e.field === 'password');
});

// ------------------------------------------------------------------------------ real sessions

function cfg(over: Partial<SessionConfig>): SessionConfig {
  return {
    peerAddress: '127.0.0.1', peerPort: 179, peerAsn: 65002, localAsn: 65001, routerId: '192.0.2.1',
    passive: false, holdTime: 30, connectRetryTime: 1, idleHoldTime: 1, families: ['ipv4'], ...over,
  };
}

/** Every log line as JSON text, to check that no password ever reaches a log. */
function recordingLog(lines: string[]): Logger {
  const rec = (level: string) => (obj: object, msg?: string) => { lines.push(JSON.stringify({ level, ...obj, msg })); };
  return { debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
}

function md5Counters(): Record<string, number> {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'));
  const names = lines[0].split(/\s+/).slice(1);
  const values = lines[1].split(/\s+/).slice(1).map(Number);
  const out: Record<string, number> = {};
  names.forEach((n, i) => { if (n.startsWith('TCPMD5')) out[n] = values[i]; });
  return out;
}

async function until(pred: () => boolean, what: string): Promise<void> {
  const end = Date.now() + WAIT_MS;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Pair { passive: Session; active: Session; listener: BgpListener; states: string[]; logs: string[] }

/**
 * A passive Session behind a listener holding `listenKey` for the loopback address, and an active
 * Session connecting to it with `connectKey`. Both are stopped by the caller (close()).
 */
async function pair(loopback: string, listenKey: string | undefined, connectKey: string | undefined): Promise<Pair & { close(): Promise<void> }> {
  const logs: string[] = [];
  const states: string[] = [];
  const log = recordingLog(logs);
  const passive = new Session(cfg({ peerAddress: loopback, passive: true, localAsn: 65002, peerAsn: 65001, routerId: '192.0.2.2', password: listenKey }), { log });
  const listener = new BgpListener({ address: loopback, port: 0 }, (remote) => (remote === loopback ? passive : undefined));
  if (listenKey) listener.setPassword(loopback, listenKey);
  await listener.listen();
  const active = new Session(cfg({ peerAddress: loopback, peerPort: listener.port, password: connectKey }), { log });
  for (const [name, s] of [['passive', passive], ['active', active]] as const) s.on('state', (_f, to) => states.push(`${name}:${to}`));
  passive.start();
  active.start();
  return {
    passive, active, listener, states, logs,
    async close() {
      await Promise.all([active.stop(), passive.stop()]);
      await listener.close();
    },
  };
}

let md5 = true;
try {
  assertTcpMd5Available();
} catch (e) {
  md5 = false;
  console.log(`# skipping TCP-MD5 sessions: ${(e as Error).message}`);
}

for (const loopback of ['127.0.0.1', '::1']) {
  test(`two Sessions over ${loopback} with the same TCP-MD5 key reach Established, and the key is never logged`, { skip: !md5 }, async () => {
    const key = 'Petrel-md5-key-7Q';
    const p = await pair(loopback, key, key);
    try {
      await until(() => p.active.state === 'Established' && p.passive.state === 'Established', 'both sessions Established');
      assert.equal(p.active.negotiated?.remoteAddress, loopback);
      assert.ok(p.logs.some((l) => l.includes('"tcpMd5":true')), 'the logs say TCP-MD5 is on');
      assert.ok(!p.logs.some((l) => l.includes(key)), 'no log line holds the key');
    } finally {
      await p.close();
    }
  });
}

test('a wrong TCP-MD5 key never gets past TCP: the kernel drops the signed SYN (TCPMD5Failure) and neither session sends an OPEN', { skip: !md5 }, async () => {
  const before = md5Counters();
  const p = await pair('127.0.0.1', 'right-key', 'wrong-key');
  try {
    await until(() => md5Counters().TCPMD5Failure > before.TCPMD5Failure, 'the kernel to count a segment with a bad MD5 signature');
    assert.deepEqual(p.states.filter((s) => /OpenSent|OpenConfirm|Established/.test(s)), []);
    assert.equal(p.active.state, 'Connect');
    assert.equal(p.passive.state, 'Active');
    assert.ok(!p.logs.some((l) => l.includes('right-key') || l.includes('wrong-key')), 'no log line holds a key');
  } finally {
    await p.close();
  }
});

test('a signed SYN to a listener without a key for that peer is dropped (TCPMD5Unexpected); so is an unsigned one to a keyed listener (TCPMD5NotFound)', { skip: !md5 }, async () => {
  for (const [listenKey, connectKey, counter] of [[undefined, 'only-us', 'TCPMD5Unexpected'], ['only-them', undefined, 'TCPMD5NotFound']] as const) {
    const before = md5Counters();
    const p = await pair('127.0.0.1', listenKey, connectKey);
    try {
      await until(() => md5Counters()[counter] > before[counter], `the kernel to count ${counter}`);
      assert.deepEqual(p.states.filter((s) => /OpenSent|OpenConfirm|Established/.test(s)), [], `${counter}: no OPEN exchanged`);
    } finally {
      await p.close();
    }
  }
});

test('a listener key deleted with setPassword(peer, undefined) lets the unsigned peer in again', { skip: !md5 }, async () => {
  const p = await pair('127.0.0.1', 'temporary', undefined);
  try {
    p.listener.setPassword('127.0.0.1', undefined);
    p.listener.setPassword('127.0.0.1', undefined); // deleting twice is not an error
    assert.deepEqual(p.listener.md5Peers, []);
    await until(() => p.active.state === 'Established' && p.passive.state === 'Established', 'both sessions Established');
  } finally {
    await p.close();
  }
});

test('where the socket calls are unavailable, a keyed session fails its connects with BGP_ERR_TCP_MD5_UNAVAILABLE and a keyed listener refuses to start', async () => {
  // A fresh process that claims another platform, so the addon loader takes its failure path for real.
  const { spawnSync } = await import('node:child_process');
  const script = `
    Object.defineProperty(process, 'platform', { value: 'darwin' });
    const { Session, BgpListener } = await import(${JSON.stringify(new URL('../../../src/bgp/session/index.ts', import.meta.url).href)});
    const lines = [];
    const rec = (obj, msg) => lines.push(JSON.stringify({ ...obj, msg }));
    const log = { debug: rec, info: rec, warn: rec, error: rec };
    const s = new Session({ peerAddress: '127.0.0.1', peerPort: 9, peerAsn: 65002, localAsn: 65001, routerId: '192.0.2.1',
      passive: false, holdTime: 30, connectRetryTime: 1, families: ['ipv4'], password: 'never-shown-9' }, { log });
    const down = new Promise((r) => s.once('down', r));
    s.start();
    const reason = await down;
    await s.stop();
    const l = new BgpListener({ address: '127.0.0.1', port: 0 }, () => undefined);
    l.setPassword('127.0.0.1', 'never-shown-9');
    const listenErr = await l.listen().then(() => 'listening', (e) => e.code);
    console.log(JSON.stringify({ reason, listenErr, lines }));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { reason: { code: string; message: string }; listenErr: string; lines: string[] };
  assert.equal(out.reason.code, 'BGP_TCP_CONNECT_FAILED');
  assert.match(out.reason.message, /^BGP_ERR_TCP_MD5_UNAVAILABLE: /);
  assert.equal(out.listenErr, 'BGP_ERR_TCP_MD5_UNAVAILABLE');
  assert.ok(out.lines.some((l) => l.includes('BGP_ERR_TCP_MD5_UNAVAILABLE')), 'the log names the error code');
  assert.ok(!r.stdout.includes('never-shown-9') && !r.stderr.includes('never-shown-9'), 'the key appears nowhere');
});

test('keys go through Petrel\'s own addon: no FFI dependency, and without the addon a keyed listener says which file is missing', async () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { dependencies?: Record<string, string> };
  assert.equal(pkg.dependencies?.koffi, undefined, 'koffi is back among the dependencies');
  const { spawnSync } = await import('node:child_process');
  const script = `
    const { BgpListener } = await import(${JSON.stringify(new URL('../../../src/bgp/session/index.ts', import.meta.url).href)});
    const l = new BgpListener({ address: '127.0.0.1', port: 0 }, () => undefined);
    l.setPassword('127.0.0.1', 'never-shown-7');
    const r = await l.listen().then(() => ({ code: 'listening' }), (e) => ({ code: e.code, message: e.message }));
    await l.close();
    console.log(JSON.stringify(r));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8', timeout: 30_000, env: { ...process.env, PETREL_NETLINK_ADDON: '/nonexistent/petrel_netlink.node' },
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { code: string; message: string };
  assert.equal(out.code, 'BGP_ERR_TCP_MD5_UNAVAILABLE');
  assert.match(out.message, /\/nonexistent\/petrel_netlink\.node/);
});
