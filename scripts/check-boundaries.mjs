#!/usr/bin/env node
// Keeps the module boundaries of the architecture (docs/architecture.md):
//   bgp/wire imports only model/ and errors; bgp/fsm imports no node:* module;
//   bgp/* never imports dataplane/, k8s/, agent/, cli/, metrics/ or prom-client;
//   bfd/ imports none of those nor bgp/; bfd/packet and bfd/machine import no node:* module;
//   dataplane/ never imports bgp/, k8s/, agent/, cli/, cni/; k8s/ never imports bgp/, dataplane/, agent/, cli/, cni/;
//   cni/ imports only model/ and errors;
//   model/ imports only model/ and errors; prom-client only inside metrics/.
// Only agent/, cli/ and lab/ compose the layers. Exit 1 with one line per violation.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const src = join(root, 'src');
const files = [];
(function walk(d) {
  for (const e of readdirSync(d)) {
    const p = join(d, e);
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.(ts|mts)$/.test(e) && !e.endsWith('.d.ts')) files.push(p);
  }
})(src);

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

const rules = [
  { from: 'bgp/wire/', deny: (t) => t.local && !/^(model\/|errors\.|bgp\/wire\/)/.test(t.path), why: 'bgp/wire imports only model/ and errors' },
  { from: 'bgp/fsm/', deny: (t) => t.spec.startsWith('node:'), why: 'bgp/fsm is pure: no node:* modules' },
  { from: 'bgp/', deny: (t) => t.local && /^(dataplane|k8s|agent|cli|metrics|lab|cni)\//.test(t.path), why: 'bgp/ never imports dataplane, k8s, agent, cli, metrics, lab or cni' },
  { from: 'bgp/', deny: (t) => t.spec === 'prom-client' || t.spec.startsWith('netlink'), why: 'bgp/ takes metrics through a narrow interface and never touches netlink' },
  { from: 'bfd/', deny: (t) => t.local && /^(bgp|dataplane|k8s|agent|cli|metrics|lab|cni)\//.test(t.path), why: 'bfd/ stands alone: it never imports bgp, dataplane, k8s, agent, cli, metrics, lab or cni' },
  { from: 'bfd/', deny: (t, f) => t.spec.startsWith('node:') && /^bfd\/(packet|machine)\./.test(f), why: 'the BFD codec and state machine are pure: no node:* modules' },
  { from: 'dataplane/', deny: (t) => t.local && /^(bgp|k8s|agent|cli|lab|cni)\//.test(t.path), why: 'dataplane/ never imports bgp, k8s, agent, cli, lab or cni' },
  { from: 'k8s/', deny: (t) => t.local && /^(bgp|dataplane|agent|cli|lab|cni)\//.test(t.path), why: 'k8s/ never imports bgp, dataplane, agent, cli, lab or cni' },
  { from: 'cni/', deny: (t) => t.local && !/^(model\/|errors\.|cni\/)/.test(t.path), why: 'cni/ (the CNI protocol, IPAM, the plugin\'s verbs) imports only model/ and errors: the agent hands it the dataplane' },
  { from: 'model/', deny: (t) => t.local && !/^(model\/|errors\.)/.test(t.path), why: 'model/ imports only model/ and errors' },
  { from: '', deny: (t, f) => t.spec === 'prom-client' && !f.startsWith('metrics/'), why: 'prom-client is imported only in metrics/' },
];

const violations = [];
for (const file of files) {
  const rel = relative(src, file).replaceAll('\\', '/');
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3];
    const local = spec.startsWith('.');
    const path = local ? relative(src, resolve(dirname(file), spec)).replaceAll('\\', '/') : spec;
    const target = { spec, local, path };
    for (const r of rules) {
      if (rel.startsWith(r.from) && r.deny(target, rel)) violations.push(`src/${rel}: imports '${spec}' — ${r.why}`);
    }
  }
}
if (violations.length) {
  console.error(violations.join('\n'));
  console.error(`check-boundaries: ${violations.length} violation(s)`);
  process.exit(1);
}
console.log(`check-boundaries: ${files.length} files, module boundaries kept`);
