/**
 * Real Sessions over real TCP in the root namespace, bound to loopback only (127.0.0.1 / ::1; each
 * speaker on its own port). Timers run on fake clocks, so hold-timer expiry and keepalives happen
 * when a test advances time — no sleeps and no assertion on durations. Every wait on a socket event
 * is bounded (WAIT_MS) and everything opened is closed in a finally.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { BgpListener, Session, type SessionConfig, type SessionEventMap, type SessionMetrics } from '../../../src/bgp/session/index.js';
import { decodeMessage, encodeMessage, encodeUpdates, Framer, type BgpMessage, type OpenMessage } from '../../../src/bgp/wire/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const WAIT_MS = 10_000;

function once<K extends keyof SessionEventMap>(s: Session, ev: K): Promise<SessionEventMap[K]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for '${ev}' (state ${s.state})`)), WAIT_MS);
    s.once(ev, ((...args: SessionEventMap[K]) => {
      clearTimeout(t);
      resolve(args);
    }) as never);
  });
}

/** Resolves when `pred` holds, checking after each turn of the event loop; bounded by WAIT_MS. */
async function until(pred: () => boolean, what: string): Promise<void> {
  const end = Date.now() + WAIT_MS;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Counts what a session reports through its metrics interface. */
class CountingMetrics implements SessionMetrics {
  received = new Map<string, number>();
  sent = new Map<string, number>();
  notifSent: string[] = [];
  notifReceived: string[] = [];
  states: string[] = [];
  flaps = 0;
  stateChanged(from: string, to: string) { this.states.push(`${from}>${to}`); }
  updateReceived() {}
  updateSent() {}
  notificationReceived(code: number, subcode: number) { this.notifReceived.push(`${code}/${subcode}`); }
  notificationSent(code: number, subcode: number) { this.notifSent.push(`${code}/${subcode}`); }
  attributeProblem() {}
  messageReceived(type: string) { this.received.set(type, (this.received.get(type) ?? 0) + 1); }
  messageSent(type: string) { this.sent.set(type, (this.sent.get(type) ?? 0) + 1); }
  flap() { this.flaps++; }
}

interface Speaker {
  session: Session;
  listener: BgpListener;
  clock: FakeClock;
  metrics: CountingMetrics;
}

function base(over: Partial<SessionConfig>): SessionConfig {
  return {
    peerAddress: '127.0.0.1',
    peerPort: 179,
    peerAsn: 65002,
    localAsn: 65001,
    routerId: '192.0.2.1',
    passive: false,
    holdTime: 30,
    connectRetryTime: 5,
    families: ['ipv4', 'ipv6'],
    ...over,
  };
}

/** A speaker: a listener on address:0 whose only peer is `session`. */
async function speaker(address: string, cfg: () => SessionConfig): Promise<Speaker & { make(): void }> {
  const clock = new FakeClock();
  const metrics = new CountingMetrics();
  const sp = { clock, metrics } as Speaker & { make(): void };
  sp.listener = new BgpListener({ address, port: 0 }, (remote) => (sp.session && remote === sp.session.peerAddress ? sp.session : undefined));
  await sp.listener.listen();
  sp.make = () => {
    sp.session = new Session(cfg(), { clock, metrics });
  };
  return sp;
}

async function teardown(...sps: Array<Partial<Speaker>>): Promise<void> {
  for (const s of sps) {
    await s.session?.stop().catch(() => {});
    await s.listener?.close();
  }
}

/** A (AS 65001, active) and B (AS 65002, passive) on one loopback address, each on its own port. */
async function establishedPair(address: string, aOver: Partial<SessionConfig> = {}, bOver: Partial<SessionConfig> = {}) {
  let A!: Speaker & { make(): void };
  let B!: Speaker & { make(): void };
  A = await speaker(address, () => base({ peerAddress: address, peerPort: B.listener.port, ...aOver }));
  B = await speaker(address, () => base({ peerAddress: address, peerPort: A.listener.port, localAsn: 65002, peerAsn: 65001, routerId: '192.0.2.2', passive: true, ...bOver }));
  A.make();
  B.make();
  const ea = once(A.session, 'established');
  const eb = once(B.session, 'established');
  B.session.start();
  A.session.start();
  await Promise.all([ea, eb]);
  return { A, B };
}

test('two sessions reach Established over IPv4 loopback and an UPDATE crosses', async () => {
  const { A, B } = await establishedPair('127.0.0.1');
  try {
    assert.equal(A.session.state, 'Established');
    assert.equal(B.session.state, 'Established');
    const n = A.session.negotiated!;
    assert.deepEqual(n.families, ['ipv4', 'ipv6']);
    assert.equal(n.holdTime, 30);
    assert.equal(n.peerRouterId, '192.0.2.2');
    assert.equal(n.localAddress, '127.0.0.1');
    assert.equal(n.codec.fourOctetAs, true);
    assert.deepEqual(A.metrics.states, ['Idle>Connect', 'Connect>OpenSent', 'OpenSent>OpenConfirm', 'OpenConfirm>Established']);
    assert.deepEqual(B.metrics.states, ['Idle>Active', 'Active>OpenSent', 'OpenSent>OpenConfirm', 'OpenConfirm>Established']);

    const got = once(B.session, 'update');
    const frames = encodeUpdates({ family: 'ipv4', attrs: { origin: 0, asPath: [{ type: 2, asns: [65001] }] }, nextHops: ['192.0.2.1'], nlri: ['198.51.100.0/24', '203.0.113.0/25'], withdrawn: [] }, n.codec);
    for (const f of frames) assert.equal(A.session.send(f), true);
    const [u] = await got;
    assert.deepEqual(u.nlri, ['198.51.100.0/24', '203.0.113.0/25']);
    assert.equal(u.attrs.nextHop, '192.0.2.1');
    assert.equal(A.session.stats.updatesOut, 1);
    assert.equal(B.session.stats.updatesIn, 1);
  } finally {
    await teardown(A, B);
  }
});

test('two sessions reach Established over IPv6 loopback', async () => {
  const { A, B } = await establishedPair('::1');
  try {
    assert.equal(A.session.negotiated?.remoteAddress, '::1');
    assert.equal(B.session.negotiated?.outbound, false);
    assert.equal(A.session.negotiated?.outbound, true);
  } finally {
    await teardown(A, B);
  }
});

test('a KEEPALIVE goes out each time the keepalive interval passes on the sender\'s clock', async () => {
  const { A, B } = await establishedPair('127.0.0.1');
  try {
    const before = B.metrics.received.get('keepalive') ?? 0;
    A.clock.advance(10_000); // a third of the 30 s hold time (jitter only shortens it)
    await until(() => (B.metrics.received.get('keepalive') ?? 0) === before + 1, 'a KEEPALIVE at B');
    A.clock.advance(10_000);
    await until(() => (B.metrics.received.get('keepalive') ?? 0) === before + 2, 'a second KEEPALIVE at B');
    // B heard from A within its hold time, so advancing B by less than the hold time keeps it up.
    B.clock.advance(29_000);
    assert.equal(B.session.state, 'Established');
  } finally {
    await teardown(A, B);
  }
});

test('the hold timer restarts on each KEEPALIVE received and expires a hold time after the last one', async () => {
  const { A, B } = await establishedPair('127.0.0.1');
  try {
    B.clock.advance(20_000);
    const before = B.metrics.received.get('keepalive') ?? 0;
    A.clock.advance(10_000);
    await until(() => (B.metrics.received.get('keepalive') ?? 0) > before, 'a KEEPALIVE at B');
    B.clock.advance(20_000); // 40 s since establishment, 20 s since the KEEPALIVE
    assert.equal(B.session.state, 'Established');
    const down = once(B.session, 'down');
    B.clock.advance(10_000); // 30 s since the KEEPALIVE
    const [reason] = await down;
    assert.equal(reason.code, 'BGP_HOLD_TIMER_EXPIRED');
    assert.deepEqual(B.metrics.notifSent, ['4/0']);
  } finally {
    await teardown(A, B);
  }
});

test('the active side binds the configured local address and port', async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const { A, B } = await establishedPair('127.0.0.1', { localAddress: '127.0.0.1', localPort: port });
  try {
    assert.equal(A.session.negotiated?.localPort, port);
    assert.equal(B.session.negotiated?.remotePort, port);
  } finally {
    await teardown(A, B);
  }
});

/** A hand-driven peer on a raw socket: answers the OPEN, then can be frozen (stops reading and writing). */
async function rawPeer(open: Partial<OpenMessage> = {}, afterOpen?: (s: net.Socket) => void) {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const received: BgpMessage[] = [];
  const framer = new Framer();
  let sock: net.Socket | undefined;
  server.on('connection', (s) => {
    sock = s;
    s.on('error', () => {});
    s.on('data', (chunk) => {
      for (const f of framer.push(chunk)) {
        const m = decodeMessage(f, { fourOctetAs: true, extendedMessage: false }).message;
        received.push(m);
        if (m.type === 'open') {
          s.write(encodeMessage({ type: 'open', version: 4, myAs: 65002, holdTime: 30, bgpId: '192.0.2.2', capabilities: [{ kind: 'four-octet-as', asn: 65002 }], ...open }, { fourOctetAs: true, extendedMessage: false }));
          s.write(encodeMessage({ type: 'keepalive' }, { fourOctetAs: true, extendedMessage: false }));
        }
        if (m.type === 'keepalive' && received.filter((x) => x.type === 'keepalive').length === 1) afterOpen?.(s);
      }
    });
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    received,
    freeze: () => sock?.pause(),
    thaw: () => sock?.resume(),
    close: () => {
      sock?.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

test('when the peer stops reading and sending, the hold timer expires and Hold Timer Expired is sent', async () => {
  const peer = await rawPeer();
  const clock = new FakeClock();
  const s = new Session(base({ peerPort: peer.port, families: ['ipv4'] }), { clock });
  try {
    const est = once(s, 'established');
    s.start();
    await est;
    peer.freeze();
    const down = once(s, 'down');
    clock.advance(30_000);
    const [reason] = await down;
    assert.equal(reason.code, 'BGP_HOLD_TIMER_EXPIRED');
    assert.equal(reason.notificationSent?.code, 4);
    assert.equal(s.state, 'Idle');
    assert.equal(s.stats.flaps, 1);
    peer.thaw();
    await until(() => peer.received.some((m) => m.type === 'notification'), 'the NOTIFICATION on the wire');
    const n = peer.received.find((m) => m.type === 'notification');
    assert.ok(n && n.type === 'notification' && n.code === 4 && n.subcode === 0);
  } finally {
    await s.stop();
    await peer.close();
  }
});

test('a peer announcing the wrong AS gets NOTIFICATION 2/2 (Bad Peer AS)', async () => {
  const peer = await rawPeer({ myAs: 65099, capabilities: [{ kind: 'four-octet-as', asn: 65099 }] });
  const s = new Session(base({ peerPort: peer.port }), { clock: new FakeClock() });
  try {
    const down = once(s, 'down');
    s.start();
    const [reason] = await down;
    assert.equal(reason.code, 'BGP_OPEN_ERROR');
    await until(() => peer.received.some((m) => m.type === 'notification'), 'the NOTIFICATION on the wire');
    const n = peer.received.find((m) => m.type === 'notification');
    assert.ok(n && n.type === 'notification' && n.code === 2 && n.subcode === 2);
  } finally {
    await s.stop();
    await peer.close();
  }
});

test('a speaker configured with the wrong peer AS makes the real peer session go down with 2/2 received', async () => {
  let A!: Speaker & { make(): void };
  let B!: Speaker & { make(): void };
  A = await speaker('127.0.0.1', () => base({ peerPort: B.listener.port, peerAsn: 65099 }));
  B = await speaker('127.0.0.1', () => base({ peerPort: A.listener.port, localAsn: 65002, peerAsn: 65001, routerId: '192.0.2.2', passive: true }));
  A.make();
  B.make();
  try {
    const downB = once(B.session, 'down');
    B.session.start();
    A.session.start();
    const [reason] = await downB;
    assert.equal(reason.code, 'BGP_NOTIFICATION_RECEIVED');
    assert.equal(reason.notificationReceived?.code, 2);
    assert.equal(reason.notificationReceived?.subcode, 2);
    assert.deepEqual(A.metrics.notifSent, ['2/2']);
  } finally {
    await teardown(A, B);
  }
});

test('stop() sends Cease / Administrative Shutdown with the RFC 8203 message and both sides go Idle', async () => {
  const { A, B } = await establishedPair('127.0.0.1');
  try {
    const downB = once(B.session, 'down');
    await A.session.stop({ subcode: 2, message: 'maintenance window' });
    assert.equal(A.session.state, 'Idle');
    const [reason] = await downB;
    assert.equal(reason.notificationReceived?.code, 6);
    assert.equal(reason.notificationReceived?.subcode, 2);
    assert.equal(reason.notificationReceived?.shutdownMessage, 'maintenance window');
    assert.equal(B.session.state, 'Idle');
    assert.equal(B.metrics.flaps, 1);
  } finally {
    await teardown(A, B);
  }
});

test('when both sides connect at once, the connection opened by the higher BGP identifier survives', async () => {
  let A!: Speaker & { make(): void };
  let B!: Speaker & { make(): void };
  // B has the higher identifier, so the connection B opened (to A's port) must survive.
  A = await speaker('127.0.0.1', () => base({ peerPort: B.listener.port }));
  B = await speaker('127.0.0.1', () => base({ peerPort: A.listener.port, localAsn: 65002, peerAsn: 65001, routerId: '192.0.2.2' }));
  A.make();
  B.make();
  try {
    const ea = once(A.session, 'established');
    const eb = once(B.session, 'established');
    A.session.start();
    B.session.start();
    await Promise.all([ea, eb]);
    assert.equal(B.session.negotiated?.outbound, true);
    assert.equal(B.session.negotiated?.remotePort, A.listener.port);
    assert.equal(A.session.negotiated?.outbound, false);
    assert.equal(A.session.negotiated?.localPort, A.listener.port);
    // The dropped connection got Cease / Connection Collision Resolution from at least one side.
    assert.ok([...A.metrics.notifSent, ...B.metrics.notifSent].includes('6/7'));
    // Nobody saw the peer go down: only one of two racing connections was closed.
    assert.equal(A.metrics.flaps + B.metrics.flaps, 0);
    for (const sp of [A, B]) assert.ok(!sp.metrics.states.some((x) => x.endsWith('>Idle')), sp.metrics.states.join(' '));
    // The surviving connection carries traffic.
    const got = once(A.session, 'update');
    for (const f of encodeUpdates({ family: 'ipv6', attrs: { origin: 0, asPath: [{ type: 2, asns: [65002] }] }, nextHops: ['2001:db8::2'], nlri: ['2001:db8:1::/48'], withdrawn: [] }, B.session.negotiated!.codec)) B.session.send(f);
    const [u] = await got;
    assert.deepEqual(u.attrs.mpReach?.nlri, ['2001:db8:1::/48']);
  } finally {
    await teardown(A, B);
  }
});

test('a connection from an address that is no configured peer is closed at once and counted', async () => {
  const listener = new BgpListener({ address: '127.0.0.1', port: 0 }, (remote) => {
    void remote;
    return undefined;
  });
  await listener.listen();
  try {
    const sock = net.connect({ host: '127.0.0.1', port: listener.port });
    sock.on('error', () => {});
    const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
    const bytes: Buffer[] = [];
    sock.on('data', (b) => bytes.push(b));
    await closed;
    assert.equal(listener.rejected, 1);
    assert.equal(Buffer.concat(bytes).length, 0);
  } finally {
    await listener.close();
  }
});

test('an active session whose first connection is refused retries after the idle hold and then establishes', async () => {
  const clock = new FakeClock();
  // Find a free port, then leave it closed for the first attempt.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const a = new Session(base({ peerPort: port, idleHoldTime: 1 }), { clock });
  let b: Session | undefined;
  const listener = new BgpListener({ address: '127.0.0.1', port }, () => b);
  try {
    const down = once(a, 'down');
    a.start();
    const [reason] = await down;
    assert.equal(reason.code, 'BGP_TCP_CONNECT_FAILED');
    assert.equal(a.state, 'Idle');
    b = new Session(base({ peerPort: 179, localAsn: 65002, peerAsn: 65001, routerId: '192.0.2.2', passive: true }), { clock: new FakeClock() });
    await listener.listen();
    b.start();
    const est = once(a, 'established');
    clock.advance(1_000);
    await est;
    assert.equal(b.state, 'Established');
  } finally {
    await a.stop();
    await b?.stop();
    await listener.close();
  }
});

test('send() reports backpressure and the session emits drain once the peer has read the backlog', async () => {
  const { A, B } = await establishedPair('127.0.0.1');
  try {
    const codec = A.session.negotiated!.codec;
    const nlri: string[] = [];
    for (let i = 0; i < 256; i++) nlri.push(`198.18.${i}.0/24`);
    const frames = encodeUpdates({ family: 'ipv4', attrs: { origin: 0, asPath: [{ type: 2, asns: [65001] }] }, nextHops: ['192.0.2.1'], nlri, withdrawn: [] }, codec);
    let sent = 0;
    let full = false;
    for (let i = 0; i < 10_000 && !full; i++) {
      for (const f of frames) {
        sent++;
        if (!A.session.send(f)) full = true;
      }
    }
    assert.ok(full, 'the socket buffer filled up');
    await once(A.session, 'drain');
    await until(() => B.session.stats.updatesIn === sent, `all ${sent} UPDATEs at B`);
    assert.equal(A.session.stats.updatesOut, sent);
  } finally {
    await teardown(A, B);
  }
});

test('a second connection from a peer that is already Established is refused', async () => {
  const { A, B } = await establishedPair('127.0.0.1');
  try {
    const sock = net.connect({ host: '127.0.0.1', port: B.listener.port });
    sock.on('error', () => {});
    await new Promise<void>((resolve) => sock.once('close', () => resolve()));
    assert.equal(B.listener.refused, 1);
    assert.equal(B.session.state, 'Established');
  } finally {
    await teardown(A, B);
  }
});


/** Bytes of a message with a valid header around `body`. */
function frame(type: number, body: number[]): Buffer {
  const len = 19 + body.length;
  return Buffer.from([...new Array(16).fill(0xff), len >> 8, len & 0xff, type, ...body]);
}

test('a malformed UPDATE that RFC 7606 cannot contain is answered with its NOTIFICATION and the session goes down', async () => {
  // NLRI with prefix length 33: Invalid Network Field (RFC 4271 §6.3, RFC 7606 §5.3 session reset).
  const peer = await rawPeer({}, (s) => s.write(frame(2, [0, 0, 0, 0, 33, 198, 51, 100, 0, 1])));
  const s = new Session(base({ peerPort: peer.port }), { clock: new FakeClock() });
  try {
    const down = once(s, 'down');
    s.start();
    const [reason] = await down;
    assert.equal(reason.code, 'BGP_UPDATE_ERROR');
    assert.equal(reason.wasEstablished, true);
    await until(() => peer.received.some((m) => m.type === 'notification'), 'the NOTIFICATION on the wire');
    const n = peer.received.find((m) => m.type === 'notification');
    assert.ok(n && n.type === 'notification' && n.code === 3, `got ${JSON.stringify(n)}`);
  } finally {
    await s.stop();
    await peer.close();
  }
});

test('a message with a broken marker is answered with Connection Not Synchronized (1/1)', async () => {
  const bad = frame(4, []);
  bad[3] = 0;
  const peer = await rawPeer({}, (s) => s.write(bad));
  const s = new Session(base({ peerPort: peer.port }), { clock: new FakeClock() });
  try {
    const down = once(s, 'down');
    s.start();
    const [reason] = await down;
    assert.equal(reason.code, 'BGP_HEADER_ERROR');
    await until(() => peer.received.some((m) => m.type === 'notification'), 'the NOTIFICATION on the wire');
    const n = peer.received.find((m) => m.type === 'notification');
    assert.ok(n && n.type === 'notification' && n.code === 1 && n.subcode === 1);
  } finally {
    await s.stop();
    await peer.close();
  }
});

test('an UPDATE is handed up with the raw bytes of its path attributes', async () => {
  const { A, B } = await establishedPair('127.0.0.1');
  try {
    const got = once(B.session, 'update');
    for (const f of encodeUpdates({ family: 'ipv4', attrs: { origin: 0, asPath: [{ type: 2, asns: [65001] }], communities: [0xfde80001] }, nextHops: ['192.0.2.1'], nlri: ['198.51.100.0/24'], withdrawn: [] }, A.session.negotiated!.codec)) A.session.send(f);
    const [u, problems, raw] = await got;
    assert.deepEqual(u.attrs.communities, [0xfde80001]);
    assert.deepEqual(problems, []);
    assert.ok(raw && raw.length > 0, 'raw attribute bytes are present');
  } finally {
    await teardown(A, B);
  }
});

test('with DelayOpen the active side waits for the peer\'s OPEN and answers it with OPEN and KEEPALIVE (Event 20)', async () => {
  // A's DelayOpenTimer (5 s) never runs out on its fake clock: only B's OPEN can move A on.
  const { A, B } = await establishedPair('127.0.0.1', { delayOpenTime: 5 });
  try {
    assert.deepEqual(A.metrics.states, ['Idle>Connect', 'Connect>OpenConfirm', 'OpenConfirm>Established']);
    assert.equal(B.session.state, 'Established');
  } finally {
    await teardown(A, B);
  }
});

test('a configuration that would produce an OPEN the peer must reject is refused at construction', () => {
  assert.throws(() => new Session(base({ holdTime: 2 })), { code: 'CONFIG_INVALID' });
  assert.throws(() => new Session(base({ routerId: '0.0.0.0' })), { code: 'CONFIG_INVALID' });
  assert.throws(() => new Session(base({ peerAsn: 0 })), { code: 'CONFIG_INVALID' });
  assert.throws(() => new Session(base({ families: [] })), { code: 'CONFIG_INVALID' });
  assert.equal(new Session(base({ holdTime: 0 })).state, 'Idle');
});

/** A raw client connecting to `port`; answers our OPEN with its own and a KEEPALIVE only if `answer`. */
async function rawClient(port: number, answer: boolean, open: Partial<OpenMessage> = {}) {
  const ctx = { fourOctetAs: true, extendedMessage: false };
  const received: BgpMessage[] = [];
  const framer = new Framer();
  const sock = net.connect({ host: '127.0.0.1', port });
  sock.on('error', () => {});
  sock.on('data', (chunk) => {
    for (const f of framer.push(chunk)) {
      const m = decodeMessage(f, ctx).message;
      received.push(m);
      if (m.type === 'open' && answer) {
        sock.write(encodeMessage({ type: 'open', version: 4, myAs: 65002, holdTime: 30, bgpId: '192.0.2.2', capabilities: [{ kind: 'four-octet-as', asn: 65002 }], ...open }, ctx));
        sock.write(encodeMessage({ type: 'keepalive' }, ctx));
      }
    }
  });
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  return { sock, received };
}

test('when the peer opens a second connection while its first is still in OpenSent, the newer one stays', async () => {
  let s: Session | undefined;
  const listener = new BgpListener({ address: '127.0.0.1', port: 0 }, () => s);
  await listener.listen();
  // Our identifier is the higher one, so §6.8 alone would close the connection the peer opened last.
  s = new Session(base({ passive: true, routerId: '192.0.2.3' }), { clock: new FakeClock() });
  const clients: Array<{ sock: net.Socket }> = [];
  try {
    s.start();
    const first = await rawClient(listener.port, false);
    clients.push(first);
    await until(() => first.received.some((m) => m.type === 'open'), 'our OPEN on the first connection');
    assert.equal(s.state, 'OpenSent');
    const est = once(s, 'established');
    const second = await rawClient(listener.port, true);
    clients.push(second);
    await est;
    assert.equal(s.negotiated?.remotePort, second.sock.localPort);
    await until(() => first.received.some((m) => m.type === 'notification'), 'a NOTIFICATION on the first connection');
    const n = first.received.find((m) => m.type === 'notification');
    assert.ok(n && n.type === 'notification' && n.code === 6 && n.subcode === 7);
  } finally {
    await s.stop();
    for (const c of clients) c.sock.destroy();
    await listener.close();
  }
});

test('a listener that throws on down costs nothing but a logged, counted error: the session restarts after the idle hold', async () => {
  const peer = await rawPeer();
  const clock = new FakeClock();
  const errors: string[] = [];
  const log = { debug() {}, info() {}, warn() {}, error: (o: object, msg: string) => errors.push(`${msg} ${JSON.stringify(o)}`) };
  const s = new Session(base({ peerPort: peer.port, families: ['ipv4'] }), { clock, log });
  try {
    const est = once(s, 'established');
    s.start();
    await est;
    s.once('down', () => {
      throw new Error('listener bug');
    });
    clock.advance(30_000); // hold timer expiry; the throw stays inside the session
    assert.equal(s.state, 'Idle');
    assert.equal(s.stats.internalErrors, 1);
    assert.ok(errors.some((l) => l.includes('listener bug') && l.includes('stack')), errors.join('\n'));
    clock.advance(5_000); // the idle hold armed before the listener ran
    assert.equal(s.state, 'Connect');
  } finally {
    await s.stop();
    await peer.close();
  }
});

test('a listener that throws on an UPDATE resets that session with Cease / Administrative Reset, and it comes back', async () => {
  const { A, B } = await establishedPair('127.0.0.1');
  try {
    let thrown = 0;
    B.session.once('update', () => {
      thrown++;
      throw new TypeError('bug in a RIB listener');
    });
    const down = once(B.session, 'down');
    const downA = once(A.session, 'down');
    for (const f of encodeUpdates({ family: 'ipv4', attrs: { origin: 0, asPath: [{ type: 2, asns: [65001] }] }, nextHops: ['192.0.2.1'], nlri: ['198.51.100.0/24'], withdrawn: [] }, A.session.negotiated!.codec)) A.session.send(f);
    const [reason] = await down;
    assert.equal(thrown, 1);
    assert.equal(reason.code, 'BGP_INTERNAL_ERROR');
    assert.equal(B.session.stats.internalErrors, 1);
    const [ra] = await downA;
    assert.equal(ra.notificationReceived?.code, 6);
    assert.equal(ra.notificationReceived?.subcode, 4);
    // A calls again after its idle hold; B (passive) takes the connection and the session is back.
    const ea = once(A.session, 'established');
    A.clock.advance(5_000);
    await ea;
    assert.equal(B.session.state, 'Established');
  } finally {
    await teardown(A, B);
  }
});

test('a throw in a socket handler (a drain listener) resets that session only, and the process sees no uncaught exception', async () => {
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  const { A, B } = await establishedPair('127.0.0.1');
  try {
    A.session.once('drain', () => {
      throw new Error('bug in a drain listener');
    });
    const codec = A.session.negotiated!.codec;
    const nlri = Array.from({ length: 256 }, (_, i) => `198.18.${i}.0/24`);
    const frames = encodeUpdates({ family: 'ipv4', attrs: { origin: 0, asPath: [{ type: 2, asns: [65001] }] }, nextHops: ['192.0.2.1'], nlri, withdrawn: [] }, codec);
    let full = false;
    for (let i = 0; i < 10_000 && !full; i++) for (const f of frames) if (!A.session.send(f)) full = true;
    assert.ok(full, 'the socket buffer filled up');
    const [reason] = await once(A.session, 'down');
    assert.equal(reason.code, 'BGP_INTERNAL_ERROR');
    assert.equal(A.session.stats.internalErrors, 1);
    assert.deepEqual(uncaught, []);
  } finally {
    process.off('uncaughtException', onUncaught);
    await teardown(A, B);
  }
});

test('sendMany delivers a batch of UPDATEs in order and counts each one', async () => {
  const { A, B } = await establishedPair('127.0.0.1');
  try {
    const nlri = Array.from({ length: 3000 }, (_, i) => `198.18.${i >> 8}.${i & 255}/32`);
    const frames = encodeUpdates({ family: 'ipv4', attrs: { origin: 0, asPath: [{ type: 2, asns: [65001] }] }, nextHops: ['192.0.2.1'], nlri, withdrawn: [] }, A.session.negotiated!.codec);
    assert.ok(frames.length > 1, 'several UPDATEs');
    const got: string[] = [];
    B.session.on('update', (u) => got.push(...u.nlri));
    assert.equal(A.session.sendMany([]), true);
    A.session.sendMany(frames);
    await until(() => got.length >= nlri.length, 'every prefix at B');
    assert.deepEqual(got, nlri);
    assert.equal(A.session.stats.updatesOut, frames.length);
    assert.equal(A.metrics.sent.get('update'), frames.length);
  } finally {
    await teardown(A, B);
  }
});

// ---------------------------------------------------------------- a peer that calls us (issues 12, 13 G)

/** A free loopback port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

test('a peer that calls while our session waits out its idle hold is taken at once (Idle → OpenSent) and Established', async () => {
  const dead = await deadPort();
  let A!: Speaker & { make(): void };
  let B!: Speaker & { make(): void };
  // A's own attempts go to a dead port and its idle hold (60 s) never runs out on its fake clock:
  // only taking B's connection in Idle can bring the session up.
  A = await speaker('127.0.0.1', () => base({ peerPort: dead, idleHoldTime: 60 }));
  B = await speaker('127.0.0.1', () => base({ peerPort: A.listener.port, localAsn: 65002, peerAsn: 65001, routerId: '192.0.2.2' }));
  A.make();
  B.make();
  try {
    const downA = once(A.session, 'down');
    A.session.start();
    const [r] = await downA;
    assert.equal(r.code, 'BGP_TCP_CONNECT_FAILED');
    assert.equal(A.session.state, 'Idle');
    const ea = once(A.session, 'established');
    B.session.start();
    await ea;
    assert.equal(A.session.negotiated?.outbound, false);
    assert.deepEqual(A.metrics.states, ['Idle>Connect', 'Connect>Idle', 'Idle>OpenSent', 'OpenSent>OpenConfirm', 'OpenConfirm>Established']);
    assert.equal(A.listener.refused, 0);
  } finally {
    await teardown(A, B);
  }
});

test('a stopped session still refuses the peer\'s connection', async () => {
  let s: Session | undefined;
  const listener = new BgpListener({ address: '127.0.0.1', port: 0 }, () => s);
  await listener.listen();
  s = new Session(base({ passive: true }), { clock: new FakeClock() });
  try {
    s.start();
    await s.stop();
    const c = await rawClient(listener.port, true);
    await new Promise<void>((resolve) => c.sock.once('close', () => resolve()));
    assert.equal(listener.refused, 1);
    assert.equal(s.state, 'Idle');
  } finally {
    await s.stop();
    await listener.close();
  }
});

test('two silent connections from the peer\'s address do not block it: the real peer connects next and is Established', async () => {
  let s: Session | undefined;
  const listener = new BgpListener({ address: '127.0.0.1', port: 0 }, () => s);
  await listener.listen();
  s = new Session(base({ passive: true }), { clock: new FakeClock() });
  const clients: Array<{ sock: net.Socket; received: BgpMessage[] }> = [];
  try {
    s.start();
    for (let i = 0; i < 2; i++) {
      const silent = await rawClient(listener.port, false);
      clients.push(silent);
      await until(() => silent.received.some((m) => m.type === 'open'), `our OPEN on silent connection ${i + 1}`);
    }
    const est = once(s, 'established');
    const real = await rawClient(listener.port, true);
    clients.push(real);
    await est;
    assert.equal(s.negotiated?.remotePort, real.sock.localPort);
    assert.equal(listener.refused, 0);
    // Each silent connection was closed when a newer one arrived, with Cease / Connection Collision Resolution.
    for (const c of clients.slice(0, 2)) {
      await until(() => c.received.some((m) => m.type === 'notification'), 'a NOTIFICATION on a silent connection');
      const n = c.received.find((m) => m.type === 'notification');
      assert.ok(n && n.type === 'notification' && n.code === 6 && n.subcode === 7);
    }
  } finally {
    await s.stop();
    for (const c of clients) c.sock.destroy();
    await listener.close();
  }
});

test('a silent connection from the peer gets Hold Timer Expired after 10 s, not the four-minute large hold time', async () => {
  let s: Session | undefined;
  const clock = new FakeClock();
  const listener = new BgpListener({ address: '127.0.0.1', port: 0 }, () => s);
  await listener.listen();
  s = new Session(base({ passive: true }), { clock });
  let c: { sock: net.Socket; received: BgpMessage[] } | undefined;
  try {
    s.start();
    c = await rawClient(listener.port, false);
    await until(() => c!.received.some((m) => m.type === 'open'), 'our OPEN');
    clock.advance(9_999);
    assert.equal(s.state, 'OpenSent');
    clock.advance(1);
    await until(() => c!.received.some((m) => m.type === 'notification'), 'the NOTIFICATION');
    const n = c.received.find((m) => m.type === 'notification');
    assert.ok(n && n.type === 'notification' && n.code === 4 && n.subcode === 0);
    assert.equal(s.state, 'Idle');
  } finally {
    await s.stop();
    c?.sock.destroy();
    await listener.close();
  }
});

test('connections from unknown addresses are logged once per address per minute, then with the count suppressed', async () => {
  const clock = new FakeClock();
  const lines: Array<{ o: Record<string, unknown>; msg: string }> = [];
  const log = { debug() {}, info() {}, error() {}, warn: (o: Record<string, unknown>, msg: string) => lines.push({ o, msg }) };
  const listener = new BgpListener({ address: '127.0.0.1', port: 0 }, () => undefined, { log, clock });
  await listener.listen();
  const connectAndWaitClose = async () => {
    const sock = net.connect({ host: '127.0.0.1', port: listener.port });
    sock.on('error', () => {});
    await new Promise<void>((resolve) => sock.once('close', () => resolve()));
  };
  try {
    for (let i = 0; i < 3; i++) await connectAndWaitClose();
    assert.equal(listener.rejected, 3);
    assert.equal(lines.length, 1);
    assert.equal(lines[0].o.remote, '127.0.0.1');
    assert.equal(lines[0].o.suppressed, 0);
    clock.advance(60_000);
    await connectAndWaitClose();
    assert.equal(lines.length, 2);
    assert.equal(lines[1].o.suppressed, 2);
    assert.equal(lines[1].o.total, 4);
  } finally {
    await listener.close();
  }
});

test('after the peer\'s Cease the first reconnect is armed within 1 s, jittered by the injected random source', async () => {
  for (const [rnd, firstMs] of [[0, 500], [0.999, 999]] as const) {
    const peer = await rawPeer();
    const clock = new FakeClock();
    // Hold time 0: the raw peer sends no KEEPALIVEs, and nothing but its going away may end the session.
    const s = new Session(base({ peerPort: peer.port, families: ['ipv4'], holdTime: 0 }), { clock, random: () => rnd });
    const states: string[] = [];
    s.on('state', (_f, to) => states.push(to));
    try {
      const est = once(s, 'established');
      s.start();
      await est;
      clock.advance(120_000); // stable: the back-off is at its first value
      assert.equal(s.state, 'Established');
      const down = once(s, 'down');
      peer.close(); // the peer goes away (its process restarts)
      await down;
      assert.equal(s.state, 'Idle');
      clock.advance(firstMs - 1);
      assert.equal(s.state, 'Idle', `random ${rnd}: not before ${firstMs} ms`);
      clock.advance(1);
      assert.equal(s.state, 'Connect', `random ${rnd}: reconnecting at ${firstMs} ms`);
    } finally {
      await s.stop();
      await peer.close().catch(() => {});
    }
  }
});

test('with graceful restart negotiated, a new connection from the Established peer means it restarted: the old session ends as a TCP failure and the new one is taken', async () => {
  const gr = { restartTime: 120, restarting: false, forwardingPreserved: true };
  const { A, B } = await establishedPair('127.0.0.1', { gracefulRestart: gr }, { gracefulRestart: gr });
  let c: { sock: net.Socket; received: BgpMessage[] } | undefined;
  try {
    assert.ok(B.session.negotiated?.gracefulRestart, 'GR negotiated');
    const down = once(B.session, 'down');
    // The "restarted" peer: a fresh connection from A's address to B's listener (A's old socket is still open).
    c = await rawClient(B.listener.port, true, { myAs: 65001, bgpId: '192.0.2.1', capabilities: [{ kind: 'four-octet-as', asn: 65001 }] });
    const [reason] = await down;
    assert.equal(reason.code, 'BGP_TCP_CLOSED');
    assert.equal(reason.wasEstablished, true);
    await until(() => B.session.state === 'Established', 'B Established on the new connection');
    assert.equal(B.session.negotiated?.remotePort, c.sock.localPort);
    assert.equal(B.listener.refused, 0);
  } finally {
    c?.sock.destroy();
    await teardown(A, B);
  }
});
