import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpError, Reader } from '../../../../src/bgp/wire/index.js';
import { mpReach, mpUnreach, UNSUPPORTED_FAMILY } from '../../../../src/bgp/wire/attributes/multiprotocol.js';
import { hex } from '../helpers.js';
import { runAttrTable } from './table.js';

const ADDPATH6 = { fourOctetAs: true, extendedMessage: false, addPathReceive: ['ipv6' as const] };

runAttrTable(mpReach, [
  {
    name: 'IPv6 with global and link-local next hops',
    hex: '0002 01 20 20010db8000000000000000000000001 fe800000000000000000000000000001 00 30 20010db80001',
    value: { mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::1', 'fe80::1'], nlri: ['2001:db8:1::/48'] } },
  },
  {
    name: 'IPv4 unicast in MP_REACH',
    hex: '0001 01 04 c6336401 00 18 cb0071',
    value: { mpReach: { afi: 1, safi: 1, nextHops: ['198.51.100.1'], nlri: ['203.0.113.0/24'] } },
  },
  {
    name: 'IPv6 with add-path ids',
    hex: '0002 01 10 20010db8000000000000000000000001 00 00000007 30 20010db80001',
    value: { mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::1'], nlri: ['2001:db8:1::/48'], pathIds: [7] } },
    ctx: ADDPATH6,
  },
]);

runAttrTable(mpUnreach, [
  { name: 'IPv6 withdrawals', hex: '0002 01 30 20010db80001 40 20010db800000001', value: { mpUnreach: { afi: 2, safi: 1, withdrawn: ['2001:db8:1::/48', '2001:db8:0:1::/64'] } } },
  { name: 'an empty IPv6 End-of-RIB', hex: '0002 01', value: { mpUnreach: { afi: 2, safi: 1, withdrawn: [] } } },
]);

test('MP attributes for an AFI/SAFI we do not speak are reported, not decoded', () => {
  const attrs = {};
  assert.equal(mpReach.decode(new Reader(hex`0019 46 00 00`), attrs, { fourOctetAs: true, extendedMessage: false }), UNSUPPORTED_FAMILY);
  assert.equal(mpUnreach.decode(new Reader(hex`0002 80`), attrs, { fourOctetAs: true, extendedMessage: false }), UNSUPPORTED_FAMILY);
  assert.deepEqual(attrs, {});
});

test('A malformed MP_REACH throws the session-reset BgpError (RFC 7606 §7.11)', () => {
  for (const bad of ['0002 01 04 c6336401 00', '0001 01 10 20010db8000000000000000000000001 00', '0002 01 20 2001', '0002', '0002 01 10 20010db8000000000000000000000001 00 31 20010db800']) {
    assert.throws(() => mpReach.decode(new Reader(hex(bad)), {}, { fourOctetAs: true, extendedMessage: false }), (e: unknown) => e instanceof BgpError && e.notification.code === 3 && e.notification.subcode === 9, bad);
  }
});
