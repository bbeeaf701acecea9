// The IPv4 prefix table behind the Loc-RIB: it must behave exactly like a Map keyed by the text,
// through growth and backward-shift deletion, and refuse texts it could not give back unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { V4Table, VALUE_MAX, formatV4Key, lastParsedLen, parseV4Key } from '../../../src/bgp/rib/prefix-table.js';

test('canonical dotted-quad prefixes parse and format back to the same text', () => {
  for (const s of ['0.0.0.0/0', '100.64.0.1/32', '255.255.255.255/32', '198.51.100.0/24', '192.0.2.128/25']) {
    const a = parseV4Key(s);
    assert.ok(a >= 0, s);
    assert.equal(formatV4Key(a, lastParsedLen()), s);
  }
});

test('texts that would not round-trip are refused', () => {
  for (const s of ['2001:db8::/32', '010.0.0.0/8', '1.2.3.4/033', '1.2.3.4/33', '1.2.3/24', '1.2.3.4', '1.2.3.4/', '256.0.0.0/8', '1.2.3.4/00', 'x.2.3.4/8', '1..3.4/8']) {
    assert.equal(parseV4Key(s), -1, s);
  }
});

test('the table agrees with a Map under random inserts, updates and deletes', () => {
  const key = fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 24, max: 32 }));
  const op = fc.tuple(fc.constantFrom('set', 'delete', 'get'), key, fc.integer({ min: 1, max: VALUE_MAX }));
  fc.assert(
    fc.property(fc.array(op, { maxLength: 3000 }), (ops) => {
      const t = new V4Table(16);
      const m = new Map<string, number>();
      for (const [kind, [a, len], v] of ops) {
        const addr = (0xc6120000 + a * 7) >>> 0; // clustered keys: long probe runs, wrap-around
        const k = formatV4Key(addr, len);
        if (kind === 'set') {
          t.set(addr, len, v);
          m.set(k, v);
        } else if (kind === 'delete') {
          assert.equal(t.delete(addr, len), m.delete(k));
        } else assert.equal(t.get(addr, len), m.get(k) ?? 0);
        assert.equal(t.size, m.size);
      }
      const seen = new Map([...t.entries()]);
      assert.deepEqual(new Map([...seen].sort()), new Map([...m].sort()));
    }),
    { numRuns: 60 },
  );
});
