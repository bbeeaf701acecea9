/**
 * Option parsing shared by the commands (node:util parseArgs, strict): a bad option becomes a
 * UsageError, which the command turns into exit status 2 and one line on stderr naming the command,
 * what is wrong and where the usage is (`petrel <command> --help`).
 *
 * Exit status of every command (docs/operations.md, "The petrel command"): 0 ok; 1 a failure at run
 * time (a speaker that cannot be reached, a port that cannot be bound, a kernel that refuses); 2 bad
 * usage or configuration (an unknown or malformed flag, a value that is not a URL, a file that is
 * missing or invalid).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PetrelError } from '../errors.js';

export class UsageError extends PetrelError {
  constructor(message: string) {
    super('CLI_USAGE', message);
  }
}

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Runs a command body, mapping UsageError to exit 2 with one line naming the command and its --help. */
export async function withUsage(usage: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof UsageError) {
      const cmd = /^Usage: (petrel(?: [a-z][a-z-]*)?)/.exec(usage)?.[1] ?? 'petrel';
      process.stderr.write(`${cmd}: ${oneLine(e.message)} (\`${cmd} --help\` shows the usage)\n`);
      return 2;
    }
    throw e;
  }
}

/** A message on one line (YAML and fetch errors can carry several). */
export function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, '; ').trim();
}

/** An http(s) URL given to `flag`, or a UsageError saying why not. */
export function httpUrl(value: string, flag: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag}: '${value}' is not a URL (expected http://HOST:PORT)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${flag}: '${value}' is not an http or https URL`);
  return url;
}

export const DEFAULT_API = 'http://127.0.0.1:9179';
