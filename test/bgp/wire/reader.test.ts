import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpError, Reader } from '../../../src/bgp/wire/index.js';

test('The reader reads big-endian integers and views without copying', () => {
  const b = Uint8Array.of(1, 2, 3, 0xff, 0xff, 0xff, 0xff, 9, 8, 7);
  const r = new Reader(b);
  assert.equal(r.u8(), 1);
  assert.equal(r.u16(), 0x0203);
  assert.equal(r.u32(), 0xffffffff);
  const v = r.view(2);
  assert.equal(v.buffer, b.buffer);
  assert.deepEqual([...v], [9, 8]);
  assert.equal(r.remaining, 1);
});

test('A short read throws the BgpError the reader was configured with', () => {
  const r = new Reader(Uint8Array.of(1, 2, 3), 1, 3, 2, 0);
  assert.throws(() => r.u32(), (e: unknown) => e instanceof BgpError && e.notification.code === 2 && e.notification.subcode === 0);
  r.onShort(3, 1);
  assert.throws(() => r.view(5), (e: unknown) => e instanceof BgpError && e.notification.subcode === 1);
  assert.equal(r.u16(), 0x0203);
  assert.throws(() => r.u8(), BgpError);
});

test('A reader re-aimed with reset stays inside its new limits', () => {
  const r = new Reader(Uint8Array.of(1, 2, 3, 4));
  r.reset(2, 3);
  assert.equal(r.u8(), 3);
  assert.throws(() => r.u8(), BgpError);
  assert.equal(r.reset(0, 4).ipv4(), '1.2.3.4');
});
