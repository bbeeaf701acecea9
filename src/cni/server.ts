/**
 * The agent's end of the CNI executable's Unix socket (`<runDir>/cni.sock`, mode 0600: root only).
 * One connection per plugin run: the request (framing below, native/petrel-cni.c writes it) until
 * the executable shuts its side down, then one answer and close.
 *
 *   request  := "PCNI1" NUL { "KEY=VALUE" NUL }* NUL <network configuration bytes>
 *   response := <exit status> LF <stdout bytes>
 *
 * Bounded: a request over 1 MiB + 64 KiB is refused (code 6), a connection that has not sent its
 * whole request in 10 s is closed, at most 256 connections at once. Any error — malformed framing, a
 * bad configuration, a failure inside a verb — becomes the spec's error object; nothing a request
 * holds can end the process.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CniCode, CniError, errorObject, parseRequest, versionResult, type CniRequest } from './spec.js';
import { toCniError, type CniAnswer } from './plugin.js';

export const MAGIC = 'PCNI1';
const MAX_REQUEST = (1 << 20) + (64 << 10);

/** Encodes a request as the executable does (tests and the lab's in-process runtime use it). */
export function encodeRequest(env: Record<string, string | undefined>, stdin: Buffer | string): Buffer {
  const parts: Buffer[] = [Buffer.from(`${MAGIC}\0`)];
  for (const [k, v] of Object.entries(env)) if (v !== undefined && k.startsWith('CNI_')) parts.push(Buffer.from(`${k}=${v}\0`));
  parts.push(Buffer.from('\0'));
  parts.push(typeof stdin === 'string' ? Buffer.from(stdin) : stdin);
  return Buffer.concat(parts);
}

export function decodeRequest(buf: Buffer): { env: Record<string, string>; stdin: Buffer } {
  const head = MAGIC.length + 1;
  if (buf.length < head + 1 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC || buf[MAGIC.length] !== 0) {
    throw new CniError(CniCode.DecodeFailure, 'not a petrel CNI request (bad magic)');
  }
  const env: Record<string, string> = {};
  let at = head;
  for (let n = 0; ; n++) {
    if (n > 64) throw new CniError(CniCode.DecodeFailure, 'too many environment entries in the request');
    const end = buf.indexOf(0, at);
    if (end < 0) throw new CniError(CniCode.DecodeFailure, 'truncated request (environment not terminated)');
    if (end === at) { at++; break; }
    const kv = buf.toString('utf8', at, end);
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new CniError(CniCode.DecodeFailure, 'malformed environment entry in the request');
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
    at = end + 1;
  }
  return { env, stdin: buf.subarray(at) };
}

export interface CniServerOptions {
  socketPath: string;
  handle(req: CniRequest): Promise<CniAnswer>;
  log: { warn(o: object, m: string): void; error(o: object, m: string): void; debug(o: object, m: string): void };
  /** Counts requests by command and outcome (metrics). */
  observe?(command: string, code: number, seconds: number): void;
}

/** Runs one request end to end: bytes in, exit status and stdout out. Never throws. */
export async function answer(buf: Buffer, handle: (r: CniRequest) => Promise<CniAnswer>): Promise<{ status: number; body: string; command: string; code: number }> {
  let version = '1.1.0';
  let command = '?';
  try {
    const { env, stdin } = decodeRequest(buf);
    command = env.CNI_COMMAND ?? '?';
    try {
      const v = (JSON.parse(stdin.toString('utf8')) as { cniVersion?: unknown }).cniVersion;
      if (typeof v === 'string' && v.length < 20) version = v;
    } catch { /* parseRequest reports it */ }
    if (command === 'VERSION') return { status: 0, body: `${JSON.stringify(versionResult(version))}\n`, command, code: 0 };
    const req = parseRequest(env, stdin);
    const a = await handle(req);
    return { status: a.status, body: a.body ? `${JSON.stringify(a.body)}\n` : '', command, code: 0 };
  } catch (e) {
    const ce = toCniError(e);
    return { status: 1, body: `${JSON.stringify(errorObject(ce, version))}\n`, command, code: ce.code };
  }
}

export class CniServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly o: CniServerOptions) {}

  async start(): Promise<void> {
    await mkdir(dirname(this.o.socketPath), { recursive: true, mode: 0o755 });
    // A socket file left by a previous process is replaced; anything else at that path is not ours.
    const st = await lstat(this.o.socketPath).catch(() => undefined);
    if (st) {
      if (!st.isSocket()) throw new CniError(CniCode.Internal, `${this.o.socketPath} exists and is not a socket: refusing to replace it`);
      await rm(this.o.socketPath, { force: true });
    }
    const server = createServer({ allowHalfOpen: true }, (s) => this.serve(s));
    server.maxConnections = 256;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.socketPath, () => { server.off('error', reject); resolve(); });
    });
    server.on('error', (e) => this.o.log.error({ err: e.message }, 'cni: socket server error'));
    await chmod(this.o.socketPath, 0o600);
    this.server = server;
  }

  private serve(s: Socket): void {
    this.sockets.add(s);
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const t0 = performance.now();
    const finish = (status: number, body: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!s.destroyed) s.end(`${status}\n${body}`);
    };
    const timer = setTimeout(() => {
      finish(1, `${JSON.stringify(errorObject(new CniError(CniCode.DecodeFailure, 'the request was not completed within 10 s'), '1.1.0'))}\n`);
    }, 10_000);
    timer.unref();
    s.on('error', () => { clearTimeout(timer); s.destroy(); });
    s.on('close', () => { clearTimeout(timer); this.sockets.delete(s); });
    s.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > MAX_REQUEST) {
        finish(1, `${JSON.stringify(errorObject(new CniError(CniCode.DecodeFailure, `the request is larger than ${MAX_REQUEST} bytes`), '1.1.0'))}\n`);
        return;
      }
      chunks.push(c);
    });
    s.on('end', () => {
      if (done) return;
      clearTimeout(timer);
      void answer(Buffer.concat(chunks), this.o.handle).then((a) => {
        this.o.observe?.(a.command, a.code, (performance.now() - t0) / 1000);
        if (a.status !== 0) this.o.log.warn({ command: a.command, code: a.code, answer: a.body.slice(0, 300) }, 'cni: request failed');
        finish(a.status, a.body);
      });
    });
  }

  async close(): Promise<void> {
    const srv = this.server;
    this.server = undefined;
    if (!srv) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    await rm(this.o.socketPath, { force: true }).catch(() => undefined);
  }
}
