import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetnsLab } from '../../../src/lab/netns.js';
import { encodeUpdates } from '../../../src/bgp/wire/index.js';
import { assertAlive, baseHandle, makeDir, type Daemon } from './common.js';

/**
 * A BGP peer that sends a large table fast: it connects, sends OPEN (4-octet AS, IPv4 unicast),
 * answers OPEN with KEEPALIVE and, once Established, writes a file of UPDATEs prepared by the test
 * (see `writeTableFile`) as fast as the socket takes it. It keeps the session up with a KEEPALIVE
 * every `hold/3` seconds; stopping the process closes the TCP connection, which is how the tests
 * make the peer "go down". Received NOTIFICATIONs are printed as JSON lines. ExaBGP and the Python
 * raw peer are far too slow to send millions of prefixes.
 */
const BULK_PEER = String.raw`import net from 'node:net';
import fs from 'node:fs';
const [peer, port, local, asn, rid, hold, file] = process.argv.slice(2);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const msg = (type, body) => { const b = Buffer.alloc(19 + body.length, 0xff); b.writeUInt16BE(19 + body.length, 16); b[18] = type; body.copy(b, 19); return b; };
const as = Number(asn);
const caps = Buffer.from([1, 4, 0, 1, 0, 1, 65, 4, as >>> 24, (as >>> 16) & 255, (as >>> 8) & 255, as & 255]);
const open = Buffer.alloc(10 + caps.length + 2);
open[0] = 4; open.writeUInt16BE(as < 65536 ? as : 23456, 1); open.writeUInt16BE(Number(hold), 3);
rid.split('.').forEach((x, i) => { open[5 + i] = Number(x); });
open[9] = caps.length + 2; open[10] = 2; open[11] = caps.length; caps.copy(open, 12);
const s = net.connect({ host: peer, port: Number(port), localAddress: local });
let buf = Buffer.alloc(0);
let up = false;
s.on('connect', () => { s.write(msg(1, open)); say({ event: 'open-sent' }); });
s.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  while (buf.length >= 19) {
    const len = buf.readUInt16BE(16);
    if (buf.length < len) break;
    const t = buf[18];
    if (t === 3) say({ type: 3, code: buf[19], subcode: buf[20], data: buf.subarray(21, len).toString('hex') });
    if (t === 1) s.write(msg(4, Buffer.alloc(0)));
    if (t === 4 && !up) {
      up = true;
      say({ event: 'established' });
      const r = fs.createReadStream(file, { highWaterMark: 1 << 20 });
      r.pipe(s, { end: false });
      r.on('end', () => say({ event: 'sent' }));
    }
    buf = buf.subarray(len);
  }
});
setInterval(() => { if (up) s.write(msg(4, Buffer.alloc(0))); }, Math.max(1, Number(hold) / 3) * 1000);
s.on('close', () => { say({ event: 'closed' }); process.exit(0); });
s.on('error', (e) => say({ event: 'error', error: String(e) }));
`;

/**
 * Writes UPDATEs announcing `count` /32s from `first` (an IPv4 address as a number) with next hop
 * `nextHop` and AS_PATH [asn], packed into 4096-byte messages; returns the file's size in bytes.
 */
export function writeTableFile(path: string, opts: { first: number; count: number; asn: number; nextHop: string }): number {
  const chunks: Uint8Array[] = [];
  const step = 100_000;
  for (let i = 0; i < opts.count; i += step) {
    const keys: number[] = [];
    for (let j = i; j < Math.min(opts.count, i + step); j++) keys.push((opts.first + j) * 64 + 32);
    chunks.push(...encodeUpdates(
      { family: 'ipv4', attrs: { origin: 0, asPath: [{ type: 2, asns: [opts.asn] }] }, nextHops: [opts.nextHop], nlri: [], nlriKeys: keys, withdrawn: [] },
      { fourOctetAs: true, extendedMessage: false },
    ));
  }
  const all = Buffer.concat(chunks);
  writeFileSync(path, all);
  return all.length;
}

export interface BulkPeer extends Daemon {
  readonly kind: 'bulk';
  events(): Array<{ event?: string; type?: number; code?: number; subcode?: number; data?: string }>;
}

export async function startBulkPeer(lab: NetnsLab, ns: string, opts: { name?: string; peer: string; port?: number; localAddress: string; asn: number; routerId: string; holdTime?: number; tableFile: string }): Promise<BulkPeer> {
  const name = opts.name ?? 'bulk';
  const dir = makeDir(lab, name);
  const script = join(dir, 'bulkpeer.mjs');
  writeFileSync(script, BULK_PEER);
  const proc = lab.spawn(name, ns, process.execPath, [script, opts.peer, String(opts.port ?? 179), opts.localAddress, String(opts.asn), opts.routerId, String(opts.holdTime ?? 90), opts.tableFile]);
  await assertAlive(proc, `bulk peer ${name}`, 200);
  const events = () => proc.output().split('\n').filter((l) => l.startsWith('{')).map((l) => { try { return JSON.parse(l); } catch { return {}; } });
  return {
    ...baseHandle(lab, 'bulk', name, ns, dir, proc),
    kind: 'bulk',
    events,
    routes: () => { throw new Error('the bulk peer keeps no RIB'); },
    peers: () => {
      const ev = events();
      const up = ev.some((e) => e.event === 'established') && !ev.some((e) => e.event === 'closed');
      return [{ name: opts.peer, address: opts.peer, state: up ? 'Established' : 'Idle', established: up }];
    },
  };
}
