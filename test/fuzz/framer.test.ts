/** Fuzz: the Framer on random streams cut at random points — whole frames or a BgpError, nothing else. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BgpError, Framer } from '../../src/bgp/wire/index.js';
import { params } from './budget.js';

const MARKER = new Uint8Array(16).fill(0xff);

/** A message-like byte run: usually a valid marker and a plausible length, sometimes garbage. */
const messageish = fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 6 }), fc.uint8Array({ maxLength: 300 }))
  .map(([mode, len, type, body]) => {
    if (mode === 0) return body;
    const length = mode === 1 ? len : 19 + body.length;
    const out = new Uint8Array(19 + body.length);
    out.set(MARKER);
    if (mode === 2) out[3] = 0;
    out[16] = length >> 8;
    out[17] = length & 0xff;
    out[18] = type;
    out.set(body, 19);
    return out;
  });

test('The framer turns any stream into whole frames or a BgpError', () => {
  fc.assert(fc.property(fc.array(messageish, { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 10 }), fc.boolean(), (msgs, cuts, ext) => {
    const total = msgs.reduce((n, m) => n + m.length, 0);
    const stream = new Uint8Array(total);
    let o = 0;
    for (const m of msgs) { stream.set(m, o); o += m.length; }
    const framer = new Framer({ maxMessageLength: ext ? 65535 : 4096 });
    let p = 0;
    let emitted = 0;
    try {
      for (let i = 0; p < stream.length; i++) {
        const n = cuts[i % cuts.length];
        for (const f of framer.push(stream.subarray(p, p + n))) {
          assert.ok(f.length >= 19);
          assert.equal((f[16] << 8) | f[17], f.length);
          emitted += f.length;
        }
        p += n;
      }
    } catch (e) {
      if (!(e instanceof BgpError)) throw e;
      return;
    }
    assert.equal(emitted + framer.buffered, stream.length);
  }), params(0.15));
});
