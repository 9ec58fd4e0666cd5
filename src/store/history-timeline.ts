/**
 * History as one timeline: every segment of history/ and journal/, oldest first, and the way
 * back from any point to the checkpoint it is replayed from (pure over a listing), plus a
 * streaming record reader that stops at the first damaged record and says where.
 *
 * A change is named `<segment>:<n>`: the segment's file name without `.jnl` and the record's
 * 1-based index in it. A moment is "after the first k records of segment s".
 */
import { describeCause, storeError } from './errors.js';
import { NODE_STORE_FS, type StoreFs } from './fs-port.js';
import type { HistoryCheckpoint, HistoryListing, HistorySegment } from './history.js';
import { DEFAULT_MAX_RECORD_BYTES, JOURNAL_MAGIC, RECORD_HEADER_BYTES, recordCrcMatches } from './journal-format.js';

/** The `<segment>` part of a change id: the file name without `.jnl` (`<id>` or `<id>.<n>`). */
export function segmentKey(s: HistorySegment): string {
  const name = s.file.slice(s.file.lastIndexOf('/') + 1);
  return name.slice(0, -'.jnl'.length);
}

/** One step of a replay: the first `records` records of `segment` (all of them when null). */
export interface ReplayStep {
  segment: HistorySegment;
  /** Replay at most this many records; null = every record up to `bytes`. */
  records: number | null;
  /** Replay only records that end within this many bytes (the next segment's `follows.bytes`); null = all. */
  bytes: number | null;
}

export interface ReplayPlan {
  /** The checkpoint to start from; null = the empty session. */
  checkpoint: HistoryCheckpoint | null;
  steps: ReplayStep[];
}

/** Why a moment cannot be reconstructed. */
export class HistoryGapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HistoryGapError';
  }
}

/**
 * The replay that gives "after the first `records` records of `target`": back along `follows`
 * to the nearest checkpoint (or the empty session). Throws HistoryGapError when a segment on the
 * way is missing or unreadable, or no checkpoint exists for its base.
 */
export function planReplay(listing: HistoryListing, target: HistorySegment, records: number): ReplayPlan {
  const byCheckpoint = new Map(listing.checkpoints.map((c) => [c.snapshotId, c] as const));
  const steps: ReplayStep[] = [{ segment: target, records, bytes: null }];
  let cur = target;
  for (let guard = 0; guard <= listing.segments.length; guard++) {
    const h = cur.header;
    if (h === null) throw new HistoryGapError(`history breaks at ${cur.file}: ${cur.error ?? 'unreadable header'}`);
    const own = byCheckpoint.get(h.segmentId);
    if (own !== undefined) return { checkpoint: own, steps };
    const f = h.follows;
    if (f.kind === 'empty') return { checkpoint: null, steps };
    if (f.kind === 'snapshot') {
      throw new HistoryGapError(
        `no checkpoint of snapshot ${f.snapshotId}, which ${cur.file} follows: the moments of ${cur.file} cannot be rebuilt`,
      );
    }
    const created = cur.createdAtMs;
    let prev: HistorySegment | null = null;
    for (const s of listing.segments) {
      if (s.header?.segmentId === f.segmentId && s !== cur && s.createdAtMs <= created) prev = s;
    }
    if (prev === null) {
      throw new HistoryGapError(
        `history breaks before ${cur.file}: the segment it follows (${f.segmentId}) is not in history/ or journal/ ` +
          '(dropped by retention, or deleted)',
      );
    }
    steps.unshift({ segment: prev, records: null, bytes: f.bytes });
    cur = prev;
  }
  throw new HistoryGapError(`history loops at ${cur.file}`);
}

/** One record as read from a segment. */
export interface RawRecord {
  /** 1-based index in the segment. */
  index: number;
  /** Byte offset of the record header. */
  offset: number;
  /** Offset after the record. */
  end: number;
  payload: Uint8Array;
}

/** Where a segment stops being readable. */
export interface SegmentBreak {
  file: string;
  offset: number;
  /** Records read before it. */
  records: number;
  reason: string;
  /** Ends exactly at the end of the file (a write cut short): normal for the newest segment. */
  atEnd: boolean;
}

const CHUNK = 4 * 1024 * 1024;

/**
 * Streams a segment's records, in order, reading 4 MiB at a time (a long segment is never held
 * whole). Stops at the first record that is short, too long or fails its CRC, and calls
 * `onBreak` with its place. The consumer may stop early (`break`): the file is closed.
 */
export async function* readSegmentRecords(
  segment: HistorySegment,
  options: { fs?: StoreFs; onBreak?: (b: SegmentBreak) => void; maxRecordBytes?: number } = {},
): AsyncGenerator<RawRecord> {
  const fsys = options.fs ?? NODE_STORE_FS;
  const maxRecord = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  let handle;
  try {
    handle = await fsys.open(segment.path, 'r');
  } catch (e) {
    throw storeError('STORE_READ_FAILED', `${segment.file}: ${describeCause(e)}`, { path: segment.path }, e);
  }
  try {
    const size = (await handle.stat()).size;
    let buf = Buffer.alloc(0);
    let bufStart = 0;
    const ensure = async (pos: number, len: number): Promise<boolean> => {
      if (pos + len > size) return false;
      if (pos >= bufStart && pos + len <= bufStart + buf.length) return true;
      const want = Math.min(Math.max(CHUNK, len), size - pos);
      const next = Buffer.allocUnsafe(want);
      let off = 0;
      while (off < want) {
        const n = await handle.read(next, off, want - off, pos + off);
        if (n === 0) return false;
        off += n;
      }
      buf = next;
      bufStart = pos;
      return true;
    };
    const at = (pos: number, len: number): Buffer => buf.subarray(pos - bufStart, pos - bufStart + len);
    if (!(await ensure(0, JOURNAL_MAGIC.length)) || !at(0, JOURNAL_MAGIC.length).equals(JOURNAL_MAGIC)) {
      options.onBreak?.({ file: segment.file, offset: 0, records: 0, reason: 'not a journal segment', atEnd: false });
      return;
    }
    let pos = JOURNAL_MAGIC.length;
    let index = -1; // the first record is the segment header
    for (;;) {
      if (pos === size) return;
      let reason: string | null = null;
      let len = 0;
      if (!(await ensure(pos, RECORD_HEADER_BYTES))) reason = 'short record header';
      else {
        len = at(pos, 4).readUInt32LE(0);
        if (len > maxRecord) reason = 'bad record length';
        else if (!(await ensure(pos, RECORD_HEADER_BYTES + len))) reason = 'record cut short';
        else if (!recordCrcMatches(at(pos, RECORD_HEADER_BYTES), at(pos + RECORD_HEADER_BYTES, len)))
          reason = 'checksum mismatch';
      }
      if (reason !== null) {
        const atEnd = reason === 'short record header' || reason === 'record cut short';
        options.onBreak?.({ file: segment.file, offset: pos, records: Math.max(0, index), reason, atEnd });
        return;
      }
      const end = pos + RECORD_HEADER_BYTES + len;
      if (index >= 0) {
        // A view of the chunk: every chunk is a fresh buffer, so a payload stays valid after the reader moves on.
        yield { index: index + 1, offset: pos, end, payload: at(pos + RECORD_HEADER_BYTES, len) };
      }
      index++;
      pos = end;
    }
  } finally {
    await handle.close().catch(() => undefined);
  }
}
