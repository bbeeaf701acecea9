/** The process logger: pino JSON lines on stderr (stdout stays free for command output). */
import { pino, type Logger as Pino } from 'pino';

export function makeLogger(level: string, name = 'petrel'): Pino {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}
