// NlSocket against a scripted stand-in for the addon: per-request errors found by sequence number,
// the fence, timeouts (never a hung request), receive-buffer overflow, interrupted dumps. The real
// addon and kernel are exercised by the kernel tests; these pin down the cases a kernel rarely shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NlSocket } from '../../../src/dataplane/netlink/socket.js';
import { Writer, encodeFence } from '../../../src/dataplane/netlink/codec.js';
import type { NativeNetlink } from '../../../src/dataplane/netlink/native.js';
import * as C from '../../../src/dataplane/netlink/constants.js';

interface Sent { type: number; flags: number; seq: number }

/** A fake addon: `reply(sent)` returns the byte chunks the "kernel" queues for each sendmsg. */
function fakeNative(reply: (msgs: Sent[]) => Array<Buffer | number>) {
  const queue: Array<Buffer | number> = [];
  const state = { opens: 0, closes: 0, sent: [] as Sent[], poll: undefined as undefined | (() => void), queue };
  const native: NativeNetlink = {
    open: () => ({ fd: 3 + state.opens++, port: 1, nsInode: 4026530000 }),
    send: (_fd, buf, len) => {
      const msgs: Sent[] = [];
      const b = Buffer.from(buf.buffer, buf.byteOffset, len);
      for (let o = 0; o < len;) { const l = b.readUInt32LE(o); msgs.push({ type: b.readUInt16LE(o + 4), flags: b.readUInt16LE(o + 6), seq: b.readUInt32LE(o + 8) }); o += (l + 3) & ~3; }
      state.sent.push(...msgs);
      queue.push(...reply(msgs));
      return len;
    },
    recv: (_fd, buf) => {
      const x = queue.shift();
      if (x === undefined) return -C.EAGAIN;
      if (typeof x === 'number') return x;
      buf.set(x, 0);
      return x.length;
    },
    poll: (_fd, cb) => { state.poll = () => cb(0); return {}; },
    pollStop: () => undefined,
    close: () => { state.closes++; return 0; },
    nsInodeOfPath: () => 1,
  };
  return { native, state };
}

function errorMsg(seq: number, errno: number): Buffer {
  const b = Buffer.alloc(36);
  b.writeUInt32LE(36, 0); b.writeUInt16LE(C.NLMSG_ERROR, 4); b.writeUInt32LE(seq, 8);
  b.writeInt32LE(-errno, 16); // error, then the (capped) original header
  return b;
}

function msg(type: number, seq: number, flags = C.NLM_F_MULTI): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(20, 0); b.writeUInt16LE(type, 4); b.writeUInt16LE(flags, 6); b.writeUInt32LE(seq, 8);
  return b;
}

const noop = (w: Writer, _i: number, seq: number) => encodeFence(w, seq); // any small request will do

test('a batch resolves at the fence ACK with each failed request mapped to its index', async () => {
  const { native, state } = fakeNative((msgs) => {
    const out: Buffer[] = [];
    for (const m of msgs) {
      if (m.flags & C.NLM_F_ACK && m.type === C.NLMSG_NOOP && m.seq === msgs.at(-1)!.seq) out.push(errorMsg(m.seq, 0));
      else if (m.seq % 3 === 0) out.push(errorMsg(m.seq, 17));
    }
    return out;
  });
  const s = new NlSocket(native, { protocol: 0 });
  const errs = await s.transact(10, noop);
  const first = state.sent[0].seq;
  const want = [...Array(10).keys()].filter((i) => (first + i) % 3 === 0);
  assert.deepEqual([...errs.keys()].sort((a, b) => a - b), want);
  assert.ok([...errs.values()].every((e) => e === 17));
  assert.equal(state.sent.at(-1)!.flags & C.NLM_F_ACK, C.NLM_F_ACK, 'the last message is the ACKed fence');
  s.close();
});

test('many requests go out in few sendmsg calls, never one per request', async () => {
  let calls = 0;
  const { native } = fakeNative((msgs) => { calls++; const last = msgs.at(-1)!; return last.type === C.NLMSG_NOOP && last.flags & C.NLM_F_ACK ? [errorMsg(last.seq, 0)] : []; });
  const s = new NlSocket(native, { protocol: 0 });
  // Padded requests of ~1 KiB: 1000 of them need 4 sends of 256 KiB.
  await s.transact(1000, (w, _i, seq) => { w.begin(C.RTM_NEWROUTE, C.NLM_F_REQUEST, seq); w.header(1000); w.end(); });
  assert.ok(calls <= 5, `${calls} sendmsg calls`);
  s.close();
});

test('a request the kernel never answers fails with NL_ERR_TIMEOUT and the socket is reopened', async () => {
  const { native, state } = fakeNative(() => []);
  const s = new NlSocket(native, { protocol: 0, timeoutMs: 30 });
  await assert.rejects(s.transact(1, noop), (e: Error & { code?: string }) => e.code === 'NL_ERR_TIMEOUT');
  assert.equal(state.opens, 2);
  assert.equal(state.closes, 1);
  s.close();
});

test('a receive-buffer overflow fails the operation in flight with NL_ERR_ENOBUFS instead of hanging', async () => {
  const { native } = fakeNative(() => [-C.ENOBUFS]);
  const s = new NlSocket(native, { protocol: 0, timeoutMs: 5000 });
  let overflows = 0;
  s.onOverflow = () => { overflows++; };
  await assert.rejects(s.transact(3, noop), (e: Error & { code?: string; errno?: number }) => e.code === 'NL_ERR_ENOBUFS' && e.errno === C.ENOBUFS);
  assert.equal(overflows, 1);
  // The next operation works.
  s.close();
});

test('a dump delivers its messages and ends at NLMSG_DONE; an interrupted dump is an error (the caller retries)', async () => {
  let interrupt = false;
  const { native } = fakeNative((msgs) => {
    const seq = msgs[0].seq;
    return [Buffer.concat([msg(C.RTM_NEWROUTE, seq), msg(C.RTM_NEWROUTE, seq, C.NLM_F_MULTI | (interrupt ? C.NLM_F_DUMP_INTR : 0))]), msg(C.NLMSG_DONE, seq)];
  });
  const s = new NlSocket(native, { protocol: 0 });
  let n = 0;
  await s.dump(C.RTM_GETROUTE, C.AF_INET, () => { n++; });
  assert.equal(n, 2);
  interrupt = true;
  await assert.rejects(s.dump(C.RTM_GETROUTE, C.AF_INET, () => undefined), (e: Error & { errno?: number }) => e.errno === 4);
  s.close();
});

test('operations on one socket run one at a time, in order', async () => {
  const { native, state } = fakeNative((msgs) => [errorMsg(msgs.at(-1)!.seq, 0)]);
  const s = new NlSocket(native, { protocol: 0 });
  const order: number[] = [];
  await Promise.all([1, 2, 3].map((k) => s.transact(2, noop).then(() => order.push(k))));
  assert.deepEqual(order, [1, 2, 3]);
  const seqs = state.sent.map((m) => m.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  s.close();
});

/** The fake addon plus sendAsync: the "kernel" reads the chunk when the send completes, later. */
function withAsync(f: ReturnType<typeof fakeNative>, reply: (msgs: Sent[]) => Array<Buffer | number>) {
  const log = { calls: 0, overwritten: 0, concurrent: 0, inFlight: 0, encodedWhileInFlight: 0 };
  f.native.sendAsync = (fd, buf, len, cb) => {
    log.calls++;
    if (log.inFlight) log.concurrent++;
    log.inFlight++;
    const snapshot = Buffer.from(buf.subarray(0, len));
    setImmediate(() => {
      if (!snapshot.equals(Buffer.from(buf.buffer, buf.byteOffset, len))) log.overwritten++;
      const msgs: Sent[] = [];
      for (let o = 0; o < len;) { const l = snapshot.readUInt32LE(o); msgs.push({ type: snapshot.readUInt16LE(o + 4), flags: snapshot.readUInt16LE(o + 6), seq: snapshot.readUInt32LE(o + 8) }); o += (l + 3) & ~3; }
      f.state.sent.push(...msgs);
      f.state.queue.push(...reply(msgs));
      log.inFlight--;
      cb(len);
    });
  };
  return log;
}

test('with PETREL_NETLINK_PIPELINE=1 a large batch is pipelined: chunks in order, one send in flight, its buffer untouched until it returns, errors by index', async (t) => {
  const f = fakeNative(() => []);
  const reply = (msgs: Sent[]) => {
    const out: Buffer[] = [];
    for (const m of msgs) {
      if (m.flags & C.NLM_F_ACK && m.type === C.NLMSG_NOOP) out.push(errorMsg(m.seq, 0));
      else if (m.seq % 1000 === 7) out.push(errorMsg(m.seq, 17));
    }
    return out;
  };
  const log = withAsync(f, reply);
  const s = new NlSocket(f.native, { protocol: 0 });
  let encoded = 0;
  process.env.PETREL_NETLINK_PIPELINE = '1';
  t.after(() => { delete process.env.PETREL_NETLINK_PIPELINE; });
  const count = 40_000; // 16-byte requests: three chunks of 256 KiB
  const errs = await s.transact(count, (w, i, seq) => {
    encoded++;
    if (log.inFlight) log.encodedWhileInFlight++;
    w.begin(C.NLMSG_NOOP, C.NLM_F_REQUEST, seq);
    w.end();
  });
  assert.equal(encoded, count);
  assert.ok(log.calls >= 3, `${log.calls} sends`);
  assert.equal(log.concurrent, 0, 'never two sends at once');
  assert.equal(log.overwritten, 0, 'a buffer in flight is never written');
  assert.ok(log.encodedWhileInFlight > 0, 'the next chunk is encoded while the previous is in the kernel');
  const seqs = f.state.sent.map((m) => m.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  assert.equal(seqs.length, count + 1);
  const first = seqs[0];
  const want = [...Array(count).keys()].filter((i) => (first + i) % 1000 === 7);
  assert.deepEqual([...errs.keys()].sort((a, b) => a - b), want);
  s.close();
});

test('without PETREL_NETLINK_PIPELINE=1 large batches use the synchronous send', async () => {
  const f = fakeNative((msgs) => { const last = msgs.at(-1)!; return last.type === C.NLMSG_NOOP && last.flags & C.NLM_F_ACK ? [errorMsg(last.seq, 0)] : []; });
  const log = withAsync(f, () => []);
  const s = new NlSocket(f.native, { protocol: 0 });
  const was = process.env.PETREL_NETLINK_PIPELINE;
  delete process.env.PETREL_NETLINK_PIPELINE;
  try {
    await s.transact(10_000, noop);
  } finally {
    if (was !== undefined) process.env.PETREL_NETLINK_PIPELINE = was;
  }
  assert.equal(log.calls, 0);
  s.close();
});

test('a pipelined batch that times out sends nothing more, and the fd is closed only after the send in flight returns', async (t) => {
  process.env.PETREL_NETLINK_PIPELINE = '1';
  t.after(() => { delete process.env.PETREL_NETLINK_PIPELINE; });
  const f = fakeNative(() => []);
  let release: (() => void) | undefined;
  let sends = 0;
  f.native.sendAsync = (_fd, _buf, len, cb) => { sends++; release = () => cb(len); };
  const s = new NlSocket(f.native, { protocol: 0, timeoutMs: 20 });
  const p = s.transact(40_000, (w, _i, seq) => { w.begin(C.NLMSG_NOOP, C.NLM_F_REQUEST, seq); w.end(); });
  await assert.rejects(p, (e: Error & { code?: string }) => e.code === 'NL_ERR_TIMEOUT');
  assert.equal(sends, 1);
  assert.equal(f.state.closes, 0, 'not closed while the send is in flight');
  release!();
  await new Promise((r) => setImmediate(r));
  assert.equal(f.state.closes, 1);
  assert.equal(sends, 1, 'no later chunk after the timeout');
  s.close();
});
