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

/** A problem found in one field: thrown by V's checks, caught per field by V.field(). */
class FieldProblem {
  constructor(readonly field: string, readonly message: string) {}
}

/** Leaves a field out after its problems were recorded already (not a problem of its own). */
class Skip {}

/** At most this many problems are reported; a file of garbage must not make a 13 MB error. */
export const MAX_REPORTED_PROBLEMS = 20;
/** Characters of a value (or a key) echoed in an error. */
export const MAX_ECHOED_CHARS = 100;

class V {
  readonly problems: FieldProblem[] = [];
  constructor(readonly file: string | undefined) {}
  fail(field: string, msg: string): never {
    throw new FieldProblem(field || '(top level)', msg);
  }
  /**
   * Runs one field's checks; a problem is recorded and `undefined` returned, so the fields after it
   * are still checked and every problem is reported at once.
   */
  field<T>(check: () => T): T | undefined {
    try {
      return check();
    } catch (e) {
      if (e instanceof Skip) return undefined;
      if (!(e instanceof FieldProblem)) throw e;
      this.problems.push(e);
      return undefined;
    }
  }
  /** Throws the ConfigError listing every problem recorded, if any. */
  done(): void {
    if (this.problems.length === 0) return;
    const shown = this.problems.slice(0, MAX_REPORTED_PROBLEMS);
    const more = this.problems.length - shown.length;
    const rest = shown.slice(1).map((p) => ({ field: p.field, message: p.message }));
    if (more > 0) rest.push({ field: '…', message: `and ${more} more problems` });
    throw new ConfigError(shown[0].field, shown[0].message, this.file, rest);
  }
  obj(v: unknown, field: string, allowed: readonly string[]): Obj {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(field, `must be a mapping, got ${show(v)}`);
    const unknown = Object.keys(v as Obj).filter((k) => !allowed.includes(k));
    // Each unknown key is a problem of its own; the known ones are still checked.
    for (const k of unknown.slice(0, MAX_REPORTED_PROBLEMS)) {
      this.field(() => this.fail(join(field, k), `unknown field (expected one of: ${allowed.join(', ')})`));
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
  /** A secret (a TCP-MD5 password): errors name its type, never its value. */
  secret(v: unknown, field: string): string {
    if (typeof v !== 'string' || v === '') this.fail(field, `must be a non-empty string, got ${kindOf(v)} (value not shown: it is a secret)`);
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
  endpoint(v: unknown, field: string, defaultPort?: number): { address: string; port: number } | undefined {
    const o = this.obj(v, field, ['address', 'port']);
    const address = this.field(() => {
      if (o.address === undefined) this.fail(join(field, 'address'), 'is required');
      return this.ip(o.address, join(field, 'address'));
    });
    const port = this.field(() => {
      if (o.port === undefined && defaultPort === undefined) this.fail(join(field, 'port'), 'is required');
      return o.port === undefined ? (defaultPort as number) : this.int(o.port, join(field, 'port'), 0, 65535);
    });
    return address === undefined || port === undefined ? undefined : { address, port };
  }
}

function clip(s: string, max = MAX_ECHOED_CHARS): string {
  return s.length <= max ? s : `${s.slice(0, max)}… (${s.length} characters)`;
}

/** What kind of value this is, without the value. */
function kindOf(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (v === '') return 'an empty string';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}

/** A value as it may appear in an error: JSON, at most MAX_ECHOED_CHARS characters of it. */
function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return v.length > MAX_ECHOED_CHARS ? `${JSON.stringify(v.slice(0, MAX_ECHOED_CHARS))}… (${v.length} characters)` : JSON.stringify(v);
  // A big list or mapping is not serialised just to be cut.
  if (Array.isArray(v) && v.length > 20) return `a list of ${v.length} items`;
  if (typeof v === 'object' && Object.keys(v).length > 20) return `a mapping of ${Object.keys(v).length} keys`;
  return clip(JSON.stringify(v) ?? String(v));
}

function join(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  const k = clip(key, 64);
  return base ? `${base}.${k}` : k;
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

/**
 * Validates a parsed document; `file` only labels errors. Throws one ConfigError listing every
 * problem found (up to MAX_REPORTED_PROBLEMS), each naming its field.
 */
export function validateSpeakerConfig(doc: unknown, file?: string): SpeakerConfig {
  const v = new V(file);
  const o = v.field(() => v.obj(doc ?? {}, '', TOP_KEYS));
  if (o === undefined) {
    v.done();
    throw new Error('unreachable');
  }
  const opt = <T>(value: unknown, check: (x: unknown) => T): T | undefined => (value === undefined ? undefined : v.field(() => check(value)));
  const asn = v.field(() => {
    if (o.asn === undefined) v.fail('asn', 'is required');
    return v.int(o.asn, 'asn', 1, 4294967295);
  });
  const routerId = v.field(() => {
    if (o.routerId === undefined) v.fail('routerId', 'is required');
    return v.ipv4Id(o.routerId, 'routerId');
  });
  const holdTime = opt(o.holdTime, (x) => v.holdTime(x, 'holdTime')) ?? DEFAULT_HOLD_TIME;
  const keepaliveTime = opt(o.keepaliveTime, (x) => v.int(x, 'keepaliveTime', 0, 21845));
  const connectRetryTime = opt(o.connectRetryTime, (x) => v.int(x, 'connectRetryTime', 1, 65535)) ?? DEFAULT_CONNECT_RETRY_TIME;
  const ipv4NextHop = opt(o.ipv4NextHop, (x) => v.ip(x, 'ipv4NextHop', 'ipv4'));
  const ipv6NextHop = opt(o.ipv6NextHop, (x) => v.ip(x, 'ipv6NextHop', 'ipv6'));
  const cfg: SpeakerConfig = {
    asn: asn ?? 0,
    routerId: routerId ?? '',
    holdTime,
    connectRetryTime,
    peers: [],
    originate: [],
    logLevel: 'info',
    gracefulRestart: { enabled: false, restartTime: 120, staleTime: 300, restarting: false },
  };
  if (o.gracefulRestart !== undefined && o.gracefulRestart !== null) {
    v.field(() => {
      const g = v.obj(o.gracefulRestart, 'gracefulRestart', GR_KEYS);
      const gr = cfg.gracefulRestart;
      // Writing the section turns it on unless it says otherwise.
      gr.enabled = g.enabled === undefined ? true : (v.field(() => v.bool(g.enabled, 'gracefulRestart.enabled')) ?? true);
      // RFC 4724 §3: the Restart Time field has 12 bits.
      gr.restartTime = opt(g.restartTime, (x) => v.int(x, 'gracefulRestart.restartTime', 1, 4095)) ?? gr.restartTime;
      gr.staleTime = opt(g.staleTime, (x) => v.int(x, 'gracefulRestart.staleTime', 1, 3600)) ?? gr.staleTime;
      gr.restarting = opt(g.restarting, (x) => v.bool(x, 'gracefulRestart.restarting')) ?? gr.restarting;
    });
  }
  if (keepaliveTime !== undefined) cfg.keepaliveTime = keepaliveTime;
  const idleHoldTime = opt(o.idleHoldTime, (x) => v.int(x, 'idleHoldTime', 0, 3600));
  const idleHoldMaxTime = opt(o.idleHoldMaxTime, (x) => v.int(x, 'idleHoldMaxTime', 0, 3600));
  if (idleHoldTime !== undefined) cfg.idleHoldTime = idleHoldTime;
  if (idleHoldMaxTime !== undefined) cfg.idleHoldMaxTime = idleHoldMaxTime;
  if (ipv4NextHop) cfg.ipv4NextHop = ipv4NextHop;
  if (ipv6NextHop) cfg.ipv6NextHop = ipv6NextHop;
  if (o.listen !== undefined && o.listen !== null) {
    const listen = v.field(() => v.endpoint(o.listen, 'listen', 179));
    if (listen) cfg.listen = listen;
  }
  const clusterId = opt(o.clusterId, (x) => v.ipv4Id(x, 'clusterId'));
  if (clusterId !== undefined) cfg.clusterId = clusterId;
  if (o.http !== undefined && o.http !== null) {
    const http = v.field(() => v.endpoint(o.http, 'http', DEFAULT_HTTP_PORT));
    if (http) cfg.http = http;
  }
  if (o.logLevel !== undefined) {
    v.field(() => {
      const l = v.str(o.logLevel, 'logLevel');
      if (!['debug', 'info', 'warn', 'error'].includes(l)) v.fail('logLevel', `must be one of debug, info, warn, error, got ${show(l)}`);
      cfg.logLevel = l as LogLevel;
    });
  }
  if (o.originate !== undefined && o.originate !== null) {
    const list = v.field(() => (Array.isArray(o.originate) ? (o.originate as unknown[]) : v.fail('originate', `must be a list of prefixes, got ${show(o.originate)}`)));
    const seen = new Set<string>();
    list?.forEach((p, i) => {
      const f = join('originate', i);
      v.field(() => {
        const s = v.str(p, f);
        let c = '';
        try {
          c = canonicalPrefix(s);
        } catch (e) {
          v.fail(f, `must be a prefix in CIDR form with host bits zero (${clip((e as Error).message, 200)})`);
        }
        if (seen.has(c)) v.fail(f, `duplicate prefix ${c}`);
        seen.add(c);
        cfg.originate.push(c);
      });
    });
  }
  if (o.peers !== undefined && o.peers !== null) {
    const list = v.field(() => (Array.isArray(o.peers) ? (o.peers as unknown[]) : v.fail('peers', `must be a list, got ${show(o.peers)}`)));
    const seen = new Set<string>();
    list?.forEach((raw, i) => {
      const peer = v.field(() => validatePeer(v, raw, join('peers', i), { holdTime, connectRetryTime, keepaliveTime, idleHoldTime, idleHoldMaxTime, ipv4NextHop, ipv6NextHop }));
      if (!peer) return;
      v.field(() => {
        if (seen.has(peer.address)) v.fail(join(join('peers', i), 'address'), `duplicate peer ${peer.address}`);
      });
      seen.add(peer.address);
      cfg.peers.push(peer);
    });
  }
  // RFC 4456 §7: the cluster id defaults to the router id when this speaker has clients.
  if (cfg.clusterId === undefined && cfg.peers.some((p) => p.rrClient) && routerId !== undefined) cfg.clusterId = routerId;
  if (asn !== undefined) {
    for (const [i, p] of cfg.peers.entries()) {
      v.field(() => {
        if (p.rrClient && p.asn !== asn) v.fail(join(join('peers', i), 'rrClient'), `a route-reflector client must be iBGP (asn ${asn}), this peer has asn ${p.asn}`);
      });
    }
  }
  v.done();
  return cfg;
}

interface PeerDefaults {
  holdTime: number;
  connectRetryTime: number;
  keepaliveTime?: number;
  idleHoldTime?: number;
  idleHoldMaxTime?: number;
  ipv4NextHop?: string;
  ipv6NextHop?: string;
}

/** One entry of `peers`: every field checked, every problem recorded; a problem leaves the peer out. */
function validatePeer(v: V, raw: unknown, f: string, d: PeerDefaults): SpeakerPeerConfig {
  const p = v.obj(raw, f, PEER_KEYS);
  const before = v.problems.length;
  const opt = <T>(value: unknown, check: (x: unknown) => T): T | undefined => (value === undefined ? undefined : v.field(() => check(value)));
  const address = v.field(() => {
    if (p.address === undefined) v.fail(join(f, 'address'), 'is required');
    return v.ip(p.address, join(f, 'address'));
  });
  const asn = v.field(() => {
    if (p.asn === undefined) v.fail(join(f, 'asn'), 'is required');
    return v.int(p.asn, join(f, 'asn'), 1, 4294967295);
  });
  const peer: SpeakerPeerConfig = {
    address: address ?? '',
    asn: asn ?? 0,
    port: opt(p.port, (x) => v.int(x, join(f, 'port'), 1, 65535)) ?? 179,
    passive: opt(p.passive, (x) => v.bool(x, join(f, 'passive'))) ?? false,
    rrClient: opt(p.rrClient, (x) => v.bool(x, join(f, 'rrClient'))) ?? false,
    holdTime: opt(p.holdTime, (x) => v.holdTime(x, join(f, 'holdTime'))) ?? d.holdTime,
    connectRetryTime: opt(p.connectRetryTime, (x) => v.int(x, join(f, 'connectRetryTime'), 1, 65535)) ?? d.connectRetryTime,
    families: ['ipv4', 'ipv6'],
  };
  const ka = opt(p.keepaliveTime, (x) => v.int(x, join(f, 'keepaliveTime'), 0, 21845)) ?? d.keepaliveTime;
  if (ka !== undefined) peer.keepaliveTime = ka;
  const ih = opt(p.idleHoldTime, (x) => v.int(x, join(f, 'idleHoldTime'), 0, 3600)) ?? d.idleHoldTime;
  if (ih !== undefined) peer.idleHoldTime = ih;
  const ihm = opt(p.idleHoldMaxTime, (x) => v.int(x, join(f, 'idleHoldMaxTime'), 0, 3600)) ?? d.idleHoldMaxTime;
  if (ihm !== undefined) peer.idleHoldMaxTime = ihm;
  if (p.families !== undefined) {
    const ff = join(f, 'families');
    v.field(() => {
      const list: unknown[] = Array.isArray(p.families) && p.families.length > 0 ? p.families : v.fail(ff, `must be a non-empty list of ipv4/ipv6, got ${show(p.families)}`);
      const fams = new Set<Family>();
      list.forEach((x, j) => {
        v.field(() => {
          if (x !== 'ipv4' && x !== 'ipv6') v.fail(join(ff, j), `must be ipv4 or ipv6, got ${show(x)}`);
          fams.add(x as Family);
        });
      });
      peer.families = (['ipv4', 'ipv6'] as const).filter((x) => fams.has(x));
    });
  }
  if (p.localAddress !== undefined && address !== undefined) {
    const la = v.field(() => v.ip(p.localAddress, join(f, 'localAddress'), familyOfIp(address)));
    if (la !== undefined) peer.localAddress = la;
  }
  const password = opt(p.password, (x) => v.secret(x, join(f, 'password')));
  if (password !== undefined) peer.password = password;
  const nh4 = p.ipv4NextHop ?? d.ipv4NextHop;
  if (nh4 !== undefined) {
    const c = v.field(() => v.ip(nh4, join(f, 'ipv4NextHop'), 'ipv4'));
    if (c !== undefined) peer.ipv4NextHop = c;
  }
  const nh6 = p.ipv6NextHop ?? d.ipv6NextHop;
  if (nh6 !== undefined) {
    const c = v.field(() => v.ip(nh6, join(f, 'ipv6NextHop'), 'ipv6'));
    if (c !== undefined) peer.ipv6NextHop = c;
  }
  if (p.maxPrefixes !== undefined && p.maxPrefixes !== null) {
    const mp = v.field(() => maxPrefixesOf(v, p.maxPrefixes, join(f, 'maxPrefixes')));
    if (mp !== undefined) peer.maxPrefixes = mp;
  }
  // The problems are recorded already; throwing keeps a half-valid peer out of later checks.
  if (v.problems.length > before) throw new Skip();
  return peer;
}

/** Parses YAML text; syntax errors are ConfigErrors naming the line. */
export function parseSpeakerConfig(text: string, file?: string): SpeakerConfig {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.slice(0, MAX_REPORTED_PROBLEMS).map((e) => ({
      field: e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(syntax)',
      message: `YAML syntax error: ${clip(e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''), 200)}`,
    }));
    if (doc.errors.length > problems.length) problems.push({ field: '…', message: `and ${doc.errors.length - problems.length} more problems` });
    throw new ConfigError(problems[0].field, problems[0].message, file, problems.slice(1));
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
