/**
 * Issue 13, "a hostile-peer test in CI": a live `petrel speaker` process is driven by a peer sending
 * mutated frames — the captured BIRD/GoBGP/FRR messages of test/fixtures/bgp with bytes flipped,
 * overwritten, cut, inserted, deleted, spliced, with or without the header length fixed up — from a
 * seeded PRNG (PETREL_HOSTILE_SEED to replay a run). After every reset it connects again. Bounded:
 * at most ROUNDS connections and FRAMES frames, and 45 s.
 *
 * Asserted: the process stays up and its status API answers; a bystander session (hold time 3 s,
 * from another loopback address) stays Established throughout, never gets a NOTIFICATION and is
 * never counted as a flap; the hostile peer only ever gets NOTIFICATIONs the RFCs define (codes 1-6);
 * the speaker's RSS ends within 64 MB of its baseline after the hostile peer is gone.
 * Everything runs in the root namespace on 127.0.0.1/127.0.0.2 (servers bind 127.0.0.1 only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { waitFor } from '../../src/lab/netns.js';
import { PETREL_CLI, petrelSpeakerAvailable } from '../helpers/daemons.js';
import { TestPeer } from '../helpers/bgp-client.js';
import { hex, loadFixtures } from './wire/helpers.js';

const SEED = Number(process.env.PETREL_HOSTILE_SEED ?? 0x13b);
const ROUNDS = 60;
const FRAMES = 3000;
const BUDGET_MS = 45_000;

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutant(rand: () => number, seeds: Uint8Array[]): Uint8Array {
  const int = (n: number) => Math.floor(rand() * n);
  let b = seeds[int(seeds.length)].slice();
  const n = 1 + int(4);
  for (let i = 0; i < n; i++) {
    // Past the marker, so most mutants reach the decoders rather than the marker check.
    const pos = b.length > 19 ? 19 + int(b.length - 19) : int(Math.max(1, b.length));
    switch (int(6)) {
      case 0: b[pos] ^= 1 << int(8); break;
      case 1: b[pos] = int(256); break;
      case 2: b = b.slice(0, Math.max(19, pos)); break;
      case 3: { const ins = Uint8Array.from({ length: 1 + int(8) }, () => int(256)); const m = new Uint8Array(b.length + ins.length); m.set(b.subarray(0, pos)); m.set(ins, pos); m.set(b.subarray(pos), pos + ins.length); b = m; break; }
      case 4: b = Uint8Array.of(...b.subarray(0, pos), ...b.subarray(pos + 1 + int(8))); break;
      default: { const o = seeds[int(seeds.length)]; b = Uint8Array.of(...b.subarray(0, pos), ...o.subarray(Math.min(o.length, 19 + int(Math.max(1, o.length - 19))))); }
    }
  }
  if (rand() < 0.7 && b.length >= 19 && b.length <= 4096) { b[16] = b.length >> 8; b[17] = b.length & 0xff; }
  return b;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

test('a peer sending mutated frames cannot take the speaker down nor disturb a bystander session', { skip: petrelSpeakerAvailable() ? false : 'dist/cli.js has no speaker (npm run build)', timeout: 120_000 }, async () => {
  const seeds = loadFixtures().map((f) => hex(f.hex)).filter((b) => b.length >= 19 && b[18] >= 2);
  assert.ok(seeds.length > 10);
  const dir = mkdtempSync(join(tmpdir(), 'petrel-hostile-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const http = port + 1;
  writeFileSync(join(dir, 'petrel.yaml'), stringify({
    asn: 64512, routerId: '192.0.2.1', listen: { address: '127.0.0.1', port }, http: { address: '127.0.0.1', port: http }, logLevel: 'error',
    peers: [
      { address: '127.0.0.1', asn: 65001, passive: true, holdTime: 9, idleHoldTime: 0, idleHoldMaxTime: 0 },
      { address: '127.0.0.2', asn: 65002, passive: true, holdTime: 3, keepaliveTime: 1 },
    ],
  }));
  const proc = spawn(process.execPath, [PETREL_CLI, 'speaker', '--config', join(dir, 'petrel.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer) => { output = (output + d.toString()).slice(-20_000); };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const status = async () => (await (await fetch(`http://127.0.0.1:${http}/status`)).json()) as { peers: Array<{ address: string; state: string; flaps: number }> };
  const peers: TestPeer[] = [];
  try {
    await waitFor('the status API', async () => { try { return (await status()).peers.length === 2; } catch { return false; } }, 20_000, 100);
    const bystander = await TestPeer.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2', asn: 65002, routerId: '192.0.2.20', holdTime: 3 });
    peers.push(bystander);
    await bystander.established;
    await new Promise((r) => setTimeout(r, 1000));
    const baseline = rssMb(proc.pid as number);

    const rand = prng(SEED);
    const started = Date.now();
    let frames = 0;
    let rounds = 0;
    const codes = new Set<string>();
    while (rounds < ROUNDS && frames < FRAMES && Date.now() - started < BUDGET_MS) {
      rounds++;
      let p: TestPeer;
      try {
        p = await TestPeer.connect({ host: '127.0.0.1', port, asn: 65001, routerId: '192.0.2.9', families: ['ipv4', 'ipv6'] });
      } catch {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      peers.push(p);
      const up = await Promise.race([p.established.then(() => true), p.closed.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
      if (!up) { p.close(); await new Promise((r) => setTimeout(r, 200)); continue; }
      for (let i = 0; i < 50 && !p.isClosed; i++) {
        p.send(mutant(rand, seeds));
        frames++;
        if (i % 10 === 9) await new Promise((r) => setTimeout(r, 5));
      }
      await Promise.race([p.closed, new Promise((r) => setTimeout(r, 300))]);
      for (const n of p.notifications) codes.add(`${n.code}/${n.subcode}`);
      p.close();
      assert.equal(proc.exitCode, null, `petrel exited:\n${output}`);
    }
    assert.ok(rounds >= 5 && frames >= 200, `${rounds} connections, ${frames} frames`);
    for (const c of codes) assert.ok(Number(c.split('/')[0]) >= 1 && Number(c.split('/')[0]) <= 6, `NOTIFICATION ${c}`);

    // The bystander: never closed, never told anything, never a flap on Petrel's side either.
    assert.equal(bystander.isClosed, false);
    assert.deepEqual(bystander.notifications, []);
    const by = (await status()).peers.find((x) => x.address === '127.0.0.2');
    assert.equal(by?.state, 'Established');
    assert.equal(by?.flaps, 0);
    assert.equal(proc.exitCode, null, `petrel exited:\n${output}`);

    // Memory: back near the baseline once the hostile peer is gone (GC gets a few seconds).
    const after = await waitFor('RSS near its baseline', () => { const r = rssMb(proc.pid as number); return r < baseline + 64 ? r : undefined; }, 15_000, 500);
    console.log(`# seed ${SEED}: ${rounds} connections, ${frames} frames, NOTIFICATIONs ${[...codes].sort().join(' ')}; RSS ${baseline.toFixed(0)} -> ${after.toFixed(0)} MB`);
  } finally {
    for (const p of peers) p.close();
    proc.kill('SIGTERM');
    await new Promise((r) => { if (proc.exitCode !== null) r(null); else { proc.once('exit', r); setTimeout(() => { proc.kill('SIGKILL'); r(null); }, 5000).unref(); } });
    rmSync(dir, { recursive: true, force: true });
  }
});
