/**
 * The process logger: pino JSON lines on stderr (stdout stays free for command output).
 * Secrets never reach a log line: BGP passwords and API tokens are redacted by key wherever they
 * appear in a logged object (the code also never passes them on purpose).
 */
import { pino, type Logger as Pino } from 'pino';
import { UsageError } from './args.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export const REDACTED_KEYS = ['password', 'token', 'authorization', 'secret', 'key'];

/** A UsageError (exit 2) for a level pino does not know. */
export function makeLogger(level: string, name = 'petrel'): Pino {
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`log level '${level}': expected one of ${LOG_LEVELS.join(', ')}`);
  const paths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `peers[*].${k}`]);
  return pino({ name, level, base: { pid: process.pid }, redact: { paths, censor: '[redacted]' } }, pino.destination({ fd: 2, sync: true }));
}
