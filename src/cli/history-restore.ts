/**
 * Restoring and exporting a moment of history (docs/history.md), on a stopped server:
 *
 * - `restore --at T` / `restore --before CHANGE`: the session at that moment becomes the
 *   current one. As `restore BACKUP` does, the current session is first kept as a backup
 *   (reason `pre-restore`); its journal moves to history/, so the moment just before the restore
 *   stays in history and the restore itself can be undone by another restore. The restored
 *   session is written as a new snapshot with a new id, kept as a checkpoint, and an empty
 *   journal segment following it starts the new stretch of the timeline at once.
 * - `export --at T --out FILE.db` (or `--before CHANGE`): that moment as a session file the
 *   add-on opens (Load session save). Read-only: works while the server runs.
 */
import { isAbsolute, join, resolve } from 'node:path';

import {
  StoreError,
  JOURNAL_DIR,
  SNAPSHOT_FILE,
  NODE_STORE_FS,
  statOrNull,
  HistoryKeeper,
  JournalWriter,
} from '../store/index.js';
import {
  type DataArgs,
  type DataIo,
  EXIT_FAIL,
  EXIT_OK,
  EXIT_USAGE,
  formatBytes,
  imageCheckOf,
  parseDataArgs,
  sessionOptionsOf,
  withDataDirLock,
} from './data-command.js';
import { inspectDataDir } from './data-inspect.js';
import {
  backUpNewSnapshot,
  setAsideCurrentSession,
  snapshotMetaOf,
  writeSnapshotImage,
  writeToolMetadata,
} from './data-set-aside.js';
import { HistoryGapError, HistoryReader, type Moment, type Reconstructed } from './history-read.js';
import { formatMoment, parseMoment } from './history-time.js';
import { historyOptionsOf } from './persistence.js';
import { NULL_LOGGER } from '../session/index.js';

export const RESTORE_AT_USAGE = 'usage: multiuser-server restore --at TIME | --before CHANGE [--data-dir DIR]\n';
export const EXPORT_AT_USAGE =
  'usage: multiuser-server export --at TIME | --before CHANGE --out FILE.db [--force] [--data-dir DIR]\n';

/** Whether a restore/export command line names a moment of history. */
export function namesMoment(argv: readonly string[]): boolean {
  return argv.some((a) => a === '--at' || a === '--before' || a.startsWith('--at=') || a.startsWith('--before='));
}

/** The moment `--at` / `--before` name, or a usage error. */
async function momentOf(args: DataArgs, reader: HistoryReader, nowMs: number): Promise<Moment | string> {
  const at = args.flags.get('--at');
  const before = args.flags.get('--before');
  if ((at === undefined) === (before === undefined)) return 'give exactly one of --at TIME and --before CHANGE';
  if (typeof at === 'string') {
    const ms = parseMoment(at, nowMs);
    if (typeof ms === 'string') return `--at: ${ms}`;
    return reader.momentAt(ms);
  }
  return reader.momentBefore(before as string);
}

function describeMoment(m: Moment, r: Reconstructed): string {
  const after =
    m.lastChange === null
      ? `the start of ${m.segment.file}`
      : `change ${m.lastChange} (${formatMoment(m.lastAtMs ?? 0)})`;
  return (
    `the session after ${after}: ${r.image.nodes.length} nodes, ${r.image.users.size} users, ` +
    `${r.image.chat.length} chat message(s), ${r.image.tasks.size} task(s) ` +
    `(${r.checkpoint === null ? 'an empty session' : r.checkpoint.file} + ${r.replayed} change(s) replayed)`
  );
}

export async function runRestoreAt(argv: readonly string[], io: DataIo): Promise<number> {
  const args = parseDataArgs(argv, io, { '--at': 'value', '--before': 'value' }, { min: 0, max: 0 });
  const usage = (text: string): number => {
    io.stderr.write(`multiuser-server restore: ${text}\n${RESTORE_AT_USAGE}`);
    return EXIT_USAGE;
  };
  if (typeof args === 'string') return usage(args);
  return restoreMoment(args, io);
}

/**
 * Checks, without changing anything, that history can rebuild the moment `--at` / `--before`
 * name: the live restore asks before it disconnects anyone. Returns the moment's flags with a
 * relative or local `--at` made absolute (so the restore that follows rebuilds the same moment
 * however long the disconnection takes), or why not (`usage` for a badly written moment).
 */
/** The moment the arguments name, rebuilt from history; or why not: a usage error or a gap in history. */
async function rebuildNamedMoment(
  args: DataArgs,
  reader: HistoryReader,
  nowMs: number,
): Promise<{ moment: Moment; rebuilt: Reconstructed } | { usage: boolean; message: string }> {
  try {
    const moment = await momentOf(args, reader, nowMs);
    if (typeof moment === 'string') return { usage: true, message: moment };
    return { moment, rebuilt: await reader.reconstruct(moment) };
  } catch (e) {
    if (e instanceof HistoryGapError) return { usage: false, message: e.message };
    throw e;
  }
}

export async function checkMoment(
  args: DataArgs,
  nowMs: number,
): Promise<{ flags: Map<string, string | true> } | { usage: boolean; message: string }> {
  if (historyOptionsOf(args.config) === null)
    return { usage: false, message: 'history is off (HISTORY_RETENTION=0): there is no moment to restore' };
  const reader = await HistoryReader.open(args.dataDir, sessionOptionsOf(args.config));
  const rebuilt = await rebuildNamedMoment(args, reader, nowMs);
  if ('message' in rebuilt) return rebuilt;
  const flags = new Map(args.flags);
  const at = args.flags.get('--at');
  if (typeof at === 'string') flags.set('--at', new Date(parseMoment(at, nowMs) as number).toISOString());
  return { flags };
}

/** `restore --at` / `--before` on parsed arguments: the data directory must not be in use. */
export async function restoreMoment(args: DataArgs, io: DataIo): Promise<number> {
  const usage = (text: string): number => {
    io.stderr.write(`multiuser-server restore: ${text}\n${RESTORE_AT_USAGE}`);
    return EXIT_USAGE;
  };
  const now = io.now ?? Date.now;
  const say = (text: string): void => void io.stdout.write(`${text}\n`);
  const fail = (text: string): number => {
    io.stderr.write(`multiuser-server restore: ${text}\n`);
    return EXIT_FAIL;
  };
  const history = historyOptionsOf(args.config);
  if (history === null) return fail('history is off (HISTORY_RETENTION=0): there is no moment to restore');
  const dataDir = args.dataDir;
  return withDataDirLock('restore', dataDir, io, { create: false }, async () => {
    const reader = await HistoryReader.open(dataDir, sessionOptionsOf(args.config));
    const named = await rebuildNamedMoment(args, reader, now());
    if ('message' in named) return named.usage ? usage(named.message) : fail(`${named.message}; nothing was changed`);
    const { moment, rebuilt } = named;
    for (const p of rebuilt.problems) io.stderr.write(`multiuser-server restore: warning: ${p}\n`);
    say(`Rebuilt ${describeMoment(moment, rebuilt)}`);

    const check = imageCheckOf(sessionOptionsOf(args.config));
    const plan = await inspectDataDir(dataDir, { checkAll: false, stderr: io.stderr, check });
    const lines = await setAsideCurrentSession(dataDir, plan, {
      reason: 'pre-restore',
      config: args.config,
      now,
      stderr: io.stderr,
    });
    for (const line of lines) say(line);

    const reason =
      typeof args.flags.get('--at') === 'string'
        ? `restore:at:${formatMoment(moment.lastAtMs ?? moment.segment.createdAtMs)}`
        : `restore:before:${String(args.flags.get('--before'))}`;
    const meta = snapshotMetaOf(reason, now());
    const target = join(dataDir, SNAPSHOT_FILE);
    const { bytes } = await writeSnapshotImage(target, rebuilt.image, meta, {
      stderr: io.stderr,
      noReplace: false,
      label: `Writing ${SNAPSHOT_FILE}`,
    });
    say(`${SNAPSHOT_FILE} is now that moment (${formatBytes(bytes)})`);
    const backupFile = await backUpNewSnapshot(dataDir, now());
    say(`Backed it up as ${backupFile}`);
    await writeToolMetadata(dataDir, {
      nowMs: now(),
      reason,
      image: rebuilt.image,
      bytes,
      backupFile,
      snapshotId: meta.snapshotId,
      formatVersion: meta.formatVersion,
    });
    const warn = (text: string): void => void io.stderr.write(`multiuser-server restore: warning: ${text}\n`);
    const log = { ...NULL_LOGGER, warn, error: warn };
    const keeper = new HistoryKeeper({ dataDir, ...history, log });
    const cp = await keeper.checkpoint(target, meta.snapshotId);
    // The restored session's own stretch of the timeline starts now, not at the next start.
    await NODE_STORE_FS.mkdir(join(dataDir, JOURNAL_DIR)).catch(() => undefined);
    const journal = JournalWriter.open({
      dir: join(dataDir, JOURNAL_DIR),
      follows: { kind: 'snapshot', snapshotId: meta.snapshotId },
      fsync: 'off',
      now,
    });
    await journal.close();
    say(
      `${cp === null ? 'No history checkpoint kept for it (see the warning)' : `Kept it as history checkpoint ${cp}`}; ` +
        'the session before the restore stays in history ' +
        '(undo with another restore). Next start loads the restored session.',
    );
    return EXIT_OK;
  });
}

export async function runExportAt(argv: readonly string[], io: DataIo): Promise<number> {
  const args = parseDataArgs(
    argv,
    io,
    { '--at': 'value', '--before': 'value', '--out': 'value', '--force': 'bool' },
    { min: 0, max: 0 },
  );
  const usage = (text: string): number => {
    io.stderr.write(`multiuser-server export: ${text}\n${EXPORT_AT_USAGE}`);
    return EXIT_USAGE;
  };
  if (typeof args === 'string') return usage(args);
  const outArg = args.flags.get('--out');
  if (typeof outArg !== 'string') return usage('--out FILE.db is required');
  const now = io.now ?? Date.now;
  const out = isAbsolute(outArg) ? outArg : resolve(io.cwd, outArg);
  const force = args.flags.has('--force');
  const fail = (text: string): number => {
    io.stderr.write(`multiuser-server export: ${text}\n`);
    return EXIT_FAIL;
  };
  if (!force && (await statOrNull(NODE_STORE_FS, out)) !== null)
    return fail(`${out} already exists; use --force to replace it`);
  const reader = await HistoryReader.open(args.dataDir, sessionOptionsOf(args.config));
  const named = await rebuildNamedMoment(args, reader, now());
  if ('message' in named) return named.usage ? usage(named.message) : fail(named.message);
  const { moment, rebuilt } = named;
  for (const p of rebuilt.problems) io.stderr.write(`multiuser-server export: warning: ${p}\n`);
  let bytes: number;
  try {
    ({ bytes } = await writeSnapshotImage(out, rebuilt.image, snapshotMetaOf('export', now()), {
      stderr: io.stderr,
      noReplace: !force,
      label: `Writing ${outArg}`,
    }));
  } catch (e) {
    if (e instanceof StoreError && e.code === 'STORE_EXISTS')
      return fail(`${out} already exists; use --force to replace it`);
    throw e;
  }
  io.stdout.write(
    `Exported ${describeMoment(moment, rebuilt)} to ${out} (${formatBytes(bytes)})\n` +
      'Open it in Blender with the Multi-User add-on: Load session save.\n',
  );
  return EXIT_OK;
}
