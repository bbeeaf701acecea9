/**
 * Dataplane benchmark: install and then delete N remote-block routes (/28s via a neighbour on a
 * veth) through the reconciler (createDataplane → apply(): diff, batched rtnetlink over our addon,
 * fence ACK) and through `ip -batch` (iproute2, one request + ACK per route), in the same namespace
 * and the same run. Medians of 3 runs each way, routes/s, and the ratio. Machine load is sampled
 * from /proc/stat over the whole run (the machine is shared: read the ratio, not the absolute).
 * Also: the reconciler with pipelined sends (PETREL_NETLINK_PIPELINE=1, opt-in), and the cost
 * of passes that change little — the same 100k set given again, and one route changed in it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsLab, uniquePrefix, removeStaleNamespaces } from '../../src/lab/netns.js';
import { createDataplane } from '../../src/dataplane/index.js';
import { RtnlKernel } from '../../src/dataplane/netlink/rtnl.js';
import type { KernelOp } from '../../src/dataplane/kernel.js';
import type { RemoteBlockRoute } from '../../src/model/routes.js';

function cpuTimes(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function blockOf(i: number): string {
  const base = (100 << 24) + (64 << 16) + i * 16; // 100.64.0.0/10 in /28 steps
  return `${(base >>> 24) & 255}.${(base >>> 16) & 255}.${(base >>> 8) & 255}.${base & 255}/28`;
}

export async function bench(opts: { quick: boolean }): Promise<{ title: string; markdown: string }> {
  const N = opts.quick ? 20_000 : 100_000;
  const runs = 3;
  process.env.PETREL_REQUIRE_NETNS = '1';
  removeStaleNamespaces('ptbd');
  const lab = new NetnsLab(uniquePrefix('ptbd'));
  const dir = mkdtempSync(join(tmpdir(), 'petrel-bench-dp-'));
  const t0 = cpuTimes();
  const ours = { add: [] as number[], del: [] as number[] };
  const ipb = { add: [] as number[], del: [] as number[] };
  const raw = { add: [] as number[], del: [] as number[] };
  const pipe = { add: [] as number[], del: [] as number[] };
  const small = { same: [] as number[], one: [] as number[] };
  try {
    const ns = lab.addNs('dp');
    lab.veth(ns, 'e0', ns, 'e1');
    lab.addr(ns, 'e0', '192.0.2.1/24');
    const blocks: RemoteBlockRoute[] = Array.from({ length: N }, (_, i) => ({ prefix: blockOf(i), node: 'peer', nextHop: '192.0.2.2', mode: 'direct' }));
    let add = '';
    let del = '';
    for (let i = 0; i < N; i++) {
      add += `route add ${blockOf(i)} via 192.0.2.2 dev e0 proto 98\n`;
      del += `route del ${blockOf(i)} via 192.0.2.2 dev e0 proto 98\n`;
    }
    writeFileSync(join(dir, 'add'), add);
    writeFileSync(join(dir, 'del'), del);
    const count = (proto: number) => Number(execFileSync('bash', ['-c', `ip -n ${ns} route show proto ${proto} | wc -l`], { encoding: 'utf8' }).trim());
    const dp = createDataplane({ netns: ns, uplink: 'e0', protocol: 97 });
    for (let r = 0; r < runs; r++) {
      dp.setRemoteBlocks(blocks);
      let t = performance.now();
      const a = await dp.apply();
      ours.add.push(N / ((performance.now() - t) / 1000));
      if (a.installed !== N || count(97) !== N) throw new Error(`reconciler installed ${a.installed}, kernel has ${count(97)}`);
      dp.setRemoteBlocks([]);
      t = performance.now();
      const d = await dp.apply();
      ours.del.push(N / ((performance.now() - t) / 1000));
      if (d.deleted !== N || count(97) !== 0) throw new Error(`reconciler deleted ${d.deleted}`);

      // The same reconciler with pipelined sends (encoding overlapped with the kernel's work).
      process.env.PETREL_NETLINK_PIPELINE = '1';
      try {
        dp.setRemoteBlocks(blocks);
        t = performance.now();
        const sa = await dp.apply();
        pipe.add.push(N / ((performance.now() - t) / 1000));
        // Passes that change little, on the full table: the same set again, then one route moved.
        dp.setRemoteBlocks(blocks);
        t = performance.now();
        const same = await dp.apply();
        small.same.push(performance.now() - t);
        const moved = blocks.slice();
        moved[r] = { ...blocks[r], nextHop: '192.0.2.3' };
        dp.setRemoteBlocks(moved);
        t = performance.now();
        const one = await dp.apply();
        small.one.push(performance.now() - t);
        if (sa.installed !== N || same.installed + same.updated + same.deleted !== 0 || one.updated !== 1) throw new Error('small passes did unexpected work');
        dp.setRemoteBlocks([]);
        t = performance.now();
        const sd = await dp.apply();
        pipe.del.push(N / ((performance.now() - t) / 1000));
        if (sd.deleted !== N) throw new Error(`pipelined reconciler deleted ${sd.deleted}`);
      } finally {
        delete process.env.PETREL_NETLINK_PIPELINE;
      }

      t = performance.now();
      execFileSync('ip', ['-n', ns, '-batch', join(dir, 'add')], { timeout: 300_000 });
      ipb.add.push(N / ((performance.now() - t) / 1000));
      if (count(98) !== N) throw new Error('ip -batch did not install every route');
      t = performance.now();
      execFileSync('ip', ['-n', ns, '-batch', join(dir, 'del')], { timeout: 300_000 });
      ipb.del.push(N / ((performance.now() - t) / 1000));
    }
    await dp.stop();
    // The transport alone (codec + addon, no reconciler): the same routes as prebuilt ops.
    const k = new RtnlKernel({ netns: ns });
    const e0 = (await k.dumpLinks()).find((l) => l.name === 'e0')!.index;
    const mk = (op: 'route-create' | 'route-delete'): KernelOp[] => Array.from({ length: N }, (_, i) =>
      ({ op, route: { dst: blockOf(i), table: 254, protocol: 99, type: 'unicast' as const, scope: 0, nexthops: [{ gateway: '192.0.2.2', ifindex: e0, onlink: false }] } }));
    const addOps = mk('route-create');
    const delOps = mk('route-delete');
    for (let r = 0; r < runs; r++) {
      let t = performance.now();
      if ((await k.write(addOps)).some(Boolean)) throw new Error('raw install failed');
      raw.add.push(N / ((performance.now() - t) / 1000));
      t = performance.now();
      if ((await k.write(delOps)).some(Boolean)) throw new Error('raw delete failed');
      raw.del.push(N / ((performance.now() - t) / 1000));
    }
    k.close();
  } finally {
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  const t1 = cpuTimes();
  const load = (100 * (t1.busy - t0.busy)) / Math.max(1, t1.total - t0.total);
  const ipv = execFileSync('ip', ['-V'], { encoding: 'utf8' }).trim();
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const k = (x: number) => `${(x / 1000).toFixed(0)}k`;
  const row = (what: string, o: number[], i: number[], w: number[]) =>
    `| ${what} | ${k(median(o))}/s (${o.map(k).join(', ')}) | ${k(median(i))}/s (${i.map(k).join(', ')}) | ${(median(o) / median(i)).toFixed(2)}× | ${k(median(w))}/s (${(median(w) / median(i)).toFixed(2)}×) |`;
  const markdown = [
    `Install then delete ${N.toLocaleString('en')} remote-block routes (/28 via a neighbour on a veth, one namespace), ${runs} runs each, medians (all runs in parentheses).`,
    '',
    '| operation | Petrel reconciler (apply) | `ip -batch` | ratio | transport alone (codec + addon, no diff) |',
    '|---|---|---|---|---|',
    row('install', ours.add, ipb.add, raw.add),
    row('delete', ours.del, ipb.del, raw.del),
    '',
    `Reconciler with pipelined sends (PETREL_NETLINK_PIPELINE=1, encoding overlapped with the kernel on a pool thread): install ${k(median(pipe.add))}/s (${pipe.add.map(k).join(', ')}), delete ${k(median(pipe.del))}/s (${pipe.del.map(k).join(', ')}).`,
    `A pass over the full ${N.toLocaleString('en')}-route table when the same set is given again: ${median(small.same).toFixed(1)} ms; with one route changed: ${median(small.one).toFixed(1)} ms (one request sent).`,
    '',
    `Node ${process.version}, ${ipv}, kernel ${kernel}; machine CPU busy during the run: ${load.toFixed(0)}% (all cores, /proc/stat, includes other work on this shared machine).`,
    'The reconciler number includes computing the desired set and the diff; its writes are batched (many messages per sendmsg, no per-route ACK, one ACKed NLMSG_NOOP fence per batch; errors still arrive per route).',
  ].join('\n');
  return { title: 'Dataplane: routes into the kernel', markdown };
}
