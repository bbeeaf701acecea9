#!/usr/bin/env node
/**
 * `petrel`: dispatches to the subcommands registered in cli/commands.ts.
 * Exit status: what the command returns (0 ok, 1 failure, 2 usage or configuration: cli/args.ts);
 * 2 for an unknown command. Whatever a command did not handle ends as one line on stderr, exit 1:
 * users get the error's message, not a stack trace (PETREL_DEBUG=1 prints the stack too).
 */
import { commands } from './cli/commands.js';
import { oneLine } from './cli/args.js';

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
    process.stderr.write(`petrel: unknown command '${name}' (\`petrel --help\` lists the commands)\n`);
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
    const name = commands.find((c) => c.name === process.argv[2])?.name;
    const code = (err as { code?: unknown })?.code;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`petrel${name ? ` ${name}` : ''}: ${oneLine(message)}${typeof code === 'string' && !message.includes(code) ? ` (${code})` : ''}\n`);
    if (process.env.PETREL_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
  },
);
