import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalIp, canonicalPrefix, formatIp, parseIp, parsePrefix, prefixContains } from '../../src/model/ip.js';

const addrs: Array<[string, string]> = [
  ['192.0.2.1', '192.0.2.1'],
  ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
  ['2001:db8:0:1:0:0:0:0', '2001:db8:0:1::'],
  ['::', '::'],
  ['::1', '::1'],
  ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // RFC 5952 §4.2.3: first of two equal runs
  ['2001:db8:1:1:1:1:1:0', '2001:db8:1:1:1:1:1:0'], // one zero group is not compressed
  ['::ffff:198.51.100.7', '::ffff:c633:6407'],
];
for (const [input, want] of addrs) {
  test(`canonical address ${input} is ${want}`, () => assert.equal(canonicalIp(input), want));
}

for (const bad of ['256.1.1.1', '1.2.3', '01.2.3.4', '1::2::3', '2001:db8:::1', 'x', '1:2:3:4:5:6:7:8:9', '']) {
  test(`rejects address ${JSON.stringify(bad)}`, () => assert.throws(() => parseIp(bad), { code: 'IP_ERR_INVALID' }));
}

test('prefixes: canonical form, host bits, containment', () => {
  assert.equal(canonicalPrefix('198.18.0.0/15'), '198.18.0.0/15');
  assert.equal(canonicalPrefix('2001:0db8:0001::/48'), '2001:db8:1::/48');
  assert.throws(() => parsePrefix('198.18.0.1/15'), { code: 'IP_ERR_INVALID' });
  assert.equal(canonicalPrefix('198.18.0.1/15', true), '198.18.0.0/15');
  assert.throws(() => parsePrefix('192.0.2.0/33'), { code: 'IP_ERR_INVALID' });
  assert.ok(prefixContains('198.51.100.0/24', '198.51.100.200'));
  assert.ok(!prefixContains('198.51.100.0/25', '198.51.100.200'));
  assert.ok(!prefixContains('198.51.100.0/24', '2001:db8::1'));
  assert.equal(formatIp(parsePrefix('0.0.0.0/0').addr), '0.0.0.0');
});
