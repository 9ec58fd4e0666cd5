/**
 * The journal writer: every accepted mutation is appended before it is relayed (DESIGN §4,
 * redis `beforeSleep`). `append` is a synchronous positional write, so when it returns the
 * record is in the page cache and survives a crash of this process; fsync follows the policy:
 *
 * - `always`: `waitDurable()` fsyncs (one fsync covers every record appended so far: group
 *   commit) and rejects if the disk failed; the caller relays only after it resolves.
 * - an interval in ms (default 100): a timer fsyncs what was appended since the last one.
 * - `off`: the OS decides (fsync only at rotation and close).
 *
 * A write that fails for lack of space first asks `onNoSpace` (the journal reserve,
 * journal-reserve.ts) to free space and retries once. A failed write or fsync puts the writer in a
 * failed state: `append` throws `STORE_JOURNAL_FAILED` from then on (journal-sink.ts holds the
 * changes in memory meanwhile), until `tryResume` succeeds or a snapshot captured after the
 * failure is durable (`dropBefore`).
 *
 * At start the writer appends to the chain's last segment when it holds no record (recovery's
 * `reuse`), so a start and a clean stop of an unchanged session leave the data directory as it was;
 * otherwise it starts a segment that follows the chain's end.
 *
 * Rotation happens at snapshot capture, in the same synchronous step as the capture, so no
 * mutation falls between the snapshot and its journal: the new segment is named by the new
 * snapshot's id and follows the old segment at its current length. If that snapshot never
 * becomes durable, recovery replays the old snapshot, the old segment and the new one.
 */
import { join } from 'node:path';

import { fsyncDir } from './atomic-write.js';
import { describeCause, errnoOf, storeError, StoreError, type WriteStep } from './errors.js';
import { journalSegmentName } from './file-names.js';
import { NODE_STORE_FS, type StoreFs } from './fs-port.js';
import { moveSegmentToHistory } from './history.js';
import {
  DEFAULT_JOURNAL_FSYNC,
  DEFAULT_MAX_RECORD_BYTES,
  encodeSegmentStart,
  JOURNAL_FORMAT_VERSION,
  recordHeader,
  type JournalFollows,
  type JournalFsyncPolicy,
} from './journal-format.js';
import { NULL_LOGGER, type Logger } from '../session/index.js';
import { newSnapshotId } from './snapshot-id.js';

export interface JournalWriterOptions {
  /** DATA_DIR/journal (must exist). */
  dir: string;
  /** What the first segment's records apply to (recovery's `journal.follows`). */
  follows: JournalFollows;
  /** Ids of the existing segments of the chain, oldest first (recovery's `journal.chain`), for `dropBefore`. */
  chain?: readonly string[];
  /**
   * The chain's last segment, empty (recovery's `journal.reuse`): appended to instead of creating
   * a segment that follows it. If it cannot be opened, a new segment is created as without it.
   */
  reuse?: { segmentId: string; bytes: number } | null;
  /** `JOURNAL_FSYNC`. */
  fsync?: JournalFsyncPolicy;
  fs?: StoreFs;
  log?: Logger;
  serverVersion?: string;
  /** Clock for segment ids and headers (ms since the epoch). */
  now?: () => number;
  maxRecordBytes?: number;
  /** Called when the writer enters the failed state (any policy); not for a failed `tryResume`. */
  onError?: (error: StoreError) => void;
  /** A write failed with ENOSPC: free space if possible (synchronously) and return true to retry once. */
  onNoSpace?: () => boolean;
  /** DATA_DIR when history is kept: `dropBefore` moves covered segments to history/ instead of deleting them. */
  historyDataDir?: string | null;
}

/** Where the journal is: the active segment and its length. */
export interface JournalPosition {
  segmentId: string;
  /** Path relative to DATA_DIR: `journal/<id>.jnl`. */
  segment: string;
  bytes: number;
  records: number;
}

interface Retiring {
  fd: number;
  segmentId: string;
}

/** fsync latency buckets (s): an SSD syncs in well under 1 ms, a busy disk or network volume in 10s of ms. */
export const FSYNC_LATENCY_BOUNDS_S: readonly number[] = Object.freeze([
  0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5,
]);

/** Counters for metrics (read at scrape time; the writer only adds). */
export interface JournalWriterStats {
  appends: number;
  appendedBytes: number;
  /** Times the writer entered the failed state. */
  failures: number;
  /** fsync latency as plain counts per bucket of FSYNC_LATENCY_BOUNDS_S (+Inf last), not cumulative. */
  readonly fsyncCounts: number[];
  fsyncSumS: number;
}

export class JournalWriter {
  readonly stats: JournalWriterStats = {
    appends: 0,
    appendedBytes: 0,
    failures: 0,
    fsyncCounts: new Array<number>(FSYNC_LATENCY_BOUNDS_S.length + 1).fill(0),
    fsyncSumS: 0,
  };
  private fd: number;
  private segmentId: string;
  private bytes: number;
  private records = 0;
  private readonly chain: string[];
  private readonly retiring: Retiring[] = [];
  private dirDirty = true;
  private appendSeq = 0;
  private durableSeq = 0;
  private failed: { error: StoreError; segmentId: string } | null = null;
  private flushing: Promise<void> | null = null;
  private flushQueued: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private resuming = false;
  private readonly fsys: StoreFs;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly policy: JournalFsyncPolicy;
  private readonly maxRecordBytes: number;

  private constructor(private readonly opts: JournalWriterOptions) {
    this.fsys = opts.fs ?? NODE_STORE_FS;
    this.log = opts.log ?? NULL_LOGGER;
    this.now = opts.now ?? Date.now;
    this.policy = opts.fsync ?? DEFAULT_JOURNAL_FSYNC;
    this.maxRecordBytes = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.chain = [...(opts.chain ?? [])];
    const reused = this.reopenSegment(opts.reuse ?? null);
    if (reused !== null) {
      this.fd = reused.fd;
      this.segmentId = reused.segmentId;
      this.bytes = reused.bytes;
      if (this.chain.at(-1) !== reused.segmentId) this.chain.push(reused.segmentId);
    } else {
      const follows = opts.follows;
      const id = follows.kind === 'snapshot' ? follows.snapshotId : newSnapshotId(this.now());
      const { fd, bytes } = this.createSegment(id, follows);
      this.fd = fd;
      this.segmentId = id;
      this.bytes = bytes;
      this.chain.push(id);
    }
    if (typeof this.policy === 'number') {
      this.timer = setInterval(() => this.tick(), this.policy);
      this.timer.unref();
    }
  }

  /** Creates the first segment (synchronously). Throws STORE_WRITE_FAILED if it cannot be created. */
  static open(options: JournalWriterOptions): JournalWriter {
    return new JournalWriter(options);
  }

  get position(): JournalPosition {
    return {
      segmentId: this.segmentId,
      segment: `journal/${journalSegmentName(this.segmentId)}`,
      bytes: this.bytes,
      records: this.records,
    };
  }

  /** The error that put the writer in the failed state, or null. */
  get failure(): StoreError | null {
    return this.failed?.error ?? null;
  }

  get fsyncPolicy(): JournalFsyncPolicy {
    return this.policy;
  }

  /**
   * Appends one record (the concatenation of `payload`'s parts) to the page cache. Throws
   * StoreError: STORE_JOURNAL_FAILED (writer failed or the write failed now — a partial record
   * is cut back off), STORE_LIMIT (record larger than `maxRecordBytes`; nothing written).
   */
  append(payload: Uint8Array | readonly Uint8Array[]): JournalPosition {
    if (this.closed) throw new Error('journal writer is closed');
    if (this.failed !== null) throw this.failed.error;
    const parts = payload instanceof Uint8Array ? [payload] : payload;
    const header = recordHeader(parts);
    const len = header.readUInt32LE(0);
    let total = 0;
    for (const p of parts) total += p.length;
    if (total > this.maxRecordBytes || total !== len) {
      throw storeError('STORE_LIMIT', `journal record of ${total} bytes exceeds the limit of ${this.maxRecordBytes}`);
    }
    const start = this.bytes;
    try {
      this.writeRecord([header, ...parts], start);
    } catch (e) {
      // Cut a partial record off, so the next segment reader does not see damage mid-log.
      try {
        this.fsys.ftruncateSync(this.fd, start);
      } catch {
        // The reader treats a torn last record as the end of the log.
      }
      throw this.fail('write', this.segmentId, e);
    }
    this.bytes = start + 8 + total;
    this.records++;
    this.appendSeq++;
    this.stats.appends++;
    this.stats.appendedBytes += 8 + total;
    return this.position;
  }

  /** Writes one record at `start`; on ENOSPC, retries once after `onNoSpace` freed space. */
  private writeRecord(buffers: Uint8Array[], start: number): void {
    try {
      writeAllSync(this.fsys, this.fd, buffers, start);
    } catch (e) {
      if (errnoOf(e) !== 'ENOSPC' || this.opts.onNoSpace?.() !== true) throw e;
      this.fsys.ftruncateSync(this.fd, start);
      writeAllSync(this.fsys, this.fd, buffers, start);
    }
  }

  /**
   * Leaves the failed state if the disk works again: after a failed write (the partial record
   * was cut off) the segment goes on; after a failed fsync the kernel may have dropped what it
   * could not write, so the journal goes on in a fresh segment that follows the old one at its
   * length (recovery checks that link). Resolves whether the journal is writable now; a failure
   * here leaves the writer failed without calling `onError` again.
   */
  async tryResume(): Promise<boolean> {
    if (this.failed === null) return true;
    if (this.closed) return false;
    const was = this.failed;
    this.failed = null;
    this.resuming = true;
    try {
      if (was.error.step !== 'write') this.rotate(newSnapshotId(this.now()));
      await this.flush();
      return true;
    } catch {
      this.failed ??= was;
      return false;
    } finally {
      this.resuming = false;
    }
  }

  /**
   * Under `always`, resolves once every record appended so far is on disk (rejects with the
   * STORE_JOURNAL_FAILED error otherwise); under the other policies resolves at once.
   */
  waitDurable(): Promise<void> {
    if (this.policy !== 'always') return Promise.resolve();
    if (this.failed !== null) return Promise.reject(this.failed.error);
    if (this.durableSeq >= this.appendSeq && this.retiring.length === 0 && !this.dirDirty) return Promise.resolve();
    return this.flush();
  }

  /**
   * Starts a new segment named `snapshotId`, following the current one at its current length.
   * Synchronous, so it can run in the same step as the snapshot capture. Allowed while failed
   * (the snapshot is what ends the failed state). Throws STORE_WRITE_FAILED if the new segment
   * cannot be created; the current segment then stays active.
   */
  rotate(snapshotId: string): JournalPosition {
    if (this.closed) throw new Error('journal writer is closed');
    const follows: JournalFollows = { kind: 'segment', segmentId: this.segmentId, bytes: this.bytes };
    const { fd, bytes } = this.createSegment(snapshotId, follows);
    this.retiring.push({ fd: this.fd, segmentId: this.segmentId });
    this.fd = fd;
    this.segmentId = snapshotId;
    this.bytes = bytes;
    this.records = 0;
    this.chain.push(snapshotId);
    // Records of the new segment must not become durable before the old one's tail: the next
    // flush syncs retiring segments first (and recovery checks `follows.bytes` anyway).
    this.appendSeq++;
    return this.position;
  }

  /**
   * Deletes the segments older than `segmentId` in this writer's chain (moves them to history/
   * when history is kept): call it once the snapshot `segmentId` is durable. Ends the failed state if the failure was in one of them.
   * Returns the deleted file names; failures to delete are logged, not thrown.
   */
  async dropBefore(segmentId: string): Promise<string[]> {
    const idx = this.chain.indexOf(segmentId);
    if (idx <= 0) return [];
    // Their fds must be closed first: a retiring fd may still be waiting for its final fsync.
    await this.flush().catch(() => undefined);
    const old = this.chain.slice(0, idx);
    const deleted: string[] = [];
    const historyDataDir = this.opts.historyDataDir ?? null;
    for (const id of old) {
      const name = journalSegmentName(id);
      try {
        if (historyDataDir === null) await this.fsys.unlink(join(this.opts.dir, name));
        else await moveSegmentToHistory(this.fsys, historyDataDir, join(this.opts.dir, name));
        deleted.push(name);
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT') {
          this.log.warn(
            `Could not ${historyDataDir === null ? 'delete' : 'move to history/'} old journal segment ${name}: ${describeCause(e)}`,
          );
        }
      }
    }
    this.chain.splice(0, idx);
    if (this.failed !== null && old.includes(this.failed.segmentId)) {
      this.log.info(`Journal writable again: the snapshot ${segmentId} covers the failed segment`);
      this.failed = null;
    }
    await fsyncDir(this.fsys, this.opts.dir).catch(() => undefined);
    return deleted;
  }

  /**
   * fsyncs everything appended so far (retiring segments first, then the directory, then the
   * active segment), whatever the policy. Concurrent calls share one fsync; a call made while
   * one runs gets the next. Rejects with STORE_JOURNAL_FAILED.
   */
  flush(): Promise<void> {
    if (this.flushing === null) {
      this.flushing = this.doFlush().finally(() => {
        this.flushing = null;
      });
      return this.flushing;
    }
    if (this.flushQueued === null) {
      this.flushQueued = this.flushing
        .catch(() => undefined)
        .then(() => {
          this.flushQueued = null;
          return this.flush();
        });
    }
    return this.flushQueued;
  }

  /** Final fsync (every policy) and close. Rejects if that fsync fails; the fds are closed anyway. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    let error: unknown = null;
    if (this.failed === null) {
      await this.flush().catch((e: unknown) => {
        error = e;
      });
    }
    this.closed = true;
    for (const r of this.retiring.splice(0)) await this.fsys.closeFd(r.fd).catch(() => undefined);
    await this.fsys.closeFd(this.fd).catch(() => undefined);
    if (error !== null) throw error;
  }

  private async doFlush(): Promise<void> {
    if (this.failed !== null) throw this.failed.error;
    const target = this.appendSeq;
    while (this.retiring.length > 0) {
      const r = this.retiring[0];
      if (this.policy !== 'off') await this.step('fsync', r.segmentId, () => this.fsys.fdatasync(r.fd));
      this.retiring.shift();
      await this.fsys.closeFd(r.fd).catch(() => undefined);
    }
    if (this.dirDirty) {
      this.dirDirty = false;
      await this.step('fsync-dir', this.segmentId, () => fsyncDir(this.fsys, this.opts.dir));
    }
    const fd = this.fd;
    if (this.durableSeq < target && !this.closed) {
      await this.step('fsync', this.segmentId, () => this.fsys.fdatasync(fd));
    }
    if (target > this.durableSeq) this.durableSeq = target;
  }

  private async step(step: WriteStep, segmentId: string, run: () => Promise<void>): Promise<void> {
    const started = performance.now();
    try {
      await run();
    } catch (e) {
      throw this.fail(step, segmentId, e);
    }
    if (step === 'fsync') this.countFsync((performance.now() - started) / 1000);
  }

  private countFsync(seconds: number): void {
    let i = 0;
    while (i < FSYNC_LATENCY_BOUNDS_S.length && seconds > FSYNC_LATENCY_BOUNDS_S[i]) i++;
    this.stats.fsyncCounts[i]++;
    this.stats.fsyncSumS += seconds;
  }

  private tick(): void {
    if (this.failed !== null || this.flushing !== null) return;
    if (this.durableSeq >= this.appendSeq && this.retiring.length === 0 && !this.dirDirty) return;
    // The failure is recorded by fail(); nothing else to do here.
    this.flush().catch(() => undefined);
  }

  /**
   * Opens an existing empty segment for appending at `bytes` (positional writes, so the file's
   * own offset does not matter). Null when there is none to reuse or it cannot be opened.
   */
  private reopenSegment(
    reuse: { segmentId: string; bytes: number } | null,
  ): { fd: number; segmentId: string; bytes: number } | null {
    if (reuse === null) return null;
    const path = join(this.opts.dir, journalSegmentName(reuse.segmentId));
    try {
      const fd = this.fsys.openSync(path, 'r+');
      this.dirDirty = false;
      return { fd, segmentId: reuse.segmentId, bytes: reuse.bytes };
    } catch (e) {
      this.log.warn(`Journal ${path} could not be reopened (${describeCause(e)}): starting a new segment`);
      return null;
    }
  }

  private createSegment(id: string, follows: JournalFollows): { fd: number; bytes: number } {
    const path = join(this.opts.dir, journalSegmentName(id));
    const start = encodeSegmentStart({
      formatVersion: JOURNAL_FORMAT_VERSION,
      segmentId: id,
      follows,
      createdAtMs: this.now(),
      serverVersion: this.opts.serverVersion ?? '',
    });
    let fd: number;
    try {
      fd = this.fsys.openSync(path, 'wx');
    } catch (e) {
      throw storeError('STORE_WRITE_FAILED', `${path}: ${describeCause(e)} (step: open)`, { step: 'open', path }, e);
    }
    try {
      writeAllSync(this.fsys, fd, [start], 0);
    } catch (e) {
      try {
        this.fsys.closeSync(fd);
        this.fsys.unlinkSync(path);
      } catch {
        // Left behind, an empty or torn segment start reads as a damaged header: moved aside, never replayed.
      }
      throw storeError('STORE_WRITE_FAILED', `${path}: ${describeCause(e)} (step: write)`, { step: 'write', path }, e);
    }
    this.dirDirty = true;
    return { fd, bytes: start.length };
  }

  private fail(step: WriteStep, segmentId: string, e: unknown): StoreError {
    if (e instanceof StoreError && e.code === 'STORE_JOURNAL_FAILED') return e;
    const path = join(this.opts.dir, journalSegmentName(segmentId));
    const error = storeError(
      'STORE_JOURNAL_FAILED',
      `journal ${path}: ${describeCause(e)} (step: ${step})`,
      { step, path },
      e,
    );
    if (this.failed === null) {
      this.failed = { error, segmentId };
      this.stats.failures++;
      if (this.resuming) return error;
      if (this.opts.onError === undefined) this.log.error(`Journal failed: ${error.message}`);
      else this.opts.onError(error);
    }
    return this.failed.error;
  }
}

function writeAllSync(fsys: StoreFs, fd: number, buffers: Uint8Array[], position: number): void {
  let pos = position;
  let bufs = buffers;
  for (;;) {
    let want = 0;
    for (const b of bufs) want += b.length;
    if (want === 0) return;
    const n = fsys.writevSync(fd, bufs, pos);
    if (n <= 0) throw new Error(`write made no progress at byte ${pos}`);
    pos += n;
    if (n === want) return;
    // Short write: skip what was written and go on with the rest.
    let skip = n;
    const rest: Uint8Array[] = [];
    for (const b of bufs) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      rest.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    bufs = rest;
  }
}
