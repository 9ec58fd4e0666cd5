/**
 * The `multiuser-server` command's subcommands (main.ts is the entry point). With no subcommand (or only flags) it runs the server;
 * subcommands are tools: `health` is the container health check, `probe` checks a running server
 * end to end, `check-fixtures` runs the fixture files,
 * `backups`, `verify`, `restore`, `export` and `import` work on a stopped server's data directory.
 */
import { runCheckFixtures } from './check-fixtures.js';
import type { DataIo } from './data-command.js';
import { BACKUPS_USAGE, runBackups } from './data-backups.js';
import { EXPORT_USAGE, runExport } from './data-export.js';
import { IMPORT_USAGE, runImport } from './data-import.js';
import { HISTORY_USAGE, runHistory } from './history-command.js';
import { RESTORE_USAGE, runRestore } from './data-restore.js';
import { runVerify, VERIFY_USAGE } from './data-verify.js';
import { HEALTH_USAGE, healthMain } from './health.js';
import { parseProbeArgs, PROBE_USAGE, runProbe } from './probe.js';
import { runServe } from './serve.js';
import { tolerateClosedOutput } from './server-logger.js';
import { versionLine } from './version.js';

const SERVE_OPTIONS = `Options (flag > environment variable > .env file in the working directory > default):
  -p,    --port N                  PORT              base port P (default 5555)
         --host ADDR               HOST              bind address (default *, every interface)
  -apwd, --admin-password PW       ADMIN_PASSWORD    admin password (default 'admin': change it)
  -spwd, --server-password PW      SERVER_PASSWORD   server password (default empty: public)
  -t,    --timeout MS              TIMEOUT           heartbeat timeout in ms (default 10000)
  -l,    --log-level LEVEL         LOG_LEVEL         DEBUG, INFO, WARNING or ERROR (default INFO)
         --log-format FORMAT       LOG_FORMAT        text (default) or json (one object per line)
  -lf,   --log-file FILE           LOG_FILE          also append log lines to FILE
         --data-dir DIR            DATA_DIR          data directory (default ./data)
         --send-queue-max-messages N   SEND_QUEUE_MAX_MESSAGES  per client and socket (default 10000)
         --send-queue-max-bytes N      SEND_QUEUE_MAX_BYTES     per client and socket (default 268435456)
         --save-interval S         SAVE_INTERVAL     auto-save period in seconds, 0 = off (default 120)
         --max-backups N           MAX_BACKUPS       backups kept in DATA_DIR/backups (default 10)
         --journal-fsync POLICY    JOURNAL_FSYNC     always, an interval in ms, or off (default 100)
         --max-frame-bytes N, --max-nodes N, ... size limits: see README "Configuration"
When stdin is a terminal an interactive shell runs (users, kick NAME, save, chat [N], tasks, exit, help).
SIGINT / SIGTERM stop the server cleanly (final save); SIGHUP reopens LOG_FILE (logrotate).
`;

const SERVE_HELP = `usage: multiuser-server [serve] [options]

serve (the default) runs the session server on ports P (command), P+1 (data), P+2 (heartbeat).
${SERVE_OPTIONS}`;

const DATA_TOOLS_NOTE = `Data tools work on DATA_DIR (--data-dir, DATA_DIR, .env, ./data). backups, verify, history
and export --at only read, also while a server runs; restore, import and export take the lock
(exit code 3 when a server holds it). See docs/operations.md.
`;

/** Each subcommand: its usage line(s), what it does (for `CMD --help`), and how it runs. */
interface Command {
  usage: string;
  about: string;
  run(args: string[]): Promise<number> | number;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  health: {
    usage: HEALTH_USAGE.split('\n')[0] + '\n',
    about: HEALTH_USAGE.slice(HEALTH_USAGE.indexOf('\n') + 1),
    run: (args) => healthMain(args),
  },
  probe: {
    usage: PROBE_USAGE,
    about: `
probe checks a running server end to end: server info, login as a throw-away user, user list,
heartbeat, logout. Exit code 0 when every step passed.
`,
    run: (args) => {
      const opts = parseProbeArgs(args);
      if (typeof opts === 'string') {
        process.stderr.write(`multiuser-server probe: ${opts}\n${PROBE_USAGE}`);
        return 2;
      }
      return runProbe(opts, process.stdout);
    },
  },
  'check-fixtures': {
    usage: 'usage: multiuser-server check-fixtures DIR\n',
    about: `
check-fixtures runs every pickle, delta and capture fixture under DIR through the codecs.
`,
    run: (args) => runCheckFixtures(args),
  },
  backups: {
    usage: BACKUPS_USAGE,
    about: `
The snapshot and every backup: time, reason, nodes, users, size, verified. Changes nothing.
${DATA_TOOLS_NOTE}`,
    run: (args) => runBackups(args, dataIo()),
  },
  verify: {
    usage: VERIFY_USAGE,
    about: `
Checks snapshot, backups and journal without changing anything; exit 0 when the next start
loads a valid session and the journal is consistent.
${DATA_TOOLS_NOTE}`,
    run: (args) => runVerify(args, dataIo()),
  },
  restore: {
    usage: RESTORE_USAGE,
    about: `
Makes BACKUP (a name in backups/ or a path) the snapshot; the current session is kept as a new
backup and its journal moved to corrupt/. With --at TIME or --before CHANGE: makes that moment of
history the session (the current one is kept as a backup and stays in history).
${DATA_TOOLS_NOTE}`,
    run: (args) => runRestore(args, dataIo()),
  },
  export: {
    usage: EXPORT_USAGE,
    about: `
Writes what the next start would load as an add-on session file (Load session save); with
--at TIME or --before CHANGE, that moment of history (also while the server runs).
${DATA_TOOLS_NOTE}`,
    run: (args) => runExport(args, dataIo()),
  },
  history: {
    usage: HISTORY_USAGE,
    about: `
Lists every change kept in history (time, change id, user, kind, node, type, name), oldest first,
a page at a time; \`history diff T1 T2\` lists the nodes added, removed and changed between two
moments. Times: ISO 8601 (local unless Z or an offset), 'now', or relative ('-15m', '-2h', '-3d').
Read-only: also works while the server runs (docs/history.md).
`,
    run: (args) => runHistory(args, dataIo()),
  },
  import: {
    usage: IMPORT_USAGE,
    about: `
Seeds DATA_DIR from a session saved in Blender (Save session data); refuses a directory that
holds a session unless --force (which keeps that session as a backup).
${DATA_TOOLS_NOTE}`,
    run: (args) => runImport(args, dataIo()),
  },
};

const USAGE = `usage: multiuser-server [serve] [options]
${Object.values(COMMANDS)
  .map((c) => c.usage.replace(/^usage: /, '       '))
  .join('')}       multiuser-server version | --version | -V
       multiuser-server help | --help | -h        (also: multiuser-server COMMAND --help)

serve (the default) runs the session server on ports P (command), P+1 (data), P+2 (heartbeat).
${SERVE_OPTIONS}
health checks that a server answers server info on its command port (container health checks).

probe checks a running server end to end: server info, login as a throw-away user, user list,
heartbeat, logout. Exit code 0 when every step passed.

check-fixtures runs every pickle, delta and capture fixture under DIR through the codecs.

${DATA_TOOLS_NOTE}  backups   the snapshot and every backup: time, reason, nodes, users, size, verified
  verify    check snapshot, backups and journal without changing anything; exit 0 when the
            next start loads a valid session and the journal is consistent
  restore   make BACKUP (a name in backups/ or a path) the snapshot; the current session is
            kept as a new backup and its journal moved to corrupt/
  export    write what the next start would load as an add-on session file (Load session save)
  import    seed DATA_DIR from a session saved in Blender (Save session data)
  history   who changed what and when; restore --at / export --at a moment (docs/history.md)
`;

const HELP_FLAGS = new Set(['--help', '-h']);
const VERSION_FLAGS = new Set(['--version', '-V', 'version']);
/** Flags whose value may be any text, even "-h": never read as a request for help. */
const FREE_TEXT_FLAGS = new Set(['--admin-password', '-apwd', '--server-password', '-spwd', '--username']);

/** Whether `args` ask for help: `-h`/`--help` anywhere except as the value of a password or name flag. */
function wantsHelp(args: readonly string[]): boolean {
  return args.some((a, i) => HELP_FLAGS.has(a) && (i === 0 || !FREE_TEXT_FLAGS.has(args[i - 1])));
}

function onSignal(signal: NodeJS.Signals, handler: () => void): () => void {
  process.on(signal, handler);
  return () => process.off(signal, handler);
}

function dataIo(): DataIo {
  return { env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr };
}

export async function main(argv: string[]): Promise<number> {
  // A reader that went away (`| head`, a stopped log collector) must not kill the process.
  tolerateClosedOutput(process.stdout, process.stderr);
  const [cmd, ...rest] = argv;
  if (cmd !== undefined && VERSION_FLAGS.has(cmd)) {
    process.stdout.write(versionLine() + '\n');
    return 0;
  }
  if (cmd === 'help' || (cmd !== undefined && HELP_FLAGS.has(cmd))) {
    const topic = cmd === 'help' ? rest[0] : undefined;
    const command = topic === undefined ? undefined : COMMANDS[topic];
    if (topic === 'serve') process.stdout.write(SERVE_HELP);
    else if (command !== undefined) process.stdout.write(command.usage + command.about);
    else process.stdout.write(USAGE);
    return 0;
  }
  if (cmd === undefined || cmd === 'serve' || cmd.startsWith('-')) {
    const args = cmd === 'serve' ? rest : argv;
    if (wantsHelp(args)) {
      process.stdout.write(SERVE_HELP);
      return 0;
    }
    return runServe(args, {
      env: process.env,
      cwd: process.cwd(),
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      onSignal,
    });
  }
  const command = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (command === undefined) {
    process.stderr.write(`multiuser-server: unknown command '${cmd}'\n\n${USAGE}`);
    return 2;
  }
  if (wantsHelp(rest)) {
    process.stdout.write(command.usage + command.about);
    return 0;
  }
  return command.run(rest);
}
