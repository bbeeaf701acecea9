/**
 * Option parsing shared by the commands (node:util parseArgs, strict): a bad option becomes a
 * UsageError, which the command turns into exit status 2 with its usage text.
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

/** Runs a command body, mapping UsageError to exit 2 with the usage text. */
export async function withUsage(usage: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`petrel: ${e.message}\n\n${usage}\n`);
      return 2;
    }
    throw e;
  }
}

export const DEFAULT_API = 'http://127.0.0.1:9179';
