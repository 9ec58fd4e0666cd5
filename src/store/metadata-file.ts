/**
 * session_metadata.json: the human-readable summary of the current snapshot (seed/000 "View
 * Current Session Info": timestamp, datetime, reason, user_count, node_count), written after
 * each successful save. Operators `cat` it and monitoring reads it; nothing in recovery depends
 * on it except the empty-overwrite guard (its `node_count`).
 */
import { join } from 'node:path';

import { writeFileAtomic } from './atomic-write.js';
import { localIsoSeconds, METADATA_FILE, SNAPSHOT_FILE } from './file-names.js';
import { NODE_STORE_FS, type StoreFs } from './fs-port.js';

/** The file's fields, snake_case as written. */
export interface SessionMetadataFile {
  /** Save time, float seconds since the epoch (seed: `1736695945.123`). */
  timestamp: number;
  /** Save time, local, to the second (seed: `"2025-01-12T14:32:25"`). */
  datetime: string;
  /** `auto-save`, `user_disconnect:NAME`, `shutdown`, `manual`, … */
  reason: string;
  /** Whether the session was ACTIVE (clients get RUNNING after a restart). */
  initialized: boolean;
  user_count: number;
  node_count: number;
  chat_count: number;
  task_count: number;
  /** Size of session_snapshot.pkl in bytes. */
  bytes: number;
  snapshot_file: string;
  /** The backup made of this snapshot (`backups/snapshot_….pkl`), or null if that failed / is disabled. */
  backup_file: string | null;
  snapshot_id: string;
  format_version: number;
  server_version: string;
  /** The journal segment that continues from this snapshot, and the byte offset its records start at. */
  journal_segment: string | null;
  journal_offset: number | null;
}

export interface MetadataInput {
  savedAtMs: number;
  reason: string;
  initialized: boolean;
  userCount: number;
  nodeCount: number;
  chatCount: number;
  taskCount: number;
  bytes: number;
  backupFile: string | null;
  snapshotId: string;
  formatVersion: number;
  serverVersion: string;
  journal: { segment: string; offset: number } | null;
}

export function metadataOf(m: MetadataInput): SessionMetadataFile {
  return {
    // Milliseconds precision, like the seed's example (Python time.time() rounded for JSON).
    timestamp: Math.round(m.savedAtMs) / 1000,
    datetime: localIsoSeconds(m.savedAtMs),
    reason: m.reason,
    initialized: m.initialized,
    user_count: m.userCount,
    node_count: m.nodeCount,
    chat_count: m.chatCount,
    task_count: m.taskCount,
    bytes: m.bytes,
    snapshot_file: SNAPSHOT_FILE,
    backup_file: m.backupFile,
    snapshot_id: m.snapshotId,
    format_version: m.formatVersion,
    server_version: m.serverVersion,
    journal_segment: m.journal?.segment ?? null,
    journal_offset: m.journal?.offset ?? null,
  };
}

/** Writes DATA_DIR/session_metadata.json atomically (2-space JSON). Throws STORE_WRITE_FAILED. */
export async function writeMetadataFile(
  dataDir: string,
  meta: SessionMetadataFile,
  fsys: StoreFs = NODE_STORE_FS,
): Promise<void> {
  const text = `${JSON.stringify(meta, null, 2)}\n`;
  await writeFileAtomic(join(dataDir, METADATA_FILE), Buffer.from(text, 'utf8'), { fs: fsys });
}

/** The metadata file, or null when it is missing or unreadable (it is informational only). */
export async function readMetadataFile(
  dataDir: string,
  fsys: StoreFs = NODE_STORE_FS,
): Promise<Partial<SessionMetadataFile> | null> {
  let text: string;
  try {
    text = (await fsys.readFile(join(dataDir, METADATA_FILE))).toString('utf8');
  } catch {
    return null;
  }
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Partial<SessionMetadataFile>) : null;
  } catch {
    return null;
  }
}
