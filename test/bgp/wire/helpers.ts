/**
 * Test helpers for the codec: commented hex (`hex\`ff ff // marker\``), the captured fixtures, and
 * an independent splitter of path attributes used to compare our encoding with the daemons' bytes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodecContext } from '../../../src/bgp/wire/index.js';

/** Bytes from hex text; `//` comments and whitespace are ignored. */
export function hex(strings: TemplateStringsArray | string, ...values: unknown[]): Uint8Array {
  const text = typeof strings === 'string' ? strings : String.raw({ raw: strings }, ...values);
  const clean = text.split('\n').map((l) => l.replace(/\/\/.*$/, '')).join('').replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`bad hex: ${clean}`);
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export interface Fixture {
  name: string;
  source: string;
  session: string;
  ctx: CodecContext;
  hex: string;
  file: string;
}

const fixtureDir = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/bgp');

/** Every captured message in test/fixtures/bgp/*.json. */
export function loadFixtures(): Fixture[] {
  const out: Fixture[] = [];
  for (const f of readdirSync(fixtureDir).filter((x) => x.endsWith('.json')).sort()) {
    for (const fx of JSON.parse(readFileSync(join(fixtureDir, f), 'utf8')) as Fixture[]) out.push({ ...fx, file: f });
  }
  return out;
}

export function crasherDir(): string {
  return join(fixtureDir, 'crashers');
}

/**
 * Splits an UPDATE's path attributes into "code:value-hex" strings, ignoring the Partial and
 * Extended Length flag bits and the order — what may legitimately differ between two encoders.
 * Written independently of the codec (plain offsets, no shared code).
 */
export function attributeSet(msg: Uint8Array): { attrs: string[]; withdrawn: string; nlri: string } {
  const body = msg.subarray(19);
  const wl = (body[0] << 8) | body[1];
  const al = (body[2 + wl] << 8) | body[3 + wl];
  const attrs: string[] = [];
  let p = 4 + wl;
  const end = p + al;
  while (p < end) {
    const flags = body[p];
    const code = body[p + 1];
    const ext = (flags & 0x10) !== 0;
    const len = ext ? (body[p + 2] << 8) | body[p + 3] : body[p + 2];
    const v = p + (ext ? 4 : 3);
    attrs.push(`${(flags & 0xc0).toString(16)}:${code}:${toHex(body.subarray(v, v + len))}`);
    p = v + len;
  }
  return { attrs: attrs.sort(), withdrawn: toHex(body.subarray(2, 2 + wl)), nlri: toHex(body.subarray(end)) };
}
