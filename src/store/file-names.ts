/**
 * Every file and folder name under DATA_DIR, in one place (STYLE.md §8, like the "Naming rules"
 * block of redis `aof.c`). The first four are what the seed's operator guide documents
 * (seed/000: `session_snapshot.pkl`, `session_metadata.json`,
 * `backups/snapshot_20250112_143025.pkl`); the rest are ours.
 *
 * ```
 * DATA_DIR/
 * ├── session_snapshot.pkl            latest snapshot (gzip of a protocol-4 pickle, also an add-on .db)
 * ├── session_metadata.json           human-readable summary of that snapshot
 * ├── server.lock                     held by the running server / CLI tool (pid, host)
 * ├── backups/snapshot_YYYYMMDD_HHMMSS[_N].pkl   the newest MAX_BACKUPS snapshots (local time)
 * ├── journal/<segment id>.jnl        append-only log of mutations after a snapshot
 * ├── history/<segment id>.jnl        journal segments kept after their snapshot (HISTORY_RETENTION)
 * ├── history/<snapshot id>.pkl       checkpoints: snapshots kept so history can be replayed from them
 * └── corrupt/<name>.<YYYYMMDD_HHMMSS>[.N]       damaged or foreign files, moved aside, never deleted
 * ```
 */

export const SNAPSHOT_FILE = 'session_snapshot.pkl';
export const METADATA_FILE = 'session_metadata.json';
export const LOCK_FILE = 'server.lock';
export const BACKUPS_DIR = 'backups';
export const JOURNAL_DIR = 'journal';
export const CORRUPT_DIR = 'corrupt';
export const HISTORY_DIR = 'history';
/** A history checkpoint: `history/<snapshot id>.pkl` (a hard link to, or a copy of, that snapshot). */
export const CHECKPOINT_NAME_RE = /^([A-Za-z0-9][A-Za-z0-9_-]*)\.pkl$/;
/** Disk space held for the journal (journal-reserve.ts): released when the journal hits a full disk. */
export const JOURNAL_RESERVE_FILE = 'journal.reserve';

/** Suffix of every temporary file: `<target name>.<pid>.<counter>.tmp`, next to its target. */
export const TEMP_SUFFIX = '.tmp';
/** A temp file we wrote (possibly left over by a crash). Anything else ending in .tmp is not ours. */
export const TEMP_NAME_RE = /^(.+)\.(\d+)\.(\d+)\.tmp$/;

/** Backups we rotate: `snapshot_YYYYMMDD_HHMMSS.pkl` or `snapshot_YYYYMMDD_HHMMSS_N.pkl` (N ≥ 1). */
export const BACKUP_NAME_RE = /^snapshot_(\d{8})_(\d{6})(?:_([1-9]\d*))?\.pkl$/;

/** A journal segment: `<segment id>.jnl`; the id is also in the segment header, which is authoritative. */
export const JOURNAL_SEGMENT_RE = /^([A-Za-z0-9][A-Za-z0-9_-]*)\.jnl$/;
const JOURNAL_SEGMENT_SUFFIX = '.jnl';

let tempCounter = 0;

/** A fresh temp name for `target` (a file name, not a path): unique within this process. */
export function tempNameFor(target: string, pid: number = process.pid): string {
  tempCounter = (tempCounter + 1) % 1_000_000_000;
  return `${target}.${pid}.${tempCounter}${TEMP_SUFFIX}`;
}

/** `YYYYMMDD_HHMMSS` of `ms` in LOCAL time, as the seed's backup names are. */
export function localStamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getFullYear(), 4)}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** ISO-like local date-time to the second, as the seed's metadata example: `2025-01-12T14:32:25`. */
export function localIsoSeconds(ms: number): string {
  const s = localStamp(ms);
  return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}`;
}

/** A parsed backup name. `key` orders backups oldest first (stamp, then collision counter). */
export interface BackupName {
  name: string;
  /** `YYYYMMDD_HHMMSS`. */
  stamp: string;
  /** 0 for the plain name, N for `_N`. */
  seq: number;
  /** Local time the stamp names, in ms since the epoch. */
  timeMs: number;
}

export function parseBackupName(name: string): BackupName | null {
  const m = BACKUP_NAME_RE.exec(name);
  if (m === null) return null;
  const [date, time] = [m[1], m[2]];
  const timeMs = new Date(
    Number(date.slice(0, 4)),
    Number(date.slice(4, 6)) - 1,
    Number(date.slice(6, 8)),
    Number(time.slice(0, 2)),
    Number(time.slice(2, 4)),
    Number(time.slice(4, 6)),
  ).getTime();
  return { name, stamp: `${date}_${time}`, seq: m[3] === undefined ? 0 : Number(m[3]), timeMs };
}

export function formatBackupName(stamp: string, seq: number): string {
  return seq === 0 ? `snapshot_${stamp}.pkl` : `snapshot_${stamp}_${seq}.pkl`;
}

/** Orders parsed backup names oldest first. */
export function compareBackupNames(a: BackupName, b: BackupName): number {
  if (a.stamp !== b.stamp) return a.stamp < b.stamp ? -1 : 1;
  return a.seq - b.seq;
}

export function journalSegmentName(segmentId: string): string {
  return `${segmentId}${JOURNAL_SEGMENT_SUFFIX}`;
}

/** `corrupt/` name of a moved file: `<name>.<stamp>` or `<name>.<stamp>.<n>` when taken. */
export function corruptName(original: string, stamp: string, n: number): string {
  return n === 0 ? `${original}.${stamp}` : `${original}.${stamp}.${n}`;
}
