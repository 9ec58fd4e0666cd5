/**
 * `multiuser-server import FILE.db [--force] [--data-dir DIR]`: seeds a data directory from a
 * session saved in Blender with *Save session data* (any add-on `.db`, REPLICATION-PROTOCOL §6,
 * or a file `export` wrote). The file is decoded with the store's codec (a non-.db or damaged file
 * is refused, nothing changes), loaded into a session as the server would load it (node data
 * checked, locks COMMON, chat and tasks of its user records taken into the archive) and written
 * as session_snapshot.pkl in our format — so the next start restores it and clients get RUNNING.
 *
 * A data directory that already holds a session (the next start would load nodes, users, chat or
 * tasks, or its snapshot is damaged) is refused unless `--force`; then the current session is
 * kept as a backup first and the journal moved aside (data-set-aside.ts).
 */
import { basename, extname, isAbsolute, join, resolve } from 'node:path';

import { Session } from '../session/index.js';
import {
  SNAPSHOT_FILE,
  readSnapshotFile,
  type DecodedSnapshot,
  NODE_STORE_FS,
  statOrNull,
  StoreError,
} from '../store/index.js';
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
import { inspectDataDir, type LoadPlan } from './data-inspect.js';
import { Progress, progressFs } from './data-progress.js';
import { replaySession } from './data-replay.js';
import {
  backUpNewSnapshot,
  setAsideCurrentSession,
  snapshotMetaOf,
  writeSnapshotImage,
  writeToolMetadata,
  rotateAfterTool,
} from './data-set-aside.js';

export const IMPORT_USAGE = 'usage: multiuser-server import FILE.db [--force] [--data-dir DIR]\n';

export async function runImport(argv: readonly string[], io: DataIo): Promise<number> {
  const args = parseDataArgs(argv, io, { '--force': 'bool' }, { min: 1, max: 1 });
  if (typeof args === 'string') {
    io.stderr.write(`multiuser-server import: ${args}\n${IMPORT_USAGE}`);
    return EXIT_USAGE;
  }
  const now = io.now ?? Date.now;
  const arg = args.positionals[0];
  const path = isAbsolute(arg) ? arg : resolve(io.cwd, arg);
  const fail = (text: string): number => {
    io.stderr.write(`multiuser-server import: ${text}\n`);
    return EXIT_FAIL;
  };
  const say = (text: string): void => void io.stdout.write(`${text}\n`);

  if (extname(path).toLowerCase() !== '.db') {
    return fail(
      `${arg} is not a .db file: import takes a session saved by the add-on (Save session data → *.db); ` +
        'to bring back one of our snapshots use `multiuser-server restore`',
    );
  }
  const st = await statOrNull(NODE_STORE_FS, path);
  if (st === null || !st.isFile()) return fail(`${arg} does not exist or is not a file`);

  const options = sessionOptionsOf(args.config);
  const check = imageCheckOf(options);
  // Decoded before the lock is taken: a damaged file is refused without touching the data directory.
  let decoded: DecodedSnapshot;
  const progress = new Progress(io.stderr, `Reading ${arg}`, 'bytes', st.size);
  try {
    decoded = await readSnapshotFile(path, { fs: progressFs(NODE_STORE_FS, progress), check });
    progress.finish();
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    const why = err.message.startsWith(`${path}: `) ? err.message.slice(path.length + 2) : err.message;
    if (err.code === 'STORE_REFUSED') return fail(`${arg} is refused (${why}); nothing was changed`);
    return fail(`${arg} is not a readable session file (${why}); nothing was changed`);
  }
  const loaded = Session.fromImage(decoded.image, options);
  const problems = loaded.effects.filter((e) => e.type === 'log' && (e.level === 'warn' || e.level === 'error'));
  for (const p of problems) if (p.type === 'log') io.stderr.write(`multiuser-server import: warning: ${p.message}\n`);
  const image = loaded.session.exportImage();
  if (decoded.image.nodes.length > 0 && image.nodes.length === 0) {
    return fail(`none of the ${decoded.image.nodes.length} node(s) of ${arg} can be loaded; nothing was changed`);
  }
  say(
    `Read ${arg}: ${image.nodes.length} nodes, ${image.users.size} users, ${image.chat.length} chat message(s), ` +
      `${image.tasks.size} task(s)${decoded.meta === null ? ' (saved by the add-on)' : ` (exported by multiuser-server, ${decoded.meta.reason})`}`,
  );

  return withDataDirLock('import', args.dataDir, io, { create: true }, async () => {
    const plan = await inspectDataDir(args.dataDir, { checkAll: false, stderr: io.stderr, check });
    const held = describeHeld(plan, args.config, io.stderr);
    if (held !== null && !args.flags.has('--force')) {
      return fail(
        `${args.dataDir} already holds a session (${held}); use --force to replace it (the current session is kept as a backup)`,
      );
    }
    if (plan.fatal !== null) {
      // Even with --force: the current session could not be kept as a backup.
      return fail(`cannot keep the current session: ${plan.fatal.error?.message ?? ''}; nothing was changed`);
    }
    for (const line of await setAsideCurrentSession(args.dataDir, plan, {
      reason: 'pre-import',
      config: args.config,
      now,
      stderr: io.stderr,
    })) {
      say(line);
    }
    const reason = `import:${basename(path)}`;
    const meta = snapshotMetaOf(reason, now());
    const target = join(args.dataDir, SNAPSHOT_FILE);
    const { bytes } = await writeSnapshotImage(target, image, meta, { stderr: io.stderr, noReplace: false });
    say(`Wrote ${SNAPSHOT_FILE} (${formatBytes(bytes)}, snapshot ${meta.snapshotId})`);
    const backupFile = await backUpNewSnapshot(args.dataDir, now());
    say(`Backed it up as ${backupFile}`);
    await writeToolMetadata(args.dataDir, {
      nowMs: meta.savedAtMs,
      reason,
      image,
      bytes,
      backupFile,
      snapshotId: meta.snapshotId,
      formatVersion: meta.formatVersion,
    });
    say(`Updated session_metadata.json (reason: ${reason})`);
    for (const line of await rotateAfterTool(args.dataDir, args.config.maxBackups)) say(line);
    say(
      `Next start loads ${SNAPSHOT_FILE}: ${image.nodes.length} nodes, ${image.users.size} users` +
        `${image.initialized ? '; clients get RUNNING, no Init needed' : ''}`,
    );
    return EXIT_OK;
  });
}

/** Why the data directory counts as holding a session, or null when it holds nothing worth keeping. */
function describeHeld(
  plan: LoadPlan,
  config: Parameters<typeof replaySession>[2],
  stderr: NodeJS.WritableStream,
): string | null {
  if (plan.fatal !== null) return `${plan.fatal.file} cannot be read: ${plan.fatal.error?.message ?? ''}`;
  const snapshot = plan.files.find((f) => f.kind === 'snapshot');
  if (snapshot !== undefined && snapshot.summary === null) return `${SNAPSHOT_FILE} is damaged`;
  if (plan.loaded === null && plan.journal.records.length === 0) return null;
  const r = replaySession(plan.loaded?.decoded ?? null, plan.journal.records, config, stderr);
  const img = r.image;
  if (img.nodes.length + img.users.size + img.chat.length + img.tasks.size === 0) return null;
  const from = plan.loaded === null ? 'journal' : plan.loaded.check.file;
  return `${img.nodes.length} nodes, ${img.users.size} users, ${img.chat.length} chat message(s), ${img.tasks.size} task(s) from ${from}`;
}
