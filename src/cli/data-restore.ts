/**
 * `multiuser-server restore BACKUP [--data-dir DIR]`: makes a backup the session the next start
 * loads (docs/operations.md "Restoring a backup"). BACKUP is a file name in backups/ (`snapshot_20250112_143025.pkl`) or a path.
 *
 * 1. the backup is decoded fully first; a damaged one is refused and nothing changes;
 * 2. the current session is kept (data-set-aside.ts): a new backup of what the next start would
 *    have loaded, journal included; a damaged snapshot goes to corrupt/; the journal is moved to
 *    corrupt/ so it is not replayed onto the restored snapshot (it follows the old one);
 * 3. the backup is copied over session_snapshot.pkl atomically (temp, fsync, rename, fsync dir),
 *    and that snapshot is backed up again, as every save does: recovery falls back to the newest
 *    backup, which must be the restored session, not the pre-restore one;
 * 4. session_metadata.json says `restore:<file>`.
 * A crash between steps leaves either the old snapshot or the restored one, and the kept backup.
 */
import { basename, isAbsolute, join, resolve } from 'node:path';

import { copyFileAtomic, BACKUP_NAME_RE, BACKUPS_DIR, localIsoSeconds, SNAPSHOT_FILE } from '../store/index.js';
import {
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
import { checkSnapshotFile, inspectDataDir, inspectJournal } from './data-inspect.js';
import { backUpNewSnapshot, rotateAfterTool, setAsideCurrentSession, writeToolMetadata } from './data-set-aside.js';
import { namesMoment, RESTORE_AT_USAGE, runRestoreAt } from './history-restore.js';

export const RESTORE_USAGE = `usage: multiuser-server restore BACKUP [--data-dir DIR]\n${RESTORE_AT_USAGE.replace('usage: ', '       ')}`;

export async function runRestore(argv: readonly string[], io: DataIo): Promise<number> {
  if (namesMoment(argv)) return runRestoreAt(argv, io);
  const args = parseDataArgs(argv, io, {}, { min: 1, max: 1 });
  if (typeof args === 'string') {
    io.stderr.write(`multiuser-server restore: ${args}\n${RESTORE_USAGE}`);
    return EXIT_USAGE;
  }
  const now = io.now ?? Date.now;
  const dataDir = args.dataDir;
  const arg = args.positionals[0];
  // A bare backup name means backups/NAME; anything else is a path (from the working directory).
  const path =
    BACKUP_NAME_RE.test(arg) && basename(arg) === arg
      ? join(dataDir, BACKUPS_DIR, arg)
      : isAbsolute(arg)
        ? arg
        : resolve(io.cwd, arg);
  const fail = (text: string): number => {
    io.stderr.write(`multiuser-server restore: ${text}\n`);
    return EXIT_FAIL;
  };
  const say = (text: string): void => void io.stdout.write(`${text}\n`);

  return withDataDirLock('restore', dataDir, io, { create: false }, async () => {
    if (resolve(path) === resolve(dataDir, SNAPSHOT_FILE)) return fail(`${arg} is already the current snapshot`);
    const label = path.startsWith(join(dataDir, BACKUPS_DIR)) ? `${BACKUPS_DIR}/${basename(path)}` : path;
    const check = imageCheckOf(sessionOptionsOf(args.config));
    const chosen = await checkSnapshotFile(path, label, 'backup', check, io.stderr);
    if (chosen === null) return fail(`${label} does not exist (see \`multiuser-server backups\`)`);
    if (chosen.decoded === null || chosen.check.summary === null) {
      return fail(`${label} cannot be restored: ${chosen.check.error?.message ?? 'unreadable'}; nothing was changed`);
    }
    if (chosen.decoded.meta === null) {
      return fail(
        `${label} is a session saved by the add-on, not a server snapshot: use \`multiuser-server import ${arg}\``,
      );
    }
    const s = chosen.check.summary;
    say(
      `Verified ${label}: ${s.nodes} nodes, ${s.users} users, ${s.chat} chat message(s), ${s.tasks} task(s), ` +
        `saved ${localIsoSeconds(s.savedAtMs)} (${chosen.decoded.meta.reason})`,
    );

    const plan = await inspectDataDir(dataDir, { checkAll: false, stderr: io.stderr, check });
    for (const line of await setAsideCurrentSession(dataDir, plan, {
      reason: 'pre-restore',
      config: args.config,
      now,
      stderr: io.stderr,
    })) {
      say(line);
    }

    const target = join(dataDir, SNAPSHOT_FILE);
    const { bytes } = await copyFileAtomic(path, target);
    say(`${SNAPSHOT_FILE} is now a copy of ${label} (${formatBytes(bytes)})`);
    const backupFile = await backUpNewSnapshot(dataDir, now());
    say(`Backed it up as ${backupFile}: the newest backup is the snapshot again, as after every save`);
    const reason = `restore:${basename(path)}`;
    const image = chosen.decoded.image;
    await writeToolMetadata(dataDir, {
      nowMs: now(),
      reason,
      image,
      bytes,
      backupFile,
      snapshotId: chosen.decoded.snapshotId,
      formatVersion: chosen.decoded.meta.formatVersion,
    });
    say(`Updated session_metadata.json (reason: ${reason})`);
    for (const line of await rotateAfterTool(dataDir, args.config.maxBackups)) say(line);

    const journal = await inspectJournal(dataDir, chosen.decoded.snapshotId, { stderr: io.stderr });
    say(
      `Next start loads ${SNAPSHOT_FILE}: ${s.nodes} nodes, ${s.users} users, saved ${localIsoSeconds(s.savedAtMs)}` +
        `${s.nodes > 0 ? ' (clients get RUNNING)' : ''}; ` +
        (journal.segments.length === 0
          ? 'no journal to replay'
          : `journal: ${journal.segments.map((j) => `${j.file} ${j.verdict}`).join(', ')}`),
    );
    return EXIT_OK;
  });
}
