/**
 * The standalone speaker's configuration (`petrel speaker --config FILE.yaml`): schema, defaults and
 * validation. Validation is by hand so every error names the exact field path (`peers[1].asn`) and
 * what is wrong with it; the CLI prints `FILE: FIELD: what` and exits 2 (ConfigError).
 *
 * Unknown keys are errors, not silently ignored: a misspelt `rrclient:` would otherwise turn a
 * route reflector into a plain iBGP speaker without a word. The reference is docs/configuration.md.
 */
import { parseDocument } from 'yaml';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { canonicalIp, canonicalPrefix, familyOfIp, isIpv4, type Family } from '../model/ip.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface SpeakerPeerConfig {
  address: string;
  asn: number;
  port: number;
  passive: boolean;
  rrClient: boolean;
  holdTime: number;
  keepaliveTime?: number;
  connectRetryTime: number;
  /** First wait (s) before reconnecting after a failure, doubling up to idleHoldMaxTime (RFC 4271 §8.1.1 DampPeerOscillations). */
  idleHoldTime?: number;
  idleHoldMaxTime?: number;
  families: Family[];
  localAddress?: string;
  /** TCP-MD5 password (RFC 2385), when the session layer supports it. */
  password?: string;
  /** Next hop we announce for IPv6 routes to this peer when next-hop-self applies. */
  ipv6NextHop?: string;
  /** Next hop we announce for IPv4 routes to this peer when next-hop-self applies. */
  ipv4NextHop?: string;
  /** RFC 4486 maximum-prefix limits per family (speaker.ts MaxPrefixes). */
  maxPrefixes?: { ipv4?: number; ipv6?: number; warningPercent?: number; restartAfterSeconds?: number };
}

export interface SpeakerConfig {
  asn: number;
  routerId: string;
  listen?: { address: string; port: number };
  clusterId?: string;
  holdTime: number;
  keepaliveTime?: number;
  connectRetryTime: number;
  idleHoldTime?: number;
  idleHoldMaxTime?: number;
  peers: SpeakerPeerConfig[];
  originate: string[];
  http?: { address: string; port: number };
  logLevel: LogLevel;
  ipv4NextHop?: string;
  ipv6NextHop?: string;
  /** RFC 4724 Graceful Restart (off unless configured). */
  gracefulRestart: GracefulRestartConfig;
}

export interface GracefulRestartConfig {
  enabled: boolean;
  /** Seconds peers should keep our routes while we restart (1–4095). */
  restartTime: number;
  /** Upper bound (s) on keeping a returned peer's stale routes without its End-of-RIB. */
  staleTime: number;
  /** Set the R bit at start: this process restarts one whose routes peers are keeping. */
  restarting: boolean;
}

export const DEFAULT_HOLD_TIME = 90;
export const DEFAULT_CONNECT_RETRY_TIME = 30;
export const DEFAULT_HTTP_PORT = 9179;

type Obj = Record<string, unknown>;

class V {
  constructor(readonly file: string | undefined) {}
  fail(field: string, msg: string): never {
    throw new ConfigError(field || '(top level)', msg, this.file);
  }
  obj(v: unknown, field: string, allowed: readonly string[]): Obj {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(field, `must be a mapping, got ${show(v)}`);
    for (const k of Object.keys(v as Obj)) {
      if (!allowed.includes(k)) this.fail(join(field, k), `unknown field (expected one of: ${allowed.join(', ')})`);
    }
    return v as Obj;
  }
  int(v: unknown, field: string, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(field, `must be an integer, got ${show(v)}`);
    if (v < min || v > max) this.fail(field, `must be between ${min} and ${max}, got ${v}`);
    return v;
  }
  bool(v: unknown, field: string): boolean {
    if (typeof v !== 'boolean') this.fail(field, `must be true or false, got ${show(v)}`);
    return v;
  }
  str(v: unknown, field: string): string {
    if (typeof v !== 'string' || v === '') this.fail(field, `must be a non-empty string, got ${show(v)}`);
    return v;
  }
  ip(v: unknown, field: string, family?: Family): string {
    const s = this.str(v, field);
    let c = '';
    try {
      c = canonicalIp(s);
    } catch {
      this.fail(field, `must be an IP address, got ${show(v)}`);
    }
    if (family && familyOfIp(c) !== family) this.fail(field, `must be an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address, got ${show(v)}`);
    return c;
  }
  ipv4Id(v: unknown, field: string): string {
    const s = this.str(v, field);
    if (!isIpv4(s)) this.fail(field, `must be a dotted-quad IPv4 address (a BGP identifier), got ${show(v)}`);
    const c = this.ip(s, field, 'ipv4');
    if (c === '0.0.0.0') this.fail(field, 'must not be 0.0.0.0 (RFC 6286 §2.1)');
    return c;
  }
  holdTime(v: unknown, field: string): number {
    const n = this.int(v, field, 0, 65535);
    // RFC 4271 §4.2: zero or at least three seconds.
    if (n === 1 || n === 2) this.fail(field, `must be 0 or at least 3 seconds (RFC 4271 §4.2), got ${n}`);
    return n;
  }
  endpoint(v: unknown, field: string, defaultPort?: number): { address: string; port: number } {
    const o = this.obj(v, field, ['address', 'port']);
    if (o.address === undefined) this.fail(join(field, 'address'), 'is required');
    if (o.port === undefined && defaultPort === undefined) this.fail(join(field, 'port'), 'is required');
    return {
      address: this.ip(o.address, join(field, 'address')),
      port: o.port === undefined ? (defaultPort as number) : this.int(o.port, join(field, 'port'), 0, 65535),
    };
  }
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  return JSON.stringify(v);
}

function join(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base ? `${base}.${key}` : key;
}

const TOP_KEYS = [
  'asn', 'routerId', 'listen', 'clusterId', 'holdTime', 'keepaliveTime', 'connectRetryTime', 'idleHoldTime', 'idleHoldMaxTime', 'peers',
  'originate', 'http', 'logLevel', 'ipv4NextHop', 'ipv6NextHop', 'gracefulRestart',
] as const;
const GR_KEYS = ['enabled', 'restartTime', 'staleTime', 'restarting'] as const;
const PEER_KEYS = [
  'address', 'asn', 'port', 'passive', 'rrClient', 'holdTime', 'keepaliveTime', 'connectRetryTime', 'idleHoldTime', 'idleHoldMaxTime',
  'families', 'localAddress', 'password', 'ipv4NextHop', 'ipv6NextHop', 'maxPrefixes',
] as const;
const MAX_PREFIX_KEYS = ['limit', 'ipv4', 'ipv6', 'warningPercent', 'restartAfterSeconds'] as const;
const PREFIX_LIMIT_MAX = 4294967295; // RFC 4486 §4: the limit travels as 4 octets

/**
 * `peers[].maxPrefixes`: a number (the limit for each family), or an object with `limit` (each
 * family), `ipv4`/`ipv6` (one family; these win over `limit`), `warningPercent`, `restartAfterSeconds`.
 */
function maxPrefixesOf(v: V, raw: unknown, f: string): NonNullable<SpeakerPeerConfig['maxPrefixes']> {
  if (typeof raw === 'number') {
    const n = v.int(raw, f, 1, PREFIX_LIMIT_MAX);
    return { ipv4: n, ipv6: n };
  }
  const o = v.obj(raw, f, MAX_PREFIX_KEYS);
  const out: NonNullable<SpeakerPeerConfig['maxPrefixes']> = {};
  const limit = o.limit === undefined ? undefined : v.int(o.limit, join(f, 'limit'), 1, PREFIX_LIMIT_MAX);
  const v4 = o.ipv4 === undefined ? limit : v.int(o.ipv4, join(f, 'ipv4'), 1, PREFIX_LIMIT_MAX);
  const v6 = o.ipv6 === undefined ? limit : v.int(o.ipv6, join(f, 'ipv6'), 1, PREFIX_LIMIT_MAX);
  if (v4 === undefined && v6 === undefined) v.fail(f, 'needs a limit (limit, ipv4 or ipv6)');
  if (v4 !== undefined) out.ipv4 = v4;
  if (v6 !== undefined) out.ipv6 = v6;
  if (o.warningPercent !== undefined) out.warningPercent = v.int(o.warningPercent, join(f, 'warningPercent'), 1, 100);
  if (o.restartAfterSeconds !== undefined) out.restartAfterSeconds = v.int(o.restartAfterSeconds, join(f, 'restartAfterSeconds'), 1, 86400);
  return out;
}

/** Validates a parsed document; `file` only labels errors. Throws ConfigError. */
export function validateSpeakerConfig(doc: unknown, file?: string): SpeakerConfig {
  const v = new V(file);
  const o = v.obj(doc ?? {}, '', TOP_KEYS);
  if (o.asn === undefined) v.fail('asn', 'is required');
  const asn = v.int(o.asn, 'asn', 1, 4294967295);
  if (o.routerId === undefined) v.fail('routerId', 'is required');
  const routerId = v.ipv4Id(o.routerId, 'routerId');
  const holdTime = o.holdTime === undefined ? DEFAULT_HOLD_TIME : v.holdTime(o.holdTime, 'holdTime');
  const keepaliveTime = o.keepaliveTime === undefined ? undefined : v.int(o.keepaliveTime, 'keepaliveTime', 0, 21845);
  const connectRetryTime = o.connectRetryTime === undefined ? DEFAULT_CONNECT_RETRY_TIME : v.int(o.connectRetryTime, 'connectRetryTime', 1, 65535);
  const ipv4NextHop = o.ipv4NextHop === undefined ? undefined : v.ip(o.ipv4NextHop, 'ipv4NextHop', 'ipv4');
  const ipv6NextHop = o.ipv6NextHop === undefined ? undefined : v.ip(o.ipv6NextHop, 'ipv6NextHop', 'ipv6');
  const cfg: SpeakerConfig = {
    asn,
    routerId,
    holdTime,
    connectRetryTime,
    peers: [],
    originate: [],
    logLevel: 'info',
    gracefulRestart: { enabled: false, restartTime: 120, staleTime: 300, restarting: false },
  };
  if (o.gracefulRestart !== undefined && o.gracefulRestart !== null) {
    const g = v.obj(o.gracefulRestart, 'gracefulRestart', GR_KEYS);
    const gr = cfg.gracefulRestart;
    // Writing the section turns it on unless it says otherwise.
    gr.enabled = g.enabled === undefined ? true : v.bool(g.enabled, 'gracefulRestart.enabled');
    // RFC 4724 §3: the Restart Time field has 12 bits.
    if (g.restartTime !== undefined) gr.restartTime = v.int(g.restartTime, 'gracefulRestart.restartTime', 1, 4095);
    if (g.staleTime !== undefined) gr.staleTime = v.int(g.staleTime, 'gracefulRestart.staleTime', 1, 3600);
    if (g.restarting !== undefined) gr.restarting = v.bool(g.restarting, 'gracefulRestart.restarting');
  }
  if (keepaliveTime !== undefined) cfg.keepaliveTime = keepaliveTime;
  const idleHoldTime = o.idleHoldTime === undefined ? undefined : v.int(o.idleHoldTime, 'idleHoldTime', 0, 3600);
  const idleHoldMaxTime = o.idleHoldMaxTime === undefined ? undefined : v.int(o.idleHoldMaxTime, 'idleHoldMaxTime', 0, 3600);
  if (idleHoldTime !== undefined) cfg.idleHoldTime = idleHoldTime;
  if (idleHoldMaxTime !== undefined) cfg.idleHoldMaxTime = idleHoldMaxTime;
  if (ipv4NextHop) cfg.ipv4NextHop = ipv4NextHop;
  if (ipv6NextHop) cfg.ipv6NextHop = ipv6NextHop;
  if (o.listen !== undefined && o.listen !== null) cfg.listen = v.endpoint(o.listen, 'listen', 179);
  if (o.clusterId !== undefined) cfg.clusterId = v.ipv4Id(o.clusterId, 'clusterId');
  if (o.http !== undefined && o.http !== null) {
    cfg.http = v.endpoint(o.http, 'http', DEFAULT_HTTP_PORT);
  }
  if (o.logLevel !== undefined) {
    const l = v.str(o.logLevel, 'logLevel');
    if (!['debug', 'info', 'warn', 'error'].includes(l)) v.fail('logLevel', `must be one of debug, info, warn, error, got ${show(l)}`);
    cfg.logLevel = l as LogLevel;
  }
  if (o.originate !== undefined && o.originate !== null) {
    const list: unknown[] = Array.isArray(o.originate) ? o.originate : v.fail('originate', `must be a list of prefixes, got ${show(o.originate)}`);
    const seen = new Set<string>();
    list.forEach((p, i) => {
      const f = join('originate', i);
      const s = v.str(p, f);
      let c = '';
      try {
        c = canonicalPrefix(s);
      } catch (e) {
        v.fail(f, `must be a prefix in CIDR form with host bits zero (${(e as Error).message})`);
      }
      if (seen.has(c)) v.fail(f, `duplicate prefix ${c}`);
      seen.add(c);
      cfg.originate.push(c);
    });
  }
  if (o.peers !== undefined && o.peers !== null) {
    const list: unknown[] = Array.isArray(o.peers) ? o.peers : v.fail('peers', `must be a list, got ${show(o.peers)}`);
    const seen = new Set<string>();
    list.forEach((raw, i) => {
      const f = join('peers', i);
      const p = v.obj(raw, f, PEER_KEYS);
      if (p.address === undefined) v.fail(join(f, 'address'), 'is required');
      if (p.asn === undefined) v.fail(join(f, 'asn'), 'is required');
      const address = v.ip(p.address, join(f, 'address'));
      if (seen.has(address)) v.fail(join(f, 'address'), `duplicate peer ${address}`);
      seen.add(address);
      const peer: SpeakerPeerConfig = {
        address,
        asn: v.int(p.asn, join(f, 'asn'), 1, 4294967295),
        port: p.port === undefined ? 179 : v.int(p.port, join(f, 'port'), 1, 65535),
        passive: p.passive === undefined ? false : v.bool(p.passive, join(f, 'passive')),
        rrClient: p.rrClient === undefined ? false : v.bool(p.rrClient, join(f, 'rrClient')),
        holdTime: p.holdTime === undefined ? holdTime : v.holdTime(p.holdTime, join(f, 'holdTime')),
        connectRetryTime: p.connectRetryTime === undefined ? connectRetryTime : v.int(p.connectRetryTime, join(f, 'connectRetryTime'), 1, 65535),
        families: ['ipv4', 'ipv6'],
      };
      const ka = p.keepaliveTime === undefined ? keepaliveTime : v.int(p.keepaliveTime, join(f, 'keepaliveTime'), 0, 21845);
      if (ka !== undefined) peer.keepaliveTime = ka;
      const ih = p.idleHoldTime === undefined ? idleHoldTime : v.int(p.idleHoldTime, join(f, 'idleHoldTime'), 0, 3600);
      if (ih !== undefined) peer.idleHoldTime = ih;
      const ihm = p.idleHoldMaxTime === undefined ? idleHoldMaxTime : v.int(p.idleHoldMaxTime, join(f, 'idleHoldMaxTime'), 0, 3600);
      if (ihm !== undefined) peer.idleHoldMaxTime = ihm;
      if (p.families !== undefined) {
        const ff = join(f, 'families');
        const list: unknown[] = Array.isArray(p.families) && p.families.length > 0 ? p.families : v.fail(ff, `must be a non-empty list of ipv4/ipv6, got ${show(p.families)}`);
        const fams = new Set<Family>();
        list.forEach((x, j) => {
          if (x !== 'ipv4' && x !== 'ipv6') v.fail(join(ff, j), `must be ipv4 or ipv6, got ${show(x)}`);
          fams.add(x as Family);
        });
        peer.families = (['ipv4', 'ipv6'] as const).filter((x) => fams.has(x));
      }
      if (p.localAddress !== undefined) {
        peer.localAddress = v.ip(p.localAddress, join(f, 'localAddress'), familyOfIp(address));
      }
      if (p.password !== undefined) peer.password = v.str(p.password, join(f, 'password'));
      const nh4 = p.ipv4NextHop ?? ipv4NextHop;
      if (nh4 !== undefined) peer.ipv4NextHop = v.ip(nh4, join(f, 'ipv4NextHop'), 'ipv4');
      const nh6 = p.ipv6NextHop ?? ipv6NextHop;
      if (nh6 !== undefined) peer.ipv6NextHop = v.ip(nh6, join(f, 'ipv6NextHop'), 'ipv6');
      if (p.maxPrefixes !== undefined && p.maxPrefixes !== null) peer.maxPrefixes = maxPrefixesOf(v, p.maxPrefixes, join(f, 'maxPrefixes'));
      cfg.peers.push(peer);
    });
  }
  // RFC 4456 §7: the cluster id defaults to the router id when this speaker has clients.
  if (cfg.clusterId === undefined && cfg.peers.some((p) => p.rrClient)) cfg.clusterId = routerId;
  for (const [i, p] of cfg.peers.entries()) {
    if (p.rrClient && p.asn !== asn) v.fail(join(join('peers', i), 'rrClient'), `a route-reflector client must be iBGP (asn ${asn}), this peer has asn ${p.asn}`);
  }
  return cfg;
}

/** Parses YAML text; syntax errors are ConfigErrors naming the line. */
export function parseSpeakerConfig(text: string, file?: string): SpeakerConfig {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const where = e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(syntax)';
    throw new ConfigError(where, `YAML syntax error: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`, file);
  }
  return validateSpeakerConfig(doc.toJS(), file);
}

export function loadSpeakerConfig(file: string): SpeakerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError('(file)', `cannot read: ${(e as Error).message}`, file);
  }
  return parseSpeakerConfig(text, file);
}
