// `petrel` itself: help, version, unknown commands and usage errors, exit statuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, petrel } from './helpers.js';

test('petrel --help lists every command and exits 0', () => {
  const r = petrel(['--help']);
  assert.equal(r.status, 0);
  for (const c of ['speaker', 'status', 'routes', 'version']) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
});

test('petrel without a command prints the usage and exits 2', () => {
  const r = petrel([]);
  assert.equal(r.status, 2);
  assert.match(r.stdout, /Usage: petrel <command>/);
});

test('an unknown command exits 2 and names it', () => {
  const r = petrel(['frobnicate']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});

test('petrel version prints the package version', () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const r = petrel(['version']);
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trim().split(' ')[1], version);
});

test('an unknown option exits 2 with one line pointing at the command\'s usage', () => {
  const r = petrel(['status', '--jsn']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /Unknown option '--jsn'/);
  assert.match(r.stderr, /`petrel status --help` shows the usage/);
});

test('petrel status without a running speaker exits 1 and says where it looked', () => {
  const r = petrel(['status', '--api', 'http://127.0.0.1:9']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot reach the speaker at http:\/\/127\.0\.0\.1:9/);
});
