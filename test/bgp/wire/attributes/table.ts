/** Runs attribute-value tables through one descriptor both ways (value bytes only, no header). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader, Writer, type CodecContext, type PathAttributes } from '../../../../src/bgp/wire/index.js';
import type { AttrDescriptor } from '../../../../src/bgp/wire/attributes/descriptor.js';
import { hex, toHex } from '../helpers.js';

export interface AttrRow { name: string; hex: string; value: PathAttributes; ctx?: CodecContext }
export interface BadRow { name: string; hex: string; ctx?: CodecContext }

const CTX: CodecContext = { fourOctetAs: true, extendedMessage: false };

export function runAttrTable(d: AttrDescriptor, rows: AttrRow[], bad: BadRow[] = []): void {
  for (const row of rows) {
    const ctx = row.ctx ?? CTX;
    test(`${d.name}: ${row.name} decodes and encodes back`, () => {
      const b = hex(row.hex);
      const attrs: PathAttributes = {};
      assert.equal(d.decode(new Reader(b), attrs, ctx), undefined);
      assert.deepEqual(attrs, row.value);
      assert.ok(d.has(attrs));
      assert.equal(d.length(attrs, ctx), b.length);
      const out = new Uint8Array(b.length);
      d.encode(new Writer(out), attrs, ctx);
      assert.equal(toHex(out), toHex(b));
    });
  }
  for (const row of bad) {
    test(`${d.name}: ${row.name} is reported malformed`, () => {
      const attrs: PathAttributes = {};
      const why = d.decode(new Reader(hex(row.hex)), attrs, row.ctx ?? CTX);
      assert.equal(typeof why, 'string');
      assert.deepEqual(attrs, {});
    });
  }
}
