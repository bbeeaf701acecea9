/**
 * `petrel routes [--json] [--api URL] [--prefix P]`: the Loc-RIB of a running speaker, every path
 * with `best` and the reason it won (or lost), as a table or as `{ routes }` JSON. GET /routes
 * answers in pages (status-api.ts); this follows every `continue` token, so the output is the whole
 * table however large, while the speaker never builds more than one page at a time.
 */
import type { RouteView } from '../bgp/rib/index.js';
import { DEFAULT_API, oneLine, parse, withUsage } from './args.js';
import { ApiError, getJson } from './api-client.js';
import { table } from './table.js';

/** Prefixes asked per page; the server caps it (MAX_ROUTES_LIMIT). */
export const PAGE_LIMIT = 5000;
/** A walk of more pages than this is a server bug (the cursor must move forward), not a big table. */
const MAX_PAGES = 100_000;

/** Every route, following the pages of GET /routes. */
export async function fetchAllRoutes(api: string, limit = PAGE_LIMIT): Promise<RouteView[]> {
  const all: RouteView[] = [];
  let token: string | undefined;
  for (let pages = 0; ; pages++) {
    if (pages >= MAX_PAGES) throw new ApiError(`GET /routes: more than ${MAX_PAGES} pages; giving up`);
    const page = await getJson<{ routes: RouteView[]; continue?: string }>(api, `routes?limit=${limit}${token ? `&continue=${encodeURIComponent(token)}` : ''}`);
    for (const r of page.routes) all.push(r);
    if (!page.continue) return all;
    if (page.continue === token) throw new ApiError('GET /routes: the continue token did not move; giving up');
    token = page.continue;
  }
}

const USAGE = `Usage: petrel routes [--json] [--api URL] [--prefix P]

Shows the Loc-RIB of a running \`petrel speaker\`: every path per prefix, the best one marked '*'
with the rule that made it win.
  --json       print the JSON of GET /routes
  --prefix P   only this prefix
  --api URL    the speaker's status API (default ${DEFAULT_API})`;

export function renderRoutes(routes: RouteView[]): string {
  if (routes.length === 0) return 'No routes.\n';
  const rows = routes.map((r) => [
    r.best ? '*' : '',
    r.prefix,
    r.nextHop,
    r.asPath.length ? r.asPath.join(' ') : '(local AS)',
    String(r.localPref),
    r.med === null ? '' : String(r.med),
    r.origin,
    r.peer,
    r.reason,
  ]);
  return `${table(['', 'PREFIX', 'NEXT HOP', 'AS PATH', 'LOCAL PREF', 'MED', 'ORIGIN', 'PEER', 'REASON'], rows)}\n`;
}

export async function run(argv: string[]): Promise<number> {
  return withUsage(USAGE, async () => {
    const { values } = parse(argv, { json: { type: 'boolean' }, api: { type: 'string' }, prefix: { type: 'string' } });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const api = values.api ?? DEFAULT_API;
    try {
      const routes = values.prefix
        ? (await getJson<{ routes: RouteView[] }>(api, `routes?prefix=${encodeURIComponent(values.prefix)}`)).routes
        : await fetchAllRoutes(api);
      process.stdout.write(values.json ? `${JSON.stringify({ routes }, null, 2)}\n` : renderRoutes(routes));
      return 0;
    } catch (e) {
      if (e instanceof ApiError) {
        process.stderr.write(`petrel routes: ${oneLine(e.message)}\n`);
        return 1;
      }
      throw e;
    }
  });
}
