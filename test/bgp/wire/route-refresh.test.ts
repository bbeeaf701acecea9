import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpError, decodeMessage } from '../../../src/bgp/wire/index.js';
import { hex } from './helpers.js';
import { CTX4, runTable } from './table.js';

runTable([
  {
    name: 'BIRD 2.0.12 ROUTE-REFRESH for IPv4 unicast (captured, `birdc reload in`)',
    hex: hex`ffffffffffffffffffffffffffffffff 0017 05  0001 00 01 // AFI 1, subtype 0, SAFI 1`,
    value: { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 },
  },
  {
    name: 'FRR 8.4.4 ROUTE-REFRESH for IPv6 unicast (captured, `clear bgp … soft in`)',
    hex: hex`ffffffffffffffffffffffffffffffff 0017 05  0002 00 01`,
    value: { type: 'route-refresh', afi: 2, safi: 1, subtype: 0 },
  },
  {
    name: 'An RFC 7313 Beginning of Route Refresh',
    hex: hex`ffffffffffffffffffffffffffffffff 0017 05  0002 01 01`,
    value: { type: 'route-refresh', afi: 2, safi: 1, subtype: 1 },
  },
  {
    name: 'An RFC 7313 End of Route Refresh',
    hex: hex`ffffffffffffffffffffffffffffffff 0017 05  0001 02 01`,
    value: { type: 'route-refresh', afi: 1, safi: 1, subtype: 2 },
  },
  {
    name: 'An unknown subtype decodes as it is (RFC 7313 §5: the session ignores it)',
    hex: hex`ffffffffffffffffffffffffffffffff 0017 05  0001 07 01`,
    value: { type: 'route-refresh', afi: 1, safi: 1, subtype: 7 },
  },
]);

test('A BoRR longer than 4 octets is a ROUTE-REFRESH Message Error / Invalid Message Length with the message as data (RFC 7313 §5)', () => {
  const b = hex`ffffffffffffffffffffffffffffffff 0018 05  0001 01 01 00`;
  assert.throws(() => decodeMessage(b, CTX4), (e: unknown) => {
    assert.ok(e instanceof BgpError);
    assert.equal(e.code, 'BGP_ERR_ROUTE_REFRESH_INVALID_LENGTH');
    assert.deepEqual([e.notification.code, e.notification.subcode], [7, 1]);
    assert.deepEqual(e.notification.data, b);
    return true;
  });
});

test('A plain ROUTE-REFRESH with ORF entries has the tail ignored', () => {
  const m = decodeMessage(hex`ffffffffffffffffffffffffffffffff 001a 05  0001 00 01 01 0000`, CTX4).message;
  assert.deepEqual(m, { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 });
});

test('A ROUTE-REFRESH shorter than 4 octets is a Bad Message Length', () => {
  assert.throws(() => decodeMessage(hex`ffffffffffffffffffffffffffffffff 0016 05  0001 00`, CTX4), { code: 'BGP_ERR_BAD_MESSAGE_LENGTH' });
});
