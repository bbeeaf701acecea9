/**
 * The process logger: pino JSON lines on stderr (stdout stays free for command output).
 * Secrets never reach a log line: BGP passwords and API tokens are redacted by key wherever they
 * appear in a logged object (the code also never passes them on purpose).
 */
import { pino, type Logger as Pino } from 'pino';

export const REDACTED_KEYS = ['password', 'token', 'authorization', 'secret', 'key'];

export function makeLogger(level: string, name = 'petrel'): Pino {
  const paths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `peers[*].${k}`]);
  return pino({ name, level, base: { pid: process.pid }, redact: { paths, censor: '[redacted]' } }, pino.destination({ fd: 2, sync: true }));
}
