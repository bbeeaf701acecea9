/** Regression: minimized inputs that once broke a decoder (test/fixtures/bgp/crashers/*.json). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crasherDir, hex } from '../bgp/wire/helpers.js';
import { decodesOrBgpError } from './budget.js';
import type { CodecContext } from '../../src/bgp/wire/index.js';

const files = readdirSync(crasherDir()).filter((f) => f.endsWith('.json')).sort();

test('Crashers are kept as regression fixtures', () => {
  assert.ok(files.length > 0);
});

for (const f of files) {
  const c = JSON.parse(readFileSync(join(crasherDir(), f), 'utf8')) as { name: string; hex: string; ctx: CodecContext; decodes: boolean };
  test(`Crasher ${f}: ${c.name}`, () => {
    assert.equal(decodesOrBgpError(hex(c.hex), c.ctx), c.decodes);
  });
}
