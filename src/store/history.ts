/**
 * Session history on disk: journal segments kept after the snapshot that covers them, and
 * checkpoints (snapshots kept) to replay them from (litestream's generations and
 * restore-to-timestamp).
 *
 * ```
 * DATA_DIR/history/<segment id>.jnl     a journal segment moved here once a durable snapshot covers it
 * DATA_DIR/history/<snapshot id>.pkl    a checkpoint: the state at the start of segment <snapshot id>
 * ```
 *
 * A checkpoint is a hard link to the snapshot just saved (a copy where links are not possible),
 * so it costs no disk while session_snapshot.pkl or a backup still holds the same bytes. One is
 * taken at start (the loaded snapshot: a restarted, restored or imported session always has a
 * base) and after a save when the newest is older than HISTORY_CHECKPOINT_INTERVAL. Backups stay
 * what they were (the operator's MAX_BACKUPS rotation); checkpoints are history's own files.
 *
 * Retention drops whole generations — a checkpoint and the segments up to the next checkpoint —
 * oldest first, so every moment still in history keeps its checkpoint: a generation goes once
 * the next checkpoint is older than HISTORY_RETENTION, or while history/ holds more than
 * HISTORY_MAX_BYTES. The newest generation is never dropped.
 */
import { join } from 'node:path';

import { copyFileAtomic, fsyncDir } from './atomic-write.js';
import { describeCause, StoreError } from './errors.js';
import { CHECKPOINT_NAME_RE, HISTORY_DIR, JOURNAL_DIR, localIsoSeconds } from './file-names.js';
import { isErrno, NODE_STORE_FS, readdirOrEmpty, type StoreFs } from './fs-port.js';
import {
  JOURNAL_FORMAT_VERSION,
  JOURNAL_MAGIC,
  MAX_HEADER_BYTES,
  parseSegmentHeader,
  RECORD_HEADER_BYTES,
  recordCrcMatches,
  type SegmentHeader,
} from './journal-format.js';
import type { Logger } from '../session/index.js';

/** Default HISTORY_RETENTION: a working week plus a weekend, to undo Friday's mistake on Monday. */
export const DEFAULT_HISTORY_RETENTION_S = 7 * 86_400;
/** Default HISTORY_MAX_BYTES: 5 GiB, room for about 100 checkpoints of a 50 MB scene. */
export const DEFAULT_HISTORY_MAX_BYTES = 5 * 1024 ** 3;
/** Default HISTORY_CHECKPOINT_INTERVAL: an hour of changes at most to replay for any moment. */
export const DEFAULT_HISTORY_CHECKPOINT_INTERVAL_S = 3600;

/** A segment in history/ (moved) or journal/ (still the current session's): `<id>.jnl`, or `<id>.<n>.jnl` when a name was taken. */
export const HISTORY_SEGMENT_RE = /^([A-Za-z0-9][A-Za-z0-9_-]*)(?:\.([1-9]\d*))?\.jnl$/;

export interface HistorySegment {
  /** Relative to DATA_DIR: `history/<name>` or `journal/<name>`. */
  file: string;
  path: string;
  /** Null when the header cannot be read (then `error` says why). */
  header: SegmentHeader | null;
  error: string | null;
  /** From the header (its `created_at`), or the file's mtime when the header is damaged. */
  createdAtMs: number;
  bytes: number;
}

export interface HistoryCheckpoint {
  /** Relative to DATA_DIR: `history/<id>.pkl`. */
  file: string;
  path: string;
  snapshotId: string;
  /** When it was captured: from its id (`20250112T143025123Z-…`), else the file's mtime. */
  timeMs: number;
  bytes: number;
}

export interface HistoryListing {
  /** Oldest first (created_at, then file name). */
  segments: HistorySegment[];
  /** Oldest first. */
  checkpoints: HistoryCheckpoint[];
}

const ID_TIME_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z-/;

/** The capture time a snapshot id of ours names (newSnapshotId), or null for another id. */
export function snapshotIdTimeMs(id: string): number | null {
  const m = ID_TIME_RE.exec(id);
  if (m === null) return null;
  const [, y, mo, d, h, mi, s, ms] = m;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(ms));
}

/**
 * Lists history/ (and, with `includeJournal`, journal/: the current session's segments, which
 * continue the timeline). Reads only segment headers. Never throws for a damaged file: it is
 * listed with `error`.
 */
export async function listHistory(
  dataDir: string,
  options: { fs?: StoreFs; includeJournal?: boolean } = {},
): Promise<HistoryListing> {
  const fsys = options.fs ?? NODE_STORE_FS;
  const segments: HistorySegment[] = [];
  const checkpoints: HistoryCheckpoint[] = [];
  const dirs = options.includeJournal === true ? [HISTORY_DIR, JOURNAL_DIR] : [HISTORY_DIR];
  for (const dir of dirs) {
    for (const name of await readdirOrEmpty(fsys, join(dataDir, dir))) {
      const path = join(dataDir, dir, name);
      if (HISTORY_SEGMENT_RE.test(name)) {
        let header: SegmentHeader | null = null;
        let error: string | null = null;
        let bytes = 0;
        const h = await readHeaderOnly(fsys, path);
        if (h === null) continue;
        if (typeof h === 'string') error = h;
        else {
          header = h.header;
          bytes = h.fileBytes;
        }
        let createdAtMs = header?.createdAtMs ?? 0;
        if (header === null) {
          const st = await fsys.stat(path).catch(() => null);
          createdAtMs = st?.mtimeMs ?? 0;
          bytes = st?.size ?? 0;
        }
        segments.push({ file: `${dir}/${name}`, path, header, error, createdAtMs, bytes });
      } else if (dir === HISTORY_DIR) {
        const m = CHECKPOINT_NAME_RE.exec(name);
        if (m === null) continue;
        const st = await fsys.stat(path).catch(() => null);
        if (st === null) continue;
        checkpoints.push({
          file: `${dir}/${name}`,
          path,
          snapshotId: m[1],
          timeMs: snapshotIdTimeMs(m[1]) ?? st.mtimeMs,
          bytes: st.size,
        });
      }
    }
  }
  segments.sort((a, b) => a.createdAtMs - b.createdAtMs || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  checkpoints.sort((a, b) => a.timeMs - b.timeMs);
  return { segments, checkpoints };
}

/**
 * A segment's header from one small read (journal-reader.ts reads a 4 MiB window, which for a
 * listing of many segments would read most of each). Null when the file is gone; the reason
 * when the header is damaged.
 */
async function readHeaderOnly(
  fsys: StoreFs,
  path: string,
): Promise<{ header: SegmentHeader; fileBytes: number } | string | null> {
  let handle;
  try {
    handle = await fsys.open(path, 'r');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    return describeCause(e);
  }
  try {
    const fileBytes = (await handle.stat()).size;
    const want = Math.min(fileBytes, JOURNAL_MAGIC.length + RECORD_HEADER_BYTES + MAX_HEADER_BYTES);
    const buf = Buffer.alloc(want);
    let off = 0;
    while (off < want) {
      const n = await handle.read(buf, off, want - off, off);
      if (n === 0) break;
      off += n;
    }
    if (off < JOURNAL_MAGIC.length || !buf.subarray(0, JOURNAL_MAGIC.length).equals(JOURNAL_MAGIC)) {
      return 'not a journal segment (bad magic)';
    }
    const at = JOURNAL_MAGIC.length;
    if (off < at + RECORD_HEADER_BYTES) return 'segment header is damaged (short-header)';
    const len = buf.readUInt32LE(at);
    const end = at + RECORD_HEADER_BYTES + len;
    if (len > MAX_HEADER_BYTES || end > off) return 'segment header is damaged (short-payload)';
    const payload = buf.subarray(at + RECORD_HEADER_BYTES, end);
    if (!recordCrcMatches(buf.subarray(at, at + RECORD_HEADER_BYTES), payload)) {
      return 'segment header is damaged (bad-crc)';
    }
    const header = parseSegmentHeader(payload);
    if (header === null) return 'segment header is not valid';
    if (header.formatVersion !== JOURNAL_FORMAT_VERSION)
      return `journal format ${header.formatVersion} is not supported`;
    return { header, fileBytes };
  } catch (e) {
    return describeCause(e);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** One generation dropped by retention. */
export interface RetentionDrop {
  /** Files relative to DATA_DIR. */
  files: string[];
  checkpoint: string | null;
  segments: number;
  bytes: number;
  /** The generation ends here: moments before it are no longer in history. */
  untilMs: number;
  reason: 'retention' | 'size';
}

interface Generation {
  startMs: number;
  checkpoint: HistoryCheckpoint | null;
  segments: HistorySegment[];
  bytes: number;
}

/** Which generations of history/ to drop (pure). `listing` must be of history/ only. */
export function planHistoryRetention(
  listing: HistoryListing,
  nowMs: number,
  retentionMs: number,
  maxBytes: number,
): RetentionDrop[] {
  const gens: Generation[] = [{ startMs: -Infinity, checkpoint: null, segments: [], bytes: 0 }];
  for (const c of listing.checkpoints) gens.push({ startMs: c.timeMs, checkpoint: c, segments: [], bytes: c.bytes });
  const byId = new Map<string, Generation>();
  for (const g of gens) if (g.checkpoint !== null) byId.set(g.checkpoint.snapshotId, g);
  for (const s of listing.segments) {
    let gen = s.header === null ? undefined : byId.get(s.header.segmentId);
    if (gen === undefined) {
      gen = gens[0];
      for (const g of gens) if (g.startMs <= s.createdAtMs) gen = g;
    }
    gen.segments.push(s);
    gen.bytes += s.bytes;
  }
  const live = gens.filter((g) => g.checkpoint !== null || g.segments.length > 0);
  let total = 0;
  for (const g of live) total += g.bytes;
  const drops: RetentionDrop[] = [];
  for (let i = 0; i < live.length - 1; i++) {
    const untilMs = live[i + 1].startMs;
    let reason: RetentionDrop['reason'];
    if (untilMs <= nowMs - retentionMs) reason = 'retention';
    else if (total > maxBytes) reason = 'size';
    else break;
    const g = live[i];
    const files = [...(g.checkpoint === null ? [] : [g.checkpoint.file]), ...g.segments.map((s) => s.file)];
    drops.push({
      files,
      checkpoint: g.checkpoint?.file ?? null,
      segments: g.segments.length,
      bytes: g.bytes,
      untilMs,
      reason,
    });
    total -= g.bytes;
  }
  return drops;
}

/**
 * Moves a journal segment into history/ (rename: the same file system). A name already taken
 * there (a segment id reused after a backup was restored by hand) gets `.<n>`: nothing is
 * overwritten. Returns the new path relative to DATA_DIR.
 */
export async function moveSegmentToHistory(fsys: StoreFs, dataDir: string, from: string): Promise<string> {
  const dir = join(dataDir, HISTORY_DIR);
  await fsys.mkdir(dir).catch((e: unknown) => {
    if (!isErrno(e, 'EEXIST')) throw e;
  });
  const base = from.slice(from.lastIndexOf('/') + 1).replace(/\.jnl$/, '');
  for (let n = 0; n < 1000; n++) {
    const name = n === 0 ? `${base}.jnl` : `${base}.${n}.jnl`;
    try {
      await fsys.link(from, join(dir, name));
    } catch (e) {
      if (isErrno(e, 'EEXIST')) continue;
      // No hard links here (some network or FUSE file systems): a plain rename if the name is free.
      if ((await fsys.stat(join(dir, name)).catch(() => null)) !== null) continue;
      await fsys.rename(from, join(dir, name));
      return `${HISTORY_DIR}/${name}`;
    }
    await fsys.unlink(from);
    return `${HISTORY_DIR}/${name}`;
  }
  throw new Error(`no free name for ${base} in ${dir}`);
}

export interface HistoryKeeperOptions {
  dataDir: string;
  /** HISTORY_RETENTION in ms. */
  retentionMs: number;
  /** HISTORY_MAX_BYTES. */
  maxBytes: number;
  /** HISTORY_CHECKPOINT_INTERVAL in ms. */
  checkpointIntervalMs: number;
  log: Logger;
  fs?: StoreFs;
  now?: () => number;
}

/** The server's side of history: checkpoints after saves and retention (see the file comment). */
export class HistoryKeeper {
  private readonly fsys: StoreFs;
  private readonly now: () => number;
  private readonly dir: string;

  constructor(private readonly opts: HistoryKeeperOptions) {
    this.fsys = opts.fs ?? NODE_STORE_FS;
    this.now = opts.now ?? Date.now;
    this.dir = join(opts.dataDir, HISTORY_DIR);
  }

  /** history/ (for JournalWriter's `historyDir`). */
  get directory(): string {
    return this.dir;
  }

  /**
   * Keeps `snapshotPath` as the checkpoint `snapshotId` (a hard link, else a copy). Returns its
   * file relative to DATA_DIR, or null when it exists already. Failures are logged, not thrown:
   * the session goes on, and history has one checkpoint fewer.
   */
  async checkpoint(snapshotPath: string, snapshotId: string): Promise<string | null> {
    const name = `${snapshotId}.pkl`;
    const to = join(this.dir, name);
    try {
      await this.fsys.mkdir(this.dir).catch((e: unknown) => {
        if (!isErrno(e, 'EEXIST')) throw e;
      });
      try {
        await this.fsys.link(snapshotPath, to);
      } catch (e) {
        if (isErrno(e, 'EEXIST')) return null;
        await copyFileAtomic(snapshotPath, to, { fs: this.fsys, noReplace: true });
      }
      await fsyncDir(this.fsys, this.dir).catch(() => undefined);
      return `${HISTORY_DIR}/${name}`;
    } catch (e) {
      if (e instanceof StoreError && e.code === 'STORE_EXISTS') return null;
      this.opts.log.warn(`History: could not keep checkpoint ${name}: ${describeCause(e)}`);
      return null;
    }
  }

  /** After a durable save: a checkpoint when the newest is older than the interval, then retention. */
  async afterSave(snapshotPath: string, snapshotId: string): Promise<void> {
    const listing = await listHistory(this.opts.dataDir, { fs: this.fsys });
    const newest = listing.checkpoints.at(-1);
    const capturedMs = snapshotIdTimeMs(snapshotId) ?? this.now();
    if (newest === undefined || capturedMs - newest.timeMs >= this.opts.checkpointIntervalMs) {
      await this.checkpoint(snapshotPath, snapshotId);
    }
    await this.prune();
  }

  /**
   * The disk is low (free space under DISK_FREE_WARN): history gives way before snapshots and
   * the journal do. Whole generations go, oldest first — the newest too, if need be — until
   * about `neededBytes` are freed. Logged like retention.
   */
  async relieve(neededBytes: number): Promise<RetentionDrop[]> {
    if (neededBytes <= 0) return [];
    const listing = await listHistory(this.opts.dataDir, { fs: this.fsys });
    let total = 0;
    for (const f of [...listing.segments, ...listing.checkpoints]) total += f.bytes;
    if (total === 0) return [];
    const drops = planHistoryRetention(listing, this.now(), this.opts.retentionMs, Math.max(0, total - neededBytes));
    let left = total;
    for (const d of drops) left -= d.bytes;
    if (left > total - neededBytes) {
      // Over the bound with only the newest generation left: it goes too.
      const all = [...listing.checkpoints.map((c) => c.file), ...listing.segments.map((x) => x.file)];
      const dropped = new Set(drops.flatMap((d) => d.files));
      const rest = all.filter((f) => !dropped.has(f));
      if (rest.length > 0) {
        const pkl = rest.filter((f) => f.endsWith('.pkl'));
        drops.push({
          files: rest,
          checkpoint: pkl.length === 0 ? null : pkl.join(', '),
          segments: rest.length - pkl.length,
          bytes: left,
          untilMs: this.now(),
          reason: 'size',
        });
      }
    }
    return this.apply(drops, 'the disk is low on free space (below DISK_FREE_WARN)');
  }

  /** Applies retention (logged, one line per generation dropped). Returns what was dropped. */
  async prune(): Promise<RetentionDrop[]> {
    const listing = await listHistory(this.opts.dataDir, { fs: this.fsys });
    return this.apply(planHistoryRetention(listing, this.now(), this.opts.retentionMs, this.opts.maxBytes), null);
  }

  private async apply(drops: RetentionDrop[], forced: string | null): Promise<RetentionDrop[]> {
    for (const d of drops) {
      for (const f of d.files) {
        await this.fsys.unlink(join(this.opts.dataDir, f)).catch((e: unknown) => {
          if (!isErrno(e, 'ENOENT')) this.opts.log.warn(`History: could not delete ${f}: ${describeCause(e)}`);
        });
      }
      const why =
        forced ??
        (d.reason === 'retention'
          ? 'older than HISTORY_RETENTION'
          : `history/ is over HISTORY_MAX_BYTES (${this.opts.maxBytes} bytes)`);
      this.opts.log.info(
        `History: dropped ${d.checkpoint === null ? 'no checkpoint' : d.checkpoint} and ${d.segments} journal segment(s) ` +
          `(${d.bytes} bytes), the moments before ${localIsoSeconds(d.untilMs)}: ${why}`,
      );
    }
    if (drops.length > 0) await fsyncDir(this.fsys, this.dir).catch(() => undefined);
    return drops;
  }
}
