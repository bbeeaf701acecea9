import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpError, decodeMessage, encodeMessage } from '../../../src/bgp/wire/index.js';
import { hex, toHex } from './helpers.js';
import { CTX4, runTable } from './table.js';

runTable([
  {
    name: 'BIRD 2.0.12 OPEN to GoBGP (captured; all capabilities in one parameter)',
    hex: hex`
      ffffffffffffffffffffffffffffffff 0041 01 // marker, length 65, type OPEN
      04 fbf5 0009 c6336401                    // version 4, my AS 64501, hold 9, id 198.51.100.1
      24 02 22                                 // opt params 36; param 2 (capabilities) of 34
      01 04 0001 00 01                         // multiprotocol IPv4 unicast
      01 04 0002 00 01                         // multiprotocol IPv6 unicast
      02 00                                    // route refresh
      40 02 0078                               // graceful restart: no flags, 120 s, no families
      41 04 0000fbf5                           // four-octet AS 64501
      45 04 0001 01 01                         // add-path IPv4 unicast receive
      46 00                                    // enhanced route refresh
      47 00                                    // long-lived graceful restart (unknown to us)
    `,
    value: {
      type: 'open', version: 4, myAs: 64501, holdTime: 9, bgpId: '198.51.100.1',
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'multiprotocol', afi: 2, safi: 1 },
        { kind: 'route-refresh' },
        { kind: 'graceful-restart', restarting: false, notification: false, restartTime: 120, families: [] },
        { kind: 'four-octet-as', asn: 64501 },
        { kind: 'add-path', families: [{ afi: 1, safi: 1, sendReceive: 1 }] },
        { kind: 'enhanced-route-refresh' },
        { kind: 'unknown', code: 71, value: new Uint8Array(0) },
      ],
      capsInSeparateParams: false,
    },
  },
  {
    name: 'FRR 8.4.4 OPEN to BIRD over IPv6 (captured; one capability per parameter)',
    hex: hex`
      ffffffffffffffffffffffffffffffff 0066 01 // marker, length 102, OPEN
      04 fbf7 0009 c6336403 49                 // v4, AS 64503, hold 9, id 198.51.100.3, opt params 73
      02 06 01 04 0002 00 01                   // multiprotocol IPv6 unicast
      02 02 80 00                              // Cisco pre-standard route refresh (128)
      02 02 02 00                              // route refresh
      02 02 46 00                              // enhanced route refresh
      02 06 41 04 0000fbf7                     // four-octet AS 64503
      02 02 06 00                              // extended message
      02 06 45 04 0002 01 01                   // add-path IPv6 unicast receive
      02 0a 49 08 06 636170667272 00           // FQDN (73): hostname "capfrr", no domain
      02 08 40 06 c078 0002 01 00              // graceful restart: R and N bits, 120 s, IPv6 unicast
      02 09 47 07 0002 01 80 000000            // long-lived graceful restart
    `,
    value: {
      type: 'open', version: 4, myAs: 64503, holdTime: 9, bgpId: '198.51.100.3',
      capabilities: [
        { kind: 'multiprotocol', afi: 2, safi: 1 },
        { kind: 'unknown', code: 128, value: new Uint8Array(0) },
        { kind: 'route-refresh' },
        { kind: 'enhanced-route-refresh' },
        { kind: 'four-octet-as', asn: 64503 },
        { kind: 'extended-message' },
        { kind: 'add-path', families: [{ afi: 2, safi: 1, sendReceive: 1 }] },
        { kind: 'unknown', code: 73, value: hex`06 636170667272 00` },
        { kind: 'graceful-restart', restarting: true, notification: true, restartTime: 120, families: [{ afi: 2, safi: 1, forwardingPreserved: false }] },
        { kind: 'unknown', code: 71, value: hex`0002 01 80 000000` },
      ],
      capsInSeparateParams: true,
    },
  },
  {
    name: 'GoBGP 3.10 OPEN to FRR (captured; graceful restart per family, add-path both ways)',
    hex: hex`
      ffffffffffffffffffffffffffffffff 0057 01 04 fbf5 0009 c6336402 // header; v4, AS 64501, hold 9, id .2
      3a 02 38                                 // opt params 58; one capabilities param of 56
      02 00                                    // route refresh
      49 04 02 766d 00                         // FQDN: hostname "vm"
      01 04 0001 00 01  01 04 0002 00 01       // multiprotocol IPv4, IPv6 unicast
      41 04 0000fbf5                           // four-octet AS 64501
      40 0a 0078 0001 01 00 0002 01 00         // graceful restart 120 s, IPv4 + IPv6, F bits clear
      05 06 0001 0001 0002                     // extended next hop (RFC 8950): IPv4 via IPv6
      45 08 0001 01 03 0002 01 03              // add-path send+receive IPv4 and IPv6
    `,
    value: {
      type: 'open', version: 4, myAs: 64501, holdTime: 9, bgpId: '198.51.100.2',
      capabilities: [
        { kind: 'route-refresh' },
        { kind: 'unknown', code: 73, value: hex`02 766d 00` },
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'multiprotocol', afi: 2, safi: 1 },
        { kind: 'four-octet-as', asn: 64501 },
        { kind: 'graceful-restart', restarting: false, notification: false, restartTime: 120,
          families: [{ afi: 1, safi: 1, forwardingPreserved: false }, { afi: 2, safi: 1, forwardingPreserved: false }] },
        { kind: 'unknown', code: 5, value: hex`0001 0001 0002` },
        { kind: 'add-path', families: [{ afi: 1, safi: 1, sendReceive: 3 }, { afi: 2, safi: 1, sendReceive: 3 }] },
      ],
      capsInSeparateParams: false,
    },
  },
  {
    name: 'An OPEN with RFC 9072 extended optional parameters',
    hex: hex`
      ffffffffffffffffffffffffffffffff 0029 01 // length 41
      04 fde8 00b4 c0000201                    // v4, AS 65000, hold 180, id 192.0.2.1
      ff ff 0009                               // Non-Ext OP Len 255, Non-Ext OP Type 255, length 9
      02 0006 41 04 0000fde8                   // capabilities (2-octet length): four-octet AS 65000
    `,
    value: {
      type: 'open', version: 4, myAs: 65000, holdTime: 180, bgpId: '192.0.2.1',
      capabilities: [{ kind: 'four-octet-as', asn: 65000 }], extendedOptionalParameters: true,
    },
  },
  {
    name: 'An OPEN without optional parameters',
    hex: hex`ffffffffffffffffffffffffffffffff 001d 01  04 fde8 0000 c0000201 00`,
    value: { type: 'open', version: 4, myAs: 65000, holdTime: 0, bgpId: '192.0.2.1', capabilities: [] },
  },
]);

function openBytes(body: string): Uint8Array {
  const b = hex(body);
  return hex(`ffffffffffffffffffffffffffffffff ${(19 + b.length).toString(16).padStart(4, '0')} 01 ${toHex(b)}`);
}

function rejects(name: string, body: string, code: string, sub: number, data?: string): void {
  test(name, () => {
    assert.throws(() => decodeMessage(openBytes(body), CTX4), (e: unknown) => {
      assert.ok(e instanceof BgpError);
      assert.equal(e.code, code);
      assert.equal(e.notification.code, 2);
      assert.equal(e.notification.subcode, sub);
      if (data !== undefined) assert.equal(toHex(e.notification.data), data);
      return true;
    });
  });
}

rejects('An OPEN with version 3 is refused with Unsupported Version Number and our version as data',
  '03 fde8 00b4 c0000201 00', 'BGP_ERR_UNSUPPORTED_VERSION', 1, '0004');
rejects('An OPEN with hold time 2 is refused with Unacceptable Hold Time', '04 fde8 0002 c0000201 00', 'BGP_ERR_UNACCEPTABLE_HOLD_TIME', 6);
rejects('An OPEN with a zero BGP identifier is refused with Bad BGP Identifier', '04 fde8 00b4 00000000 00', 'BGP_ERR_BAD_BGP_IDENTIFIER', 3);
rejects('An OPEN with an authentication parameter (type 1) is refused with Unsupported Optional Parameter',
  '04 fde8 00b4 c0000201 03 01 01 00', 'BGP_ERR_UNSUPPORTED_OPTIONAL_PARAMETER', 4);
rejects('An OPEN whose parameter length overruns the message is refused', '04 fde8 00b4 c0000201 04 02 05 02 00', 'BGP_ERR_MALFORMED_OPEN', 0);
rejects('An OPEN whose capability overruns its parameter is refused', '04 fde8 00b4 c0000201 04 02 02 41 04', 'BGP_ERR_MALFORMED_OPEN', 0);
rejects('An OPEN whose parameters length disagrees with the message is refused', '04 fde8 00b4 c0000201 07 02 02 02 00', 'BGP_ERR_MALFORMED_OPEN', 0);

test('A capability with an unexpected length is kept as unknown so the OPEN still re-encodes exactly', () => {
  // A four-octet AS capability with 3 bytes of value, then route refresh.
  const b = openBytes('04 fde8 00b4 c0000201 09 02 07 41 03 00fde8 02 00');
  const m = decodeMessage(b, CTX4).message;
  assert.equal(m.type, 'open');
  if (m.type !== 'open') return;
  assert.deepEqual(m.capabilities, [{ kind: 'unknown', code: 65, value: hex`00fde8` }, { kind: 'route-refresh' }]);
  assert.equal(toHex(encodeMessage(m, CTX4)), toHex(b));
});

test('An OPEN with more than 255 bytes of capabilities is encoded with RFC 9072 extended lengths and decodes back', () => {
  const caps = Array.from({ length: 60 }, (_, i) => ({ kind: 'multiprotocol' as const, afi: 1, safi: i + 1 }));
  const m = { type: 'open' as const, version: 4, myAs: 65000, holdTime: 90, bgpId: '192.0.2.1', capabilities: caps, capsInSeparateParams: true };
  const b = encodeMessage(m, CTX4);
  assert.equal(b[28], 255);
  assert.equal(b[29], 255);
  assert.deepEqual(decodeMessage(b, CTX4).message, { ...m, extendedOptionalParameters: true });
});
