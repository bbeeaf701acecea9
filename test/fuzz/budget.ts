/**
 * Fuzzing budget and the property every decoder must keep.
 *
 * PETREL_FUZZ_RUNS is the total number of cases across all fuzz properties (default 400,000: CI's
 * ≥100k with room to spare, ~15 s on a 2-core machine); `npm run fuzz` sets 2,000,000. Each property gets
 * a share. PETREL_FUZZ_SEED replays a run. The property: any bytes give a message or a BgpError,
 * never another exception; and what decodes re-encodes to something that decodes to the same value
 * (unless it no longer fits the maximum message length, an encoding error we report as such).
 */
import assert from 'node:assert/strict';
import { BgpEncodeError, BgpError, decodeMessage, encodeMessage, type CodecContext } from '../../src/bgp/wire/index.js';

export const TOTAL_RUNS = Number(process.env.PETREL_FUZZ_RUNS ?? 400_000);

/** fast-check parameters for a property that gets `share` of the total budget. */
export function params(share: number): { numRuns: number; seed?: number; endOnFailure: boolean } {
  const seed = process.env.PETREL_FUZZ_SEED;
  return { numRuns: Math.max(1, Math.round(TOTAL_RUNS * share)), endOnFailure: true, ...(seed ? { seed: Number(seed) } : {}) };
}

export const CONTEXTS: CodecContext[] = [
  { fourOctetAs: true, extendedMessage: false },
  { fourOctetAs: false, extendedMessage: false },
  { fourOctetAs: true, extendedMessage: true, addPathReceive: ['ipv4', 'ipv6'] },
  { fourOctetAs: false, extendedMessage: true, addPathReceive: ['ipv6'] },
];

/** Decodes; anything but a message or a BgpError fails the property. Returns whether it decoded. */
export function decodesOrBgpError(frame: Uint8Array, ctx: CodecContext): boolean {
  let d;
  try {
    d = decodeMessage(frame, ctx);
  } catch (e) {
    if (e instanceof BgpError) return false;
    throw e;
  }
  let again: Uint8Array;
  try {
    again = encodeMessage(d.message, ctx);
  } catch (e) {
    if (e instanceof BgpEncodeError && /exceeds the maximum message length/.test(e.message)) return true;
    throw e;
  }
  assert.deepEqual(decodeMessage(again, ctx).message, d.message);
  return true;
}
