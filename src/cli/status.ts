/**
 * `petrel status [--json] [--api URL]`: the peers of a running speaker, as a table like
 * `calicoctl node status` (IPv4 and IPv6 sections) or as the JSON of GET /status.
 */
import type { PeerStatus, SpeakerStatus } from '../bgp/speaker.js';
import { DEFAULT_API, oneLine, parse, withUsage } from './args.js';
import { ApiError, getJson } from './api-client.js';
import { table } from './table.js';

const USAGE = `Usage: petrel status [--json] [--api URL]

Shows the BGP peers of a running \`petrel speaker\` (its http status API).
  --json      print the JSON of GET /status
  --api URL   the speaker's status API (default ${DEFAULT_API})`;

function since(p: PeerStatus): string {
  if (!p.since) return '';
  const d = new Date(p.since);
  const today = new Date();
  const time = d.toISOString().slice(11, 19);
  return d.toISOString().slice(0, 10) === today.toISOString().slice(0, 10) ? time : `${d.toISOString().slice(0, 10)} ${time}`;
}

function section(title: string, peers: PeerStatus[]): string {
  if (peers.length === 0) return `${title}\nNo ${title.split(' ')[0]} peers found.\n`;
  const rows = peers.map((p) => [
    p.address,
    p.type,
    p.state === 'Established' ? 'up' : p.state.toLowerCase(),
    since(p),
    p.info,
  ]);
  return `${title}\n${table(['PEER ADDRESS', 'PEER TYPE', 'STATE', 'SINCE', 'INFO'], rows)}\n`;
}

export function renderStatus(s: SpeakerStatus): string {
  const v4 = s.peers.filter((p) => !p.address.includes(':'));
  const v6 = s.peers.filter((p) => p.address.includes(':'));
  const head = `Petrel speaker is running: AS ${s.asn}, router id ${s.routerId}${s.clusterId ? `, route reflector (cluster id ${s.clusterId})` : ''}; ` +
    `${s.rib.prefixes} prefixes, ${s.rib.paths} paths.\n`;
  return `${head}\n${section('IPv4 BGP status', v4)}\n${section('IPv6 BGP status', v6)}`;
}

export async function run(argv: string[]): Promise<number> {
  return withUsage(USAGE, async () => {
    const { values } = parse(argv, { json: { type: 'boolean' }, api: { type: 'string' } });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    try {
      const s = await getJson<SpeakerStatus>(values.api ?? DEFAULT_API, 'status');
      process.stdout.write(values.json ? `${JSON.stringify(s, null, 2)}\n` : renderStatus(s));
      return 0;
    } catch (e) {
      if (e instanceof ApiError) {
        process.stderr.write(`petrel status: ${oneLine(e.message)}\n`);
        return 1;
      }
      throw e;
    }
  });
}
