/**
 * ROUTE-REFRESH (RFC 2918 §3) with the RFC 7313 §3.2 Message Subtype in the former Reserved octet:
 * 0 normal request, 1 Beginning of Route Refresh, 2 End of Route Refresh. Other subtypes decode as
 * they are; RFC 7313 §5 tells the session to ignore them. A BoRR/EoRR whose body is not 4 octets is a
 * ROUTE-REFRESH Message Error / Invalid Message Length (RFC 7313 §5); a plain request longer than 4
 * (ORFs, RFC 5291, which we do not negotiate) has its tail ignored.
 */
import { BgpError, RouteRefreshSubcode } from './errors.js';
import { Reader } from './reader.js';
import { ErrorCode, HeaderSubcode, type RouteRefreshMessage } from './types.js';
import type { Writer } from './writer.js';

export const RouteRefreshSubtype = { Normal: 0, BeginningOfRouteRefresh: 1, EndOfRouteRefresh: 2 } as const;

export function decodeRouteRefresh(body: Uint8Array, fullMessage: Uint8Array): RouteRefreshMessage {
  const r = new Reader(body, 0, body.length, ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength);
  const afi = r.u16();
  const subtype = r.u8();
  const safi = r.u8();
  if (body.length !== 4 && (subtype === RouteRefreshSubtype.BeginningOfRouteRefresh || subtype === RouteRefreshSubtype.EndOfRouteRefresh)) {
    // RFC 7313 §5: data is the complete erroneous message.
    throw new BgpError(ErrorCode.RouteRefresh, RouteRefreshSubcode.InvalidMessageLength,
      `ROUTE-REFRESH subtype ${subtype} with a ${body.length}-byte body`, fullMessage.slice());
  }
  return { type: 'route-refresh', afi, safi, subtype };
}

export function writeRouteRefreshBody(w: Writer, m: RouteRefreshMessage): void {
  w.u16(m.afi);
  w.u8(m.subtype);
  w.u8(m.safi);
}
