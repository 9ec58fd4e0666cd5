/**
 * Startup recovery: the newest snapshot that decodes, plus the journal records written after it
 * (DESIGN §4 "Recovery", STYLE.md §9).
 *
 * Order: session_snapshot.pkl, then backups/ newest first. A file that is missing moves on to
 * the next; a damaged one (truncated, bit-flipped, bad pickle, bad structure) or one refused as
 * input (`check`: a node a client could not have sent) is moved to corrupt/ with a loud log and
 * the next is tried. An empty session is returned only when there
 * was nothing on disk, or when every file failed (`allFailed`, the loudest log line). A file of
 * a newer format, or one that cannot be read for another reason (permissions, I/O error), stops
 * recovery with the error: falling back past it would later overwrite newer data.
 *
 * The journal chain is chosen by journal-chain.ts; foreign segments are moved aside, never
 * replayed; obsolete ones are deleted; torn tails are cut; a corrupt segment is copied aside
 * and cut at the damage, and replay stops there.
 */
import { join } from 'node:path';

import { describeCause, isUnloadable, StoreError } from './errors.js';
import { JOURNAL_DIR, JOURNAL_SEGMENT_RE, localIsoSeconds, SNAPSHOT_FILE, BACKUPS_DIR } from './file-names.js';
import { NODE_STORE_FS, readdirOrEmpty, statOrNull, type StoreFs } from './fs-port.js';
import { copyTailToCorrupt, copyToCorrupt, ensureDataDir, moveToCorrupt, removeStaleTemps } from './data-dir.js';
import { listBackups } from './backups.js';
import { moveSegmentToHistory } from './history.js';
import { planJournalChain, type SegmentEntry } from './journal-chain.js';
import { JOURNAL_FORMAT_VERSION, type JournalFollows, type SegmentHeader } from './journal-format.js';
import { readJournalSegment, readSegmentHeader } from './journal-reader.js';
import * as msg from './log-messages.js';
import type { Logger } from '../session/index.js';
import { readMetadataFile, type SessionMetadataFile } from './metadata-file.js';
import type { SessionImage } from './session-image.js';
import { readSnapshotFile, type DecodedSnapshot, type ImageCheck, type SnapshotReadLimits } from './snapshot-codec.js';
import type { SnapshotMeta } from './snapshot-pickle.js';

export interface RecoveryOptions {
  /**
   * The session's validation of a decoded image as network input (required: a file is input,
   * whatever it claims to be). A file it refuses is moved to corrupt/ like a damaged one.
   */
  check: ImageCheck;
  fs?: StoreFs;
  limits?: Partial<SnapshotReadLimits>;
  now?: () => number;
  maxRecordBytes?: number;
  /** History is kept: segments older than the loaded snapshot go to history/ instead of being deleted. */
  keepHistory?: boolean;
}

export interface RecoveredSource {
  kind: 'snapshot' | 'backup';
  /** Relative to DATA_DIR: `session_snapshot.pkl` or `backups/snapshot_….pkl`. */
  file: string;
  snapshotId: string;
  /** Null for a file saved by the add-on. */
  meta: SnapshotMeta | null;
  /** Save time: the snapshot's own, or the file's mtime for an add-on file. */
  savedAtMs: number;
  compressedBytes: number;
}

export interface RecoveredJournal {
  /** Payloads to replay, in order, through the same handler as live traffic (STYLE.md §2). */
  records: Uint8Array[];
  /** Segment file names replayed, in order. */
  segments: string[];
  /** Pass to `JournalWriter.open({ follows, chain, reuse })`. */
  follows: JournalFollows;
  chain: string[];
  /**
   * The chain's last segment when it holds no record and nothing was cut from it (in this build's
   * format): the writer appends to it instead of starting a segment, so starting and stopping a
   * server on an unchanged session leaves the data directory as it was. Null otherwise.
   */
  reuse: { segmentId: string; bytes: number } | null;
  tornTails: number;
  /** A segment was corrupt mid-log: replay stopped at the damage. */
  corrupt: boolean;
}

export interface RecoveryResult {
  /** Null: nothing on disk, or `allFailed`. */
  image: SessionImage | null;
  source: RecoveredSource | null;
  /** Snapshot or backup files existed but none decoded (they are now in corrupt/). */
  allFailed: boolean;
  /** Paths (relative to DATA_DIR) of everything moved or copied to corrupt/. */
  movedToCorrupt: string[];
  journal: RecoveredJournal;
  metadata: Partial<SessionMetadataFile> | null;
  /** For `SnapshotWriter`'s guard against saving an empty session over a non-empty one. */
  lastKnownNodeCount: number;
  /** The journal segment session_metadata.json says follows the loaded snapshot, when it is missing (logged at ERROR). */
  missingSegment: string | null;
}

/**
 * The journal segment that session_metadata.json says continues the loaded snapshot, when that
 * file is missing: its changes are lost (someone deleted it, or the disk lost it). Null when the
 * metadata describes another snapshot (a fallback, a crash before the metadata was written) or
 * names no segment (a snapshot written by a data tool).
 */
export async function findMissingJournalSegment(
  fsys: StoreFs,
  dataDir: string,
  metadata: Partial<SessionMetadataFile> | null,
  loadedId: string | null,
): Promise<string | null> {
  const expected = metadata?.journal_segment;
  if (loadedId === null || metadata?.snapshot_id !== loadedId || typeof expected !== 'string') return null;
  const name = expected.startsWith(`${JOURNAL_DIR}/`) ? expected.slice(JOURNAL_DIR.length + 1) : '';
  if (!JOURNAL_SEGMENT_RE.test(name)) return null;
  return (await statOrNull(fsys, join(dataDir, JOURNAL_DIR, name))) === null ? `${JOURNAL_DIR}/${name}` : null;
}

/**
 * Finds and decodes the newest valid snapshot and the journal records that follow it. Call it
 * while holding the data-dir lock. Throws StoreError for what must stop the server: STORE_FORMAT
 * (a newer server's file), STORE_READ_FAILED (unreadable, not damaged), STORE_LIMIT.
 */
export async function loadNewestValid(dataDir: string, log: Logger, options: RecoveryOptions): Promise<RecoveryResult> {
  const fsys = options.fs ?? NODE_STORE_FS;
  const now = options.now ?? Date.now;
  await ensureDataDir(fsys, dataDir);
  await removeStaleTemps(fsys, dataDir, log);
  const metadata = await readMetadataFile(dataDir, fsys);
  const moved: string[] = [];

  const candidates: { kind: 'snapshot' | 'backup'; file: string }[] = [{ kind: 'snapshot', file: SNAPSHOT_FILE }];
  for (const b of (await listBackups(dataDir, fsys)).reverse()) {
    candidates.push({ kind: 'backup', file: `${BACKUPS_DIR}/${b.name}` });
  }
  let loaded: { decoded: DecodedSnapshot; source: RecoveredSource } | null = null;
  let failures = 0;
  for (const c of candidates) {
    const path = join(dataDir, c.file);
    const stat = await statOrNull(fsys, path);
    if (stat === null) continue;
    let decoded: DecodedSnapshot;
    try {
      decoded = await readSnapshotFile(path, { fs: fsys, limits: options.limits, check: options.check });
    } catch (e) {
      if (!(e instanceof StoreError)) throw e;
      if (e.code === 'STORE_NOT_FOUND') continue;
      if (!isUnloadable(e)) throw e;
      failures++;
      let movedTo: string | null = null;
      try {
        movedTo = await moveToCorrupt(fsys, dataDir, path, now());
        moved.push(movedTo);
      } catch (me) {
        log.error(`Could not move ${c.file} to corrupt/: ${describeCause(me)}`);
      }
      log.error(msg.logSnapshotUnreadable(c.file, e.message, movedTo, e.code === 'STORE_REFUSED'));
      continue;
    }
    const savedAtMs = decoded.meta?.savedAtMs ?? stat.mtimeMs;
    loaded = {
      decoded,
      source: {
        kind: c.kind,
        file: c.file,
        snapshotId: decoded.snapshotId,
        meta: decoded.meta,
        savedAtMs,
        compressedBytes: decoded.compressedBytes,
      },
    };
    break;
  }

  const loadedId = loaded?.decoded.snapshotId ?? null;
  const missingSegment = await findMissingJournalSegment(fsys, dataDir, metadata, loadedId);
  if (missingSegment !== null) log.error(msg.logJournalSegmentMissing(missingSegment, loaded?.source.file ?? ''));
  const journal = await recoverJournal(fsys, dataDir, loadedId, log, now, moved, options);

  if (loaded === null) {
    if (failures > 0) log.error(msg.logAllSnapshotsFailed(failures));
    else log.info(msg.LOG_NO_SAVED_SESSION);
  } else {
    const { decoded, source } = loaded;
    if (source.kind === 'backup' && failures > 0) log.error(msg.logFellBackToBackup(source.file));
    log.info(msg.LOG_SESSION_RESTORED);
    log.info(msg.logRestoredTimestamp(localIsoSeconds(source.savedAtMs)));
    log.info(msg.logRestoredUsers(decoded.image.users.size));
    log.info(msg.logRestoredNodes(decoded.image.nodes.length));
    log.info(msg.logRestoredFrom(source.file, source.meta?.reason ?? null));
  }
  if (journal.records.length > 0 || journal.segments.length > 0) {
    log.info(msg.logJournalReplay(journal.records.length, journal.segments));
  }
  const metaNodes = typeof metadata?.node_count === 'number' ? metadata.node_count : 0;
  return {
    image: loaded?.decoded.image ?? null,
    source: loaded?.source ?? null,
    allFailed: loaded === null && failures > 0,
    movedToCorrupt: moved,
    journal,
    metadata,
    lastKnownNodeCount: Math.max(metaNodes, loaded?.decoded.image.nodes.length ?? 0),
    missingSegment,
  };
}

async function recoverJournal(
  fsys: StoreFs,
  dataDir: string,
  loadedId: string | null,
  log: Logger,
  now: () => number,
  moved: string[],
  options: RecoveryOptions,
): Promise<RecoveredJournal> {
  const dir = join(dataDir, JOURNAL_DIR);
  const entries: SegmentEntry[] = [];
  for (const name of (await readdirOrEmpty(fsys, dir)).sort()) {
    if (!JOURNAL_SEGMENT_RE.test(name)) continue;
    let header: SegmentHeader | null = null;
    try {
      header = (await readSegmentHeader(join(dir, name), { fs: fsys })).header;
    } catch (e) {
      if (!(e instanceof StoreError) || e.code !== 'STORE_CORRUPT') throw e;
    }
    entries.push({ name, header });
  }
  const plan = planJournalChain(entries, loadedId);

  const moveAside = async (entry: SegmentEntry, why: string): Promise<void> => {
    let to: string | null = null;
    try {
      to = await moveToCorrupt(fsys, dataDir, join(dir, entry.name), now());
      moved.push(to);
    } catch (e) {
      log.error(`Could not move journal ${entry.name} to corrupt/: ${describeCause(e)}`);
    }
    log.error(msg.logJournalForeign(entry.name, loadedId, to, why));
  };

  for (const entry of plan.obsolete) {
    if (options.keepHistory === true) {
      const to = await moveSegmentToHistory(fsys, dataDir, join(dir, entry.name)).catch(() => null);
      if (to !== null) {
        log.info(`Moved journal ${entry.name} to ${to}: older than the loaded snapshot`);
        continue;
      }
    }
    await fsys.unlink(join(dir, entry.name)).catch(() => undefined);
    log.info(`Deleted journal ${entry.name}: older than the loaded snapshot`);
  }
  for (const entry of plan.foreign) {
    const h = entry.header;
    const why =
      h === null
        ? 'its header is damaged'
        : h.follows.kind === 'snapshot'
          ? `it follows snapshot ${h.follows.snapshotId}`
          : h.follows.kind === 'empty'
            ? 'it follows an empty session'
            : `it follows journal ${h.follows.segmentId}`;
    await moveAside(entry, why);
  }

  const records: Uint8Array[] = [];
  const segments: string[] = [];
  const chain: string[] = [];
  let tornTails = 0;
  let corrupt = false;
  let tail: { id: string; bytes: number } | null = null;
  let reuse: { segmentId: string; bytes: number } | null = null;
  for (let i = 0; i < plan.chain.length; i++) {
    const entry = plan.chain[i];
    const header = entry.header as SegmentHeader;
    if (tail !== null && header.follows.kind === 'segment' && header.follows.bytes !== tail.bytes) {
      log.error(msg.logJournalGap(entry.name, header.follows.bytes, tail.bytes));
      for (const rest of plan.chain.slice(i)) await moveAside(rest, 'a gap in the journal before it');
      break;
    }
    const path = join(dir, entry.name);
    const read = await readJournalSegment(path, {
      fs: fsys,
      repair: true,
      salvage: true,
      maxRecordBytes: options.maxRecordBytes,
    });
    if (read.tornTail !== null) {
      tornTails++;
      const t = read.tornTail;
      let copy: string | null = null;
      if (!t.truncated) {
        // Not proven torn (the search for a valid record after it ran out of budget): keep what is cut off.
        try {
          copy = await copyTailToCorrupt(fsys, dataDir, path, read.validBytes, now());
          moved.push(copy);
          await fsys.truncate(path, read.validBytes);
        } catch (e) {
          log.error(`Could not cut the torn tail of journal ${entry.name}: ${describeCause(e)}`);
        }
      }
      log.warn(msg.logJournalTornTail(entry.name, t.offset, t.droppedBytes, t.reason, copy));
    }
    if (read.corruption !== null) {
      corrupt = true;
      let copy: string | null = null;
      try {
        copy = await copyToCorrupt(fsys, dataDir, path, now());
        moved.push(copy);
        await fsys.truncate(path, read.validBytes);
      } catch (e) {
        log.error(`Could not set corrupt journal ${entry.name} aside: ${describeCause(e)}`);
      }
      log.error(msg.logJournalCorrupt(entry.name, read.corruption.offset, read.records.length, copy));
    }
    for (const r of read.records) records.push(r);
    segments.push(entry.name);
    chain.push(header.segmentId);
    tail = { id: header.segmentId, bytes: read.validBytes };
    const untouched = read.tornTail === null && read.corruption === null && read.fileBytes === read.validBytes;
    reuse =
      untouched && read.records.length === 0 && header.formatVersion === JOURNAL_FORMAT_VERSION
        ? { segmentId: header.segmentId, bytes: read.validBytes }
        : null;
  }

  let follows: JournalFollows;
  if (tail !== null) follows = { kind: 'segment', segmentId: tail.id, bytes: tail.bytes };
  else if (loadedId !== null) follows = { kind: 'snapshot', snapshotId: loadedId };
  else follows = { kind: 'empty' };
  return { records, segments, follows, chain, reuse, tornTails, corrupt };
}
