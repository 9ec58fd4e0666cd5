/** Persistence: snapshots, backups, journal, metadata file, data-dir lock, recovery (DESIGN §4). */
export type { SessionImage, SessionImageNode } from './session-image.js';
export { StoreError, storeError, type StoreErrorCode, type WriteStep } from './errors.js';
export { NODE_STORE_FS, type StoreFileHandle, type StoreFs, type StoreStats } from './fs-port.js';
export * from './file-names.js';
export * from './log-messages.js';
export {
  copyFileAtomic,
  fsyncDir,
  writeFileAtomic,
  type AtomicWriteOptions,
  type WriteSource,
} from './atomic-write.js';
export {
  KEY_NODES,
  KEY_SERVER,
  KEY_USERS,
  META_KEYS,
  SNAPSHOT_FORMAT_VERSION,
  snapshotPickleParts,
  type SnapshotMeta,
} from './snapshot-pickle.js';
export {
  decodeSnapshotBytes,
  DEFAULT_SNAPSHOT_READ_LIMITS,
  encodeSnapshot,
  readSnapshotFile,
  type DecodedSnapshot,
  type EncodeSnapshotOptions,
  type SnapshotReadLimits,
} from './snapshot-codec.js';
export { importedSnapshotId, newSnapshotId } from './snapshot-id.js';
export {
  DEFAULT_JOURNAL_FSYNC,
  DEFAULT_MAX_RECORD_BYTES,
  parseJournalFsync,
  type JournalFollows,
  type JournalFsyncPolicy,
  type SegmentHeader,
} from './journal-format.js';
export { JournalWriter, type JournalPosition, type JournalWriterOptions } from './journal-writer.js';
export {
  readJournalSegment,
  readSegmentHeader,
  type JournalCorruption,
  type JournalReadOptions,
  type SegmentRead,
  type TornTail,
} from './journal-reader.js';
export { planJournalChain, type JournalChainPlan, type SegmentEntry } from './journal-chain.js';
export {
  DEFAULT_MAX_BACKUPS,
  listBackups,
  nextBackupName,
  rotateBackups,
  writeBackup,
  type BackupEntry,
} from './backups.js';
export {
  metadataOf,
  readMetadataFile,
  writeMetadataFile,
  type MetadataInput,
  type SessionMetadataFile,
} from './metadata-file.js';
export {
  acquireDataDirLock,
  DataDirLock,
  readDataDirLock,
  type DataDirLockOptions,
  type LockInfo,
} from './data-dir-lock.js';
export { copyTailToCorrupt, copyToCorrupt, ensureDataDir, moveToCorrupt, removeStaleTemps } from './data-dir.js';
export {
  loadNewestValid,
  type RecoveredJournal,
  type RecoveredSource,
  type RecoveryOptions,
  type RecoveryResult,
} from './recovery.js';
export {
  SnapshotWriter,
  type SaveOutcome,
  type SaveRequestOptions,
  type SnapshotWriterOptions,
} from './snapshot-writer.js';
export { DEFAULT_DISK_FREE_WARN_BYTES, DiskSpaceMonitor, formatSpace, type DiskSpaceStatus } from './disk-space.js';
export { describeCause, isUnloadable } from './errors.js';
export { readdirOrEmpty, statOrNull } from './fs-port.js';
export {
  listDirSync,
  openAppendStream,
  openFileReadStream,
  pathExistsSync,
  readFileBytesSync,
  readTextFileSync,
  statPathSync,
  type AppendStream,
  type FileReadStream,
  type PathStats,
} from './fs-port.js';
export { HistoryGapError, planReplay, readSegmentRecords, segmentKey, type SegmentBreak } from './history-timeline.js';
export {
  DEFAULT_HISTORY_CHECKPOINT_INTERVAL_S,
  DEFAULT_HISTORY_MAX_BYTES,
  DEFAULT_HISTORY_RETENTION_S,
  HistoryKeeper,
  listHistory,
  moveSegmentToHistory,
  type HistoryCheckpoint,
  type HistoryListing,
  type HistorySegment,
} from './history.js';
export { DEFAULT_JOURNAL_RESERVE_BYTES, JournalReserve } from './journal-reserve.js';
export { JournalSink, type JournalSinkStatus } from './journal-sink.js';
export { FSYNC_LATENCY_BOUNDS_S, type JournalWriterStats } from './journal-writer.js';
export { findMissingJournalSegment } from './recovery.js';
export { type ImageCheck } from './snapshot-codec.js';
