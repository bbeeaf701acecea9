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
