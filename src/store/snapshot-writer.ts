/**
 * SnapshotWriter: the one place saves happen (DESIGN §4 "When", "Atomicity").
 *
 * Saves coalesce: one in flight, at most one queued; a request while one is queued joins it and
 * its reason becomes the queued save's reason (the latest reason wins). The state is captured
 * when a save starts, so a queued save includes everything up to its own start.
 *
 * One save, in order:
 * 1. capture the session (synchronous), encode the users/chat/tasks head, and rotate the journal
 *    to a new segment named by the new snapshot id — all in one event-loop step, so no mutation
 *    falls between the snapshot and its journal;
 * 2. stream + gzip to session_snapshot.pkl atomically (temp, fsync, rename, fsync dir);
 * 3. delete the journal segments the new snapshot covers;
 * 4. copy it to backups/ and rotate backups;
 * 5. write session_metadata.json;
 * 6. log `Session saved to disk (reason: …)`.
 * A capture whose content equals the last save's (image-fingerprint.ts) ends at step 1 without
 * rotating the journal or writing anything: `Session unchanged since the last save …` (DEBUG).
 * A failure in 2 logs `Failed to save session: …` and leaves the previous snapshot (and every
 * journal segment since it) intact; the next trigger retries. Failures in 3–5 are logged and
 * do not undo the save.
 *
 * Free space is checked before anything is written (`space`): a save needs room for the new
 * snapshot and its backup copy (estimated from the last snapshot's size) plus `keepBytes` (the
 * journal reserve it has given away), else it fails with step `space` — so a filling disk stops
 * snapshots and backups, and the journal keeps its room. The check runs twice: on the last known
 * free space before the capture (no journal rotation for a save that cannot succeed), and with a
 * fresh `statfs` before writing.
 */
import { join } from 'node:path';
import type { Readable } from 'node:stream';

import { writeFileAtomic } from './atomic-write.js';
import { DEFAULT_MAX_BACKUPS, rotateBackups, writeBackup } from './backups.js';
import { ensureDataDir } from './data-dir.js';
import { describeCause, storeError, StoreError } from './errors.js';
import { BACKUPS_DIR, SNAPSHOT_FILE } from './file-names.js';
import { NODE_STORE_FS, type StoreFs } from './fs-port.js';
import type { JournalPosition, JournalWriter } from './journal-writer.js';
import * as msg from './log-messages.js';
import type { Logger } from '../session/index.js';
import { metadataOf, writeMetadataFile } from './metadata-file.js';
import { ImageFingerprinter, sameFingerprint, type ImageFingerprint } from './image-fingerprint.js';
import type { SessionImage } from './session-image.js';
import { encodeSnapshot } from './snapshot-codec.js';
import { newSnapshotId } from './snapshot-id.js';
import { SNAPSHOT_FORMAT_VERSION, type SnapshotMeta } from './snapshot-pickle.js';

export interface SnapshotWriterOptions {
  /** `DATA_DIR`. */
  dataDir: string;
  /** The session's state right now (synchronous; see SessionImage for ownership). */
  capture: () => SessionImage;
  log: Logger;
  /** Written into each snapshot and the metadata file. */
  serverVersion: string;
  /** Rotated at each capture; its covered segments are deleted after each durable save. */
  journal?: JournalWriter | null;
  /** `MAX_BACKUPS` (default 10; 0 = no backups). */
  maxBackups?: number;
  fs?: StoreFs;
  gzipLevel?: number;
  /** Clock (ms since the epoch) for ids, names and metadata. */
  now?: () => number;
  /** Nodes in the snapshot on disk (recovery's `lastKnownNodeCount`); guards against saving an empty session over it. */
  lastKnownNodeCount?: number;
  /** Size of the snapshot on disk (the estimate of the next one until a save measured it). */
  lastSnapshotBytes?: number;
  /**
   * The session's content as the snapshot on disk holds it (recovery loaded it and changed
   * nothing), so that a first save without changes writes nothing either. Absent: the first save
   * always writes.
   */
  savedImage?: SessionImage;
  /** The free-space rule (see the file comment); absent: no check. */
  space?: SnapshotSpaceRule;
  /** After the capture step rotated the journal (journal-sink.ts). */
  onCapture?: (snapshotId: string) => void;
  /** A save that passed its capture step ended. */
  onSaved?: (snapshotId: string, ok: boolean) => void;
  /** After a durable save, before it is reported (history's checkpoint and retention; must not throw). */
  afterDurable?: (snapshotPath: string, snapshotId: string) => Promise<void>;
}

export interface SnapshotSpaceRule {
  /** Free bytes as last measured (the disk monitor), or null when unknown. */
  lastFreeBytes: () => number | null;
  /** Bytes a save must leave free (the journal reserve given to the journal). */
  keepBytes: () => number;
}

/** Headroom on top of the estimate: a session grows between two saves. */
const SNAPSHOT_GROWTH_FACTOR = 1.25;
const SNAPSHOT_MIN_HEADROOM_BYTES = 1024 * 1024;

export interface SaveRequestOptions {
  /** Save even an empty session over a non-empty snapshot (an operator's explicit reset). */
  allowEmpty?: boolean;
}

export type SaveOutcome =
  | {
      ok: true;
      reason: string;
      snapshotId: string;
      bytes: number;
      /** `backups/snapshot_….pkl`, or null if the backup failed or MAX_BACKUPS is 0. */
      backup: string | null;
      nodeCount: number;
      userCount: number;
      durationMs: number;
      /** True when the content equalled the last save's and nothing was written. */
      unchanged?: boolean;
    }
  | { ok: false; reason: string; error: StoreError };

interface Queued {
  reason: string;
  allowEmpty: boolean;
  promise: Promise<SaveOutcome>;
  resolve: (o: SaveOutcome) => void;
}

export class SnapshotWriter {
  private running: Promise<SaveOutcome> | null = null;
  private queued: Queued | null = null;
  private lastKnownNodeCount: number;
  private lastSnapshotBytes: number;
  /** Snapshot bytes per byte of node data at the last save (compression); 1 until measured. */
  private compressionRatio = 1;
  private readonly fsys: StoreFs;
  private readonly now: () => number;
  private readonly fingerprints = new ImageFingerprinter();
  /** The content of the newest snapshot on disk, or null when unknown. */
  private saved: ImageFingerprint | null = null;

  constructor(private readonly opts: SnapshotWriterOptions) {
    this.fsys = opts.fs ?? NODE_STORE_FS;
    this.now = opts.now ?? Date.now;
    this.lastKnownNodeCount = opts.lastKnownNodeCount ?? 0;
    this.lastSnapshotBytes = opts.lastSnapshotBytes ?? 0;
    if (opts.savedImage !== undefined) this.saved = this.fingerprints.of(opts.savedImage);
  }

  /** Bytes a save needs free: the new snapshot, its backup copy, and what must stay free. */
  private neededBytes(estimate: number): number {
    const one = Math.ceil(estimate * SNAPSHOT_GROWTH_FACTOR) + SNAPSHOT_MIN_HEADROOM_BYTES;
    const copies = (this.opts.maxBackups ?? DEFAULT_MAX_BACKUPS) > 0 ? 2 : 1;
    return one * copies + (this.opts.space?.keepBytes() ?? 0);
  }

  private noSpace(free: number, need: number): StoreError {
    const keep = this.opts.space?.keepBytes() ?? 0;
    return storeError(
      'STORE_WRITE_FAILED',
      `${this.opts.dataDir}: not enough free space for a snapshot: ${free} bytes free, about ${need} needed` +
        `${keep > 0 ? ` (including ${keep} kept free for the journal)` : ''} (step: space)`,
      { step: 'space', path: this.opts.dataDir, errno: 'ENOSPC' },
    );
  }

  /** Free bytes the next save will ask for (0 before the first save measured a snapshot). */
  get spaceNeededBytes(): number {
    return this.lastSnapshotBytes > 0 ? this.neededBytes(this.lastSnapshotBytes) : 0;
  }

  /** Whether a save is running. */
  get saving(): boolean {
    return this.running !== null;
  }

  /** The reason of the queued save, if one is waiting. */
  get queuedReason(): string | null {
    return this.queued?.reason ?? null;
  }

  /**
   * Requests a save. Never rejects: the outcome says whether it worked (failures are logged).
   * Starting now captures the state synchronously, before this returns.
   */
  save(reason: string, options: SaveRequestOptions = {}): Promise<SaveOutcome> {
    const allowEmpty = options.allowEmpty === true;
    if (this.running === null) return this.start(reason, allowEmpty);
    if (this.queued !== null) {
      this.queued.reason = reason;
      this.queued.allowEmpty ||= allowEmpty;
      return this.queued.promise;
    }
    let resolve!: (o: SaveOutcome) => void;
    const promise = new Promise<SaveOutcome>((r) => (resolve = r));
    this.queued = { reason, allowEmpty, promise, resolve };
    return promise;
  }

  /** Resolves when no save is running or queued. */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private start(reason: string, allowEmpty: boolean): Promise<SaveOutcome> {
    const p = this.run(reason, allowEmpty);
    this.running = p;
    void p.then(() => {
      this.running = null;
      const q = this.queued;
      if (q !== null) {
        this.queued = null;
        void this.start(q.reason, q.allowEmpty).then(q.resolve);
      }
    });
    return p;
  }

  /** Never rejects. The part before the first `await` runs synchronously in `start`. */
  private async run(reason: string, allowEmpty: boolean): Promise<SaveOutcome> {
    const startedMs = this.now();
    const { journal } = this.opts;
    let image: SessionImage;
    let meta: SnapshotMeta;
    let stream: Readable;
    let segment: JournalPosition | null = null;
    let pending: ImageFingerprint | null = null;
    try {
      const known = this.opts.space?.lastFreeBytes() ?? null;
      if (known !== null && this.lastSnapshotBytes > 0 && known < this.neededBytes(this.lastSnapshotBytes)) {
        throw this.noSpace(known, this.neededBytes(this.lastSnapshotBytes));
      }
      image = this.opts.capture();
      if (image.nodes.length === 0 && this.lastKnownNodeCount > 0 && !allowEmpty) {
        throw storeError(
          'STORE_EMPTY_OVERWRITE',
          `refusing to replace a snapshot of ${this.lastKnownNodeCount} node(s) with an empty session`,
        );
      }
      const fingerprint = this.fingerprints.of(image);
      if (sameFingerprint(this.saved, fingerprint)) return this.unchanged(reason, startedMs, image);
      pending = fingerprint;
      meta = {
        formatVersion: SNAPSHOT_FORMAT_VERSION,
        serverVersion: this.opts.serverVersion,
        snapshotId: newSnapshotId(startedMs),
        savedAtMs: startedMs,
        reason,
      };
      stream = encodeSnapshot(image, meta, { gzipLevel: this.opts.gzipLevel });
      try {
        segment = journal?.rotate(meta.snapshotId) ?? null;
      } catch (e) {
        stream.destroy();
        throw e;
      }
      this.opts.onCapture?.(meta.snapshotId);
    } catch (e) {
      return this.failed(reason, e);
    }
    const outcome = await this.write(reason, startedMs, image, meta, stream, segment);
    if (outcome.ok) this.saved = pending;
    this.opts.onSaved?.(meta.snapshotId, outcome.ok);
    return outcome;
  }

  private async write(
    reason: string,
    startedMs: number,
    image: SessionImage,
    meta: SnapshotMeta,
    stream: Readable,
    segment: JournalPosition | null,
  ): Promise<SaveOutcome> {
    const { dataDir, log, journal } = this.opts;
    const rawBytes = nodeBytesOf(image);
    if (this.opts.space !== undefined) {
      const estimate = Math.max(this.lastSnapshotBytes, Math.ceil(rawBytes * this.compressionRatio));
      const need = this.neededBytes(estimate);
      const free = await this.fsys.statfs(dataDir).then(
        (s) => s.freeBytes,
        () => null,
      );
      if (free !== null && free < need) {
        stream.destroy();
        return this.failed(reason, this.noSpace(free, need));
      }
    }

    const snapshotPath = join(dataDir, SNAPSHOT_FILE);
    let bytes: number;
    try {
      await ensureDataDir(this.fsys, dataDir).catch((e: unknown) => {
        stream.destroy();
        throw storeError(
          'STORE_WRITE_FAILED',
          `${dataDir}: ${describeCause(e)} (step: mkdir)`,
          { step: 'mkdir', path: dataDir },
          e,
        );
      });
      bytes = (await writeFileAtomic(snapshotPath, stream, { fs: this.fsys })).bytes;
    } catch (e) {
      return this.failed(reason, e);
    }
    this.lastKnownNodeCount = image.nodes.length;
    this.lastSnapshotBytes = bytes;
    if (rawBytes > 0) this.compressionRatio = bytes / rawBytes;

    if (journal) await journal.dropBefore(meta.snapshotId);
    if (this.opts.afterDurable !== undefined) await this.opts.afterDurable(snapshotPath, meta.snapshotId);

    let backup: string | null = null;
    const maxBackups = this.opts.maxBackups ?? DEFAULT_MAX_BACKUPS;
    if (maxBackups > 0) {
      try {
        const b = await writeBackup(dataDir, snapshotPath, { fs: this.fsys, nowMs: startedMs });
        backup = `${BACKUPS_DIR}/${b.name}`;
        await rotateBackups(dataDir, maxBackups, { fs: this.fsys, log });
      } catch (e) {
        log.warn(msg.logBackupFailed(describeCause(e)));
      }
    }

    try {
      await writeMetadataFile(
        dataDir,
        metadataOf({
          savedAtMs: startedMs,
          reason,
          initialized: image.initialized,
          userCount: image.users.size,
          nodeCount: image.nodes.length,
          chatCount: image.chat.length,
          taskCount: image.tasks.size,
          bytes,
          backupFile: backup,
          snapshotId: meta.snapshotId,
          formatVersion: meta.formatVersion,
          serverVersion: meta.serverVersion,
          journal: segment === null ? null : { segment: segment.segment, offset: segment.bytes },
        }),
        this.fsys,
      );
    } catch (e) {
      log.warn(msg.logMetadataFailed(describeCause(e)));
    }

    log.info(msg.logSessionSaved(reason), {
      reason,
      nodes: image.nodes.length,
      users: image.users.size,
      bytes,
      backup,
    });
    return {
      ok: true,
      reason,
      snapshotId: meta.snapshotId,
      bytes,
      backup,
      nodeCount: image.nodes.length,
      userCount: image.users.size,
      durationMs: this.now() - startedMs,
    };
  }

  private unchanged(reason: string, startedMs: number, image: SessionImage): SaveOutcome {
    // An operator who typed `save`, or who stopped the server, gets an answer; automatic
    // triggers stay quiet.
    const level = reason === 'manual' || msg.isFinalSave(reason) ? 'info' : 'debug';
    this.opts.log.log(level, msg.logSaveUnchanged(reason), { reason });
    return {
      ok: true,
      reason,
      snapshotId: '',
      bytes: this.lastSnapshotBytes,
      backup: null,
      nodeCount: image.nodes.length,
      userCount: image.users.size,
      durationMs: this.now() - startedMs,
      unchanged: true,
    };
  }

  private failed(reason: string, e: unknown): SaveOutcome {
    const error =
      e instanceof StoreError
        ? e
        : storeError('STORE_WRITE_FAILED', `${describeCause(e)} (step: source)`, { step: 'source' }, e);
    this.opts.log.error(msg.logSaveFailed(error.message));
    return { ok: false, reason, error };
  }
}

/** Bytes of node data and dependency pickles: what a snapshot's size follows. */
function nodeBytesOf(image: SessionImage): number {
  let n = 0;
  for (const node of image.nodes) n += node.dataBytes.length + node.depsBytes.length;
  return n;
}
