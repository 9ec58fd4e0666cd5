/**
 * Before `restore` or `import` replaces session_snapshot.pkl, the current session is kept — never
 * lost — and the journal is moved out of the way, so the new snapshot loads cleanly:
 *
 * - the state the next start would have loaded, as a new backup: the snapshot with its journal
 *   replayed (if any), written as a
 *   snapshot of its own (reason `pre-restore` / `pre-import`, also without a journal), so
 *   restoring that backup brings back exactly what was there, journal included;
 * - a snapshot that does not load (damaged, or a newer format) is moved to corrupt/, never deleted;
 * - every journal segment leaves journal/: a journal is replayed only onto the snapshot it
 *   follows (journal-chain.ts), and the snapshot that follows it now is another one. Moved, the
 *   next start finds no foreign segment to complain about. It is not damaged, so it goes where a
 *   save puts the segments it covers: into history/ (the changes stay listed and restorable,
 *   the moment before the restore or import is one of history's); with history off
 *   (HISTORY_RETENTION=0) to corrupt/ as before, since nothing there would keep it.
 */
import { join } from 'node:path';

import {
  encodeSnapshot,
  writeFileAtomic,
  nextBackupName,
  rotateBackups,
  writeBackup,
  moveToCorrupt,
  StoreError,
  BACKUPS_DIR,
  JOURNAL_DIR,
  JOURNAL_SEGMENT_RE,
  SNAPSHOT_FILE,
  NODE_STORE_FS,
  readdirOrEmpty,
  moveSegmentToHistory,
  metadataOf,
  writeMetadataFile,
  type SessionImage,
  newSnapshotId,
  SNAPSHOT_FORMAT_VERSION,
  type SnapshotMeta,
} from '../store/index.js';
import type { Config } from './config.js';
import { formatBytes } from './data-command.js';
import type { LoadPlan } from './data-inspect.js';
import { countBytes, Progress, type ProgressOptions } from './data-progress.js';
import { replaySession } from './data-replay.js';
import { historyOptionsOf } from './persistence.js';
import { serverVersion } from './version.js';

const MAX_NAME_ATTEMPTS = 100;

export interface SetAsideOptions {
  /** `pre-restore` or `pre-import`: the reason written into a replayed backup. */
  reason: string;
  config: Config;
  now: () => number;
  stderr: NodeJS.WritableStream;
  progress?: ProgressOptions;
}

/** Keeps the current session and clears the journal (see the file comment). Returns what was done, one line each. */
export async function setAsideCurrentSession(
  dataDir: string,
  plan: LoadPlan,
  options: SetAsideOptions,
): Promise<string[]> {
  const done: string[] = [];
  const snapshot = plan.files.find((f) => f.kind === 'snapshot') ?? null;
  const records = plan.journal.records.length;
  if (records > 0) {
    const replayed = replaySession(plan.loaded?.decoded ?? null, plan.journal.records, options.config, options.stderr);
    const { name, bytes } = await writeImageAsBackup(dataDir, replayed.image, options.reason, options);
    const from = plan.loaded === null ? 'an empty session' : plan.loaded.check.file;
    done.push(
      `Kept the current session (${from} + ${records} journal record(s): ${replayed.image.nodes.length} nodes, ` +
        `${replayed.image.users.size} users) as ${BACKUPS_DIR}/${name} (${formatBytes(bytes)})`,
    );
  } else if (snapshot !== null && snapshot.summary !== null && plan.loaded?.check === snapshot && plan.loaded.decoded) {
    // Written as a snapshot of its own, not copied: its reason must say why it was kept.
    const { name, bytes } = await writeImageAsBackup(dataDir, plan.loaded.decoded.image, options.reason, options);
    done.push(
      `Kept the current ${SNAPSHOT_FILE} (${snapshot.summary.nodes} nodes, ${snapshot.summary.users} users) as ` +
        `${BACKUPS_DIR}/${name} (${formatBytes(bytes)})`,
    );
  } else if (snapshot !== null && snapshot.summary !== null) {
    const b = await writeBackup(dataDir, snapshot.path, { nowMs: options.now() });
    done.push(
      `Kept the current ${SNAPSHOT_FILE} (${snapshot.summary.nodes} nodes, ${snapshot.summary.users} users) as ${BACKUPS_DIR}/${b.name}`,
    );
  }
  if (snapshot !== null && snapshot.summary === null) {
    const to = await moveToCorrupt(NODE_STORE_FS, dataDir, snapshot.path, options.now());
    // Damaged, or one this server cannot load (a newer format after a downgrade): kept, never deleted.
    done.push(`Moved ${SNAPSHOT_FILE}, which cannot be loaded, to ${to} (${snapshot.error?.message ?? 'unreadable'})`);
  }
  const dir = join(dataDir, JOURNAL_DIR);
  const toHistory = historyOptionsOf(options.config) !== null;
  for (const name of (await readdirOrEmpty(NODE_STORE_FS, dir)).sort()) {
    if (!JOURNAL_SEGMENT_RE.test(name)) continue;
    const to = toHistory
      ? await moveSegmentToHistory(NODE_STORE_FS, dataDir, join(dir, name))
      : await moveToCorrupt(NODE_STORE_FS, dataDir, join(dir, name), options.now());
    done.push(
      `Moved ${JOURNAL_DIR}/${name} to ${to}: it belongs to the previous snapshot and must not be replayed onto the new one`,
    );
  }
  return done;
}

/**
 * Copies the snapshot a tool just put in place into backups/, as every save does: recovery falls
 * back to the newest backup when the snapshot is damaged, and the journal the server writes next
 * follows this snapshot's id, which that backup shares. Returns `backups/<name>`.
 */
export async function backUpNewSnapshot(dataDir: string, nowMs: number): Promise<string> {
  const b = await writeBackup(dataDir, join(dataDir, SNAPSHOT_FILE), { nowMs });
  return `${BACKUPS_DIR}/${b.name}`;
}

/**
 * Deletes the oldest backups beyond MAX_BACKUPS after a tool added some, as a save would (the
 * limit holds at once, not only after the next save). Returns one line per deleted file.
 */
export async function rotateAfterTool(dataDir: string, maxBackups: number): Promise<string[]> {
  const deleted = await rotateBackups(dataDir, maxBackups);
  return deleted.map((name) => `Deleted old backup ${BACKUPS_DIR}/${name} (MAX_BACKUPS=${maxBackups})`);
}

/** Writes `image` as a new snapshot file in backups/ under the next free name; never replaces a file. */
export async function writeImageAsBackup(
  dataDir: string,
  image: SessionImage,
  reason: string,
  options: { now: () => number; stderr: NodeJS.WritableStream; progress?: ProgressOptions },
): Promise<{ name: string; bytes: number }> {
  const dir = join(dataDir, BACKUPS_DIR);
  await NODE_STORE_FS.mkdir(dir);
  const names = await readdirOrEmpty(NODE_STORE_FS, dir);
  const nowMs = options.now();
  const meta = snapshotMetaOf(reason, nowMs);
  for (let attempt = 0; ; attempt++) {
    const name = nextBackupName(names, nowMs);
    try {
      const { bytes } = await writeSnapshotImage(join(dir, name), image, meta, { ...options, noReplace: true });
      return { name, bytes };
    } catch (err) {
      if (!(err instanceof StoreError) || err.code !== 'STORE_EXISTS' || attempt >= MAX_NAME_ATTEMPTS) throw err;
      names.push(name);
    }
  }
}

/** A fresh snapshot's own metadata (`'multiuser_server'` key), saved now for `reason`. */
export function snapshotMetaOf(reason: string, nowMs: number): SnapshotMeta {
  return {
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    serverVersion: serverVersion(),
    snapshotId: newSnapshotId(nowMs),
    savedAtMs: nowMs,
    reason,
  };
}

/** Encodes and writes a snapshot file atomically, with progress in compressed bytes written. */
export async function writeSnapshotImage(
  path: string,
  image: SessionImage,
  meta: SnapshotMeta,
  options: { stderr: NodeJS.WritableStream; progress?: ProgressOptions; noReplace: boolean; label?: string },
): Promise<{ bytes: number }> {
  const progress = new Progress(options.stderr, options.label ?? `Writing ${path}`, 'bytes', null, options.progress);
  const stream = encodeSnapshot(image, meta);
  try {
    const out = await writeFileAtomic(path, countBytes(stream, progress), { noReplace: options.noReplace });
    progress.finish();
    return out;
  } finally {
    stream.destroy();
  }
}

/** session_metadata.json for a snapshot put in place by a tool (no journal segment follows it yet). */
export async function writeToolMetadata(
  dataDir: string,
  m: {
    nowMs: number;
    reason: string;
    image: SessionImage;
    bytes: number;
    backupFile: string | null;
    snapshotId: string;
    formatVersion: number;
  },
): Promise<void> {
  await writeMetadataFile(
    dataDir,
    metadataOf({
      savedAtMs: m.nowMs,
      reason: m.reason,
      initialized: m.image.initialized,
      userCount: m.image.users.size,
      nodeCount: m.image.nodes.length,
      chatCount: m.image.chat.length,
      taskCount: m.image.tasks.size,
      bytes: m.bytes,
      backupFile: m.backupFile,
      snapshotId: m.snapshotId,
      formatVersion: m.formatVersion,
      serverVersion: serverVersion(),
      journal: null,
    }),
  );
}
