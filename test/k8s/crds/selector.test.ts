import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatSelector, matchSelector, parseSelector, type Selector } from '../../../src/k8s/crds/selector.js';

const rr = { 'petrel.dev/route-reflector': 'true', rack: 'r1', zone: 'a' };
const plain = { rack: 'r2', zone: 'b', 'kubernetes.io/hostname': 'node-b' };
const bare = {};

// [selector, matches rr, matches plain, matches bare]
const cases: Array<[string, boolean, boolean, boolean]> = [
  ['all()', true, true, true],
  ['', true, true, true],
  ['   ', true, true, true],
  ['has(petrel.dev/route-reflector)', true, false, false],
  ['!has(petrel.dev/route-reflector)', false, true, true],
  ["rack == 'r1'", true, false, false],
  ['rack == "r2"', false, true, false],
  ["rack != 'r1'", false, true, true], // absent label: != is true (as Calico)
  ["zone in {'a','b'}", true, true, false],
  ["zone in {}", false, false, false],
  ["zone not in {'a'}", false, true, true],
  ["rack == 'r1' && zone == 'a'", true, false, false],
  ["rack == 'r1' || zone == 'b'", true, true, false],
  ["!(rack == 'r1' || zone == 'b')", false, false, true],
  ["(rack == 'r2' || rack == 'r1') && !has(petrel.dev/route-reflector)", false, true, false],
  ["has(rack) && zone != 'a' || has(petrel.dev/route-reflector)", true, true, false], // && binds tighter than ||
  ["kubernetes.io/hostname == 'node-b'", false, true, false],
  ["!!has(rack)", true, true, false],
  ["rack=='r1'&&zone=='a'", true, false, false],
];
for (const [sel, a, b, c] of cases) {
  test(`selector ${JSON.stringify(sel)} matches the route reflector ${a}, the plain node ${b}, the unlabelled node ${c}`, () => {
    const s = parseSelector(sel);
    assert.deepEqual([matchSelector(s, rr), matchSelector(s, plain), matchSelector(s, bare)], [a, b, c]);
  });
}

const bad: Array<[string, number]> = [
  ['has(', 4],
  ["rack = 'r1'", 5],
  ["rack == r1", 8],
  ["rack == 'r1", 8],
  ["rack == 'r1' &&", 15],
  ["rack == 'r1' and zone == 'a'", 13],
  ["(rack == 'r1'", 13],
  ["rack == 'r1')", 12],
  ["zone in {'a' 'b'}", 13],
  ["zone not {'a'}", 9],
  ['rack', 4],
  ['all(x)', 4],
];
for (const [sel, pos] of bad) {
  test(`selector ${JSON.stringify(sel)} is refused with the position of the fault (${pos})`, () => {
    assert.throws(() => parseSelector(sel), (e: unknown) => {
      const err = e as { code: string; position: number };
      assert.equal(err.code, 'K8S_ERR_BAD_SELECTOR');
      assert.equal(err.position, pos);
      return true;
    });
  });
}

test('deep nesting and overlong selectors are refused instead of exhausting the stack', () => {
  assert.throws(() => parseSelector('('.repeat(100) + 'all()' + ')'.repeat(100)), { code: 'K8S_ERR_BAD_SELECTOR' });
  assert.throws(() => parseSelector('!'.repeat(100) + 'all()'), { code: 'K8S_ERR_BAD_SELECTOR' });
  assert.throws(() => parseSelector(`rack == '${'x'.repeat(2000)}'`), { code: 'K8S_ERR_BAD_SELECTOR' });
  assert.doesNotThrow(() => parseSelector('('.repeat(20) + 'all()' + ')'.repeat(20)));
});

// Random selector trees: formatting then parsing gives back an equivalent selector (same matches).
const keyArb = fc.constantFrom('rack', 'zone', 'petrel.dev/route-reflector', 'kubernetes.io/hostname');
const valArb = fc.constantFrom('a', 'b', 'r1', 'true', "it's");
const selArb: fc.Arbitrary<Selector> = fc.letrec<{ s: Selector }>((tie) => ({
  s: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant<Selector>({ op: 'all' }),
    keyArb.map((key): Selector => ({ op: 'has', key })),
    fc.record({ op: fc.constantFrom('eq' as const, 'ne' as const), key: keyArb, value: valArb }),
    fc.record({ op: fc.constantFrom('in' as const, 'notin' as const), key: keyArb, values: fc.uniqueArray(valArb, { maxLength: 3 }).map((v) => v.sort()) }),
    tie('s').map((expr): Selector => ({ op: 'not', expr })),
    fc.record({ op: fc.constantFrom('and' as const, 'or' as const), exprs: fc.array(tie('s'), { minLength: 2, maxLength: 3 }) }),
  ),
})).s;
const labelsArb = fc.dictionary(keyArb, valArb, { maxKeys: 4 });

test('a formatted selector parses back to one that matches exactly the same label sets', () => {
  fc.assert(
    fc.property(selArb, fc.array(labelsArb, { minLength: 1, maxLength: 5 }), (sel, labelSets) => {
      const again = parseSelector(formatSelector(sel));
      for (const labels of labelSets) assert.equal(matchSelector(again, labels), matchSelector(sel, labels), formatSelector(sel));
    }),
    { numRuns: 300, seed: 7 },
  );
});
