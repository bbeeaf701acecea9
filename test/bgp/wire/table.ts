/** Runs codec tables `{ name, hex, value }` both ways: bytes → value and value → the same bytes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage, encodingLength, type BgpMessage, type CodecContext } from '../../../src/bgp/wire/index.js';
import { toHex } from './helpers.js';

export interface Row {
  name: string;
  hex: Uint8Array;
  value: BgpMessage;
  ctx?: CodecContext;
  /** false when the value re-encodes to different but equivalent bytes (then only decode is checked). */
  exact?: boolean;
}

export const CTX4: CodecContext = { fourOctetAs: true, extendedMessage: false };
export const CTX2: CodecContext = { fourOctetAs: false, extendedMessage: false };

export function runTable(rows: Row[]): void {
  for (const row of rows) {
    const ctx = row.ctx ?? CTX4;
    test(`${row.name}: the bytes decode to the value`, () => {
      const d = decodeMessage(row.hex, ctx);
      assert.deepEqual(d.problems, []);
      assert.deepEqual(d.message, row.value);
    });
    if (row.exact !== false) {
      test(`${row.name}: the value encodes to the bytes`, () => {
        assert.equal(encodingLength(row.value, ctx), row.hex.length);
        assert.equal(toHex(encodeMessage(row.value, ctx)), toHex(row.hex));
      });
    }
  }
}
