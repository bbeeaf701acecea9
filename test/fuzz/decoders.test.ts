/**
 * Fuzz: every decoder on random bodies behind a correct header — OPEN, UPDATE (random and built from
 * random attributes), NOTIFICATION, KEEPALIVE, ROUTE-REFRESH — under each codec context.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import { CONTEXTS, decodesOrBgpError, params } from './budget.js';

function frame(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(19 + body.length).fill(0xff, 0, 16);
  out[16] = out.length >> 8;
  out[17] = out.length & 0xff;
  out[18] = type;
  out.set(body, 19);
  return out;
}
const ctx = fc.constantFrom(...CONTEXTS);

test('Random message bodies of every type decode to a message or a BgpError', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 600 }), ctx, (type, body, c) => {
    decodesOrBgpError(frame(type, body), c);
  }), params(0.15));
});

/** One attribute: mostly known codes with plausible flags, lengths sometimes lying. */
const attribute = fc.tuple(
  fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 32), fc.integer({ min: 0, max: 255 })),
  fc.oneof(fc.constantFrom(0x40, 0x80, 0xc0, 0xe0, 0x50, 0x90), fc.integer({ min: 0, max: 255 })),
  fc.uint8Array({ maxLength: 64 }),
  fc.integer({ min: -2, max: 2 }),
).map(([code, flags, value, lie]) => {
  const ext = (flags & 0x10) !== 0;
  const len = Math.max(0, value.length + (lie === 2 ? 1 : lie === -2 ? -1 : 0));
  const out = new Uint8Array((ext ? 4 : 3) + value.length);
  out[0] = flags; out[1] = code;
  if (ext) { out[2] = len >> 8; out[3] = len & 0xff; out.set(value, 4); } else { out[2] = len & 0xff; out.set(value, 3); }
  return out;
});

/** Structured UPDATE: well-formed length fields around random withdrawn routes, attributes and NLRI. */
const update = fc.tuple(fc.uint8Array({ maxLength: 40 }), fc.array(attribute, { maxLength: 10 }), fc.uint8Array({ maxLength: 40 }))
  .map(([w, attrs, nlri]) => {
    const aLen = attrs.reduce((n, a) => n + a.length, 0);
    const body = new Uint8Array(4 + w.length + aLen + nlri.length);
    body[0] = w.length >> 8; body[1] = w.length & 0xff;
    body.set(w, 2);
    let p = 2 + w.length;
    body[p] = aLen >> 8; body[p + 1] = aLen & 0xff;
    p += 2;
    for (const a of attrs) { body.set(a, p); p += a.length; }
    body.set(nlri, p);
    return body;
  });

test('Structured UPDATEs with random attributes decode to a message or a BgpError', () => {
  fc.assert(fc.property(update, ctx, (body, c) => {
    decodesOrBgpError(frame(2, body), c);
  }), params(0.25));
});

/** Structured OPEN: a sane fixed part and random parameters/capabilities. */
const open = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0, 3, 90, 1, 2), fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 20 })), { maxLength: 12 }), fc.boolean())
  .map(([as, hold, caps, sep]) => {
    const capBytes = caps.map(([code, v]) => Uint8Array.of(code, v.length, ...v));
    const params: number[] = [];
    if (sep) for (const c of capBytes) params.push(2, c.length, ...c);
    else if (capBytes.length) {
      const all = capBytes.flatMap((c) => [...c]);
      params.push(2, all.length & 0xff, ...all);
    }
    return Uint8Array.of(4, as >> 8, as & 0xff, hold >> 8, hold & 0xff, 198, 51, 100, 1, params.length & 0xff, ...params);
  });

test('Structured OPENs with random capabilities decode to a message or a BgpError', () => {
  fc.assert(fc.property(open, ctx, (body, c) => {
    decodesOrBgpError(frame(1, body), c);
  }), params(0.1));
});
