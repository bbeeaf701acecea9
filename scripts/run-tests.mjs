#!/usr/bin/env node
// Runs every *.test.ts under the given folders (default: test/) with node:test and the TAP reporter,
// so the summary lines (# pass N / # fail N) are always printed. Node 20 takes no globs after --test,
// so the files are listed here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const extra = process.argv.slice(2).filter((a) => a.startsWith('--'));
const files = [];
function walk(p) {
  const st = statSync(p);
  if (st.isDirectory()) {
    for (const e of readdirSync(p).sort()) if (e !== 'node_modules' && e !== 'fixtures') walk(join(p, e));
  } else if (p.endsWith('.test.ts')) files.push(p);
}
for (const r of roots.length ? roots : ['test']) walk(r);
// Fuzz campaigns run only under `npm run fuzz` (they are also bounded in CI by PETREL_FUZZ_RUNS).
const filter = process.env.PETREL_TEST_FILTER;
const selected = filter ? files.filter((f) => f.includes(filter)) : files;
if (selected.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
const r = spawnSync(process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=tap', ...extra, ...selected],
  { stdio: 'inherit', env: process.env });
process.exit(r.status ?? 1);
