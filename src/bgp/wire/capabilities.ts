/**
 * Capabilities advertisement (RFC 5492): the (code, length, value) triples inside OPEN's
 * Capabilities optional parameter.
 *
 * Known capabilities decode to typed values; a known code whose value has an unexpected length, and
 * every code we do not know, is kept as { kind: 'unknown', code, value } with its bytes, so an OPEN
 * always re-encodes to the bytes that came in and a quirk in one capability never fails the OPEN
 * (RFC 5492 §3: a speaker ignores capabilities it does not understand). Negotiation (intersecting
 * ours and theirs) is the session's business, not the codec's.
 */
import { openError } from './errors.js';
import { CapabilityCode, type AfiSafi, type Capability } from './types.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/** Decodes the capabilities in r's remaining bytes and pushes them onto `out`. */
export function decodeCapabilities(r: Reader, out: Capability[]): void {
  while (r.remaining > 0) {
    if (r.remaining < 2) throw openError(0, 'truncated capability header (RFC 5492 §4)');
    const code = r.u8();
    const len = r.u8();
    if (len > r.remaining) throw openError(0, `capability ${code} length ${len} overruns its parameter (RFC 5492 §4)`);
    const value = r.view(len);
    out.push(decodeCapability(code, value));
  }
}

function u16(v: Uint8Array, p: number): number {
  return (v[p] << 8) | v[p + 1];
}

export function decodeCapability(code: number, v: Uint8Array): Capability {
  const len = v.length;
  switch (code) {
    case CapabilityCode.Multiprotocol: // RFC 4760 §8: AFI(2) reserved(1) SAFI(1)
      if (len === 4 && v[2] === 0) return { kind: 'multiprotocol', afi: u16(v, 0), safi: v[3] };
      break;
    case CapabilityCode.RouteRefresh: // RFC 2918 §3
      if (len === 0) return { kind: 'route-refresh' };
      break;
    case CapabilityCode.EnhancedRouteRefresh: // RFC 7313 §3
      if (len === 0) return { kind: 'enhanced-route-refresh' };
      break;
    case CapabilityCode.ExtendedMessage: // RFC 8654 §3
      if (len === 0) return { kind: 'extended-message' };
      break;
    case CapabilityCode.FourOctetAs: // RFC 6793 §3
      if (len === 4) return { kind: 'four-octet-as', asn: v[0] * 0x1000000 + ((v[1] << 16) | (v[2] << 8) | v[3]) };
      break;
    case CapabilityCode.GracefulRestart: { // RFC 4724 §3 (N bit: RFC 8538 §2)
      if (len < 2 || (len - 2) % 4 !== 0 || (v[0] & 0x30) !== 0) break;
      const families: Array<AfiSafi & { forwardingPreserved: boolean }> = [];
      for (let p = 2; p < len; p += 4) {
        if ((v[p + 3] & 0x7f) !== 0) return unknown(code, v);
        families.push({ afi: u16(v, p), safi: v[p + 2], forwardingPreserved: (v[p + 3] & 0x80) !== 0 });
      }
      return {
        kind: 'graceful-restart',
        restarting: (v[0] & 0x80) !== 0,
        notification: (v[0] & 0x40) !== 0,
        restartTime: u16(v, 0) & 0x0fff,
        families,
      };
    }
    case CapabilityCode.AddPath: { // RFC 7911 §4
      if (len === 0 || len % 4 !== 0) break;
      const families: Array<AfiSafi & { sendReceive: 1 | 2 | 3 }> = [];
      for (let p = 0; p < len; p += 4) {
        const sr = v[p + 3];
        if (sr < 1 || sr > 3) return unknown(code, v);
        families.push({ afi: u16(v, p), safi: v[p + 2], sendReceive: sr as 1 | 2 | 3 });
      }
      return { kind: 'add-path', families };
    }
  }
  return unknown(code, v);
}

function unknown(code: number, v: Uint8Array): Capability {
  return { kind: 'unknown', code, value: v.slice() };
}

/** Bytes of one capability's value. */
export function capabilityValueLength(c: Capability): number {
  switch (c.kind) {
    case 'multiprotocol':
    case 'four-octet-as':
      return 4;
    case 'route-refresh':
    case 'enhanced-route-refresh':
    case 'extended-message':
      return 0;
    case 'graceful-restart':
      return 2 + 4 * c.families.length;
    case 'add-path':
      return 4 * c.families.length;
    case 'unknown':
      return c.value.length;
  }
}

export function capabilityCode(c: Capability): number {
  switch (c.kind) {
    case 'multiprotocol': return CapabilityCode.Multiprotocol;
    case 'route-refresh': return CapabilityCode.RouteRefresh;
    case 'enhanced-route-refresh': return CapabilityCode.EnhancedRouteRefresh;
    case 'extended-message': return CapabilityCode.ExtendedMessage;
    case 'four-octet-as': return CapabilityCode.FourOctetAs;
    case 'graceful-restart': return CapabilityCode.GracefulRestart;
    case 'add-path': return CapabilityCode.AddPath;
    case 'unknown': return c.code;
  }
}

/** Writes code, length and value. */
export function writeCapability(w: Writer, c: Capability): void {
  w.u8(capabilityCode(c));
  w.u8(capabilityValueLength(c));
  switch (c.kind) {
    case 'multiprotocol':
      w.u16(c.afi); w.u8(0); w.u8(c.safi);
      break;
    case 'four-octet-as':
      w.u32(c.asn);
      break;
    case 'graceful-restart':
      w.u16((c.restarting ? 0x8000 : 0) | (c.notification ? 0x4000 : 0) | (c.restartTime & 0x0fff));
      for (const f of c.families) { w.u16(f.afi); w.u8(f.safi); w.u8(f.forwardingPreserved ? 0x80 : 0); }
      break;
    case 'add-path':
      for (const f of c.families) { w.u16(f.afi); w.u8(f.safi); w.u8(f.sendReceive); }
      break;
    case 'unknown':
      w.bytes(c.value);
      break;
    default:
      break;
  }
}
