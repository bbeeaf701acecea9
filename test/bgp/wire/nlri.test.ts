import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BgpError, Writer, decodePrefixes, formatIpv6At } from '../../../src/bgp/wire/index.js';
import { formatIp, formatPrefix, maskBytes, parsePrefix } from '../../../src/model/ip.js';
import { prefixWireLength, writePrefix } from '../../../src/bgp/wire/nlri.js';
import { hex, toHex } from './helpers.js';

test('Prefixes decode to canonical strings with trailing bits cleared (RFC 4271 §4.3)', () => {
  const out: string[] = [];
  decodePrefixes(hex`00  0a 6440  11 c63364  20 c0000201  19 c61203ff`, 0, 18, 'ipv4', out);
  assert.deepEqual(out, ['0.0.0.0/0', '100.64.0.0/10', '198.51.0.0/17', '192.0.2.1/32', '198.18.3.128/25']);
});

test('IPv6 prefixes decode in RFC 5952 form', () => {
  const out: string[] = [];
  decodePrefixes(hex`30 20010db80001  40 20010db800000001  80 20010db8000000000000000000000001  00  0f 2001`, 0, 37, 'ipv6', out);
  assert.deepEqual(out, ['2001:db8:1::/48', '2001:db8:0:1::/64', '2001:db8::1/128', '::/0', '2000::/15']);
});

test('Add-path ids precede each prefix (RFC 7911 §3)', () => {
  const out: string[] = [];
  const ids: number[] = [];
  decodePrefixes(hex`00000001 18 cb0071  ffffffff 20 c0000201`, 0, 17, 'ipv4', out, ids);
  assert.deepEqual(out, ['203.0.113.0/24', '192.0.2.1/32']);
  assert.deepEqual(ids, [1, 0xffffffff]);
  assert.throws(() => decodePrefixes(hex`000000`, 0, 3, 'ipv4', [], []), BgpError);
  assert.throws(() => decodePrefixes(hex`00000001`, 0, 4, 'ipv4', [], []), BgpError);
});

test('The IPv6 formatter agrees with model/ip.ts formatIp on random addresses and prefix lengths', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }), fc.boolean(), (a, len, zeros) => {
    const addr = zeros ? a.map((x, i) => (i % 4 < 2 ? 0 : x)) : a;
    const masked = maskBytes(addr, len);
    const n = (len + 7) >> 3;
    const lastMask = len & 7 ? (0xff << (8 - (len & 7))) & 0xff : 0xff;
    assert.equal(formatIpv6At(addr, 0, n, lastMask), formatIp(masked));
  }), { numRuns: 3000 });
});

test('Prefixes written and read back are the same canonical strings, IPv4 and IPv6', () => {
  fc.assert(fc.property(fc.boolean(), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }), (v4, a, l) => {
    const len = v4 ? l % 33 : l;
    const addr = maskBytes(v4 ? a.subarray(0, 4) : a, len);
    const text = formatPrefix({ family: v4 ? 'ipv4' : 'ipv6', addr, len });
    const buf = new Uint8Array(prefixWireLength(text));
    const w = new Writer(buf);
    writePrefix(w, text, v4 ? 'ipv4' : 'ipv6');
    assert.equal(w.pos, buf.length);
    const out: string[] = [];
    decodePrefixes(buf, 0, buf.length, v4 ? 'ipv4' : 'ipv6', out);
    assert.deepEqual(out, [text]);
  }), { numRuns: 3000 });
});

test('Writing a prefix of the wrong family, or a non-prefix, is an encoding error', () => {
  const w = new Writer(new Uint8Array(32));
  assert.throws(() => writePrefix(w, '2001:db8::/32', 'ipv4'), { code: 'BGP_ERR_ENCODE' });
  assert.throws(() => writePrefix(w, '198.51.100.0/24', 'ipv6'), { code: 'BGP_ERR_ENCODE' });
  assert.throws(() => prefixWireLength('198.51.100.0'), { code: 'BGP_ERR_ENCODE' });
  writePrefix(w, '198.51.100.7/24', 'ipv4'); // host bits are cleared on the wire
  assert.equal(toHex(w.buf.subarray(0, 4)), '18c63364');
});

test('IPv6 prefixes in every textual form the model accepts are written like parsePrefix reads them', () => {
  for (const text of ['::/0', '::1/128', '2001:db8::/32', '2001:db8:0:1::/64', '2001:DB8::1/128', 'fe80::/10', '1:2:3:4:5:6:7:8/128', '1::8/127', '::ffff:198.51.100.1/128', '2001:db8:0:0:0:0:0:1/128']) {
    const buf = new Uint8Array(prefixWireLength(text));
    writePrefix(new Writer(buf), text, 'ipv6');
    const out: string[] = [];
    decodePrefixes(buf, 0, buf.length, 'ipv6', out);
    const p = parsePrefix(text, true);
    assert.deepEqual(out, [formatPrefix(p)], text);
  }
  for (const bad of [':::/0', '1:2:3:4:5:6:7:8:9/128', '1::2::3/128', '12345::/16', 'g::/16', '1:/16', ':1/16']) {
    assert.throws(() => writePrefix(new Writer(new Uint8Array(32)), bad, 'ipv6'), { code: 'BGP_ERR_ENCODE' }, bad);
  }
});
