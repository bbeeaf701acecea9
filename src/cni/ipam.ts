/**
 * IPAM from the node's own blocks (Node spec.podCIDRs): one address per family per attachment,
 * stored on the node so that it survives crashes of the plugin and the agent and a reboot.
 *
 * Layout under `<stateDir>/cni/allocations/`: one file per address (its name is the address), whose
 * content is the Allocation as JSON. A file is made by writing a temporary file, fsync, then link()
 * to the address's name: link fails with EEXIST when the address is taken, so a file under an
 * address's name is always complete, and two writers can never both own one address. Release
 * unlinks. The directory is fsynced after each change, so an allocation acknowledged to the runtime
 * is still there after a power cut.
 *
 * Within the agent (the only writer), a synchronous in-memory reservation is taken before any I/O:
 * concurrent ADDs never pick the same address even while earlier writes are in flight. Addresses are
 * handed out round-robin from after the last one given (as host-local does), so an address just freed
 * is not reused at once by the next pod; the network address (the node's VXLAN VTEP, model/vtep.ts)
 * and, for IPv4 blocks of /30 or wider, the broadcast address are never given.
 */
import { link, mkdir, open, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { formatIp, parsePrefix, familyOfIp, type Family } from '../model/ip.js';
import { CniCode, CniError } from './spec.js';

export interface Allocation {
  ip: string;
  block: string;
  containerId: string;
  ifName: string;
  netns?: string;
  podNamespace?: string;
  podName?: string;
  /** Host side of the pod's veth. */
  hostVeth?: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
}

export type AllocationOwner = Omit<Allocation, 'ip' | 'block' | 'createdAt'>;

function ipToBig(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

function bigToIp(v: bigint, len: number): string {
  const b = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) { b[i] = Number(v & 0xffn); v >>= 8n; }
  return formatIp(b);
}

interface BlockRange { block: string; family: Family; base: bigint; size: bigint; first: bigint; last: bigint; bytes: number }

function rangeOf(block: string): BlockRange {
  const p = parsePrefix(block);
  const bytes = p.addr.length;
  const bits = bytes * 8;
  const size = 1n << BigInt(bits - p.len);
  const base = ipToBig(p.addr);
  const family: Family = bytes === 4 ? 'ipv4' : 'ipv6';
  // Network address: the VTEP's; broadcast of an IPv4 block of /30 or wider.
  const first = size > 1n ? 1n : 0n;
  const last = family === 'ipv4' && size >= 4n ? size - 2n : size - 1n;
  return { block, family, base, size, first, last, bytes };
}

export class IpamStore {
  private readonly dir: string;
  private readonly byIp = new Map<string, Allocation>();
  /** Addresses reserved in memory while their file is being written (address → block). */
  private readonly reserved = new Map<string, string>();
  private readonly cursor = new Map<string, bigint>();
  private loading: Promise<void> | undefined;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'cni', 'allocations');
  }

  /**
   * Reads every allocation file (a leftover temporary file of a crashed write is removed). Once per
   * store: concurrent callers share the one read, so no caller's in-flight temporary file is mistaken
   * for a leftover.
   */
  load(): Promise<void> {
    this.loading ??= this.read();
    return this.loading;
  }

  private async read(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    this.byIp.clear();
    for (const name of await readdir(this.dir)) {
      const path = join(this.dir, name);
      if (name.startsWith('.tmp-')) { await rm(path, { force: true }); continue; }
      try {
        const a = JSON.parse(await readFile(path, 'utf8')) as Allocation;
        if (typeof a.ip !== 'string' || a.ip !== name || typeof a.containerId !== 'string') throw new Error('not an allocation');
        this.byIp.set(a.ip, a);
      } catch {
        // A file we did not write whole cannot exist (link after fsync); anything else is not ours.
        continue;
      }
    }
  }

  list(): Allocation[] {
    return [...this.byIp.values()];
  }

  find(containerId: string, ifName: string): Allocation[] {
    return this.list().filter((a) => a.containerId === containerId && a.ifName === ifName);
  }

  /** Used addresses in `block` (allocations and in-flight reservations). */
  used(block: string): number {
    let n = 0;
    for (const a of this.byIp.values()) if (a.block === block) n++;
    for (const [ip, b] of this.reserved) if (b === block && !this.byIp.has(ip)) n++;
    return n;
  }

  /** Capacity of a block (addresses this store may hand out). */
  static capacity(block: string): number {
    const r = rangeOf(block);
    return Number(r.last - r.first + 1n);
  }

  /**
   * One address from each block (one block per family). Idempotent: an owner (container id +
   * interface) that already holds addresses gets the same ones back.
   */
  async allocate(owner: AllocationOwner, blocks: string[]): Promise<Allocation[]> {
    await this.load();
    const existing = this.find(owner.containerId, owner.ifName);
    if (existing.length > 0) return existing;
    const picked: Array<{ ip: string; block: string }> = [];
    try {
      for (const block of blocks) {
        const ip = this.pick(block);
        this.reserved.set(ip, block);
        picked.push({ ip, block });
      }
      const now = Date.now();
      const out: Allocation[] = [];
      for (const { ip, block } of picked) {
        const a: Allocation = { ip, block, ...owner, createdAt: now };
        await this.write(a);
        this.byIp.set(ip, a);
        out.push(a);
      }
      await this.syncDir();
      return out;
    } catch (e) {
      for (const { ip } of picked) {
        const a = this.byIp.get(ip);
        if (a && a.containerId === owner.containerId && a.ifName === owner.ifName) await this.remove(a);
      }
      throw e;
    } finally {
      for (const { ip } of picked) this.reserved.delete(ip);
    }
  }

  private pick(block: string): string {
    const r = rangeOf(block);
    const span = r.last - r.first + 1n;
    const start = this.cursor.get(block) ?? r.first - 1n;
    // Bounded: at most one lap of the block (a /16 is 65k steps of a Map lookup; pod blocks are /26).
    const lap = span < 1_000_000n ? span : 1_000_000n;
    for (let i = 1n; i <= lap; i++) {
      const off = r.first + ((start - r.first + i) % span + span) % span;
      const ip = bigToIp(r.base + off, r.bytes);
      if (this.byIp.has(ip) || this.reserved.has(ip)) continue;
      this.cursor.set(block, off);
      return ip;
    }
    throw new CniError(CniCode.BlockExhausted, `no free address in the node's pod CIDR ${block}`, `${this.used(block)} of ${IpamStore.capacity(block)} addresses are allocated; free some (pods that are gone are released by GC) or give the node a larger podCIDR`);
  }

  private async write(a: Allocation): Promise<void> {
    const tmp = join(this.dir, `.tmp-${process.pid}-${a.ip}`);
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(`${JSON.stringify(a)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await link(tmp, join(this.dir, a.ip));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new CniError(CniCode.Internal, `address ${a.ip} is already allocated on disk but was not loaded`, 'another process writes this state directory: each agent needs its own --state-dir');
      }
      throw e;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  private async syncDir(): Promise<void> {
    const d = await open(this.dir, 'r');
    try { await d.sync(); } finally { await d.close(); }
  }

  private async remove(a: Allocation): Promise<void> {
    await rm(join(this.dir, a.ip), { force: true });
    if (this.byIp.get(a.ip) === a) this.byIp.delete(a.ip);
  }

  /** Frees what (container id, interface) holds; returns what was freed (nothing: already free). */
  async release(containerId: string, ifName: string): Promise<Allocation[]> {
    await this.load();
    const gone = this.find(containerId, ifName);
    for (const a of gone) await this.remove(a);
    if (gone.length) await this.syncDir();
    return gone;
  }
}

/** The blocks to allocate from: the first podCIDR of each family (one address per family). */
export function blocksPerFamily(podCidrs: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<Family>();
  for (const c of podCidrs) {
    const fam = familyOfIp(c.split('/')[0]);
    if (seen.has(fam)) continue;
    seen.add(fam);
    out.push(c);
  }
  return out;
}
