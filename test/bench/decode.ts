/**
 * Codec throughput: UPDATEs/s and prefixes/s for realistic UPDATEs, decode and encode.
 *
 * Workloads are generated deterministically (seeded) and packed by our own `encodeUpdates`, the way a
 * speaker sends them: a full-table-like IPv4 set (prefix lengths mostly /24, AS paths of 2–7 4-octet
 * ASNs, 0–4 communities, sometimes MED; several hundred prefixes per UPDATE), IPv6 in MP_REACH with a
 * global + link-local next hop, and single-prefix UPDATEs (churn). Each figure is the median of 5 runs
 * (7 for IPv4 decoding) after two warm-up runs. The reference decoder measured in the same run is tshark (Wireshark's BGP
 * dissector) reading the same IPv4 UPDATEs from a pcap: the only other BGP decoder here that runs
 * offline. It is a full protocol dissector, not a router, so the ratio says "same order of work",
 * not "faster than a router" — the route-reflector benchmark (rr.ts) compares us with BIRD and FRR.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeMessage, encodeMessage, encodeUpdates, type CodecContext, type PathAttributes, type UpdateMessage,
} from '../../src/bgp/wire/index.js';
import { formatPrefix, maskBytes } from '../../src/model/ip.js';

const CTX: CodecContext = { fourOctetAs: true, extendedMessage: false };

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function ipv4Prefixes(n: number, rand: () => number): string[] {
  const out = new Set<string>();
  while (out.size < n) {
    const r = rand();
    const len = r < 0.6 ? 24 : r < 0.75 ? 22 + Math.floor(rand() * 2) : r < 0.85 ? 20 + Math.floor(rand() * 2) : r < 0.95 ? 16 + Math.floor(rand() * 4) : 25 + Math.floor(rand() * 8);
    const v = Math.floor(rand() * 2 ** 32) & (len === 0 ? 0 : (0xffffffff << (32 - len)));
    out.add(`${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/${len}`);
  }
  return [...out];
}

function ipv6Prefixes(n: number, rand: () => number): string[] {
  const out = new Set<string>();
  const addr = new Uint8Array(16);
  while (out.size < n) {
    const len = rand() < 0.7 ? 48 : [32, 36, 40, 44, 56, 64][Math.floor(rand() * 6)];
    addr.fill(0);
    addr.set([0x20, 0x01, 0x0d, 0xb8]);
    for (let i = 4; i < 8; i++) addr[i] = Math.floor(rand() * 256);
    out.add(formatPrefix({ family: 'ipv6', addr: maskBytes(addr, len), len }));
  }
  return [...out];
}

function attrsFor(rand: () => number): PathAttributes {
  const hops = 2 + Math.floor(rand() * 6);
  const a: PathAttributes = {
    origin: (Math.floor(rand() * 3) as 0 | 1 | 2),
    asPath: [{ type: 2, asns: Array.from({ length: hops }, () => 1 + Math.floor(rand() * 4_200_000_000)) }],
  };
  const nc = Math.floor(rand() * 5);
  if (nc) a.communities = Array.from({ length: nc }, () => Math.floor(rand() * 2 ** 32));
  if (rand() < 0.4) a.med = Math.floor(rand() * 1000);
  return a;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Runs fn `runs` times (after one warm-up) and returns the median seconds. */
function timeIt(fn: () => void, runs = 5): number {
  fn();
  fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(t);
}

interface Workload { name: string; frames: Uint8Array[]; prefixes: number; groups: Array<{ family: 'ipv4' | 'ipv6'; attrs: PathAttributes; nextHops: string[]; nlri: string[] }> }

function build(family: 'ipv4' | 'ipv6', count: number, perGroup: () => number, rand: () => number): Workload {
  const prefixes = family === 'ipv4' ? ipv4Prefixes(count, rand) : ipv6Prefixes(count, rand);
  const groups: Workload['groups'] = [];
  for (let i = 0; i < prefixes.length; ) {
    const n = perGroup();
    groups.push({
      family,
      attrs: attrsFor(rand),
      nextHops: family === 'ipv4' ? [`198.51.100.${1 + Math.floor(rand() * 250)}`] : ['2001:db8:ffff::1', 'fe80::1'],
      nlri: prefixes.slice(i, i + n),
    });
    i += n;
  }
  const frames = groups.flatMap((g) => encodeUpdates({ ...g, withdrawn: [] }, CTX));
  return { name: '', frames, prefixes: prefixes.length, groups };
}

function decodeAll(frames: Uint8Array[]): number {
  let n = 0;
  for (let i = 0; i < frames.length; i++) {
    const m = decodeMessage(frames[i], CTX).message as UpdateMessage;
    n += m.nlri.length + (m.attrs.mpReach ? m.attrs.mpReach.nlri.length : 0);
  }
  return n;
}

/** A pcap (Ethernet/IPv4/TCP port 179) with one UPDATE per segment, for tshark. */
function pcapOf(frames: Uint8Array[]): Uint8Array {
  const size = 24 + frames.reduce((n, f) => n + 16 + 54 + f.length, 0);
  const b = Buffer.alloc(size);
  b.writeUInt32LE(0xa1b2c3d4, 0); b.writeUInt16LE(2, 4); b.writeUInt16LE(4, 6); b.writeUInt32LE(262144, 16); b.writeUInt32LE(1, 20);
  let o = 24;
  let seq = 1;
  frames.forEach((f, i) => {
    const len = 54 + f.length;
    b.writeUInt32LE(1_700_000_000 + Math.floor(i / 1000), o); b.writeUInt32LE((i % 1000) * 1000, o + 4);
    b.writeUInt32LE(len, o + 8); b.writeUInt32LE(len, o + 12); o += 16;
    Buffer.from('020000000002020000000001', 'hex').copy(b, o); b.writeUInt16BE(0x0800, o + 12); o += 14;
    b[o] = 0x45; b.writeUInt16BE(20 + 20 + f.length, o + 2); b.writeUInt16BE(0x4000, o + 6); b[o + 8] = 64; b[o + 9] = 6;
    Buffer.from([198, 51, 100, 1, 198, 51, 100, 2]).copy(b, o + 12); o += 20;
    b.writeUInt16BE(179, o); b.writeUInt16BE(40000, o + 2); b.writeUInt32BE(seq, o + 4); b.writeUInt32BE(1, o + 8);
    b[o + 12] = 0x50; b[o + 13] = 0x18; b.writeUInt16BE(65535, o + 14); o += 20;
    Buffer.from(f.buffer, f.byteOffset, f.length).copy(b, o); o += f.length;
    seq += f.length;
  });
  return b;
}

function tsharkRate(frames: Uint8Array[]): { seconds: number; prefixes: number; version: string } | undefined {
  let version = '';
  try {
    version = execFileSync('tshark', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  } catch {
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'petrel-bench-'));
  try {
    const file = join(dir, 'updates.pcap');
    writeFileSync(file, pcapOf(frames));
    const args = ['-r', file, '-n', '-o', 'tcp.desegment_tcp_streams:FALSE', '-Y', 'bgp.type == 2', '-T', 'fields', '-e', 'bgp.nlri_prefix'];
    let prefixes = 0;
    const seconds = median([0, 1, 2].map(() => {
      const t0 = process.hrtime.bigint();
      const out = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 30 });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      prefixes = out.split('\n').filter(Boolean).reduce((n, l) => n + l.split(',').length, 0);
      return s;
    }));
    return { seconds, prefixes, version };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0));

export async function bench(opts: { quick: boolean }): Promise<{ title: string; markdown: string }> {
  const rand = rng(20261123);
  const v4 = build('ipv4', opts.quick ? 100_000 : 500_000, () => 300 + Math.floor(rand() * 600), rand);
  const v6 = build('ipv6', opts.quick ? 30_000 : 150_000, () => 100 + Math.floor(rand() * 200), rand);
  const churnMsgs: UpdateMessage[] = v4.groups.slice(0, opts.quick ? 200 : 1000).flatMap((g) => g.nlri.slice(0, 50).map((p) => ({
    type: 'update' as const, withdrawn: [], nlri: [p], attrs: { ...g.attrs, nextHop: g.nextHops[0] },
  })));
  const churn = churnMsgs.map((m) => encodeMessage(m, CTX));

  const rows: string[][] = [];
  const row = (what: string, msgs: number, prefixes: number, s: number) =>
    rows.push([what, String(msgs), String(prefixes), fmt(msgs / s), fmt(prefixes / s)]);

  let check = 0;
  const v4Decode = timeIt(() => { check = decodeAll(v4.frames); }, 7);
  row('decode IPv4 full-table-like UPDATEs', v4.frames.length, v4.prefixes, v4Decode);
  if (check !== v4.prefixes) throw new Error(`decoded ${check} of ${v4.prefixes} IPv4 prefixes`);
  row('decode IPv6 MP_REACH UPDATEs (global + link-local next hop)', v6.frames.length, v6.prefixes, timeIt(() => { check = decodeAll(v6.frames); }));
  if (check !== v6.prefixes) throw new Error(`decoded ${check} of ${v6.prefixes} IPv6 prefixes`);
  row('decode single-prefix IPv4 UPDATEs (churn)', churn.length, churn.length, timeIt(() => { decodeAll(churn); }));
  row('encode IPv4 table with encodeUpdates', v4.frames.length, v4.prefixes, timeIt(() => { for (const g of v4.groups) encodeUpdates({ ...g, withdrawn: [] }, CTX); }));
  row('encode IPv6 table with encodeUpdates', v6.frames.length, v6.prefixes, timeIt(() => { for (const g of v6.groups) encodeUpdates({ ...g, withdrawn: [] }, CTX); }));
  row('encode single-prefix UPDATEs with encodeMessage', churnMsgs.length, churnMsgs.length, timeIt(() => { for (const m of churnMsgs) encodeMessage(m, CTX); }));

  const v4DecodeRate = v4.prefixes / v4Decode;
  const ref = tsharkRate(v4.frames);
  const lines = [
    `Synthetic, seeded workloads packed by \`encodeUpdates\` (max 4096-byte UPDATEs, 4-octet AS). Median of 5 runs (IPv4 decode: 7) after two warm-up runs, node ${process.version}.`,
    '',
    '| operation | UPDATEs | prefixes | UPDATEs/s | prefixes/s |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ];
  if (ref) {
    const refRate = ref.prefixes / ref.seconds;
    lines.push(
      `Reference, same run: ${ref.version} dissecting the same ${v4.frames.length} IPv4 UPDATEs from a pcap (\`-T fields -e bgp.nlri_prefix\`, median of 3; `
      + `it reported ${ref.prefixes} prefixes): ${fmt(refRate)} prefixes/s. Petrel's decoder: ${fmt(v4DecodeRate)} prefixes/s, `
      + `**${(v4DecodeRate / refRate).toFixed(1)}×** tshark. (tshark's time includes its start-up and output; it is a dissector, not a router.)`,
    );
  } else {
    lines.push('tshark not installed: no reference figure in this run.');
  }
  return { title: 'BGP codec: decode and encode throughput', markdown: lines.join('\n') };
}

// Run directly: `node --import tsx test/bench/decode.ts [--quick]`.
if (import.meta.url === `file://${process.argv[1]}`) {
  bench({ quick: process.argv.includes('--quick') }).then((r) => console.log(`## ${r.title}\n\n${r.markdown}`));
}
