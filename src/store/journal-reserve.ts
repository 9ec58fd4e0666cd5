/**
 * Disk space held for the journal, so that a filling disk stops snapshots and backups long before
 * it stops the journal (DESIGN §4: "a full disk must hit snapshots long before the journal").
 *
 * The reserve is a file of zeros in DATA_DIR (`journal.reserve`), written block by block at start
 * so the file system really allocates it (Node has no fallocate; tmpfs and ext4 both allocate on
 * write). Nothing else may use its blocks. When a journal append fails for lack of space, the
 * writer calls `release()` (synchronous: it runs inside the append) and retries: the journal then
 * has the reserve's space, while snapshots see a disk that is still full (snapshot-writer.ts
 * checks free space first and keeps `releasedBytes` free). `refill()` takes the space back once
 * the disk has room again.
 *
 * Size: `JOURNAL_RESERVE`, capped to a fraction of the free space at start, so that a server
 * started on an almost full disk still starts.
 */
import { join } from 'node:path';

import { describeCause } from './errors.js';
import { JOURNAL_RESERVE_FILE } from './file-names.js';
import { NODE_STORE_FS, statOrNull, type StoreFs } from './fs-port.js';
import { NULL_LOGGER, type Logger } from '../session/index.js';

/** Default `JOURNAL_RESERVE`: about a minute of heavy editing's journal (a few hundred 100 KB commits). */
export const DEFAULT_JOURNAL_RESERVE_BYTES = 64 * 1024 * 1024;
/** The reserve never takes more than this share of the free space at start. */
export const JOURNAL_RESERVE_MAX_FREE_FRACTION = 0.25;
const FILL_CHUNK = 1024 * 1024;

export interface JournalReserveOptions {
  dataDir: string;
  /** `JOURNAL_RESERVE` in bytes; 0 disables the reserve. */
  bytes: number;
  fs?: StoreFs;
  log?: Logger;
}

export class JournalReserve {
  private heldBytes = 0;
  private released = 0;
  private readonly path: string;
  private readonly fsys: StoreFs;
  private readonly log: Logger;

  constructor(private readonly opts: JournalReserveOptions) {
    this.path = join(opts.dataDir, JOURNAL_RESERVE_FILE);
    this.fsys = opts.fs ?? NODE_STORE_FS;
    this.log = opts.log ?? NULL_LOGGER;
  }

  /** Bytes held right now. */
  get held(): number {
    return this.heldBytes;
  }

  /** Bytes given to the journal since the last refill (snapshots must leave them free). */
  get releasedBytes(): number {
    return this.released;
  }

  /**
   * Allocates the reserve (at start, and by `refill`): `bytes` capped to a fraction of the free
   * space. Failure to allocate is logged, never thrown: the server runs without (or with a
   * smaller) reserve rather than not at all.
   */
  async allocate(): Promise<number> {
    if (this.opts.bytes <= 0) return 0;
    let want = this.opts.bytes;
    try {
      const existing = (await statOrNull(this.fsys, this.path))?.size ?? 0;
      const space = await this.fsys.statfs(this.opts.dataDir);
      want = Math.min(want, Math.floor((space.freeBytes + existing) * JOURNAL_RESERVE_MAX_FREE_FRACTION));
      want -= want % 4096;
      // Written by an earlier run at this size: its blocks are allocated already.
      if (existing !== want) await this.write(want);
      this.heldBytes = want;
      this.released = 0;
    } catch (e) {
      this.heldBytes = 0;
      await this.fsys.unlink(this.path).catch(() => undefined);
      this.log.warn(`Could not allocate the journal reserve of ${want} bytes: ${describeCause(e)}`);
    }
    return this.heldBytes;
  }

  /**
   * Frees the reserve for the journal (synchronous, called inside a failed append). Returns
   * whether any space was freed, so the caller knows a retry can succeed.
   */
  release(): boolean {
    if (this.heldBytes === 0) return false;
    try {
      this.fsys.unlinkSync(this.path);
    } catch {
      return false;
    }
    this.released += this.heldBytes;
    this.log.warn(
      `Journal reserve released (${this.heldBytes} bytes): the disk of DATA_DIR is full; the journal goes on in the ` +
        'reserved space, snapshots and backups wait until space is freed',
    );
    this.heldBytes = 0;
    return true;
  }

  /** Takes the space back once `freeBytes` leaves room for it and `keepBytes` more. Returns whether it did. */
  async refill(freeBytes: number, keepBytes: number): Promise<boolean> {
    if (this.opts.bytes <= 0 || this.heldBytes > 0 || freeBytes < this.opts.bytes + keepBytes) return false;
    const got = await this.allocate();
    if (got > 0) this.log.info(`Journal reserve allocated again (${got} bytes): the disk has room again`);
    return got > 0;
  }

  private async write(bytes: number): Promise<void> {
    const handle = await this.fsys.open(this.path, 'w');
    try {
      const zeros = Buffer.alloc(Math.min(FILL_CHUNK, Math.max(bytes, 1)));
      for (let pos = 0; pos < bytes;) {
        const n = await handle.write(zeros, 0, Math.min(zeros.length, bytes - pos), pos);
        if (n <= 0) throw new Error(`write made no progress at byte ${pos}`);
        pos += n;
      }
      await handle.truncate(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
