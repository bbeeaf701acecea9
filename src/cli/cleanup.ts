/**
 * `petrel cleanup`: removes everything Petrel owns from this node's kernel — routes carrying its
 * rtm_protocol, its tunnel addresses and VXLAN device, its nftables table — and nothing else.
 * An agent's shutdown leaves routes in place on purpose (traffic keeps flowing through a restart);
 * this is the explicit opposite, for uninstalling Petrel or moving a node to another CNI.
 */
import { createDataplane, DEFAULT_PROTOCOL } from '../dataplane/index.js';
import { parse, UsageError, withUsage } from './args.js';
import { makeLogger } from './log.js';

const USAGE = `Usage: petrel cleanup [--netns NAME] [--protocol N] [--yes]

Removes every route, tunnel address, VXLAN device and nftables table Petrel owns on this node.
Routes of other protocols are never touched.
  --netns NAME   clean this network namespace instead of our own
  --protocol N   Petrel's rtm_protocol (default ${DEFAULT_PROTOCOL})
  --yes          required: this stops pod traffic to and from other nodes`;

export async function run(argv: string[]): Promise<number> {
  return withUsage(USAGE, async () => {
    const { values } = parse(argv, { netns: { type: 'string' }, protocol: { type: 'string' }, yes: { type: 'boolean' } });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (!values.yes) throw new UsageError('refusing without --yes');
    const protocol = values.protocol === undefined ? DEFAULT_PROTOCOL : Number(values.protocol);
    if (!Number.isInteger(protocol) || protocol < 5 || protocol > 255) throw new UsageError(`--protocol: expected 5..255, got '${values.protocol}'`);
    const log = makeLogger(process.env.PETREL_LOG_LEVEL ?? 'warn', 'petrel-cleanup');
    const dp = createDataplane({ ...(values.netns ? { netns: values.netns } : {}), protocol, log });
    const r = await dp.cleanup();
    process.stdout.write(`petrel cleanup: removed ${r.routes} routes and Petrel's tunnels and NAT table${values.netns ? ` in ${values.netns}` : ''}\n`);
    return 0;
  });
}
