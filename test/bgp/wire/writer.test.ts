import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writer } from '../../../src/bgp/wire/index.js';
import { toHex } from './helpers.js';

test('The writer writes big-endian integers and addresses at an offset', () => {
  const buf = new Uint8Array(30);
  const w = new Writer(buf, 2);
  w.u8(1); w.u16(0x0203); w.u32(0xfffffffe); w.ip('192.0.2.1', 4); w.ip('2001:db8::1', 16);
  w.patch16(2, 0xabcd);
  assert.equal(w.pos, 29);
  assert.equal(toHex(buf), '0000abcd03fffffffec000020120010db8000000000000000000000001' + '00');
});

test('The writer refuses to write past its buffer or the wrong address family', () => {
  const w = new Writer(new Uint8Array(3));
  assert.throws(() => w.u32(1), { code: 'BGP_ERR_ENCODE' });
  assert.throws(() => w.ip('2001:db8::1', 4), { code: 'BGP_ERR_ENCODE' });
});

test('IPv4 addresses that are not canonical dotted quads are refused or parsed like model/ip.ts', () => {
  for (const bad of ['198.51.100', '198.51.100.256', '198.051.100.1', '198.51.100.1.', 'a.b.c.d', '']) {
    assert.throws(() => new Writer(new Uint8Array(4)).ip(bad, 4), { code: 'BGP_ERR_ENCODE' }, bad);
  }
  const w = new Writer(new Uint8Array(8));
  w.ip('0.0.0.0', 4);
  w.ip('255.255.255.255', 4);
  assert.equal(toHex(w.buf), '00000000ffffffff');
});
