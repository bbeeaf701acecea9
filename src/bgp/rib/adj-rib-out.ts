/**
 * Adj-RIB-Out with update groups (the idea of FRR's update-groups): established peers that would be
 * sent exactly the same bytes — same export kind (eBGP per neighbour AS, iBGP client, iBGP
 * non-client), same families, same codec context, same next-hop-self addresses — form one group.
 * A batch of best-path changes is exported and encoded once per group and the same frames are handed
 * to every member, so reflecting to N clients costs one encoding, not N.
 *
 * Within a group, prefixes whose exported attributes are equal (same interned attribute set from the
 * same source peer) form one bucket and are packed by the codec's encodeUpdates into as few UPDATEs
 * as fit. A route is never sent back to the member it came from: its bucket is sent to the other
 * members only, and if that member had been sent the previous best path it gets a withdrawal of its
 * own. What a group has advertised is not stored: it is a function of the Loc-RIB and the export
 * policy, so a change only needs the best path before and after (that is how 1M prefixes × N groups
 * stay out of memory).
 *
 * A peer that comes up joins its group after an initial dump of the Loc-RIB followed by End-of-RIB
 * for each family (RFC 4724 §2); peers that come up in the same flush share that dump too.
 */
import type { Family } from '../../model/ip.js';
import type { CodecContext } from '../wire/types.js';
import { exportAttrs, exportable, groupKindOf, selfNextHops, type ExportContext, type GroupKind } from './export.js';
import { familyOfKey, type Change, type LocRib, type PrefixKey } from './loc-rib.js';
import type { AttrSet, OutPeerState, Path, RibPeer, UpdateEncoder } from './types.js';

export class UpdateGroup {
  readonly members = new Set<RibPeer>();
  joiners: RibPeer[] = [];
  /** Prefixes exported to this group (before excluding each member's own routes). */
  exported = 0;
  /** What the flush under way will send. */
  pending: Pending | undefined;
  constructor(
    readonly key: string,
    readonly kind: GroupKind,
    readonly families: Family[],
    readonly codec: CodecContext,
    readonly nextHopSelf: OutPeerState['nextHopSelf'],
  ) {}
}

/** Prefixes to send: IPv4 ones as Loc-RIB keys (numbers, no strings built), the rest as text. */
interface Prefixes {
  text: string[];
  keys: number[];
}

interface Pending {
  withdrawn: Map<Family, Prefixes>;
  buckets: Map<number, Bucket>;
  ownWithdrawals: Map<RibPeer, Map<Family, Prefixes>>;
}

interface Bucket {
  family: Family;
  set: AttrSet;
  src: RibPeer;
  nlri: Prefixes;
}

function addPrefix(list: Prefixes, key: PrefixKey): void {
  if (typeof key === 'number') list.keys.push(key);
  else list.text.push(key);
}

export interface AdjRibOutStats {
  /** encodeUpdates calls made (one per bucket per group, not per peer). */
  encodings: number;
  framesSent: number;
}

export class AdjRibOut {
  readonly groups = new Map<string, UpdateGroup>();
  private active: UpdateGroup[] = [];
  private outbox = new Map<RibPeer, Uint8Array[]>();
  readonly stats: AdjRibOutStats = { encodings: 0, framesSent: 0 };

  constructor(
    private readonly ctx: ExportContext,
    private readonly encoder: UpdateEncoder,
  ) {}

  static groupKey(peer: RibPeer, out: OutPeerState, ctx: ExportContext): string {
    const kind = groupKindOf(peer, ctx);
    return [
      kind === 'ebgp' ? `ebgp:${peer.asn}` : kind,
      [...out.families].sort().join(','),
      out.codec.fourOctetAs ? 'as4' : 'as2',
      out.codec.extendedMessage ? 'ext' : 'std',
      out.nextHopSelf.ipv4 ?? '',
      (out.nextHopSelf.ipv6 ?? []).join(','),
    ].join('|');
  }

  groupOf(peer: RibPeer): UpdateGroup | undefined {
    for (const g of this.groups.values()) if (g.members.has(peer) || g.joiners.includes(peer)) return g;
    return undefined;
  }

  /** Queues an established peer (peer.out set) for its initial dump at the next flush. */
  join(peer: RibPeer): void {
    const out = peer.out;
    if (!out) throw new Error('join: peer has no out state');
    const key = AdjRibOut.groupKey(peer, out, this.ctx);
    let g = this.groups.get(key);
    if (!g) {
      g = new UpdateGroup(key, groupKindOf(peer, this.ctx), [...out.families], out.codec, out.nextHopSelf);
      this.groups.set(key, g);
    }
    out.joining = true;
    g.joiners.push(peer);
  }

  leave(peer: RibPeer): void {
    for (const [key, g] of this.groups) {
      g.members.delete(peer);
      g.joiners = g.joiners.filter((p) => p !== peer);
      if (g.members.size === 0 && g.joiners.length === 0) this.groups.delete(key);
    }
  }

  /** Advertised prefix count of a member: its group's exports minus its own best routes. */
  advertised(peer: RibPeer): number {
    const g = this.groupOf(peer);
    if (!g || peer.out?.joining) return 0;
    const own = peer.kind !== 'local' && exportable(peer, g.kind, this.ctx) ? peer.bestCount : 0;
    return Math.max(0, g.exported - own);
  }

  /** Starts a flush: fresh per-group accumulators for the groups that have members. */
  begin(): void {
    this.active = [];
    for (const g of this.groups.values()) {
      if (g.members.size === 0) continue;
      g.pending = { withdrawn: new Map(), buckets: new Map(), ownWithdrawals: new Map() };
      this.active.push(g);
    }
  }

  /** One best-path change, exported to every active group (RFC 4456 §6 via `exportable`). */
  change(prefix: PrefixKey, before: Path | undefined, after: Path | undefined): void {
    const groups = this.active;
    if (groups.length === 0) return;
    const family = familyOfKey(prefix);
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i];
      const p = g.pending as Pending;
      if (!g.families.includes(family)) continue;
      const b = before && exportable(before.peer, g.kind, this.ctx) ? before : undefined;
      const a = after && exportable(after.peer, g.kind, this.ctx) ? after : undefined;
      if (a) {
        if (!b) g.exported++;
        addToBucket(p.buckets, family, a.attrs, a.peer, prefix);
        // The source member does not get its own route; withdraw what it had from elsewhere.
        if (b && b.peer !== a.peer && g.members.has(a.peer)) push(p.ownWithdrawals, a.peer, family, prefix);
      } else if (b) {
        g.exported--;
        let list = p.withdrawn.get(family);
        if (!list) p.withdrawn.set(family, (list = { text: [], keys: [] }));
        addPrefix(list, prefix);
      }
    }
  }

  /** Ends a flush: encodes each group's withdrawals and buckets once and sends them to the members. */
  end(): void {
    for (const g of this.active) {
      const p = g.pending as Pending;
      g.pending = undefined;
      for (const [family, list] of p.withdrawn) this.sendTo(g.members, undefined, this.encodeWithdraw(g, family, list));
      for (const [peer, byFamily] of p.ownWithdrawals) {
        for (const [family, list] of byFamily) this.sendTo([peer], undefined, this.encodeWithdraw(g, family, list));
      }
      for (const bk of p.buckets.values()) {
        const exclude = g.members.has(bk.src) ? bk.src : undefined;
        if (exclude && g.members.size === 1) continue;
        this.sendTo(g.members, exclude, this.encodeBucket(g, bk));
      }
    }
    this.active = [];
    this.deliver();
  }

  /** Sends the best-path changes of one flush to the current members of every group. */
  apply(changes: readonly Change[]): void {
    this.begin();
    for (const c of changes) this.change(c.prefix, c.before, c.after);
    this.end();
  }

  /** Initial dump for peers that joined since the last flush, then End-of-RIB; they become members. */
  dumpJoiners(loc: LocRib): void {
    for (const g of this.groups.values()) {
      if (g.joiners.length === 0) continue;
      const cohort = g.joiners;
      g.joiners = [];
      const inCohort = new Set(cohort);
      const buckets = new Map<number, Bucket>();
      let exported = 0;
      loc.forEachKey((prefix, slot) => {
        const best = Array.isArray(slot) ? slot[0] : slot;
        if (!g.families.includes(best.attrs.family)) return;
        if (!exportable(best.peer, g.kind, this.ctx)) return;
        exported++;
        addToBucket(buckets, best.attrs.family, best.attrs, best.peer, prefix);
      });
      if (g.members.size === 0) g.exported = exported;
      for (const bk of buckets.values()) {
        const exclude = inCohort.has(bk.src) ? bk.src : undefined;
        if (exclude && cohort.length === 1) continue;
        this.sendTo(cohort, exclude, this.encodeBucket(g, bk));
      }
      const eor = g.families.map((f) => this.encoder.encodeEndOfRib(f));
      this.sendTo(cohort, undefined, eor);
      for (const p of cohort) {
        if (p.out) p.out.joining = false;
        g.members.add(p);
      }
    }
    this.deliver();
  }

  private encodeBucket(g: UpdateGroup, bk: Bucket): Uint8Array[] {
    const ex = exportAttrs(bk.set, bk.src, g.kind, this.ctx, selfNextHops(g.nextHopSelf, bk.family));
    this.stats.encodings++;
    return this.encoder.encodeUpdates(
      { family: bk.family, attrs: ex.attrs, nextHops: ex.nextHops, nlri: bk.nlri.text, nlriKeys: bk.nlri.keys, withdrawn: [] },
      g.codec,
    );
  }

  private encodeWithdraw(g: UpdateGroup, family: Family, withdrawn: Prefixes): Uint8Array[] {
    this.stats.encodings++;
    return this.encoder.encodeUpdates({ family, attrs: {}, nextHops: [], nlri: [], withdrawn: withdrawn.text, withdrawnKeys: withdrawn.keys }, g.codec);
  }

  /** Queues frames for the peers (shared, not copied); `deliver` hands each peer its list once. */
  private sendTo(peers: Iterable<RibPeer>, exclude: RibPeer | undefined, frames: Uint8Array[]): void {
    if (frames.length === 0) return;
    for (const p of peers) {
      if (p === exclude || !p.out) continue;
      const list = this.outbox.get(p);
      if (list) for (const f of frames) list.push(f);
      else this.outbox.set(p, frames.slice());
      this.stats.framesSent += frames.length;
    }
  }

  /**
   * One send per peer per flush, with everything the flush produced for it in order: the session can
   * write it with one system call (writev) instead of one per UPDATE — with 100 clients each write
   * to a veth costs tens of µs of kernel time, and they were most of the reflector's CPU.
   */
  private deliver(): void {
    if (this.outbox.size === 0) return;
    const box = this.outbox;
    this.outbox = new Map();
    for (const [p, frames] of box) p.out?.send(frames);
  }
}

function addToBucket(buckets: Map<number, Bucket>, family: Family, set: AttrSet, src: RibPeer, prefix: PrefixKey): void {
  // Attribute set ids and peer ids are small integers; one number keys the pair.
  const key = set.id * 1_048_576 + src.id;
  let bk = buckets.get(key);
  if (!bk) buckets.set(key, (bk = { family, set, src, nlri: { text: [], keys: [] } }));
  addPrefix(bk.nlri, prefix);
}

function push(m: Map<RibPeer, Map<Family, Prefixes>>, peer: RibPeer, family: Family, prefix: PrefixKey): void {
  let byFamily = m.get(peer);
  if (!byFamily) m.set(peer, (byFamily = new Map()));
  let list = byFamily.get(family);
  if (!list) byFamily.set(family, (list = { text: [], keys: [] }));
  addPrefix(list, prefix);
}
