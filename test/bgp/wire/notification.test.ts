import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage, encodeShutdownData, type NotificationMessage } from '../../../src/bgp/wire/index.js';
import { hex, toHex } from './helpers.js';
import { CTX4, runTable } from './table.js';

const text = (s: string) => new TextEncoder().encode(s);

runTable([
  {
    name: 'BIRD 2.0.12 Cease / Administrative Shutdown with a shutdown communication (captured, `birdc disable frr4 "…"`)',
    hex: hex`
      ffffffffffffffffffffffffffffffff 0041 03 // length 65, NOTIFICATION
      06 02                                    // Cease, Administrative Shutdown
      2b                                       // message length 43
      6d61696e74656e616e63652077696e646f773a2042495244206361707475726520666f722050657472656c // UTF-8
    `,
    value: {
      type: 'notification', code: 6, subcode: 2,
      data: Uint8Array.of(43, ...text('maintenance window: BIRD capture for Petrel')),
      shutdownMessage: 'maintenance window: BIRD capture for Petrel',
    },
  },
  {
    name: 'FRR 8.4.4 UPDATE Message Error / Invalid Network Field without data (captured)',
    hex: hex`ffffffffffffffffffffffffffffffff 0015 03  03 0a`,
    value: { type: 'notification', code: 3, subcode: 10, data: new Uint8Array(0) },
  },
  {
    name: 'A Hold Timer Expired NOTIFICATION',
    hex: hex`ffffffffffffffffffffffffffffffff 0015 03  04 00`,
    value: { type: 'notification', code: 4, subcode: 0, data: new Uint8Array(0) },
  },
  {
    name: 'A Cease / Administrative Reset whose data is not valid UTF-8 keeps the bytes and no message (RFC 9003 §2)',
    hex: hex`ffffffffffffffffffffffffffffffff 0018 03  06 04 02 c328`,
    value: { type: 'notification', code: 6, subcode: 4, data: hex`02 c328` },
  },
  {
    name: 'A Cease / Administrative Shutdown whose length octet disagrees with the data keeps the bytes only',
    hex: hex`ffffffffffffffffffffffffffffffff 0018 03  06 02 05 4142`,
    value: { type: 'notification', code: 6, subcode: 2, data: hex`05 4142` },
  },
  {
    name: 'An OPEN error with Bad Peer AS carries no data',
    hex: hex`ffffffffffffffffffffffffffffffff 0015 03  02 02`,
    value: { type: 'notification', code: 2, subcode: 2, data: new Uint8Array(0) },
  },
]);

test('A shutdown message given as text is encoded as length + UTF-8 and decodes back', () => {
  const m: NotificationMessage = { type: 'notification', code: 6, subcode: 2, data: new Uint8Array(0), shutdownMessage: 'Wartung — bis 12:00' };
  const d = decodeMessage(encodeMessage(m, CTX4), CTX4).message as NotificationMessage;
  assert.equal(d.shutdownMessage, 'Wartung — bis 12:00');
  assert.equal(d.data[0], text('Wartung — bis 12:00').length);
});

test('A shutdown message longer than 255 octets is cut at a character boundary (RFC 9003 §2)', () => {
  const long = 'é'.repeat(200); // 400 octets
  const data = encodeShutdownData(long);
  assert.equal(data[0], 254);
  assert.equal(new TextDecoder().decode(data.subarray(1)), 'é'.repeat(127));
  const d = decodeMessage(encodeMessage({ type: 'notification', code: 6, subcode: 2, data: new Uint8Array(0), shutdownMessage: long }, CTX4), CTX4).message as NotificationMessage;
  assert.equal(d.shutdownMessage, 'é'.repeat(127));
});

test('The shutdown message is only read for Administrative Shutdown and Reset', () => {
  const d = decodeMessage(hex`ffffffffffffffffffffffffffffffff 0017 03  06 03 01 41`, CTX4).message as NotificationMessage;
  assert.equal(d.shutdownMessage, undefined);
  assert.equal(toHex(d.data), '0141');
});
