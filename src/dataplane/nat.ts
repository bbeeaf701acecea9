/**
 * natOutgoing: an nftables table Petrel owns (`table ip petrel`, and `table ip6 petrel` when an IPv6
 * pool wants it) that masquerades traffic from natOutgoing pools to destinations outside every pool
 * (pod-to-pod traffic keeps its addresses, whichever node it crosses).
 *
 *   table ip petrel {
 *     set all-pools  { type ipv4_addr; flags interval; elements = { <every pool> } }
 *     set nat-pools  { type ipv4_addr; flags interval; elements = { <natOutgoing pools> } }
 *     chain postrouting { type nat hook postrouting priority srcnat; policy accept;
 *       ip saddr @nat-pools ip daddr != @all-pools masquerade }
 *   }
 *
 * Reconciled like routes: the wanted table is rendered as text, written atomically with `nft -f -`
 * (one transaction: create, delete, re-create, so no window without the rule), and the kernel's
 * listing (`nft list table`) right after is remembered. A check lists the table again; anything
 * different (rule deleted, table flushed or dropped) is rewritten and counted as a repair. Checks run
 * on nftables netlink events, at every resync, and on their own period (which skips a family where
 * no table is wanted and none was found). We never touch another table.
 * The nft CLI is run inside the target namespace (`ip netns exec`), so a test can aim it anywhere.
 */
import { execFile } from 'node:child_process';
import { PetrelError } from '../errors.js';
import type { DataplaneMetrics, Logger } from './log.js';

export interface NatPool { cidr: string; natOutgoing: boolean; disabled?: boolean }

export interface NftResult { status: number; stdout: string; stderr: string }
export type NftRunner = (args: string[], input?: string) => Promise<NftResult>;

/** Runs the nft CLI, inside `netns` (a name under /run/netns or a path) when given. Bounded by a timeout. */
export function nftRunner(netns: string | undefined, timeoutMs = 10_000): NftRunner {
  const [cmd, pre] = !netns ? ['nft', []] : netns.startsWith('/') ? ['nsenter', [`--net=${netns}`, 'nft']] : ['ip', ['netns', 'exec', netns, 'nft']];
  return (args, input) => new Promise((resolve) => {
    const child = execFile(cmd as string, [...(pre as string[]), ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string }) | null;
      resolve({ status: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout: String(stdout), stderr: String(stderr || e?.message || '') });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

export class NatError extends PetrelError {
  constructor(message: string) {
    super('DP_ERR_NFT', message);
  }
}

type Fam = 'ip' | 'ip6';

export function renderNatTable(family: Fam, table: string, pools: NatPool[]): string | undefined {
  const v6 = family === 'ip6';
  const mine = pools.filter((p) => !p.disabled && p.cidr.includes(':') === v6);
  const nat = mine.filter((p) => p.natOutgoing);
  if (nat.length === 0) return undefined;
  const t = v6 ? 'ipv6_addr' : 'ipv4_addr';
  const pfx = v6 ? 'ip6' : 'ip';
  const all = mine.map((p) => p.cidr).join(', ');
  return `table ${family} ${table} {
  set all-pools {
    type ${t}
    flags interval
    elements = { ${all} }
  }
  set nat-pools {
    type ${t}
    flags interval
    elements = { ${nat.map((p) => p.cidr).join(', ')} }
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ${pfx} saddr @nat-pools ${pfx} daddr != @all-pools masquerade
  }
}
`;
}

export class NatTable {
  private pools: NatPool[] = [];
  private listed = new Map<Fam, string>(); // what the kernel showed right after our last write
  private written = new Map<Fam, string>(); // the table text we last wrote
  private dirty = true;
  /**
   * Families where no table is wanted and the last look found none. The periodic backstop skips them
   * (two `nft` processes a minute on every node without natOutgoing, for nothing): a table appearing
   * there is an nftables change, whose netlink event marks the table dirty and looks again.
   */
  private readonly absent = new Set<Fam>();
  repairs = 0;

  constructor(private readonly nft: NftRunner, private readonly table: string, private readonly log: Logger, private readonly metrics: DataplaneMetrics) {}

  setPools(pools: NatPool[]): void {
    const norm = [...pools].sort((a, b) => a.cidr.localeCompare(b.cidr));
    if (JSON.stringify(norm) !== JSON.stringify(this.pools)) { this.pools = norm; this.markDirty(); }
  }

  /** Look at both families again (an nftables event, a resync). */
  markDirty(): void { this.dirty = true; this.absent.clear(); }
  /** The periodic backstop: look again where a table is wanted (see `absent`). */
  markPeriodic(): void { this.dirty = true; }
  isDirty(): boolean { return this.dirty; }

  private async list(fam: Fam): Promise<string | undefined> {
    const r = await this.nft(['list', 'table', fam, this.table]);
    return r.status === 0 ? r.stdout : undefined;
  }

  /** Checks both families and rewrites what differs. Throws NatError when nft itself fails. */
  async apply(): Promise<{ changed: boolean; repaired: number }> {
    this.dirty = false;
    let changed = false;
    let repaired = 0;
    for (const fam of ['ip', 'ip6'] as const) {
      const want = renderNatTable(fam, this.table, this.pools);
      if (!want && this.absent.has(fam)) continue;
      const have = await this.list(fam);
      const before = this.listed.get(fam);
      if (!want) {
        if (have !== undefined) {
          const r = await this.nft(['delete', 'table', fam, this.table]);
          if (r.status !== 0) { this.dirty = true; throw new NatError(`nft delete table ${fam} ${this.table}: ${r.stderr.trim()}`); }
          this.log.info({ table: `${fam} ${this.table}` }, 'delete');
          changed = true;
        }
        this.listed.delete(fam);
        this.written.delete(fam);
        this.absent.add(fam);
        continue;
      }
      const sameWant = this.written.get(fam) === want;
      if (have !== undefined && before !== undefined && have === before && sameWant) continue;
      const script = `table ${fam} ${this.table}\ndelete table ${fam} ${this.table}\n${want}`;
      const r = await this.nft(['-f', '-'], script);
      if (r.status !== 0) { this.dirty = true; throw new NatError(`nft -f (table ${fam} ${this.table}): ${r.stderr.trim()}`); }
      const now = await this.list(fam);
      if (now !== undefined) this.listed.set(fam, now);
      this.written.set(fam, want);
      changed = true;
      if (before !== undefined && sameWant) {
        repaired++;
        this.repairs++;
        this.metrics.driftRepair('nft');
        this.log.info({ table: `${fam} ${this.table}` }, 'repair');
      } else this.log.info({ table: `${fam} ${this.table}` }, have === undefined ? 'install' : 'update');
    }
    return { changed, repaired };
  }

  /** Removes our tables (cleanup). */
  async deleteAll(): Promise<void> {
    for (const fam of ['ip', 'ip6'] as const) {
      if ((await this.list(fam)) === undefined) continue;
      const r = await this.nft(['delete', 'table', fam, this.table]);
      if (r.status !== 0) throw new NatError(`nft delete table ${fam} ${this.table}: ${r.stderr.trim()}`);
    }
    this.listed.clear();
    this.written.clear();
  }
}
