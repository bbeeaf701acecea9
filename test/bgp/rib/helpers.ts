// Shared by the RIB tests: AS_PATH builders, the real codec wrapped so its calls are counted (how
// update-group sharing is proved without timing anything), and a peer that records what it is sent
// and decodes it with the real codec.
import { decodeMessage, encodeEndOfRib, encodeUpdates, isEndOfRib } from '../../../src/bgp/wire/index.js';
import type { AsPathSegment, CodecContext, UpdateMessage } from '../../../src/bgp/wire/types.js';
import type { OutPeerState, UpdateEncoder } from '../../../src/bgp/rib/index.js';
import type { Family } from '../../../src/model/ip.js';

export function seq(...asns: number[]): AsPathSegment[] {
  return [{ type: 2, asns }];
}

export const CTX: CodecContext = { fourOctetAs: true, extendedMessage: false };

export interface CountingEncoder extends UpdateEncoder {
  calls: { encodeUpdates: number; encodeEndOfRib: number };
}

export function countingEncoder(): CountingEncoder {
  const calls = { encodeUpdates: 0, encodeEndOfRib: 0 };
  return {
    calls,
    encodeUpdates(input, ctx) {
      calls.encodeUpdates++;
      return encodeUpdates(input, ctx);
    },
    encodeEndOfRib(family) {
      calls.encodeEndOfRib++;
      return encodeEndOfRib(family);
    },
  };
}

/** What one peer was sent, decoded. */
export class Recorder {
  frames: Uint8Array[] = [];
  readonly out: Omit<OutPeerState, 'advertised' | 'joining'>;
  constructor(nextHopSelf: OutPeerState['nextHopSelf'] = { ipv4: '192.0.2.1', ipv6: ['2001:db8::1'] }, families: Family[] = ['ipv4', 'ipv6']) {
    this.out = { families, codec: CTX, nextHopSelf, send: (f) => this.frames.push(...f) };
  }
  updates(): UpdateMessage[] {
    return this.frames.map((f) => decodeMessage(f, CTX).message as UpdateMessage);
  }
  endOfRibs(): number {
    return this.updates().filter((u) => isEndOfRib(u) !== undefined).length;
  }
  /** Announced prefixes (IPv4 and IPv6) with their UPDATE's attributes, in order. */
  announced(): Array<{ prefix: string; u: UpdateMessage }> {
    const out: Array<{ prefix: string; u: UpdateMessage }> = [];
    for (const u of this.updates()) {
      for (const p of u.nlri) out.push({ prefix: p, u });
      for (const p of u.attrs.mpReach?.nlri ?? []) out.push({ prefix: p, u });
    }
    return out;
  }
  withdrawn(): string[] {
    const out: string[] = [];
    for (const u of this.updates()) out.push(...u.withdrawn, ...(u.attrs.mpUnreach?.withdrawn ?? []));
    return out;
  }
  clear(): void {
    this.frames = [];
  }
}
