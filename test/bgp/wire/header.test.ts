/** The Framer: every fixture split at every byte, fixtures concatenated, header errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpError, Framer, KEEPALIVE_BYTES, decodeMessage } from '../../../src/bgp/wire/index.js';
import { hex, loadFixtures, toHex } from './helpers.js';

const fixtures = loadFixtures();

test('The KEEPALIVE constant is a 19-byte header of type 4 (captured from all three daemons)', () => {
  assert.equal(toHex(KEEPALIVE_BYTES), 'ffffffffffffffffffffffffffffffff001304');
  const captured = fixtures.filter((f) => f.hex.length === 38 && f.hex.endsWith('04'));
  assert.deepEqual([...new Set(captured.map((f) => f.file))].sort(), ['bird.json', 'frr.json', 'gobgp.json']);
  for (const f of captured) assert.equal(f.hex, toHex(KEEPALIVE_BYTES));
  assert.deepEqual(decodeMessage(KEEPALIVE_BYTES, { fourOctetAs: true, extendedMessage: false }).message, { type: 'keepalive' });
});

test('Every fixture split at every byte comes out whole, once', () => {
  let checked = 0;
  for (const f of fixtures) {
    const b = hex(f.hex);
    for (let cut = 0; cut <= b.length; cut++) {
      const framer = new Framer({ maxMessageLength: 65535 });
      const out = [...framer.push(b.subarray(0, cut)), ...framer.push(b.subarray(cut))];
      assert.equal(out.length, 1, `${f.name} cut at ${cut}`);
      assert.equal(toHex(out[0]), f.hex);
      assert.equal(framer.buffered, 0);
      checked++;
    }
  }
  assert.ok(checked > 1000);
});

test('All fixtures concatenated and fed one byte at a time, or in odd chunks, come out in order', () => {
  const all = fixtures.map((f) => hex(f.hex));
  const stream = new Uint8Array(all.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of all) { stream.set(b, o); o += b.length; }
  for (const chunk of [1, 7, 19, 20, 100, 4096, stream.length]) {
    const framer = new Framer({ maxMessageLength: 65535 });
    const out: string[] = [];
    for (let p = 0; p < stream.length; p += chunk) for (const m of framer.push(stream.subarray(p, p + chunk))) out.push(toHex(m));
    assert.deepEqual(out, fixtures.map((f) => f.hex), `chunk ${chunk}`);
  }
});

test('Frames inside one chunk are views of it; frames across chunks are fresh buffers never reused', () => {
  const two = hex`${toHex(KEEPALIVE_BYTES)}${toHex(KEEPALIVE_BYTES)}`;
  const framer = new Framer();
  const [a, b] = framer.push(two);
  assert.equal(a.buffer, two.buffer);
  assert.equal(b.byteOffset, 19);
  const [c] = [...framer.push(KEEPALIVE_BYTES.subarray(0, 10)), ...framer.push(KEEPALIVE_BYTES.subarray(10))];
  const [d] = [...framer.push(KEEPALIVE_BYTES.subarray(0, 10)), ...framer.push(KEEPALIVE_BYTES.subarray(10))];
  assert.notEqual(c.buffer, d.buffer);
});

function framerThrows(name: string, bytes: Uint8Array, code: string, data?: string, max?: number): void {
  test(name, () => {
    const framer = new Framer(max ? { maxMessageLength: max } : {});
    assert.throws(() => framer.push(bytes), (e: unknown) => {
      assert.ok(e instanceof BgpError);
      assert.equal(e.code, code);
      if (data !== undefined) assert.equal(toHex(e.notification.data), data);
      return true;
    });
  });
}
framerThrows('A marker that is not all ones is Connection Not Synchronized (RFC 4271 §6.1)',
  hex`ffffffffffffffffffffffffffffff00 0013 04`, 'BGP_ERR_CONNECTION_NOT_SYNCHRONIZED');
framerThrows('A length below 19 is Bad Message Length with the length as data (RFC 4271 §6.1)',
  hex`ffffffffffffffffffffffffffffffff 0012 04`, 'BGP_ERR_BAD_MESSAGE_LENGTH', '0012');
framerThrows('A length above 4096 is Bad Message Length before extended messages are negotiated',
  hex`ffffffffffffffffffffffffffffffff 1001 02`, 'BGP_ERR_BAD_MESSAGE_LENGTH', '1001');
framerThrows('A bad header is refused as soon as its 19 bytes are in, without waiting for the body',
  hex`ffffffffffffffffffffffffffffffff ffff 02`, 'BGP_ERR_BAD_MESSAGE_LENGTH', 'ffff', 4096);

test('setMaxMessageLength lets 65535-byte messages through after RFC 8654 negotiation', () => {
  const framer = new Framer();
  framer.setMaxMessageLength(65535);
  const head = hex`ffffffffffffffffffffffffffffffff 2000 02`;
  assert.deepEqual(framer.push(head), []);
  assert.equal(framer.buffered, 19);
});

test('decodeMessage checks the type and the length each type allows (RFC 4271 §6.1)', () => {
  const ctx = { fourOctetAs: true, extendedMessage: false };
  assert.throws(() => decodeMessage(hex`ffffffffffffffffffffffffffffffff 0014 04 00`, ctx), { code: 'BGP_ERR_BAD_MESSAGE_LENGTH' });
  assert.throws(() => decodeMessage(hex`ffffffffffffffffffffffffffffffff 0013 01`, ctx), { code: 'BGP_ERR_BAD_MESSAGE_LENGTH' });
  assert.throws(() => decodeMessage(hex`ffffffffffffffffffffffffffffffff 0013 00`, ctx), { code: 'BGP_ERR_BAD_MESSAGE_TYPE' });
  assert.throws(() => decodeMessage(hex`ffffffffffffffffffffffffffffffff 0014 04`, ctx), { code: 'BGP_ERR_BAD_MESSAGE_LENGTH' });
});
