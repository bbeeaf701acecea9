import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ATTRIBUTES, AttrType, UPDATE_ERRORS, attributeDescriptor, formatAttributes } from '../../../../src/bgp/wire/index.js';
import { hex } from '../helpers.js';

test('The descriptor table covers every attribute type we name, once, in code order', () => {
  const codes = ATTRIBUTES.map((d) => d.code);
  assert.deepEqual(codes, [...codes].sort((a, b) => a - b));
  assert.deepEqual(new Set(codes), new Set(Object.values(AttrType)));
  for (const d of ATTRIBUTES) {
    assert.equal(attributeDescriptor(d.code), d);
    assert.ok(d.error in UPDATE_ERRORS, d.name);
    assert.equal(d.flags & 0x3f, 0, `${d.name} flags hold only Optional/Transitive`);
  }
});

test('Attributes are formatted as `show route all` lines', () => {
  const lines = formatAttributes({
    origin: 0, asPath: [{ type: 2, asns: [64512, 64513] }], nextHop: '198.51.100.1', med: 10, localPref: 100,
    communities: [64512 * 65536 + 7], largeCommunities: [[64512, 1, 2]], extendedCommunities: [hex`0002fc000000000b`],
    originatorId: '198.51.100.9', clusterList: ['198.51.100.100'], unknown: [{ flags: 0xe0, code: 99, value: hex`0102` }],
  });
  assert.deepEqual(lines, [
    'BGP.origin: IGP',
    'BGP.as_path: 64512 64513',
    'BGP.next_hop: 198.51.100.1',
    'BGP.med: 10',
    'BGP.local_pref: 100',
    'BGP.community: (64512,7)',
    'BGP.originator_id: 198.51.100.9',
    'BGP.cluster_list: 198.51.100.100',
    'BGP.ext_community: (0002fc000000000b)',
    'BGP.large_community: (64512, 1, 2)',
    'BGP.attr99 [0xe0]: 0102',
  ]);
});
