/**
 * Atomic replacement of a file, in the one fixed order (STYLE.md §8; redis `rdbSave`,
 * litestream `WriteLTXFile` + `FsyncDir`): write `<name>.<pid>.<n>.tmp` in the same directory,
 * fsync, close, rename over the target (or link it, for no-replace targets), fsync the
 * directory. A crash at any instant leaves the old file or the new one, never a mix; a failure
 * at any step before the rename removes the temp file and leaves the previous target untouched
 * (disk full and permission errors included), then throws `STORE_WRITE_FAILED` naming the step.
 */
import { basename, dirname, join } from 'node:path';

import { describeCause, storeError, StoreError, type WriteStep } from './errors.js';
import { tempNameFor } from './file-names.js';
import { isErrno, NODE_STORE_FS, statOrNull, type StoreFileHandle, type StoreFs } from './fs-port.js';

/** What to write: one buffer, or a stream of them (a gzip stream, a generator). */
export type WriteSource = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

export interface AtomicWriteOptions {
  fs?: StoreFs;
  /**
   * Never replace an existing target (backups, the lock file): the file is linked into place,
   * which fails with EEXIST atomically, and `STORE_EXISTS` is thrown.
   */
  noReplace?: boolean;
  /** File mode of a created file (default 0o644 less the umask). */
  mode?: number;
}

export interface AtomicWriteResult {
  /** Bytes in the new file. */
  bytes: number;
}

/** Writes `source` to `path` atomically. Throws StoreError: STORE_WRITE_FAILED (with `step`), STORE_EXISTS. */
export async function writeFileAtomic(
  path: string,
  source: WriteSource,
  options: AtomicWriteOptions = {},
): Promise<AtomicWriteResult> {
  const fsys = options.fs ?? NODE_STORE_FS;
  return viaTempFile(fsys, path, options, 'open', async (tmp, at) => {
    at.handle = await fsys.open(tmp, 'wx', options.mode);
    at.step = 'write';
    return writeAll(at.handle, source);
  });
}

/**
 * Copies `from` to `to` atomically (a backup of the snapshot): copy to a temp file (the kernel
 * may clone it), fsync, then link/rename into place and fsync the directory.
 */
export async function copyFileAtomic(
  from: string,
  to: string,
  options: AtomicWriteOptions = {},
): Promise<AtomicWriteResult> {
  const fsys = options.fs ?? NODE_STORE_FS;
  return viaTempFile(fsys, to, options, 'write', async (tmp, at) => {
    await fsys.copyFile(from, tmp);
    at.step = 'open';
    at.handle = await fsys.open(tmp, 'r+');
    at.step = 'fsync';
    return (await at.handle.stat()).size;
  });
}

/** Where a temp-file write stands: the step under way and the open handle, for cleanup and the error. */
interface TempProgress {
  step: WriteStep;
  handle: StoreFileHandle | null;
}

/**
 * The one durable order (STYLE.md §8): `fill` creates and fills a temp file beside `target` and
 * leaves its handle in `at`; then fsync, close, and publish (rename/link + directory fsync). On
 * any failure the handle is closed, the temp removed, and the step that failed reported.
 */
async function viaTempFile(
  fsys: StoreFs,
  target: string,
  options: AtomicWriteOptions,
  firstStep: WriteStep,
  fill: (tmp: string, at: TempProgress) => Promise<number>,
): Promise<AtomicWriteResult> {
  const tmp = join(dirname(target), tempNameFor(basename(target)));
  const at: TempProgress = { step: firstStep, handle: null };
  let bytes = 0;
  try {
    bytes = await fill(tmp, at);
    at.step = 'fsync';
    await (at.handle as StoreFileHandle).sync();
    at.step = 'close';
    const h = at.handle as StoreFileHandle;
    at.handle = null;
    await h.close();
  } catch (e) {
    if (at.handle !== null) await at.handle.close().catch(() => undefined);
    await fsys.unlink(tmp).catch(() => undefined);
    throw asWriteError(e, at.step, target);
  }
  await publish(fsys, tmp, target, options.noReplace === true);
  return { bytes };
}

/**
 * fsync of a directory, so a rename/link/unlink in it survives power loss. Windows cannot open a
 * directory for syncing; there it is a no-op.
 */
export async function fsyncDir(fsys: StoreFs, dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const h = await fsys.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Moves the durable temp file to its name and makes the directory entry durable. */
async function publish(fsys: StoreFs, tmp: string, path: string, noReplace: boolean): Promise<void> {
  let step: WriteStep = noReplace ? 'link' : 'rename';
  try {
    if (noReplace) await linkNoReplace(fsys, tmp, path);
    else await fsys.rename(tmp, path);
  } catch (e) {
    await fsys.unlink(tmp).catch(() => undefined);
    if (e instanceof StoreError) throw e;
    throw asWriteError(e, step, path);
  }
  step = 'fsync-dir';
  try {
    await fsyncDir(fsys, dirname(path));
  } catch (e) {
    // The new file is in place; only the durability of its directory entry is unknown.
    throw asWriteError(e, step, path);
  }
}

/** Errors of `link` meaning "this file system has no hard links", not "the target exists". */
const NO_LINK_SUPPORT = ['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV'];

async function linkNoReplace(fsys: StoreFs, tmp: string, path: string): Promise<void> {
  try {
    await fsys.link(tmp, path);
  } catch (e) {
    if (isErrno(e, 'EEXIST')) throw storeError('STORE_EXISTS', `${path} already exists`, { path }, e);
    if (!NO_LINK_SUPPORT.some((code) => isErrno(e, code))) throw e;
    // No hard links (some network and FUSE file systems): check, then rename. Only this process
    // writes under the locked data directory, so nothing can appear in between but an operator's copy.
    if ((await statOrNull(fsys, path)) !== null) {
      throw storeError('STORE_EXISTS', `${path} already exists`, { path });
    }
    await fsys.rename(tmp, path);
    return;
  }
  await fsys.unlink(tmp).catch(() => undefined);
}

async function writeAll(handle: StoreFileHandle, source: WriteSource): Promise<number> {
  if (source instanceof Uint8Array) return writeChunk(handle, source, 0);
  let pos = 0;
  const it =
    Symbol.asyncIterator in source
      ? (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
      : (source as Iterable<Uint8Array>)[Symbol.iterator]();
  for (;;) {
    let next: IteratorResult<Uint8Array>;
    try {
      next = await it.next();
    } catch (e) {
      throw new SourceError(e);
    }
    if (next.done === true) return pos;
    try {
      pos += await writeChunk(handle, next.value, pos);
    } catch (e) {
      // Stop the producer (a gzip stream would otherwise keep compressing into nowhere).
      await Promise.resolve(it.return?.()).catch(() => undefined);
      throw e;
    }
  }
}

async function writeChunk(handle: StoreFileHandle, chunk: Uint8Array, position: number): Promise<number> {
  let off = 0;
  while (off < chunk.length) {
    const n = await handle.write(chunk, off, chunk.length - off, position + off);
    if (n <= 0) throw new Error(`write made no progress at byte ${position + off}`);
    off += n;
  }
  return chunk.length;
}

/** A failure of the data source rather than of the disk. */
class SourceError extends Error {
  constructor(readonly inner: unknown) {
    super(describeCause(inner));
  }
}

function asWriteError(e: unknown, step: WriteStep, path: string): StoreError {
  if (e instanceof StoreError) return e;
  if (e instanceof SourceError) {
    if (e.inner instanceof StoreError) return e.inner;
    return storeError('STORE_WRITE_FAILED', `${path}: ${e.message} (step: source)`, { step: 'source', path }, e.inner);
  }
  return storeError('STORE_WRITE_FAILED', `${path}: ${describeCause(e)} (step: ${step})`, { step, path }, e);
}
