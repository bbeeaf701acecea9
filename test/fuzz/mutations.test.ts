/**
 * Fuzz: random mutations of the captured BIRD/GoBGP/FRR fixtures (bit flips, byte overwrites,
 * truncations, insertions, with or without the header length fixed up) still give a message or a
 * BgpError. Seeds are real messages, so the mutants reach deep into attribute and NLRI parsing.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import { hex, loadFixtures } from '../bgp/wire/helpers.js';
import { CONTEXTS, decodesOrBgpError, params } from './budget.js';

const seeds = loadFixtures().map((f) => ({ bytes: hex(f.hex), ctx: f.ctx }));

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
);

function mutate(src: Uint8Array, ms: Array<fc.Arbitrary<unknown> extends never ? never : any>, fixLength: boolean): Uint8Array {
  let b = src.slice();
  for (const m of ms) {
    const at = b.length ? m.at % b.length : 0;
    // Mutations avoid the marker so they reach the decoders instead of the marker check.
    const pos = b.length > 16 ? 16 + (at % (b.length - 16)) : at;
    switch (m.kind) {
      case 'flip': if (b.length) b[pos] ^= 1 << m.bit; break;
      case 'set': if (b.length) b[pos] = m.value; break;
      case 'cut': b = b.slice(0, Math.max(19, pos)); break;
      case 'insert': { const n = new Uint8Array(b.length + m.bytes.length); n.set(b.subarray(0, pos)); n.set(m.bytes, pos); n.set(b.subarray(pos), pos + m.bytes.length); b = n; break; }
      case 'delete': b = Uint8Array.of(...b.subarray(0, pos), ...b.subarray(pos + m.n)); break;
    }
  }
  if (fixLength && b.length >= 19 && b.length <= 0xffff) { b[16] = b.length >> 8; b[17] = b.length & 0xff; }
  return b;
}

test('Mutated fixtures decode to a message or a BgpError', () => {
  fc.assert(fc.property(fc.nat({ max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.nat({ max: 4 }), (i, ms, fix, ci) => {
    const s = seeds[i];
    const ctx = ci === 4 ? s.ctx : CONTEXTS[ci];
    decodesOrBgpError(mutate(s.bytes, ms, fix), ctx);
  }), params(0.35));
});
