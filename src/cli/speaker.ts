/**
 * `petrel speaker --config FILE.yaml`: a standalone BGP speaker / route reflector (no Kubernetes).
 * Reads and validates the file (exit 2 naming the file and field when invalid), starts the sessions,
 * the listener and the status API, originates `originate:` with next hop self, and on SIGTERM or
 * SIGINT closes every session with Cease / Administrative Shutdown and exits 0.
 */
import { loadSpeakerConfig, type SpeakerConfig } from '../bgp/config.js';
import { Speaker } from '../bgp/speaker.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../model/log.js';
import { oneLine, parse, withUsage, UsageError } from './args.js';
import { makeLogger } from './log.js';
import { guarded, onShutdownSignals } from './process.js';
import { startStatusApi, type StatusApi } from './status-api.js';

const USAGE = `Usage: petrel speaker --config FILE.yaml [--check]

Runs a standalone BGP speaker (or route reflector) configured by FILE.yaml
(reference: docs/configuration.md, "Standalone speaker"). SIGHUP re-reads the file and applies
peers and originated prefixes (diffed); SIGTERM/SIGINT close every session with a Cease (without
one, for peers that negotiated graceful restart, when gracefulRestart is on) and exit 0.
PETREL_LOG_LEVEL (debug, info, warn, error) overrides the file's logLevel.
  --config FILE   the configuration file
  --check         validate the file and exit (0 valid, 2 invalid)`;

export function speakerFromConfig(cfg: SpeakerConfig, log: ReturnType<typeof makeLogger>): Speaker {
  const speaker = new Speaker(
    {
      asn: cfg.asn,
      routerId: cfg.routerId,
      ...(cfg.clusterId ? { clusterId: cfg.clusterId } : {}),
      ...(cfg.listen ? { listen: cfg.listen } : {}),
      holdTime: cfg.holdTime,
      ...(cfg.keepaliveTime !== undefined ? { keepaliveTime: cfg.keepaliveTime } : {}),
      connectRetryTime: cfg.connectRetryTime,
      ...(cfg.idleHoldTime !== undefined ? { idleHoldTime: cfg.idleHoldTime } : {}),
      ...(cfg.idleHoldMaxTime !== undefined ? { idleHoldMaxTime: cfg.idleHoldMaxTime } : {}),
      ...(cfg.ipv4NextHop ? { ipv4NextHop: cfg.ipv4NextHop } : {}),
      ...(cfg.ipv6NextHop ? { ipv6NextHop: cfg.ipv6NextHop } : {}),
      ...(cfg.gracefulRestart.enabled ? { gracefulRestart: { forwardingPreserved: true, ...cfg.gracefulRestart } } : {}),
    },
    { log },
  );
  speaker.setPeers(cfg.peers);
  speaker.setLocalRoutes(cfg.originate.map((prefix) => ({ prefix })));
  return speaker;
}

/**
 * SIGHUP: re-read the file; peers and originated prefixes are applied (diffed: unchanged peers keep
 * their sessions). Fields that need a restart (asn, routerId, clusterId, listen, http) are reported
 * and left as they were. An invalid file changes nothing (every problem is logged, no value of a
 * password). An unexpected throw is the caller's to catch (run() wraps it with guarded()).
 */
export function reload(file: string, current: SpeakerConfig, speaker: Pick<Speaker, 'setPeers' | 'setLocalRoutes'>, log: Logger): void {
  let next: SpeakerConfig;
  try {
    next = loadSpeakerConfig(file);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    log.error({ errors: e.problems.map((p) => p.text) }, 'reload refused: invalid configuration, nothing changed');
    return;
  }
  const fixed = (['asn', 'routerId', 'clusterId', 'listen', 'http', 'gracefulRestart'] as const).filter(
    (k) => JSON.stringify(next[k]) !== JSON.stringify(current[k]),
  );
  if (fixed.length > 0) log.warn({ fields: fixed }, 'reload: these fields need a restart and were not changed');
  speaker.setPeers(next.peers);
  speaker.setLocalRoutes(next.originate.map((prefix) => ({ prefix })));
  log.info({ peers: next.peers.length, originate: next.originate.length }, 'configuration reloaded');
}

export async function run(argv: string[]): Promise<number> {
  return withUsage(USAGE, async () => {
    const { values } = parse(argv, { config: { type: 'string', short: 'c' }, check: { type: 'boolean' } });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (!values.config) throw new UsageError('--config FILE is required');
    let cfg: SpeakerConfig;
    try {
      cfg = loadSpeakerConfig(values.config);
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stderr.write(e.problems.length === 1
          ? `petrel speaker: invalid configuration: ${oneLine(e.message)}\n`
          : `petrel speaker: invalid configuration, ${e.problems.length} problems:\n${e.problems.map((p) => `  ${oneLine(p.text)}\n`).join('')}`);
        return 2;
      }
      throw e;
    }
    if (values.check) {
      process.stdout.write(`${values.config}: valid (${cfg.peers.length} peers, ${cfg.originate.length} prefixes)\n`);
      return 0;
    }
    const envLevel = process.env.PETREL_LOG_LEVEL;
    const log = makeLogger(envLevel && ['debug', 'info', 'warn', 'error'].includes(envLevel) ? envLevel : cfg.logLevel);
    const speaker = speakerFromConfig(cfg, log);
    let api: StatusApi | undefined;
    try {
      await speaker.start();
      if (cfg.http) {
        api = await startStatusApi(speaker, cfg.http, { log });
        log.info({ address: cfg.http.address, port: api.port }, 'status API listening');
      }
    } catch (e) {
      log.error({ err: String(e) }, 'cannot start');
      await speaker.stop().catch(() => {});
      await api?.close();
      process.stderr.write(`petrel speaker: ${oneLine((e as Error).message)}\n`);
      return 1;
    }
    log.info({ asn: cfg.asn, routerId: cfg.routerId, peers: cfg.peers.length, originate: cfg.originate.length }, 'speaker started');
    return new Promise<number>((resolve) => {
      let stopping = false;
      // Signal handlers keep no process alive: a speaker with no peer, listener or API yet (waiting
      // for a SIGHUP to add some) would otherwise exit at once, with status 0.
      // (It also keeps the loop up for the hard deadline below; the process exits once run() returns.)
      setInterval(() => {}, 2 ** 31 - 1);
      const shutdown = (signal: string) => {
        stopping = true;
        log.info({ signal }, 'shutting down: Cease / Administrative Shutdown to every peer');
        const hard = setTimeout(() => resolve(0), 5000);
        hard.unref();
        // With graceful restart on, peers that negotiated it get no Cease: they keep our routes.
        void Promise.allSettled([speaker.stop(`petrel speaker: ${signal}`, { graceful: true }), api?.close()]).then(() => {
          clearTimeout(hard);
          resolve(0);
        });
      };
      onShutdownSignals(log, shutdown);
      process.on('SIGHUP', guarded('reload', log, undefined, () => {
        if (!stopping) reload(values.config as string, cfg, speaker, log);
      }));
    });
  });
}
