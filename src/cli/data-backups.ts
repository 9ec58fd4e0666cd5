/**
 * `multiuser-server backups [--data-dir DIR] [--json]`: the snapshot and every backup, in the order
 * recovery tries them, each decoded fully: file, save time, reason, nodes, users, size, verified
 * (docs/operations.md). Nothing is changed. Exit 0 when the listing was made (damaged files are listed as
 * not verified, with the reason); `verify` is the command whose exit code judges the directory.
 * Reads without the data-dir lock, so it works beside a running server and on a read-only mount.
 */
import { localIsoSeconds } from '../store/index.js';
import {
  type DataIo,
  EXIT_OK,
  EXIT_USAGE,
  formatBytes,
  imageCheckOf,
  parseDataArgs,
  sessionOptionsOf,
  withoutDataDirLock,
} from './data-command.js';
import { inspectDataDirStable, type FileCheck } from './data-inspect.js';

const UNSTABLE_NOTE =
  'warning: the server saved during every attempt to read the directory; the listing may mix two saves (run it again)';

export const BACKUPS_USAGE = 'usage: multiuser-server backups [--data-dir DIR] [--json]\n';

/** One row of `--json`. */
export interface BackupRow {
  file: string;
  kind: 'snapshot' | 'backup';
  /** Local save time to the second (the snapshot's own; the file's mtime when it does not decode). */
  time: string;
  timestamp: number;
  reason: string | null;
  nodes: number | null;
  users: number | null;
  chat: number | null;
  tasks: number | null;
  bytes: number;
  verified: boolean;
  error: string | null;
  snapshot_id: string | null;
  /** Whether the next start loads this file. */
  loads: boolean;
}

export async function runBackups(argv: readonly string[], io: DataIo): Promise<number> {
  const args = parseDataArgs(argv, io, { '--json': 'bool' }, { min: 0, max: 0 });
  if (typeof args === 'string') {
    io.stderr.write(`multiuser-server backups: ${args}\n${BACKUPS_USAGE}`);
    return EXIT_USAGE;
  }
  return withoutDataDirLock('backups', args.dataDir, io, async () => {
    const { plan, stable } = await inspectDataDirStable(args.dataDir, {
      checkAll: true,
      skipJournal: true,
      stderr: io.stderr,
      check: imageCheckOf(sessionOptionsOf(args.config)),
    });
    // The snapshot first, then backups by the save time they show, newest first: a name's stamp
    // is local time, which a clock or zone change can put out of step with the save order.
    const rows = plan.files
      .map((f, i) => ({ row: rowOf(f, plan.loaded?.check === f), i }))
      .sort(
        (a, b) =>
          Number(b.row.kind === 'snapshot') - Number(a.row.kind === 'snapshot') ||
          b.row.timestamp - a.row.timestamp ||
          a.i - b.i,
      )
      .map((r) => r.row);
    if (!stable) io.stderr.write(`multiuser-server backups: ${UNSTABLE_NOTE}\n`);
    if (args.flags.has('--json')) {
      io.stdout.write(`${JSON.stringify({ data_dir: args.dataDir, files: rows }, null, 2)}\n`);
      return EXIT_OK;
    }
    io.stdout.write(`Data directory: ${args.dataDir}\n`);
    if (rows.length === 0) {
      io.stdout.write('No snapshot and no backup yet.\n');
      return EXIT_OK;
    }
    io.stdout.write(renderTable(rows));
    const loads = rows.find((r) => r.loads);
    io.stdout.write(
      loads === undefined
        ? 'The next start loads none of them (run `multiuser-server verify` for details).\n'
        : `The next start loads ${loads.file} (plus the journal that follows it).\n`,
    );
    return EXIT_OK;
  });
}

function rowOf(f: FileCheck, loads: boolean): BackupRow {
  const s = f.summary;
  const timeMs = s?.savedAtMs ?? f.mtimeMs;
  return {
    file: f.file,
    kind: f.kind,
    time: localIsoSeconds(timeMs),
    timestamp: Math.round(timeMs) / 1000,
    reason: s === null ? null : (s.meta?.reason ?? '(saved by the add-on)'),
    nodes: s?.nodes ?? null,
    users: s?.users ?? null,
    chat: s?.chat ?? null,
    tasks: s?.tasks ?? null,
    bytes: f.bytes,
    verified: s !== null,
    error: f.error === null ? null : shortReason(f.error.message, f.path),
    snapshot_id: s?.snapshotId ?? null,
    loads,
  };
}

/** The store's messages start with the path; the table already names the file. */
function shortReason(message: string, path: string): string {
  return message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message;
}

function renderTable(rows: readonly BackupRow[]): string {
  const header = ['FILE', 'TIME', 'REASON', 'NODES', 'USERS', 'SIZE', 'VERIFIED'];
  const cells = rows.map((r) => [
    r.loads ? `${r.file} *` : r.file,
    r.time,
    r.reason ?? '-',
    r.nodes === null ? '-' : String(r.nodes),
    r.users === null ? '-' : String(r.users),
    formatBytes(r.bytes),
    r.verified ? 'yes' : `no: ${r.error ?? 'unreadable'}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const numeric = new Set([3, 4, 5]);
  const line = (c: readonly string[]): string =>
    c
      .map((v, i) => (i === c.length - 1 ? v : numeric.has(i) ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line), '(* = loaded at the next start)', ''].join('\n');
}
