import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AS_TRANS, formatAsPath, mergeAs4Path, pathLength, type AsPathSegment } from '../../../../src/bgp/wire/index.js';

const seq = (...asns: number[]): AsPathSegment => ({ type: 2, asns });
const set = (...asns: number[]): AsPathSegment => ({ type: 1, asns });

test('mergeAs4Path replaces the AS_TRANS tail with the AS4_PATH (RFC 6793 §4.2.3)', () => {
  assert.deepEqual(mergeAs4Path([seq(65001, AS_TRANS, AS_TRANS)], [seq(4200000001, 4200000002)]), [seq(65001, 4200000001, 4200000002)]);
});

test('mergeAs4Path keeps AS_PATH when AS4_PATH is longer (RFC 6793 §4.2.3)', () => {
  assert.deepEqual(mergeAs4Path([seq(AS_TRANS)], [seq(4200000001, 4200000002)]), [seq(AS_TRANS)]);
});

test('mergeAs4Path counts an AS_SET as one and keeps confederation segments from AS_PATH', () => {
  const merged = mergeAs4Path([{ type: 3, asns: [65010] }, seq(65001), set(AS_TRANS, 65002)], [set(4200000001, 65002)]);
  assert.deepEqual(merged, [{ type: 3, asns: [65010] }, seq(65001), set(4200000001, 65002)]);
});

test('mergeAs4Path without AS4_PATH returns a copy of AS_PATH', () => {
  const p = [seq(1, 2)];
  const m = mergeAs4Path(p, undefined);
  assert.deepEqual(m, p);
  assert.notEqual(m[0], p[0]);
});

test('Path length counts sequences per AS, sets as one and confederation segments as zero (RFC 4271 §9.1.2.2, RFC 5065)', () => {
  assert.equal(pathLength([seq(1, 2, 3), set(4, 5), { type: 3, asns: [6, 7] }]), 4);
});

test('AS paths are formatted as BIRD prints them', () => {
  assert.equal(formatAsPath([{ type: 3, asns: [65010] }, seq(65001, 65002), set(65003, 65004)]), '(65010) 65001 65002 {65003 65004}');
});
