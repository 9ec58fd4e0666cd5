#!/usr/bin/env node
/**
 * The `multiuser-server` command. With no subcommand it runs the server; subcommands are
 * tools that work without one (fixture checks now; data-dir tools later).
 */
import { runCheckFixtures } from './check-fixtures.js';

const USAGE = `usage: multiuser-server [command]

commands:
  (none)                 start the server with defaults (not implemented yet)
  check-fixtures DIR     run every pickle, delta and capture fixture under DIR through the codecs
  help                   show this text
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case 'serve':
      console.error('multiuser-server: the session server is not implemented yet (see issue "Session server").');
      return 1;
    case 'check-fixtures':
      return runCheckFixtures(rest);
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`multiuser-server: unknown command '${cmd}'\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  },
);
