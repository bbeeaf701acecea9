#!/usr/bin/env node
/**
 * `petrel`: dispatches to the subcommands registered in cli/commands.ts.
 * Exit status: what the command returns; 2 for an unknown command or bad usage.
 */
import { commands } from './cli/commands.js';

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: petrel <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `petrel <command> --help` for the options of one command.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') return (await import('./cli/version.js')).run([]);
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`petrel: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  return cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    // Exit once what was written has left: a pipe whose reader is slower than us (`petrel routes
    // --json | jq`) holds writes beyond its 64 KiB in our buffer, and exiting at once cut the output
    // there. Exiting then does not wait for sockets or timers a command left behind.
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  },
  (err: unknown) => {
    process.stderr.write(`petrel: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
