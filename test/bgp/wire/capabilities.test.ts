import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCapability, Writer, type Capability } from '../../../src/bgp/wire/index.js';
import { capabilityValueLength, writeCapability } from '../../../src/bgp/wire/capabilities.js';
import { hex, toHex } from './helpers.js';

const rows: Array<{ name: string; hex: string; value: Capability }> = [
  { name: 'multiprotocol IPv6 unicast (RFC 4760 §8)', hex: '01 04 0002 00 01', value: { kind: 'multiprotocol', afi: 2, safi: 1 } },
  { name: 'route refresh (RFC 2918)', hex: '02 00', value: { kind: 'route-refresh' } },
  { name: 'enhanced route refresh (RFC 7313)', hex: '46 00', value: { kind: 'enhanced-route-refresh' } },
  { name: 'extended message (RFC 8654)', hex: '06 00', value: { kind: 'extended-message' } },
  { name: 'four-octet AS 4200000000 (RFC 6793)', hex: '41 04 fa56ea00', value: { kind: 'four-octet-as', asn: 4200000000 } },
  {
    name: 'graceful restart restarting, 300 s, IPv4 with forwarding preserved (RFC 4724 §3)',
    hex: '40 06 812c 0001 01 80',
    value: { kind: 'graceful-restart', restarting: true, notification: false, restartTime: 300, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] },
  },
  { name: 'add-path IPv6 send (RFC 7911 §4)', hex: '45 04 0002 01 02', value: { kind: 'add-path', families: [{ afi: 2, safi: 1, sendReceive: 2 }] } },
  { name: 'multiprotocol with a non-zero reserved octet is kept as unknown', hex: '01 04 0001 07 01', value: { kind: 'unknown', code: 1, value: hex`0001 07 01` } },
  { name: 'add-path with send/receive 0 is kept as unknown', hex: '45 04 0001 01 00', value: { kind: 'unknown', code: 69, value: hex`0001 01 00` } },
  { name: 'graceful restart with reserved flag bits is kept as unknown', hex: '40 02 1078', value: { kind: 'unknown', code: 64, value: hex`1078` } },
  { name: 'route refresh with a value is kept as unknown', hex: '02 01 00', value: { kind: 'unknown', code: 2, value: hex`00` } },
];

for (const row of rows) {
  test(`Capability ${row.name} decodes and encodes back to the same bytes`, () => {
    const b = hex(row.hex);
    assert.deepEqual(decodeCapability(b[0], b.subarray(2)), row.value);
    const out = new Uint8Array(2 + capabilityValueLength(row.value));
    writeCapability(new Writer(out), row.value);
    assert.equal(toHex(out), toHex(b));
  });
}
