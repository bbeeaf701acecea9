import { aggregator, as4Aggregator, as4Path, asPath, atomicAggregate, localPref, med, nextHop, origin } from '../../../../src/bgp/wire/attributes/basic.js';
import { runAttrTable } from './table.js';

const TWO = { fourOctetAs: false, extendedMessage: false };

runAttrTable(origin, [
  { name: 'IGP', hex: '00', value: { origin: 0 } },
  { name: 'incomplete', hex: '02', value: { origin: 2 } },
], [{ name: 'value 3', hex: '03' }, { name: 'two bytes', hex: '0000' }, { name: 'empty', hex: '' }]);

runAttrTable(asPath, [
  { name: 'empty (iBGP origination)', hex: '', value: { asPath: [] } },
  { name: 'a 4-octet sequence', hex: '02 02 fa56ea00 0000fde8', value: { asPath: [{ type: 2, asns: [4200000000, 65000] }] } },
  { name: 'a 2-octet sequence and set', hex: '02 01 fde8 01 02 fde9 fdea', value: { asPath: [{ type: 2, asns: [65000] }, { type: 1, asns: [65001, 65002] }] }, ctx: TWO },
], [
  { name: 'a zero-length segment', hex: '02 00' },
  { name: 'segment type 5', hex: '05 01 0000fde8' },
  { name: 'a 2-octet path read as 4-octet', hex: '02 02 fde8 fde9 fdea' },
]);

runAttrTable(nextHop, [{ name: '198.51.100.1', hex: 'c6336401', value: { nextHop: '198.51.100.1' } }], [{ name: 'an IPv6 address', hex: '20010db8000000000000000000000001' }]);
runAttrTable(med, [{ name: '4294967295', hex: 'ffffffff', value: { med: 4294967295 } }], [{ name: 'eight bytes', hex: '0000000000000001' }]);
runAttrTable(localPref, [{ name: '100', hex: '00000064', value: { localPref: 100 } }], [{ name: 'two bytes', hex: '0064' }]);
runAttrTable(atomicAggregate, [{ name: 'present', hex: '', value: { atomicAggregate: true } }], [{ name: 'with a value', hex: '00' }]);
runAttrTable(aggregator, [
  { name: 'four-octet AS', hex: 'fa56ea00 c0000201', value: { aggregator: { asn: 4200000000, address: '192.0.2.1' } } },
  { name: 'two-octet AS', hex: 'fde8 c0000201', value: { aggregator: { asn: 65000, address: '192.0.2.1' } }, ctx: TWO },
], [{ name: 'six bytes on a four-octet session', hex: 'fde8 c0000201' }, { name: 'AS 0', hex: '00000000 c0000201' }]);
runAttrTable(as4Path, [{ name: 'a sequence on a 2-octet session', hex: '02 01 fa56ea00', value: { as4Path: [{ type: 2, asns: [4200000000] }] }, ctx: TWO }],
  [{ name: 'anything on a 4-octet session', hex: '02 01 fa56ea00' }, { name: 'two bytes', hex: '0201', ctx: TWO }]);
runAttrTable(as4Aggregator, [{ name: 'on a 2-octet session', hex: 'fa56ea00 c0000201', value: { as4Aggregator: { asn: 4200000000, address: '192.0.2.1' } }, ctx: TWO }],
  [{ name: 'on a 4-octet session', hex: 'fa56ea00 c0000201' }]);
