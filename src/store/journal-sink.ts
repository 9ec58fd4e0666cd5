/**
 * The session's `persist` hook over the journal writer: record encoding, the fsync policy, and
 * what happens when the disk refuses the journal (DESIGN §4, STYLE.md §8). `net/` calls `persist`
 * for every accepted change before relaying it (effect-runner.ts).
 *
 * - Normal: the record is appended synchronously (page cache: it survives a crash of this
 *   process); under `always` the hook returns the fsync promise and the relays wait for it.
 * - The journal cannot be written (the writer failed, and the reserve is used up): the record is
 *   held in memory, in order, and every later one too — nothing may overtake a held record. Under
 *   the default policies the change is still relayed (serving goes on), an ERROR with the count
 *   of changes held only in memory is logged (at most once a minute), and the held records are
 *   written, in order, as soon as the journal works again (retried every second). Under `always`
 *   the change that hit the failure is not relayed, and `onRefuse` tells the server to refuse
 *   changes; what still arrives (logins, leaves: not content) is held the same way, and
 *   `onResume` lets changes in again once everything held is durable.
 * - A snapshot captured while records are held contains them: they are set aside with it and
 *   dropped when it is durable, or put back in front (the journal then goes on where they belong:
 *   after the segment that was active when they were held) when that save fails. While such a
 *   save runs, new records are held too, so none is written before the ones it might give back.
 */
import { encodeMutationParts, type Mutation, type Logger } from '../session/index.js';
import { describeCause, StoreError } from './errors.js';
import type { JournalFsyncPolicy } from './journal-format.js';
import type { JournalWriter } from './journal-writer.js';
import * as msg from './log-messages.js';

/** Least time between two "changes held only in memory" ERROR lines. */
export const JOURNAL_HELD_LOG_GAP_MS = 60_000;
/** How often a failed journal is tried again. */
export const JOURNAL_RETRY_MS = 1000;

export interface JournalSinkOptions {
  journal: JournalWriter;
  policy: JournalFsyncPolicy;
  log: Logger;
  now?: () => number;
  retryMs?: number;
  /** Under `always`: stop accepting changes (logins, joins and heartbeats go on). */
  onRefuse?: (reason: string) => void;
  /** Under `always`: changes may be accepted again. */
  onResume?: () => void;
  /** Asks for a snapshot (a durable one covers everything held). */
  requestSave?: () => void;
}

/** The journal's state for logs, the admin page and metrics. */
export interface JournalSinkStatus {
  /** The journal accepts records right now and nothing is waiting in memory. */
  writable: boolean;
  /** Accepted changes that are only in memory (relayed, not yet in the journal). */
  heldInMemory: number;
  /** Why the journal failed last, while it has not recovered. */
  error: string | null;
  /** Changes are refused (`always` only). */
  refusing: boolean;
}

type Record = Uint8Array[];

export class JournalSink {
  private held: Record[] = [];
  private covered: { snapshotId: string; records: Record[] } | null = null;
  private lastError: string | null = null;
  private lastHeldLogMs = -Infinity;
  private refusing = false;
  private timer: NodeJS.Timeout | null = null;
  private retrying = false;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly opts: JournalSinkOptions) {
    this.now = opts.now ?? Date.now;
  }

  get status(): JournalSinkStatus {
    const held = this.held.length + (this.covered?.records.length ?? 0);
    return {
      // Writable again only once a retry has made everything durable (`recovered`): while one
      // is under way the writer's failure is cleared before its fsync has answered, and a
      // readiness check must not see the journal as fine in that gap.
      writable: held === 0 && this.opts.journal.failure === null && this.lastError === null && !this.refusing,
      heldInMemory: held,
      error: this.lastError,
      refusing: this.refusing,
    };
  }

  /** The persist hook (`SessionServer`'s `persist`). */
  readonly persist = (mutation: Mutation, by?: string): void | Promise<void> => {
    // Stamped for history: when it was accepted and by whom (ignored by replay).
    const record = encodeMutationParts(mutation, { atMs: this.now(), by });
    const always = this.opts.policy === 'always';
    if (this.held.length > 0 || this.covered !== null || this.opts.journal.failure !== null) {
      this.hold(record);
      return;
    }
    try {
      this.opts.journal.append(record);
    } catch (e) {
      if (e instanceof StoreError && e.code === 'STORE_LIMIT') {
        // Too big for any journal: not held (it would never fit); the next snapshot carries it.
        this.opts.log.error(`A change is too large for the journal (${e.message}); a snapshot is requested`);
        this.opts.requestSave?.();
        if (always) throw e;
        return;
      }
      this.noteUnexpected(e);
      this.hold(record);
      if (always) throw e;
      return;
    }
    if (always) return this.opts.journal.waitDurable();
  };

  /** The writer's `onError`: the journal just failed. */
  journalFailed(error: StoreError): void {
    const first = this.lastError === null;
    this.lastError = error.message;
    if (this.opts.policy === 'always') {
      if (!this.refusing) {
        this.refusing = true;
        this.opts.log.error(msg.logJournalFailedRefusing(error.message));
        this.opts.onRefuse?.(`the journal cannot be written (${error.message})`);
      }
    } else {
      // A failing append holds its record right after this (onError runs inside the append) and
      // logs the count; a failed fsync holds nothing, so it is logged here.
      queueMicrotask(() => {
        if (this.lastHeldLogMs === -Infinity) this.reportHeld(true);
      });
    }
    if (first) this.opts.requestSave?.();
    this.schedule();
  }

  /** SnapshotWriter's capture step (after the journal rotated): what is held is in this snapshot. */
  snapshotCaptured(snapshotId: string): void {
    if (this.held.length === 0) return;
    this.covered = { snapshotId, records: this.held };
    this.held = [];
  }

  /** SnapshotWriter's outcome for `snapshotId`. */
  snapshotSaved(snapshotId: string, ok: boolean): void {
    if (this.covered?.snapshotId !== snapshotId) return;
    if (!ok) this.held = [...this.covered.records, ...this.held];
    this.covered = null;
    if (this.held.length > 0 || this.opts.journal.failure !== null) this.schedule();
    else this.recovered(0);
  }

  /** Tries to write what is held now (also run every second while something is held). */
  async retry(): Promise<void> {
    if (this.retrying || this.covered !== null || this.closed) return;
    this.retrying = true;
    try {
      const journal = this.opts.journal;
      if (!(await journal.tryResume())) {
        this.reportHeld(false);
        return;
      }
      let written = 0;
      while (this.held.length > 0 && this.covered === null) {
        try {
          journal.append(this.held[0]);
        } catch (e) {
          this.noteUnexpected(e);
          this.reportHeld(false);
          return;
        }
        this.held.shift();
        written++;
      }
      if (this.opts.policy === 'always') {
        try {
          await journal.waitDurable();
        } catch {
          return;
        }
      }
      if (this.held.length === 0 && this.covered === null && journal.failure === null) this.recovered(written);
    } finally {
      this.retrying = false;
    }
  }

  /** Stops retrying. Returns how many changes are still only in memory (logged by the caller). */
  close(): number {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    return this.status.heldInMemory;
  }

  /**
   * An append error the writer did not report through `journalFailed` (a closed writer, a bug):
   * it becomes the error the held-changes line names, and is logged once at ERROR under every
   * policy — it must never pass silently.
   */
  private noteUnexpected(e: unknown): void {
    if (e instanceof StoreError && e.code === 'STORE_JOURNAL_FAILED') return;
    const why = describeCause(e);
    if (this.lastError === why) return;
    this.lastError = why;
    this.opts.log.error(`A change could not be written to the journal: ${why}; it is held for the next snapshot`);
  }

  private hold(record: Record): void {
    this.held.push(record);
    this.reportHeld(false);
    this.schedule();
  }

  /** The rate-limited ERROR with the count held only in memory (default policies). */
  private reportHeld(force: boolean): void {
    if (this.opts.policy === 'always') return;
    const now = this.now();
    if (!force && now - this.lastHeldLogMs < JOURNAL_HELD_LOG_GAP_MS) return;
    const count = this.status.heldInMemory;
    if (count === 0 && !force) return;
    this.lastHeldLogMs = now;
    this.opts.log.error(msg.logJournalFailedHolding(this.lastError ?? 'unknown error', count));
    if (!force) this.opts.requestSave?.();
  }

  private schedule(): void {
    if (this.timer !== null || this.closed) return;
    this.timer = setInterval(() => void this.retry(), this.opts.retryMs ?? JOURNAL_RETRY_MS);
    this.timer.unref();
  }

  private recovered(written: number): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.lastError === null && !this.refusing) return;
    this.opts.log.info(msg.logJournalWritableAgain(written));
    this.lastError = null;
    this.lastHeldLogMs = -Infinity;
    if (this.refusing) {
      this.refusing = false;
      this.opts.onResume?.();
    }
  }
}
