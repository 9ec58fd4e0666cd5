/**
 * Persistence wired to a running session (DESIGN §4): the data-dir lock, startup recovery
 * (newest valid snapshot + journal replay through `Session.applyMutation`, STYLE.md §2), the
 * journal hook `net/` calls for every `persist` effect, and the saves — on `save` effects (user
 * disconnect), on a timer when something changed, on demand, and at shutdown.
 *
 * `net/` never imports `store/`: this file builds the hooks `SessionServer` takes (`persist`,
 * `save`) and `serve.ts` hands them over.
 *
 * The persist hook is store/journal-sink.ts (encoding, fsync policy, failures: changes held in
 * memory and written in order once the journal works again; under JOURNAL_FSYNC=always changes are
 * refused meanwhile through `onRefuse` / `onResume`). A full disk: the journal reserve
 * (journal-reserve.ts) is released to the journal, snapshots check free space first and fail
 * (snapshot-writer.ts), and the disk monitor (disk-space.ts) warns when free space runs low.
 */
import { join, resolve } from 'node:path';

import {
  type Logger,
  type Effect,
  decodeMutation,
  encodeMutationParts,
  type Mutation,
  type SessionImage,
  Session,
  type SessionOptions,
} from '../session/index.js';
import {
  acquireDataDirLock,
  type DataDirLock,
  describeCause,
  DEFAULT_DISK_FREE_WARN_BYTES,
  DiskSpaceMonitor,
  formatSpace,
  type DiskSpaceStatus,
  JournalReserve,
  DEFAULT_JOURNAL_RESERVE_BYTES,
  JournalSink,
  type JournalSinkStatus,
  JOURNAL_DIR,
  JOURNAL_RESERVE_FILE,
  NODE_STORE_FS,
  statOrNull,
  type StoreFs,
  type JournalFsyncPolicy,
  HistoryKeeper,
  JournalWriter,
  type JournalWriterStats,
  loadNewestValid,
  SnapshotWriter,
  type SaveOutcome,
} from '../store/index.js';
import * as msg from '../store/index.js';

export interface PersistenceOptions {
  /** `DATA_DIR` (resolved against `cwd`). */
  dataDir: string;
  cwd?: string;
  /** `SAVE_INTERVAL` (s); 0 = no auto-save. */
  saveIntervalS: number;
  /** `MAX_BACKUPS`. */
  maxBackups: number;
  /** `JOURNAL_FSYNC`. */
  journalFsync: JournalFsyncPolicy;
  /** `JOURNAL_RESERVE` in bytes (default DEFAULT_JOURNAL_RESERVE_BYTES; 0 = none). */
  journalReserveBytes?: number;
  /** `DISK_FREE_WARN` in bytes (default DEFAULT_DISK_FREE_WARN_BYTES; 0 = never warn). */
  diskFreeWarnBytes?: number;
  /** HISTORY_*: keep journal segments and checkpoints in DATA_DIR/history; null = no history. */
  history?: PersistenceHistoryOptions | null;
  session: SessionOptions;
  logger: Logger;
  serverVersion: string;
  /** File system (tests inject failures); default the real one. */
  fs?: StoreFs;
}

export interface PersistenceHistoryOptions {
  retentionMs: number;
  maxBytes: number;
  checkpointIntervalMs: number;
}

/** The history settings of a configuration (null when HISTORY_RETENTION is 0). */
export function historyOptionsOf(config: {
  historyRetentionS: number;
  historyMaxBytes: number;
  historyCheckpointIntervalS: number;
}): PersistenceHistoryOptions | null {
  if (config.historyRetentionS === 0) return null;
  return {
    retentionMs: config.historyRetentionS * 1000,
    maxBytes: config.historyMaxBytes,
    checkpointIntervalMs: config.historyCheckpointIntervalS * 1000,
  };
}

/** Least time between two snapshots requested because the journal failed (non-`always` policies). */
export const JOURNAL_FAILURE_SAVE_GAP_MS = 5000;

/** Save reasons (the `reason` of `Session saved to disk (reason: …)`; `user_disconnect:NAME` comes from the session). */
export const SAVE_REASON_AUTO = 'auto-save';
export const SAVE_REASON_SHUTDOWN = 'shutdown';
export const SAVE_REASON_MANUAL = 'manual';
export const SAVE_REASON_JOURNAL = 'journal_failed';
/** The final save before a live restore replaces the session (the offline restore's backup reason too). */
export const SAVE_REASON_PRE_RESTORE = 'pre-restore';

/** Writes a session's log effects (import, replay, recovery) to the logger. */
function logEffects(logger: Logger, effects: readonly Effect[]): void {
  for (const e of effects) if (e.type === 'log') logger.log(e.level, e.message);
}

export class Persistence {
  /** Called when the journal fails under `always`: the server must stop accepting changes. */
  onRefuse: (reason: string) => void = () => undefined;
  /** Called when the journal works again after `onRefuse`: changes may be accepted again. */
  onResume: () => void = () => undefined;
  /** Called with every save's outcome (metrics, the admin console's feed). */
  onSaveOutcome: (outcome: SaveOutcome) => void = () => undefined;
  /** When the auto-save timer fires next (ms since the epoch), or null without auto-save. */
  nextAutoSaveAtMs: number | null = null;

  private timer: NodeJS.Timeout | null = null;
  /**
   * `changeCounter` as captured by the newest save, or -1 when that save failed (then the next
   * trigger saves). 0 at start: an imported image leaves the counter at 0, and anything replayed
   * or released after it counts as a change.
   */
  private savedCounter = 0;
  /** Save promises whose outcome is already being watched (coalesced requests share one). */
  private readonly watched = new WeakSet<Promise<SaveOutcome>>();
  private lastJournalSaveMs = -Infinity;
  private closed = false;

  private constructor(
    readonly session: Session,
    readonly dataDir: string,
    private readonly journal: JournalWriter,
    private readonly sink: JournalSink,
    private readonly disk: DiskSpaceMonitor,
    readonly writer: SnapshotWriter,
    private readonly lock: DataDirLock,
    private readonly opts: PersistenceOptions,
    /** Counters captured by saves whose outcome is not handled yet, oldest first (saves run one at a time). */
    private readonly captured: number[],
    /** The journal reserve being written (awaited before the lock is released). */
    private readonly reserving: Promise<void>,
  ) {}

  /**
   * Takes the data-dir lock, restores the session and opens the journal and the snapshot writer.
   * Throws StoreError: STORE_LOCKED (another process holds DATA_DIR), STORE_FORMAT, STORE_READ_FAILED,
   * STORE_WRITE_FAILED (e.g. the journal cannot be created); the lock is released on failure.
   */
  static async open(opts: PersistenceOptions): Promise<Persistence> {
    const log = opts.logger.child({ subsystem: 'store' });
    const dataDir = resolve(opts.cwd ?? process.cwd(), opts.dataDir);
    const fs = opts.fs;
    const lock = await acquireDataDirLock(dataDir, { purpose: 'server', log, fs });
    let journal: JournalWriter | null = null;
    try {
      log.info(msg.logDataDir(dataDir, opts.journalFsync, opts.maxBackups));
      // Every file is checked as network input, whatever it claims to be: a refused one goes to corrupt/.
      const check = (image: SessionImage): string | null => Session.checkImage(image, opts.session);
      const history =
        opts.history === null || opts.history === undefined
          ? null
          : new HistoryKeeper({ dataDir, ...opts.history, log, fs });
      const recovered = await loadNewestValid(dataDir, log, { fs, check, keepHistory: history !== null });
      // The loaded snapshot is the base of everything the journal adds from here: a checkpoint.
      if (history !== null && recovered.source !== null) {
        await history.checkpoint(join(dataDir, recovered.source.file), recovered.source.snapshotId);
      }
      let session: Session;
      // Anything the load skipped makes the session differ from the file.
      let skippedAtLoad = false;
      if (recovered.image === null) {
        session = new Session(opts.session);
      } else {
        const made = Session.fromImage(recovered.image, opts.session);
        session = made.session;
        skippedAtLoad = made.effects.length > 0;
        logEffects(log, made.effects);
      }
      const replayed = replayJournal(session, recovered.journal.records, opts.session, log);

      const reserve = new JournalReserve({
        dataDir,
        bytes: opts.journalReserveBytes ?? DEFAULT_JOURNAL_RESERVE_BYTES,
        fs,
        log,
      });
      // In the background: a first start writes the whole reserve, which must not delay serving.
      const reserving = reserve.allocate().then((reserved) => {
        if (reserved > 0) log.info(`Journal reserve: ${formatSpace(reserved)} held in ${JOURNAL_RESERVE_FILE}`);
      });
      // Declared before the disk monitor: its first check runs before the rest exists.
      const persistence: { current: Persistence | null; sink: JournalSink | null } = { current: null, sink: null };
      const disk = new DiskSpaceMonitor({
        dataDir,
        warnBelowBytes: opts.diskFreeWarnBytes ?? DEFAULT_DISK_FREE_WARN_BYTES,
        fs,
        log,
        onCheck: async (s) => {
          // History is the first to give way on a filling disk, before snapshots and the journal.
          const wanted = Math.max(s.warnBelowBytes, persistence.current?.writer.spaceNeededBytes ?? 0);
          if (history !== null && s.freeBytes !== null && s.freeBytes < wanted) {
            await history.relieve(wanted - s.freeBytes);
          }
          // The reserve comes back once the disk has room for it twice over.
          if (s.freeBytes !== null) await reserve.refill(s.freeBytes, reserve.releasedBytes);
          await persistence.current?.checkJournalPresent();
        },
      });
      await disk.check();

      const captured: number[] = [];
      journal = JournalWriter.open({
        dir: join(dataDir, JOURNAL_DIR),
        follows: recovered.journal.follows,
        chain: recovered.journal.chain,
        reuse: recovered.journal.reuse,
        fsync: opts.journalFsync,
        fs,
        log,
        serverVersion: opts.serverVersion,
        onError: (e) => persistence.sink?.journalFailed(e),
        onNoSpace: () => reserve.release(),
        historyDataDir: history === null ? null : dataDir,
      });
      const sink = new JournalSink({
        journal,
        policy: opts.journalFsync,
        log,
        onRefuse: (reason) => persistence.current?.onRefuse(reason),
        onResume: () => persistence.current?.onResume(),
        requestSave: () => persistence.current?.requestJournalSave(),
      });
      persistence.sink = sink;
      // Locks of users who are gone go back to COMMON, journaled like any accepted change.
      let changedAtStart = replayed > 0 || skippedAtLoad || recovered.source?.kind !== 'snapshot';
      for (const e of session.finishRecovery()) {
        if (e.type === 'persist') {
          journal.append(encodeMutationParts(e.mutation, { atMs: Date.now() }));
          changedAtStart = true;
        } else if (e.type === 'log') log.log(e.level, e.message);
      }
      await journal.waitDurable();
      if (recovered.image !== null || replayed > 0) {
        log.info(msg.logSessionReady(session.nodeCount, session.userRecordCount, replayed, session.phase === 'ACTIVE'));
      }

      const writer = new SnapshotWriter({
        dataDir,
        capture: () => {
          captured.push(session.changeCounter);
          return session.exportImage();
        },
        log,
        serverVersion: opts.serverVersion,
        journal,
        maxBackups: opts.maxBackups,
        fs,
        // The session is exactly session_snapshot.pkl: a save before any change writes nothing.
        savedImage: changedAtStart ? undefined : session.exportImage(),
        lastKnownNodeCount: recovered.lastKnownNodeCount,
        lastSnapshotBytes: recovered.source?.compressedBytes ?? 0,
        space: { lastFreeBytes: () => disk.status.freeBytes, keepBytes: () => reserve.releasedBytes },
        onCapture: (id) => sink.snapshotCaptured(id),
        onSaved: (id, ok) => sink.snapshotSaved(id, ok),
        afterDurable:
          history === null
            ? undefined
            : (path, id) => history.afterSave(path, id).catch((e: unknown) => log.warn(`History: ${describeCause(e)}`)),
      });
      const p = new Persistence(session, dataDir, journal, sink, disk, writer, lock, opts, captured, reserving);
      persistence.current = p;
      disk.start();
      return p;
    } catch (e) {
      await journal?.close().catch(() => undefined);
      await lock.release();
      throw e;
    }
  }

  /** The `persist` hook for `SessionServer` (journal-sink.ts). */
  get persist(): (mutation: Mutation) => void | Promise<void> {
    return this.sink.persist;
  }

  /** Free space in DATA_DIR as last checked (for the admin page and metrics). */
  get diskSpace(): DiskSpaceStatus {
    return this.disk.status;
  }

  /** The journal writer's counters (appends, fsync latency, failures) for metrics. */
  get journalStats(): JournalWriterStats {
    return this.journal.stats;
  }

  /** Whether the journal is writable, and how many changes are held only in memory. */
  get journalStatus(): JournalSinkStatus {
    return this.sink.status;
  }

  /** Requests a snapshot (coalesced); the outcome is logged by the writer. Never rejects. */
  save(reason: string): Promise<SaveOutcome> {
    const outcome = this.writer.save(reason);
    if (!this.watched.has(outcome)) {
      // One promise per save run, and runs finish in the order they captured.
      this.watched.add(outcome);
      void outcome.then((o) => {
        const counter = this.captured.shift() ?? -1;
        this.savedCounter = o.ok ? counter : -1;
        this.onSaveOutcome(o);
        // A save changes free space the most: the low-space warning follows it at once.
        void this.disk.check();
      });
    }
    return outcome;
  }

  /** Starts the periodic save and logs `Auto-save enabled (interval: Ns)`. */
  startAutoSave(): void {
    const log = this.opts.logger;
    if (this.opts.saveIntervalS === 0) {
      log.info(msg.LOG_AUTO_SAVE_DISABLED);
      return;
    }
    const periodMs = this.opts.saveIntervalS * 1000;
    this.nextAutoSaveAtMs = Date.now() + periodMs;
    this.timer = setInterval(() => {
      this.nextAutoSaveAtMs = Date.now() + periodMs;
      this.autoSave();
    }, periodMs);
    this.timer.unref();
    log.info(msg.logAutoSaveEnabled(this.opts.saveIntervalS));
  }

  /** Whether something changed since the newest save that did not fail. */
  get dirty(): boolean {
    return this.savedCounter < 0 || this.session.changeCounter !== this.savedCounter;
  }

  /**
   * Shutdown: stops the timer, saves `reason` (`shutdown`; `pre-restore` when a live restore closes
   * the session) and waits for it — the final save operators
   * expect, also when nothing changed since the last one, as long as there is a session to keep
   * (a fresh server that never held a node skips it with a log line) — closes the journal and
   * releases the lock. Call after the server stopped feeding the session. Resolves
   * false when the final save or the journal's final fsync failed (both logged).
   */
  async close(reason: string = SAVE_REASON_SHUTDOWN): Promise<boolean> {
    if (this.closed) return true;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.disk.stop();
    let ok = true;
    await this.writer.idle();
    // On a full disk, history makes room for the final save first; the second check measures
    // what that freed (a save reads the last measured free space).
    await this.disk.check();
    await this.disk.check();
    if (this.dirty || this.session.nodeCount > 0) ok = (await this.save(reason)).ok;
    else this.opts.logger.info(msg.LOG_SHUTDOWN_SAVE_SKIPPED);
    await this.writer.idle();
    await this.sink.retry();
    const held = this.sink.close();
    if (held > 0) {
      ok = false;
      this.opts.logger.error(`${held} change(s) held in memory could not be written to the journal or a snapshot`);
    }
    try {
      await this.journal.close();
    } catch (e) {
      ok = false;
      this.opts.logger.error(`Closing the journal failed: ${describeCause(e)}`);
    }
    await this.reserving;
    await this.lock.release();
    return ok;
  }

  /** Closes without saving (the server could not start). */
  async abort(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.disk.stop();
    this.sink.close();
    await this.writer.idle();
    await this.journal.close().catch(() => undefined);
    await this.reserving;
    await this.lock.release();
  }

  private autoSave(): void {
    if (!this.dirty) {
      this.opts.logger.debug(msg.LOG_SAVE_SKIPPED);
      return;
    }
    void this.save(SAVE_REASON_AUTO);
  }

  /**
   * The active journal segment was deleted while the server runs: what it holds exists only in
   * memory now (appends go to a file nobody can read). A snapshot makes it durable again, and its
   * capture starts a new segment.
   */
  async checkJournalPresent(): Promise<void> {
    const segment = this.journal.position.segment;
    if (this.closed || (await statOrNull(this.opts.fs ?? NODE_STORE_FS, join(this.dataDir, segment))) !== null) return;
    if (this.journal.position.segment !== segment) return; // rotated meanwhile
    this.opts.logger.error(
      `Journal segment ${segment} was DELETED while the server runs: its changes are only in memory; saving a snapshot`,
    );
    this.lastJournalSaveMs = -Infinity;
    this.requestJournalSave();
  }

  /** A snapshot because the journal failed (a durable one covers what is held in memory); rate-limited. */
  requestJournalSave(): void {
    const now = Date.now();
    if (this.closed || now - this.lastJournalSaveMs < JOURNAL_FAILURE_SAVE_GAP_MS) return;
    if (this.writer.queuedReason !== null) return; // a save that captures later is already waiting
    this.lastJournalSaveMs = now;
    void this.save(SAVE_REASON_JOURNAL);
  }
}

/** Replays journal records through the live state change (STYLE.md §2). Returns how many applied. */
function replayJournal(
  session: Session,
  records: readonly Uint8Array[],
  sessionOptions: SessionOptions,
  log: Logger,
): number {
  let applied = 0;
  for (let i = 0; i < records.length; i++) {
    let m: Mutation;
    try {
      m = decodeMutation(records[i], sessionOptions.limits);
    } catch (e) {
      // Its checksum matched, so this is not damage but a record this build cannot read: keep going.
      log.error(msg.logJournalRecordSkipped(i, describeCause(e)));
      continue;
    }
    const refused = session.checkMutation(m);
    if (refused !== null) {
      // A journal is input too: a record a client could not have sent is never served.
      log.error(msg.logJournalRecordRefused(i, refused));
      continue;
    }
    logEffects(log, session.applyMutation(m));
    applied++;
  }
  return applied;
}
