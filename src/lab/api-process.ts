/**
 * The lab's API server as its own process, and the control channel the lab controller drives it by.
 *
 *   lab controller (root namespace) ──unix socket, JSON lines──▶ `petrel lab apiserver` (api namespace)
 *                                                                  └─ TestApiServer on ADDR:PORT (HTTP + bearer token)
 *   agents (node namespaces) ──kubeconfig (server http://ADDR:PORT, token)──▶ the same TestApiServer
 *
 * Why a unix socket: path-named unix sockets live in the filesystem, not in a network namespace, so
 * the controller reaches the API server without binding anything in the root namespace and without
 * `ip netns exec` per request; and it survives the controller exiting (`petrel lab up --keep`, then
 * `petrel lab status|down` from another process).
 *
 * Control requests, one JSON object per line, answered in order with `{ ok, result | error }`:
 *   { op: 'create' | 'update' | 'updateStatus', obj }   the REST write paths (validation included)
 *   { op: 'delete', apiVersion, kind, name, namespace? }
 *   { op: 'get', apiVersion, kind, name, namespace? }  { op: 'list', apiVersion, kind }
 *   { op: 'stop' }   closes the HTTP listener and every connection; the store ("etcd") survives
 *   { op: 'start' }  listens again on the same address and port
 *   { op: 'stats' }  request/watch counters
 * Burned us: HTTP servers in the root namespace are forbidden (they would be reachable from the host's
 * network); everything the agents reach is inside the lab's api namespace.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { PetrelError } from '../errors.js';
import { TestApiServer } from './apiserver/index.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export class LabControlError extends PetrelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LAB_ERR_CONTROL', message, options);
  }
}

export interface ApiProcessOptions {
  host: string;
  port: number;
  token: string;
  control: string;
  log?: (line: string) => void;
}

/** Runs inside the api namespace until SIGTERM/SIGINT. */
export async function runApiProcess(o: ApiProcessOptions): Promise<number> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  // A short bookmark interval keeps the agents' idle timers honest without flooding anything.
  const api = new TestApiServer({ host: o.host, port: o.port, tokens: [o.token], bookmarkIntervalMs: 5_000 });
  await api.start();
  let running = true;
  log(`api server listening on ${api.url}`);
  rmSync(o.control, { force: true });
  const control: Server = createServer((sock) => serve(sock));
  await new Promise<void>((resolve, reject) => {
    control.once('error', reject);
    control.listen(o.control, () => resolve());
  });
  log(`control channel on ${o.control}`);

  async function handle(req: Obj): Promise<unknown> {
    switch (req.op) {
      case 'create': return api.create(req.obj);
      case 'update': return api.update(req.obj);
      case 'updateStatus': return api.update(req.obj, { status: true });
      case 'delete': return api.delete(req.apiVersion, req.kind, req.name, req.namespace);
      case 'get': return api.get(req.apiVersion, req.kind, req.name, req.namespace) ?? null;
      case 'list': return api.list(req.apiVersion, req.kind);
      case 'stats': return { ...api.stats, running, url: api.url };
      case 'stop':
        if (running) await api.stop();
        running = false;
        log('api server stopped (store kept)');
        return { running };
      case 'start':
        if (!running) await api.start();
        running = true;
        log(`api server listening again on ${api.url}`);
        return { running };
      default: throw new LabControlError(`unknown control op '${String(req.op)}'`);
    }
  }

  function serve(sock: Socket): void {
    let buf = '';
    let chain: Promise<void> = Promise.resolve();
    sock.setEncoding('utf8');
    sock.on('error', () => sock.destroy());
    sock.on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.trim()) continue;
        chain = chain.then(async () => {
          let reply: Obj;
          try {
            reply = { ok: true, result: await handle(JSON.parse(line) as Obj) };
          } catch (e) {
            reply = { ok: false, error: (e as Error).message, code: (e as { code?: string }).code };
          }
          if (!sock.destroyed) sock.write(`${JSON.stringify(reply)}\n`);
        });
      }
    });
  }

  return new Promise<number>((resolve) => {
    const stop = () => {
      control.close();
      rmSync(o.control, { force: true });
      void api.stop().finally(() => resolve(0));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

/** The controller's side of the channel: one connection, requests answered in order. */
export class ApiControl {
  private sock: Socket | undefined;
  private buf = '';
  private readonly waiting: Array<{ resolve: (v: Obj) => void; reject: (e: Error) => void }> = [];

  constructor(readonly path: string, private readonly timeoutMs = 10_000) {}

  async connect(): Promise<void> {
    const sock = createConnection(this.path);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => resolve());
      sock.once('error', reject);
    });
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      for (let i = this.buf.indexOf('\n'); i >= 0; i = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        this.waiting.shift()?.resolve(JSON.parse(line) as Obj);
      }
    });
    const fail = (e: Error) => { for (const w of this.waiting.splice(0)) w.reject(e); };
    sock.on('error', fail);
    sock.on('close', () => fail(new LabControlError('control channel closed')));
    this.sock = sock;
  }

  async request<T = Obj>(req: Obj): Promise<T> {
    if (!this.sock) await this.connect();
    const reply = await new Promise<Obj>((resolve, reject) => {
      const t = setTimeout(() => reject(new LabControlError(`control request ${req.op} timed out`)), this.timeoutMs);
      this.waiting.push({ resolve: (v) => { clearTimeout(t); resolve(v); }, reject: (e) => { clearTimeout(t); reject(e); } });
      this.sock!.write(`${JSON.stringify(req)}\n`);
    });
    if (!reply.ok) throw new LabControlError(`${req.op} ${req.obj?.kind ?? req.kind ?? ''} ${req.obj?.metadata?.name ?? req.name ?? ''}: ${reply.error}`);
    return reply.result as T;
  }

  create(obj: Obj): Promise<Obj> { return this.request({ op: 'create', obj }); }
  update(obj: Obj): Promise<Obj> { return this.request({ op: 'update', obj }); }
  updateStatus(obj: Obj): Promise<Obj> { return this.request({ op: 'updateStatus', obj }); }
  delete(apiVersion: string, kind: string, name: string, namespace?: string): Promise<Obj> {
    return this.request({ op: 'delete', apiVersion, kind, name, ...(namespace ? { namespace } : {}) });
  }
  get(apiVersion: string, kind: string, name: string, namespace?: string): Promise<Obj | null> {
    return this.request({ op: 'get', apiVersion, kind, name, ...(namespace ? { namespace } : {}) });
  }
  stop(): Promise<Obj> { return this.request({ op: 'stop' }); }
  start(): Promise<Obj> { return this.request({ op: 'start' }); }
  stats(): Promise<Obj> { return this.request({ op: 'stats' }); }

  close(): void {
    this.sock?.destroy();
    this.sock = undefined;
  }
}
