/**
 * The persistence log lines operators grep for (DESIGN §4, seed/000 "Monitoring" and "Testing
 * Recovery"), in one file so they are a contract: tests assert them verbatim (STYLE.md §10).
 * `grep "Session saved"`, `grep "Failed to save"` and `grep "restored"` must keep working.
 */

/** INFO at start when periodic saves are on (seed: `Auto-save enabled (interval: 120s)`). Logged by the server. */
export function logAutoSaveEnabled(intervalS: number): string {
  return `Auto-save enabled (interval: ${intervalS}s)`;
}

/** INFO after a durable save. Reasons: `auto-save`, `user_disconnect:NAME`, `shutdown`, `manual`, … */
export function logSessionSaved(reason: string): string {
  return `Session saved to disk (reason: ${reason})`;
}

/** The save that closes a session: at shutdown, or before a live restore replaces it. */
export function isFinalSave(reason: string): boolean {
  return reason === 'shutdown' || reason === 'pre-restore';
}

/**
 * When a save finds the session exactly as the last save wrote it: nothing is written (no
 * snapshot, backup or metadata). DEBUG, except INFO for an operator's explicit `save` and for the
 * final save at shutdown or before a live restore. The shutdown line starts as a written one does, because operators look
 * for `Session saved to disk (reason: shutdown)` after a stop (`docker-compose down`), and the
 * session is on disk: the last save holds exactly this content.
 */
export function logSaveUnchanged(reason: string): string {
  if (isFinalSave(reason)) {
    return `Session saved to disk (reason: ${reason}): unchanged since the last save, nothing rewritten`;
  }
  return `Session unchanged since the last save: nothing written (reason: ${reason})`;
}

/** INFO for each backup rotation deletes: which file, and the rule that deleted it. */
export function logBackupRotated(name: string, maxBackups: number): string {
  return `Deleted old backup ${name} (MAX_BACKUPS=${maxBackups}: the newest ${maxBackups} are kept)`;
}

/** ERROR when a save failed; the previous snapshot is intact and the next trigger retries. */
export function logSaveFailed(why: string): string {
  return `Failed to save session: ${why}`;
}

/** WARN when the snapshot was saved but its backup copy was not. */
export function logBackupFailed(why: string): string {
  return `Failed to save backup: ${why}`;
}

/** WARN when the snapshot was saved but session_metadata.json was not updated. */
export function logMetadataFailed(why: string): string {
  return `Failed to save session metadata: ${why}`;
}

/** DEBUG when a periodic save is skipped because nothing changed. Logged by the server. */
export const LOG_SAVE_SKIPPED = 'Auto-save skipped: no changes since the last save';

/** INFO, first of the restore lines (seed: `Session restored from disk`). */
export const LOG_SESSION_RESTORED = 'Session restored from disk';

/** INFO, after LOG_SESSION_RESTORED: local save time to the second (seed: `Timestamp: 2025-01-12T14:32:25`). */
export function logRestoredTimestamp(datetime: string): string {
  return `Timestamp: ${datetime}`;
}

/** INFO (seed: `Users: 3`). */
export function logRestoredUsers(count: number): string {
  return `Users: ${count}`;
}

/** INFO. */
export function logRestoredNodes(count: number): string {
  return `Nodes: ${count}`;
}

/** INFO: which file the session came from. */
export function logRestoredFrom(file: string, reason: string | null): string {
  return reason === null ? `Restored from: ${file}` : `Restored from: ${file} (saved for: ${reason})`;
}

/** INFO: journal records to replay on top of the snapshot. */
export function logJournalReplay(records: number, segments: readonly string[]): string {
  return `Journal: ${records} record(s) to replay from ${segments.length === 0 ? 'no segment' : segments.join(', ')}`;
}

/** INFO when there is nothing on disk yet. */
export const LOG_NO_SAVED_SESSION = 'No saved session found: starting with an empty session';

/** ERROR when a snapshot file cannot be used. */
export function logSnapshotUnreadable(file: string, why: string, movedTo: string | null, refused = false): string {
  const where = movedTo === null ? 'left in place' : `moved to ${movedTo}`;
  return `Snapshot ${file} is ${refused ? 'refused' : 'unreadable'} (${why}); ${where}; trying the newest backup`;
}

/** ERROR when the fallback chain ended on a backup rather than session_snapshot.pkl. */
export function logFellBackToBackup(file: string): string {
  return `Recovered from backup ${file}: the newer snapshot was damaged or refused. Check the disk, and the files in corrupt/`;
}

/** ERROR, loudest: files existed but none decoded. */
export function logAllSnapshotsFailed(count: number): string {
  return (
    `NO SNAPSHOT COULD BE READ: all ${count} snapshot/backup file(s) are damaged and were moved to corrupt/. ` +
    'Starting with an EMPTY session. Stop the server and restore a file by hand if you have a good copy elsewhere'
  );
}

/** WARN: a torn last journal record was dropped (expected after a crash or power loss). */
export function logJournalTornTail(
  segment: string,
  offset: number,
  dropped: number,
  reason: string,
  copy: string | null = null,
): string {
  const kept = copy === null ? '' : `; not fully verified, the dropped bytes are kept as ${copy}`;
  return `Journal ${segment}: dropped a torn last record at byte ${offset} (${dropped} bytes, ${reason}); this is the normal end of a log cut by a crash${kept}`;
}

/** ERROR: damage in the middle of a journal segment. */
export function logJournalCorrupt(segment: string, offset: number, kept: number, copy: string | null): string {
  return (
    `Journal ${segment} is CORRUPT at byte ${offset}: replaying the ${kept} record(s) before it, dropping the rest; ` +
    `${copy === null ? 'could not keep a copy' : `original kept as ${copy}`}. Check the disk`
  );
}

/** ERROR: a journal that does not follow the loaded snapshot (e.g. a backup was restored by hand). */
export function logJournalForeign(segment: string, loaded: string | null, movedTo: string | null, why: string): string {
  return (
    `Journal ${segment} does not belong to the loaded snapshot ${loaded ?? '(none)'} (${why}); NOT replayed; ` +
    `${movedTo === null ? 'could not move it aside' : `moved to ${movedTo}`}`
  );
}

/** ERROR: a chain segment whose predecessor is shorter than it expects (records lost before it). */
export function logJournalGap(segment: string, expected: number, found: number): string {
  return `Journal ${segment} follows ${expected} bytes of its predecessor but only ${found} survived; it and later segments are NOT replayed`;
}

/** INFO at start when SAVE_INTERVAL is 0. Logged by the server. */
export const LOG_AUTO_SAVE_DISABLED =
  'Auto-save disabled (SAVE_INTERVAL=0): saves happen on disconnect, shutdown and `save`';

/** INFO at start: where the files are and how durable the journal is. Logged by the server. */
export function logDataDir(dir: string, fsync: 'always' | 'off' | number, maxBackups: number): string {
  const policy = typeof fsync === 'number' ? `every ${fsync} ms` : fsync;
  return `Data directory: ${dir} (journal fsync: ${policy}, backups kept: ${maxBackups})`;
}

/** INFO after recovery (snapshot + journal replay + releasing absent users' locks): what the server serves. */
export function logSessionReady(nodes: number, users: number, replayed: number, initialized: boolean): string {
  const state = initialized ? 'active: clients get RUNNING' : 'waiting for an Init: clients get LOBBY';
  return `Session ready: ${nodes} node(s), ${users} user record(s), ${replayed} journal record(s) replayed; ${state}`;
}

/** ERROR: a journal record passed its checksum but is not a change this server can apply (skipped). */
export function logJournalRecordSkipped(index: number, why: string): string {
  return `Journal record ${index} not replayed: ${why}`;
}

/** ERROR for a replayed record that fails the checks of network input (a node a client could not send). */
export function logJournalRecordRefused(index: number, why: string): string {
  return `Journal record ${index} refused as input, not replayed: ${why}`;
}

/** INFO at shutdown when the state on disk is already current. Logged by the server. */
export const LOG_SHUTDOWN_SAVE_SKIPPED = 'Empty session, never changed: no shutdown save needed';

/** ERROR under JOURNAL_FSYNC=always: the server stops accepting changes (STYLE.md §8). */
export function logJournalFailedRefusing(why: string): string {
  return (
    `JOURNAL FAILED under JOURNAL_FSYNC=always (${why}): changes are refused until the journal can be written ` +
    'again (retried every second); logins, joins and heartbeats go on'
  );
}

/** ERROR under the other fsync policies, repeated at most once a minute while changes are held. */
export function logJournalFailedHolding(why: string, held: number): string {
  return (
    `JOURNAL FAILED (${why}): ${held} change(s) held only in memory, relayed but not on disk; ` +
    'they are written to the journal, in order, as soon as it works again (free space in DATA_DIR)'
  );
}

/** ERROR at start: the journal segment that continues the loaded snapshot is gone. */
export function logJournalSegmentMissing(segment: string, snapshotFile: string): string {
  return (
    `Journal segment ${segment} is MISSING: session_metadata.json says it continues ${snapshotFile}; ` +
    'the changes made after that save are lost unless the file is restored from another copy'
  );
}

/** INFO when a failed journal works again. */
export function logJournalWritableAgain(written: number): string {
  return `Journal writable again: ${written} change(s) held in memory written to it, in order`;
}
