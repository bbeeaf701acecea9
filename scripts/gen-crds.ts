/**
 * Writes the CRD manifests rendered from src/k8s/crds/schemas.ts into deploy/base/crds/.
 * `--check` writes nothing and exits 1 when a committed file differs from what would be generated
 * (test/k8s/crds/render.test.ts does the same comparison in the test suite).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderAllCrds } from '../src/k8s/crds/render.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'deploy', 'base', 'crds');
const check = process.argv.includes('--check');
let stale = 0;
mkdirSync(outDir, { recursive: true });
for (const [name, text] of renderAllCrds()) {
  const file = join(outDir, name);
  const old = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  if (old === text) continue;
  if (check) {
    console.error(`gen-crds: ${file} is out of date`);
    stale++;
  } else {
    writeFileSync(file, text);
    console.log(`gen-crds: wrote ${file}`);
  }
}
process.exit(stale ? 1 : 0);
