/**
 * The RFC 5880 §4.1 Control packet codec. Fixtures are UDP payloads captured from BIRD 2.0.12
 * (Debian 12 bird2 2.0.12-7) with tcpdump on a veth between two namespaces, two BIRDs each with
 * `protocol bfd { interface "eth0" { min rx interval 300 ms; min tx interval 300 ms; multiplier 3; };
 * neighbor … dev "eth0"; }` — the handshake as it happened (IP TTL 255, source ports 49715/43738).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BfdState, decodeControl, encodeControl, type BfdControlPacket } from '../../src/bfd/packet.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

const base = (over: Partial<BfdControlPacket>): BfdControlPacket => ({
  diag: 0, state: BfdState.Down, poll: false, final: false, controlPlaneIndependent: false, demand: false,
  detectMult: 3, myDiscriminator: 0x72d1f37a, yourDiscriminator: 0, desiredMinTxUs: 1_000_000, requiredMinRxUs: 300_000, requiredMinEchoRxUs: 0, ...over,
});

const CASES: Array<{ name: string; hex: string; value: BfdControlPacket }> = [
  {
    // vers 1, diag 0 | Sta Down | mult 3 | len 24 | my 72d1f37a | your 0 | tx 1 s (not Up: §6.8.3) | rx 300 ms | echo 0
    name: 'BIRD A: Down, no Your Discriminator yet, 1 s while not Up',
    hex: '2040 0318 72d1f37a 00000000 000f4240 000493e0 00000000',
    value: base({}),
  },
  {
    name: 'BIRD A: Init, with the peer\'s discriminator',
    hex: '2080 0318 72d1f37a 042e789b 000f4240 000493e0 00000000',
    value: base({ state: BfdState.Init, yourDiscriminator: 0x042e789b }),
  },
  {
    name: 'BIRD B: Up with Poll, asking for 300 ms',
    hex: '20e0 0318 042e789b 72d1f37a 000493e0 000493e0 00000000',
    value: base({ state: BfdState.Up, poll: true, myDiscriminator: 0x042e789b, yourDiscriminator: 0x72d1f37a, desiredMinTxUs: 300_000 }),
  },
  {
    name: 'BIRD A: Up with Final',
    hex: '20d0 0318 72d1f37a 042e789b 000493e0 000493e0 00000000',
    value: base({ state: BfdState.Up, final: true, yourDiscriminator: 0x042e789b, desiredMinTxUs: 300_000 }),
  },
  {
    name: 'BIRD B: Up, steady state',
    hex: '20c0 0318 042e789b 72d1f37a 000493e0 000493e0 00000000',
    value: base({ state: BfdState.Up, myDiscriminator: 0x042e789b, yourDiscriminator: 0x72d1f37a, desiredMinTxUs: 300_000 }),
  },
];

for (const c of CASES) {
  test(`decode and encode: ${c.name}`, () => {
    assert.deepEqual(decodeControl(hex(c.hex)), c.value);
    assert.deepEqual(encodeControl(c.value), hex(c.hex));
  });
}

test('the diagnostic, the C and D bits and the echo interval round-trip', () => {
  const p = base({ diag: 7, state: BfdState.AdminDown, controlPlaneIndependent: true, demand: true, requiredMinEchoRxUs: 50_000, detectMult: 255 });
  assert.deepEqual(decodeControl(encodeControl(p)), p);
  assert.equal(encodeControl(p)[0], 0x27);
});

test('a longer UDP payload is read up to the Length field; a view at an offset works', () => {
  const bytes = hex('ffff 2040 0318 72d1f37a 00000000 000f4240 000493e0 00000000 eeee');
  assert.deepEqual(decodeControl(bytes.subarray(2)), base({}));
});

/** RFC 5880 §6.8.6: each packet below MUST be discarded; the error code says which rule. */
const BAD: Array<{ name: string; hex: string; code: string }> = [
  { name: 'shorter than 24 octets', hex: '2040 0318 72d1f37a 00000000 000f4240 000493e0 0000', code: 'BFD_ERR_SHORT' },
  { name: 'version 0', hex: '0040 0318 72d1f37a 00000000 000f4240 000493e0 00000000', code: 'BFD_ERR_VERSION' },
  { name: 'version 2', hex: '4040 0318 72d1f37a 00000000 000f4240 000493e0 00000000', code: 'BFD_ERR_VERSION' },
  { name: 'Length below 24', hex: '2040 0317 72d1f37a 00000000 000f4240 000493e0 00000000', code: 'BFD_ERR_LENGTH' },
  { name: 'Length beyond the payload', hex: '2040 0319 72d1f37a 00000000 000f4240 000493e0 00000000', code: 'BFD_ERR_LENGTH' },
  { name: 'A bit without authentication configured', hex: '2044 031a 72d1f37a 00000000 000f4240 000493e0 00000000 0102', code: 'BFD_ERR_AUTH' },
  { name: 'Detect Mult zero', hex: '2040 0018 72d1f37a 00000000 000f4240 000493e0 00000000', code: 'BFD_ERR_DETECT_MULT' },
  { name: 'M bit set', hex: '2041 0318 72d1f37a 00000000 000f4240 000493e0 00000000', code: 'BFD_ERR_MULTIPOINT' },
  { name: 'My Discriminator zero', hex: '2040 0318 00000000 00000000 000f4240 000493e0 00000000', code: 'BFD_ERR_MY_DISCRIMINATOR' },
  { name: 'Your Discriminator zero while Up', hex: '20c0 0318 72d1f37a 00000000 000493e0 000493e0 00000000', code: 'BFD_ERR_YOUR_DISCRIMINATOR' },
  { name: 'Your Discriminator zero while Init', hex: '2080 0318 72d1f37a 00000000 000f4240 000493e0 00000000', code: 'BFD_ERR_YOUR_DISCRIMINATOR' },
  { name: 'P and F both set', hex: '20f0 0318 72d1f37a 042e789b 000493e0 000493e0 00000000', code: 'BFD_ERR_POLL_FINAL' },
];

for (const b of BAD) {
  test(`discarded: ${b.name} (${b.code})`, () => {
    assert.throws(() => decodeControl(hex(b.hex)), { code: b.code });
  });
}

test('Your Discriminator zero is valid while Down or AdminDown', () => {
  assert.equal(decodeControl(hex('2040 0318 72d1f37a 00000000 000f4240 000493e0 00000000')).state, BfdState.Down);
  assert.equal(decodeControl(hex('2700 0318 72d1f37a 00000000 000f4240 000493e0 00000000')).state, BfdState.AdminDown);
});

test('any bytes decode to a packet or a BfdError, never anything else (bounded random input)', () => {
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 5000; i++) {
    const bytes = Uint8Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256));
    if (bytes.length > 0 && rnd() < 0.7) bytes[0] = 0x20 | (bytes[0] & 0x1f);
    if (bytes.length > 3 && rnd() < 0.7) bytes[3] = 24;
    try {
      const p = decodeControl(bytes);
      assert.deepEqual(decodeControl(encodeControl(p)), p);
    } catch (e) {
      assert.match((e as { code?: string }).code ?? '', /^BFD_ERR_/);
    }
  }
});
