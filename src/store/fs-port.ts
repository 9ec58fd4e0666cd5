/**
 * The file-system calls the store makes, as an injectable port, and the few the CLI makes outside
 * the data directory (at the end): the only file in `src/` that imports `node:fs` (STYLE.md §1
 * "each kind of I/O has one home"; `eslint.config.js` enforces it). Tests wrap `NODE_STORE_FS` to
 * inject failures (ENOSPC, EACCES) at a chosen step.
 *
 * Journal appends use the synchronous fd calls on purpose: a mutation must reach the page cache
 * (survive a process crash) before it is relayed (DESIGN §4, redis `beforeSleep`), and a sync
 * `write()` of a record is a memcpy, not a disk wait. Everything that may wait on the disk
 * (fsync, whole-file I/O) is asynchronous.
 */
import { constants as fsConstants, promises as fsp } from 'node:fs';
import * as fs from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';

export interface StoreStats {
  size: number;
  mtimeMs: number;
  isFile(): boolean;
  isDirectory(): boolean;
}

/** Space on the file system holding a path (`statfs`), in bytes. */
export interface StoreSpace {
  /** Available to an unprivileged writer (`bavail`). */
  freeBytes: number;
  totalBytes: number;
}

export interface StoreFileHandle {
  readonly fd: number;
  /** Writes `length` bytes of `buffer` from `offset`; may write fewer (callers loop). */
  write(buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<number>;
  /** Reads up to `length` bytes; 0 at end of file. */
  read(buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<number>;
  stat(): Promise<StoreStats>;
  sync(): Promise<void>;
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export interface StoreFs {
  open(path: string, flags: string, mode?: number): Promise<StoreFileHandle>;
  rename(from: string, to: string): Promise<void>;
  /** Hard link: creates `to` only if it does not exist (EEXIST otherwise), atomically. */
  link(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  stat(path: string): Promise<StoreStats>;
  readFile(path: string): Promise<Buffer>;
  /** Copies a file, failing if `to` exists (COPYFILE_EXCL); may use copy-on-write clones. */
  copyFile(from: string, to: string): Promise<void>;
  truncate(path: string, length: number): Promise<void>;
  utimes(path: string, atimeMs: number, mtimeMs: number): Promise<void>;
  statfs(path: string): Promise<StoreSpace>;

  openSync(path: string, flags: string): number;
  /** pwritev: writes the buffers at `position`; returns the bytes written (may be fewer). */
  writevSync(fd: number, buffers: readonly Uint8Array[], position: number): number;
  ftruncateSync(fd: number, length: number): void;
  closeSync(fd: number): void;
  unlinkSync(path: string): void;
  fdatasync(fd: number): Promise<void>;
  closeFd(fd: number): Promise<void>;
}

function wrapHandle(h: fsp.FileHandle): StoreFileHandle {
  return {
    fd: h.fd,
    write: async (buffer, offset, length, position) => (await h.write(buffer, offset, length, position)).bytesWritten,
    read: async (buffer, offset, length, position) => (await h.read(buffer, offset, length, position)).bytesRead,
    stat: () => h.stat(),
    sync: () => h.sync(),
    datasync: () => h.datasync(),
    truncate: (length) => h.truncate(length),
    close: () => h.close(),
  };
}

/**
 * `mkdir -p`, one level at a time. Node's own `recursive: true` loops forever (at full CPU, deaf
 * to SIGTERM) on a path under /proc/sys, where mkdir fails with ENOENT on an existing parent: here
 * every level is tried once and the first real error is thrown.
 */
async function mkdirParents(path: string): Promise<void> {
  const missing: string[] = [];
  let at = resolvePath(path);
  for (;;) {
    try {
      if ((await fsp.stat(at)).isDirectory()) break;
      await fsp.mkdir(at); // not a directory: EEXIST names it
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    missing.push(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const dir of missing.reverse()) {
    try {
      await fsp.mkdir(dir);
    } catch (e) {
      // Created by another process meanwhile is fine; anything else is the answer.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !(await fsp.stat(dir)).isDirectory()) throw e;
    }
  }
}

/** The real file system. */
export const NODE_STORE_FS: StoreFs = {
  open: async (path, flags, mode) => wrapHandle(await fsp.open(path, flags, mode)),
  rename: (from, to) => fsp.rename(from, to),
  link: (from, to) => fsp.link(from, to),
  unlink: (path) => fsp.unlink(path),
  mkdir: (path) => mkdirParents(path),
  readdir: (path) => fsp.readdir(path),
  stat: (path) => fsp.stat(path),
  readFile: (path) => fsp.readFile(path),
  copyFile: (from, to) => fsp.copyFile(from, to, fsConstants.COPYFILE_EXCL),
  truncate: (path, length) => fsp.truncate(path, length),
  utimes: (path, atimeMs, mtimeMs) => fsp.utimes(path, atimeMs / 1000, mtimeMs / 1000),
  statfs: async (path) => {
    const s = await fsp.statfs(path);
    return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  },

  openSync: (path, flags) => fs.openSync(path, flags),
  writevSync: (fd, buffers, position) => fs.writevSync(fd, buffers as Uint8Array[], position),
  ftruncateSync: (fd, length) => fs.ftruncateSync(fd, length),
  closeSync: (fd) => fs.closeSync(fd),
  unlinkSync: (path) => fs.unlinkSync(path),
  fdatasync: (fd) => new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
  closeFd: (fd) => new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve()))),
};

/** Whether `e` is a Node system error with errno code `code`. */
export function isErrno(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;
}

/** `stat`, or null when the path does not exist. Other errors propagate. */
export async function statOrNull(fsys: StoreFs, path: string): Promise<StoreStats | null> {
  try {
    return await fsys.stat(path);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    throw e;
  }
}

/** `readdir`, or [] when the directory does not exist. */
export async function readdirOrEmpty(fsys: StoreFs, path: string): Promise<string[]> {
  try {
    return await fsys.readdir(path);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return [];
    throw e;
  }
}

/*
 * Files outside the data directory, for the CLI: `.env`, package.json, the console's static files,
 * a backup streamed to a download, the log file, the fixtures `check-fixtures` reads. They go
 * through here too, so that this file stays the one place in `src/` that touches the file system
 * (`eslint.config.js` forbids `node:fs` everywhere else). Synchronous reads are for start-up and
 * command-line tools only, where nothing else is waiting.
 */

/** What `statPathSync` reports. */
export type PathStats = StoreStats;

/** A file opened for appending (the log file): Node's write stream, `'error'` events and all. */
export type AppendStream = fs.WriteStream;

/** A file opened for reading as a stream (a backup download). */
export type FileReadStream = fs.ReadStream;

/** The whole file as UTF-8 text. Throws the system error (its `code`: ENOENT, EACCES, …). */
export function readTextFileSync(path: string | URL): string {
  return fs.readFileSync(path, 'utf8');
}

/** The whole file's bytes. Throws the system error. */
export function readFileBytesSync(path: string): Buffer {
  return fs.readFileSync(path);
}

/** Whether anything exists at `path`. */
export function pathExistsSync(path: string): boolean {
  return fs.existsSync(path);
}

/** The names in a directory. Throws the system error. */
export function listDirSync(path: string): string[] {
  return fs.readdirSync(path);
}

/** `stat` of a path. Throws the system error. */
export function statPathSync(path: string): PathStats {
  return fs.statSync(path);
}

/** Opens `path` for reading as a stream; a missing file shows as the stream's `'error'`. */
export function openFileReadStream(path: string): FileReadStream {
  return fs.createReadStream(path);
}

/** Opens (creating it if needed) `path` for appending; failures show as the stream's `'error'`. */
export function openAppendStream(path: string): AppendStream {
  return fs.createWriteStream(path, { flags: 'a' });
}
