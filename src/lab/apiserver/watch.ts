/**
 * One watch stream of the test API server (the "Efficient detection of changes" section of the
 * api-concepts doc): JSON lines of {type, object}; replay of stored events after the requested
 * resourceVersion, or synthetic ADDED events for the current state when it is "" or "0"; ERROR with a 410
 * Status when that resourceVersion was compacted away; selector transitions as ADDED/DELETED (a DELETED for
 * an object leaving the selector carries the revision of the change); periodic BOOKMARKs when asked for;
 * the end of the stream after timeoutSeconds. Replay and live subscription happen in one synchronous step,
 * so no event can fall between them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiStatusError } from './status.js';
import type { Store, StoreEvent } from './store.js';
import type { ResourceType } from './resources.js';
import { toTable, wantsTable } from './discovery.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface WatchConn {
  res: ServerResponse;
  resource: string;
  stalled: boolean;
  close(how: 'end' | 'destroy' | 'expire'): void;
}

export interface WatchContext {
  store: Store;
  watches: Set<WatchConn>;
  writes: { pieceBytes?: number; batch?: boolean };
  bookmarkIntervalMs: number;
}

/**
 * The JSON line of a stored object's event, made once however many watches deliver it (as
 * kube-apiserver's watch cache serializes each event once): a Node change in a 50-node lab reaches
 * 52 watches. Stored objects are never mutated after the store wrote them, so the object is the key.
 */
const lines = new WeakMap<Obj, Map<string, string>>();
function sharedLine(type: string, object: Obj): string {
  let m = lines.get(object);
  if (!m) lines.set(object, (m = new Map()));
  let line = m.get(type);
  if (line === undefined) m.set(type, (line = `${JSON.stringify({ type, object })}\n`));
  return line;
}

export function serveWatch(ctx: WatchContext, req: IncomingMessage, res: ServerResponse, t: ResourceType, match: (o: Obj) => boolean, q: URLSearchParams): void {
  const bookmarks = q.get('allowWatchBookmarks') === 'true';
  const timeoutS = Number(q.get('timeoutSeconds') ?? 0);
  const table = wantsTable(req.headers.accept);
  const rvParam = q.get('resourceVersion') ?? '';
  const apiVersion = t.group ? `${t.group}/${t.version}` : t.version;
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  // writes.pieceBytes splits every event line over several HTTP chunks (written on later ticks), and
  // writes.batch packs all events of one tick into one chunk: clients must cope with both.
  const mode = ctx.writes;
  let pending = '';
  const flushPending = () => {
    const text = pending;
    pending = '';
    if (!text || res.destroyed) return;
    if (!mode.pieceBytes) return void res.write(text);
    // Bytes, not characters: a piece may end inside a multi-byte UTF-8 character, as on a real socket.
    const bytes = Buffer.from(text, 'utf8');
    for (let i = 0; i < bytes.length; i += mode.pieceBytes) {
      const piece = bytes.subarray(i, i + mode.pieceBytes);
      setTimeout(() => { if (!res.destroyed && !res.writableEnded) res.write(piece); }, 0);
    }
  };
  const write = (type: string, object: Obj, shared = false) => {
    let line: string;
    if (shared && !table) line = sharedLine(type, object);
    else {
      const o = table && type !== 'ERROR' && type !== 'BOOKMARK' ? toTable(t, [object], undefined) : object;
      line = `${JSON.stringify({ type, object: o })}\n`;
    }
    if (!mode.pieceBytes && !mode.batch) return void res.write(line);
    if (!pending) (mode.batch ? setImmediate : queueMicrotask)(flushPending);
    pending += line;
  };
  const end = () => {
    flushPending();
    if (mode.pieceBytes) setTimeout(() => res.end(), 1);
    else res.end();
  };
  let backlog: StoreEvent[];
  if (rvParam === '' || rvParam === '0') {
    for (const e of ctx.store.list(t.id)) if (match(e.object)) write('ADDED', e.object);
    backlog = [];
  } else {
    if (!/^\d+$/.test(rvParam)) {
      write('ERROR', ApiStatusError.badRequest(`invalid resourceVersion: ${rvParam}`).toStatus());
      end();
      return;
    }
    try {
      backlog = ctx.store.eventsAfter(Number(rvParam), t.id);
    } catch (e) {
      if (e instanceof ApiStatusError) {
        write('ERROR', e.toStatus());
        end();
        return;
      }
      throw e;
    }
  }
  const deliver = (ev: StoreEvent) => {
    if (ev.resource !== t.id || conn.stalled) return;
    const prevOk = !!ev.previous && match(ev.previous);
    const curOk = ev.type !== 'DELETED' && match(ev.object);
    if (ev.type === 'DELETED') {
      if (match(ev.object)) write('DELETED', ev.object, true);
    } else if (curOk) write(prevOk || ev.type === 'ADDED' ? ev.type : 'ADDED', ev.object, true);
    else if (prevOk) write('DELETED', { ...ev.previous, metadata: { ...ev.previous!.metadata, resourceVersion: String(ev.rv) } });
  };
  const timers: NodeJS.Timeout[] = [];
  const cleanup = () => {
    ctx.store.off('event', deliver);
    for (const x of timers) clearInterval(x);
    ctx.watches.delete(conn);
  };
  const conn: WatchConn = {
    res, resource: t.id, stalled: false,
    close: (how) => {
      cleanup();
      if (how === 'destroy') res.destroy();
      else {
        if (how === 'expire') write('ERROR', ApiStatusError.expired('too old resource version (watch expired)').toStatus());
        end();
      }
    },
  };
  ctx.watches.add(conn);
  for (const ev of backlog) deliver(ev);
  ctx.store.on('event', deliver);
  if (bookmarks) {
    timers.push(setInterval(() => {
      if (!conn.stalled) write('BOOKMARK', { kind: t.kind, apiVersion, metadata: { resourceVersion: String(ctx.store.revision) } });
    }, ctx.bookmarkIntervalMs));
  }
  if (timeoutS > 0) timers.push(setTimeout(() => conn.close('end'), timeoutS * 1000));
  req.on('close', cleanup);
  res.on('close', cleanup);
}
