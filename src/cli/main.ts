#!/usr/bin/env node
/**
 * The `multiuser-server` command. With no subcommand (or only flags) it runs the server;
 * subcommands are tools: `probe` checks a running server, `check-fixtures` runs the fixture files.
 */
import { runCheckFixtures } from './check-fixtures.js';
import { parseProbeArgs, PROBE_USAGE, runProbe } from './probe.js';
import { runServe } from './serve.js';

const USAGE = `usage: multiuser-server [serve] [options]
       multiuser-server probe HOST[:PORT] [--server-password PW] [--timeout MS] [--username NAME]
       multiuser-server check-fixtures DIR
       multiuser-server help

serve (the default) runs the session server on ports P (command), P+1 (data), P+2 (heartbeat).
Options (flag > environment variable > .env file in the working directory > default):
  -p,    --port N                  PORT              base port P (default 5555)
         --host ADDR               HOST              bind address (default *, every interface)
  -apwd, --admin-password PW       ADMIN_PASSWORD    admin password (default 'admin': change it)
  -spwd, --server-password PW      SERVER_PASSWORD   server password (default empty: public)
  -t,    --timeout MS              TIMEOUT           heartbeat timeout in ms (default 10000)
  -l,    --log-level LEVEL         LOG_LEVEL         DEBUG, INFO, WARNING or ERROR (default INFO)
  -lf,   --log-file FILE           LOG_FILE          also append log lines to FILE
         --data-dir DIR            DATA_DIR          data directory (default ./data)
         --send-queue-max-messages N   SEND_QUEUE_MAX_MESSAGES  per client and socket (default 10000)
         --send-queue-max-bytes N      SEND_QUEUE_MAX_BYTES     per client and socket (default 268435456)
When stdin is a terminal an interactive shell runs (users, kick NAME, exit, help).
SIGINT / SIGTERM stop the server cleanly.

probe checks a running server end to end: server info, login as a throw-away user, user list,
heartbeat, logout. Exit code 0 when every step passed.

check-fixtures runs every pickle, delta and capture fixture under DIR through the codecs.
`;

function onSignal(signal: NodeJS.Signals, handler: () => void): () => void {
  process.on(signal, handler);
  return () => process.off(signal, handler);
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'serve' || (cmd.startsWith('-') && cmd !== '-h' && cmd !== '--help')) {
    const args = cmd === 'serve' ? rest : argv;
    return runServe(args, {
      env: process.env,
      cwd: process.cwd(),
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      onSignal,
    });
  }
  switch (cmd) {
    case 'probe': {
      const opts = parseProbeArgs(rest);
      if (typeof opts === 'string') {
        process.stderr.write(`multiuser-server probe: ${opts}\n${PROBE_USAGE}`);
        return 2;
      }
      return runProbe(opts, process.stdout);
    }
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
