/** `petrel version`: the package version (read from package.json beside dist/ or src/). */
import { readFileSync } from 'node:fs';

export function petrelVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function run(_argv: string[]): Promise<number> {
  process.stdout.write(`petrel ${petrelVersion()} (node ${process.version})\n`);
  return 0;
}
