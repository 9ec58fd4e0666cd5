#!/usr/bin/env -S node --max-semi-space-size=2 --initial-old-space-size=64
/*
 * The node flag caps V8's young generation at 2 MB per semi-space: the default (up to 32 MB)
 * grows during an init burst and is never given back, which alone cost ~30 MB of RSS with 50,000
 * small nodes; no measurable CPU cost on fan-out (bench/memory.bench.ts, docs/benchmarks.md).
 * The initial old-space size keeps V8 from running ~60 full collections during a 1 GB save (zlib's
 * output buffers count against a tiny heap limit): the longest event-loop stall went from 12.5 ms
 * to 9.2 ms (bench/persistence.bench.ts). `npm start` and the benchmarks pass the same flags.
 */
/**
 * The `multiuser-server` command. With no subcommand (or only flags) it runs the server;
 * subcommands are tools: `probe` checks a running server, `check-fixtures` runs the fixture files,
 * `backups`, `verify`, `restore`, `export` and `import` work on a stopped server's data directory.
 */
import { runCheckFixtures } from './check-fixtures.js';
import type { DataIo } from './data-command.js';
import { runBackups } from './data-backups.js';
import { runExport } from './data-export.js';
import { runImport } from './data-import.js';
import { runRestore } from './data-restore.js';
import { runVerify } from './data-verify.js';
import { runServe } from './serve.js';

const USAGE = `usage: multiuser-server [serve] [options]
       multiuser-server probe HOST[:PORT] [--server-password PW] [--timeout MS] [--username NAME]
       multiuser-server check-fixtures DIR
       multiuser-server backups [--data-dir DIR] [--json]
       multiuser-server verify [--data-dir DIR] [--strict]
       multiuser-server restore BACKUP [--data-dir DIR]
       multiuser-server export --out FILE.db [--force] [--data-dir DIR]
       multiuser-server import FILE.db [--force] [--data-dir DIR]
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
         --save-interval S         SAVE_INTERVAL     auto-save period in seconds, 0 = off (default 120)
         --max-backups N           MAX_BACKUPS       backups kept in DATA_DIR/backups (default 10)
         --journal-fsync POLICY    JOURNAL_FSYNC     always, an interval in ms, or off (default 100)
         --max-frame-bytes N, --max-nodes N, ... size limits: see README "Configuration"
When stdin is a terminal an interactive shell runs (users, kick NAME, save, exit, help).
SIGINT / SIGTERM stop the server cleanly.

probe checks a running server end to end: server info, login as a throw-away user, user list,
heartbeat, logout. Exit code 0 when every step passed.

check-fixtures runs every pickle, delta and capture fixture under DIR through the codecs.

Data tools work on DATA_DIR (--data-dir, DATA_DIR, .env, ./data) while no server runs on it
(they take its lock; exit code 3 when a server holds it). See docs/operations.md.
  backups   the snapshot and every backup: time, reason, nodes, users, size, verified
  verify    check snapshot, backups and journal without changing anything; exit 0 when the
            next start loads a valid session and the journal is consistent
  restore   make BACKUP (a name in backups/ or a path) the snapshot; the current session is
            kept as a new backup and its journal moved to corrupt/
  export    write what the next start would load as an add-on session file (Load session save)
  import    seed DATA_DIR from a session saved in Blender (Save session data)
`;

function onSignal(signal: NodeJS.Signals, handler: () => void): () => void {
  process.on(signal, handler);
  return () => process.off(signal, handler);
}

function dataIo(): DataIo {
  return { env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr };
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
      // Loaded on demand: the probe's client uses the zeromq addon, which the server never loads.
      const { parseProbeArgs, PROBE_USAGE, runProbe } = await import('./probe.js');
      const opts = parseProbeArgs(rest);
      if (typeof opts === 'string') {
        process.stderr.write(`multiuser-server probe: ${opts}\n${PROBE_USAGE}`);
        return 2;
      }
      return runProbe(opts, process.stdout);
    }
    case 'check-fixtures':
      return runCheckFixtures(rest);
    case 'backups':
      return runBackups(rest, dataIo());
    case 'verify':
      return runVerify(rest, dataIo());
    case 'restore':
      return runRestore(rest, dataIo());
    case 'export':
      return runExport(rest, dataIo());
    case 'import':
      return runImport(rest, dataIo());
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
