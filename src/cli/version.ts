/** `petrel version`: the package version (read from package.json beside dist/ or src/). */
import { readFileSync } from 'node:fs';
import { parse, withUsage } from './args.js';

const USAGE = `Usage: petrel version

Prints Petrel's version and the Node.js it runs on.`;

export function petrelVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function run(argv: string[]): Promise<number> {
  return withUsage(USAGE, async () => {
    const { values } = parse(argv, {});
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    process.stdout.write(`petrel ${petrelVersion()} (node ${process.version})\n`);
    return 0;
  });
}
