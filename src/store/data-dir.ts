/**
 * Housekeeping of DATA_DIR: its folders, leftover temp files, and corrupt/ — where damaged or
 * foreign files go. Nothing the store finds damaged is ever deleted (STYLE.md §9): it is moved
 * (or, for a journal segment that is salvaged in place, copied) to
 * `corrupt/<name>.<YYYYMMDD_HHMMSS>[.N]`, for the operator to inspect.
 */
import { basename, join } from 'node:path';

import { fsyncDir, writeFileAtomic } from './atomic-write.js';
import { describeCause, errnoOf, storeError } from './errors.js';
import {
  BACKUP_NAME_RE,
  BACKUPS_DIR,
  CORRUPT_DIR,
  corruptName,
  JOURNAL_DIR,
  localStamp,
  METADATA_FILE,
  SNAPSHOT_FILE,
  TEMP_NAME_RE,
} from './file-names.js';
import { readdirOrEmpty, statOrNull, type StoreFileHandle, type StoreFs } from './fs-port.js';
import type { Logger } from '../session/index.js';

/**
 * Creates DATA_DIR, backups/ and journal/ if missing. Throws StoreError STORE_WRITE_FAILED (step
 * `mkdir`) naming the path and what is in the way — a file where a folder belongs (EEXIST,
 * ENOTDIR), no permission — so the server's start fails with one clear line, not a stack.
 */
export async function ensureDataDir(fsys: StoreFs, dataDir: string): Promise<void> {
  for (const path of [dataDir, join(dataDir, BACKUPS_DIR), join(dataDir, JOURNAL_DIR)]) {
    try {
      await fsys.mkdir(path);
    } catch (e) {
      const code = errnoOf(e);
      const why =
        code === 'EEXIST' || code === 'ENOTDIR'
          ? 'a file of that name (or on its path) is in the way: move it, it must be a directory'
          : describeCause(e);
      throw storeError(
        'STORE_WRITE_FAILED',
        `${path} cannot be created as a directory: ${why} (step: mkdir)`,
        {
          step: 'mkdir',
          path,
        },
        e,
      );
    }
  }
}

/** Whether a temp file name is one of ours: `<our file>.<pid>.<n>.tmp`. */
function isOurTemp(name: string): boolean {
  const m = TEMP_NAME_RE.exec(name);
  if (m === null) return false;
  const target = m[1];
  // Not the lock file's temps: one may belong to a CLI tool taking the lock right now.
  return target === SNAPSHOT_FILE || target === METADATA_FILE || BACKUP_NAME_RE.test(target);
}

/**
 * Removes temp files a crashed save left behind (only names we create; call it while holding
 * the data-dir lock, so no live writer owns them). Returns the removed paths.
 */
export async function removeStaleTemps(fsys: StoreFs, dataDir: string, log: Logger): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of [dataDir, join(dataDir, BACKUPS_DIR)]) {
    for (const name of await readdirOrEmpty(fsys, dir)) {
      if (!isOurTemp(name)) continue;
      const path = join(dir, name);
      try {
        await fsys.unlink(path);
        removed.push(path);
        log.debug(`Removed temp file left by an interrupted save: ${path}`);
      } catch (e) {
        log.warn(`Could not remove leftover temp file ${path}: ${describeCause(e)}`);
      }
    }
  }
  return removed;
}

/** A free name in corrupt/ for `path`. */
async function corruptTarget(fsys: StoreFs, dataDir: string, path: string, nowMs: number): Promise<string> {
  const dir = join(dataDir, CORRUPT_DIR);
  await fsys.mkdir(dir);
  const stamp = localStamp(nowMs);
  for (let n = 0; ; n++) {
    const target = join(dir, corruptName(basename(path), stamp, n));
    if ((await statOrNull(fsys, target)) === null) return target;
  }
}

/** Moves `path` into corrupt/; returns the new path relative to DATA_DIR. Throws on I/O errors. */
export async function moveToCorrupt(fsys: StoreFs, dataDir: string, path: string, nowMs: number): Promise<string> {
  const target = await corruptTarget(fsys, dataDir, path, nowMs);
  await fsys.rename(path, target);
  await fsyncDir(fsys, join(dataDir, CORRUPT_DIR)).catch(() => undefined);
  return `${CORRUPT_DIR}/${basename(target)}`;
}

/** Copies `path` into corrupt/ (the original stays); returns the copy's path relative to DATA_DIR. */
export async function copyToCorrupt(fsys: StoreFs, dataDir: string, path: string, nowMs: number): Promise<string> {
  const target = await corruptTarget(fsys, dataDir, path, nowMs);
  await fsys.copyFile(path, target);
  return `${CORRUPT_DIR}/${basename(target)}`;
}

/**
 * Copies the bytes of `path` from `offset` to its end into corrupt/ as `<name>.tail.<stamp>`
 * (what a repair is about to cut off); returns the copy's path relative to DATA_DIR.
 */
export async function copyTailToCorrupt(
  fsys: StoreFs,
  dataDir: string,
  path: string,
  offset: number,
  nowMs: number,
): Promise<string> {
  const target = await corruptTarget(fsys, dataDir, `${path}.tail`, nowMs);
  const h = await fsys.open(path, 'r');
  try {
    const size = (await h.stat()).size;
    await writeFileAtomic(target, readRange(h, offset, size), { fs: fsys });
  } finally {
    await h.close().catch(() => undefined);
  }
  return `${CORRUPT_DIR}/${basename(target)}`;
}

async function* readRange(h: StoreFileHandle, from: number, to: number): AsyncGenerator<Uint8Array> {
  for (let pos = from; pos < to;) {
    const buf = Buffer.allocUnsafe(Math.min(4 * 1024 * 1024, to - pos));
    const n = await h.read(buf, 0, buf.length, pos);
    if (n === 0) return;
    pos += n;
    yield buf.subarray(0, n);
  }
}
