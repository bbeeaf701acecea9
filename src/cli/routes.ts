/**
 * `petrel routes [--json] [--api URL] [--prefix P]`: the Loc-RIB of a running speaker, every path
 * with `best` and the reason it won (or lost), as a table or as the JSON of GET /routes.
 */
import type { RouteView } from '../bgp/rib/index.js';
import { DEFAULT_API, oneLine, parse, withUsage } from './args.js';
import { ApiError, getJson } from './api-client.js';
import { table } from './table.js';

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
    const path = values.prefix ? `routes?prefix=${encodeURIComponent(values.prefix)}` : 'routes';
    try {
      const r = await getJson<{ routes: RouteView[] }>(values.api ?? DEFAULT_API, path);
      process.stdout.write(values.json ? `${JSON.stringify(r, null, 2)}\n` : renderRoutes(r.routes));
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
