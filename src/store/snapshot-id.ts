/**
 * Snapshot ids. Every snapshot we write carries one (`'multiuser_server'`→`'snapshot_id'`), and
 * every journal segment names the id it follows, so a journal is replayed only onto the snapshot
 * it was written after (a backup copied over session_snapshot.pkl has another id).
 */
import { randomBytes } from 'node:crypto';

/** Filename-safe (journal segments are named by id) and sortable: `20250112T143025123Z-1a2b3c4d`. */
export function newSnapshotId(nowMs: number): string {
  const iso = new Date(nowMs).toISOString(); // 2025-01-12T14:30:25.123Z
  const compact = iso.replace(/[-:]/g, '').replace('.', '');
  return `${compact}-${randomBytes(4).toString('hex')}`;
}

/**
 * The id of a session file without our keys (saved by the add-on, or an older tool): derived
 * from the gzip trailer (CRC-32 and size of the uncompressed pickle), so the same file gets the
 * same id on every start and a journal written after loading it can follow it.
 */
export function importedSnapshotId(gzipCrc32: number, gzipSize: number): string {
  const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
  return `import-${hex(gzipCrc32)}-${hex(gzipSize)}`;
}
