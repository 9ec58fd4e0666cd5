/**
 * DATA_DIR/server.lock: one process at a time works on a data directory. The server holds it
 * while running; CLI tools (`backups`, `restore`, `verify`, `export`, `import`) take it too, so
 * they refuse clearly instead of racing a live server.
 *
 * The file holds `{pid, hostname, purpose, started_at, token}` and is created atomically (temp
 * file linked into place, which fails if it exists). A lock is stale, and is taken over, when:
 * - same host: its pid is not running, or is our own pid (a container restarted as PID 1 again);
 * - another host (a second container on a shared volume): its mtime is older than `staleMs` —
 *   the holder touches the file every `refreshMs`, so a live holder elsewhere is never stale.
 *
 * Taking over must not let two processes both win. Several may judge the same stale lock at once;
 * if each simply deleted `server.lock`, a late one would delete the fresh lock of the first and
 * create its own. So a takeover first claims the right to delete that one stale file: an exclusive
 * create of `server.lock.break-<digest of the stale file's bytes>`, which only one process can
 * win. The winner re-reads `server.lock` and deletes it only if it still holds those bytes; then
 * every contender races for the plain exclusive create again, which exactly one wins. A breaker
 * that died before finishing leaves its claim behind; a claim older than `breakAbandonMs` is
 * superseded by the next generation (`…-1`, `…-2`), never deleted, so it cannot be fought over.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';

import { writeFileAtomic } from './atomic-write.js';
import { describeCause, storeError, StoreError } from './errors.js';
import { localIsoSeconds, LOCK_FILE } from './file-names.js';
import { NODE_STORE_FS, isErrno, type StoreFs } from './fs-port.js';
import { NULL_LOGGER, type Logger } from '../session/index.js';

export interface LockInfo {
  pid: number;
  hostname: string;
  /** `server`, `verify`, `restore`, … (shown to whoever is refused). */
  purpose: string;
  started_at: string;
  /** Random, so release() removes only our own lock. */
  token: string;
}

export interface DataDirLockOptions {
  purpose: string;
  fs?: StoreFs;
  log?: Logger;
  pid?: number;
  hostname?: string;
  /** Whether a local pid is running (default: `process.kill(pid, 0)`). */
  isAlive?: (pid: number) => boolean;
  now?: () => number;
  /** How often the holder touches the file (default 10 s; 0 = never, for short CLI runs). */
  refreshMs?: number;
  /** Age after which another host's lock is stale (default 30 s). */
  staleMs?: number;
  /** Age after which an unfinished takeover claim is superseded (default 10 s; a takeover takes milliseconds). */
  breakAbandonMs?: number;
}

const DEFAULT_REFRESH_MS = 10_000;
const DEFAULT_STALE_MS = 30_000;
const MAX_TAKEOVERS = 3;
const DEFAULT_BREAK_ABANDON_MS = 10_000;
/** Generations of takeover claims tried for one stale file before giving up with STORE_LOCKED. */
const MAX_BREAK_GENERATIONS = 4;
/** While another process is taking a stale lock over (milliseconds of work), how long to wait for it. */
const BREAK_WAIT_MS = 1_000;
const BREAK_WAIT_STEP_MS = 10;

export class DataDirLock {
  private timer: NodeJS.Timeout | null = null;
  private released = false;

  constructor(
    readonly path: string,
    readonly info: LockInfo,
    private readonly fsys: StoreFs,
    log: Logger,
    refreshMs: number,
    now: () => number,
  ) {
    if (refreshMs > 0) {
      this.timer = setInterval(() => {
        const t = now();
        this.fsys
          .utimes(this.path, t, t)
          .catch((e: unknown) => log.warn(`Could not refresh ${this.path}: ${describeCause(e)}`));
      }, refreshMs);
      this.timer.unref();
    }
  }

  /** Removes the lock file if it is still ours. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.timer !== null) clearInterval(this.timer);
    const current = await readLockFile(this.path, this.fsys).catch(() => null);
    if (current?.info?.token === this.info.token) await this.fsys.unlink(this.path).catch(() => undefined);
  }
}

/** How often a lock file may vanish between "exists" and reading it before the directory is judged unusable. */
const MAX_VANISHED = 50;

/**
 * Takes the lock of `dataDir` (creating the directory). Throws StoreError STORE_LOCKED (message
 * names the holder: purpose, pid, host, since when) or STORE_WRITE_FAILED.
 */
export async function acquireDataDirLock(dataDir: string, options: DataDirLockOptions): Promise<DataDirLock> {
  const fsys = options.fs ?? NODE_STORE_FS;
  const log = options.log ?? NULL_LOGGER;
  const now = options.now ?? Date.now;
  const path = join(dataDir, LOCK_FILE);
  const info: LockInfo = {
    pid: options.pid ?? process.pid,
    hostname: options.hostname ?? osHostname(),
    purpose: options.purpose,
    started_at: localIsoSeconds(now()),
    token: randomBytes(8).toString('hex'),
  };
  try {
    await fsys.mkdir(dataDir);
  } catch (e) {
    throw storeError(
      'STORE_WRITE_FAILED',
      `${dataDir}: ${describeCause(e)} (step: mkdir)`,
      { step: 'mkdir', path: dataDir },
      e,
    );
  }
  const body = Buffer.from(`${JSON.stringify(info, null, 2)}\n`, 'utf8');
  let takeovers = 0;
  let vanished = 0;
  let waitUntil = 0;
  for (;;) {
    try {
      await writeFileAtomic(path, body, { fs: fsys, noReplace: true });
      return new DataDirLock(path, info, fsys, log, options.refreshMs ?? DEFAULT_REFRESH_MS, now);
    } catch (e) {
      if (!(e instanceof StoreError) || e.code !== 'STORE_EXISTS') throw e;
    }
    const held = await readLockFile(path, fsys).catch(() => null);
    if (held === null) {
      // Vanished meanwhile: try again — but only so often. A directory where a created file
      // "exists" yet cannot be read back (/proc, /sys, a broken mount) would loop forever.
      if (++vanished <= MAX_VANISHED) continue;
      throw storeError(
        'STORE_WRITE_FAILED',
        `${dataDir}: cannot create the lock file ${LOCK_FILE} there (it is reported to exist but cannot be read ` +
          `back ${MAX_VANISHED} times over); is this a real, writable file system? /proc and /sys are not (step: link)`,
        { step: 'link', path },
      );
    }
    const verdict = judge(held, info, options, now());
    if (verdict.stale && takeovers < MAX_TAKEOVERS) {
      const outcome = await breakStaleLock(path, held.bytes, body, fsys, options, now);
      if (outcome === 'broken') {
        takeovers++;
        log.warn(`Removing stale lock ${path} (${verdict.why})`);
        continue;
      }
      if (outcome === 'changed') continue;
      // Another process is taking this stale lock over: give it a moment, then look again.
      if (waitUntil === 0) waitUntil = Date.now() + BREAK_WAIT_MS;
      if (Date.now() < waitUntil) {
        await new Promise((resolve) => setTimeout(resolve, BREAK_WAIT_STEP_MS));
        continue;
      }
    }
    throw storeError(
      'STORE_LOCKED',
      `${describeHolder(dataDir, held.info)}; stop it first (or wait for it to finish)`,
      {
        path,
      },
    );
  }
}

/** The lock file's holder, for status displays; null when the directory is not locked. */
export async function readDataDirLock(
  dataDir: string,
  fsys: StoreFs = NODE_STORE_FS,
): Promise<{ info: LockInfo | null; mtimeMs: number } | null> {
  const held = await readLockFile(join(dataDir, LOCK_FILE), fsys);
  return held === null ? null : { info: held.info, mtimeMs: held.mtimeMs };
}

async function readLockFile(
  path: string,
  fsys: StoreFs,
): Promise<{ info: LockInfo | null; mtimeMs: number; bytes: Buffer } | null> {
  let bytes: Buffer;
  let mtimeMs: number;
  try {
    mtimeMs = (await fsys.stat(path)).mtimeMs;
    bytes = await fsys.readFile(path);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    throw e;
  }
  return { info: parseLockInfo(bytes.toString('utf8')), mtimeMs, bytes };
}

/**
 * Deletes the stale lock whose bytes are `staleBytes`, if this process wins the claim to do so
 * (see the module comment). `broken`: deleted (or already gone); `changed`: the lock file is no
 * longer that stale one; `busy`: another process holds the claim.
 */
async function breakStaleLock(
  path: string,
  staleBytes: Buffer,
  claimBody: Buffer,
  fsys: StoreFs,
  options: DataDirLockOptions,
  now: () => number,
): Promise<'broken' | 'changed' | 'busy'> {
  const digest = createHash('sha256').update(staleBytes).digest('hex').slice(0, 16);
  const abandonMs = options.breakAbandonMs ?? DEFAULT_BREAK_ABANDON_MS;
  for (let generation = 0; generation < MAX_BREAK_GENERATIONS; generation++) {
    const claim = `${path}.break-${digest}${generation === 0 ? '' : `-${generation}`}`;
    try {
      await writeFileAtomic(claim, claimBody, { fs: fsys, noReplace: true });
    } catch (e) {
      if (!(e instanceof StoreError) || e.code !== 'STORE_EXISTS') throw e;
      const claimed = await fsys.stat(claim).catch(() => null);
      // A live claim: its holder is deleting the stale lock right now. A vanished one: done.
      if (claimed === null || now() - claimed.mtimeMs <= abandonMs) return 'busy';
      continue; // abandoned by a process that died mid-takeover: try the next generation
    }
    try {
      const current = await readLockFile(path, fsys);
      if (current === null) return 'broken';
      if (!current.bytes.equals(staleBytes)) return 'changed';
      await fsys.unlink(path).catch((e: unknown) => {
        if (!isErrno(e, 'ENOENT')) throw e;
      });
      return 'broken';
    } finally {
      // Safe to drop even if a slow contender re-creates it: it re-reads before deleting anything.
      await fsys.unlink(claim).catch(() => undefined);
    }
  }
  return 'busy';
}

function parseLockInfo(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text) as Partial<LockInfo> | null;
    if (v === null || typeof v !== 'object' || !Number.isSafeInteger(v.pid) || typeof v.hostname !== 'string')
      return null;
    return {
      pid: v.pid as number,
      hostname: v.hostname,
      purpose: typeof v.purpose === 'string' ? v.purpose : 'unknown',
      started_at: typeof v.started_at === 'string' ? v.started_at : '?',
      token: typeof v.token === 'string' ? v.token : '',
    };
  } catch {
    return null;
  }
}

function judge(
  held: { info: LockInfo | null; mtimeMs: number; bytes: Buffer },
  me: LockInfo,
  options: DataDirLockOptions,
  nowMs: number,
): { stale: boolean; why: string } {
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const age = nowMs - held.mtimeMs;
  const h = held.info;
  if (h === null)
    return { stale: age > staleMs, why: `unreadable lock file, untouched for ${Math.round(age / 1000)} s` };
  if (h.hostname === me.hostname) {
    if (h.pid === me.pid) return { stale: true, why: `it names our own pid ${h.pid}: left by an earlier run` };
    const alive = (options.isAlive ?? isPidAlive)(h.pid);
    return { stale: !alive, why: `process ${h.pid} is not running` };
  }
  return { stale: age > staleMs, why: `host ${h.hostname} has not refreshed it for ${Math.round(age / 1000)} s` };
}

function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return isErrno(e, 'EPERM');
  }
}

function describeHolder(dataDir: string, info: LockInfo | null): string {
  if (info === null) return `Data directory ${dataDir} is locked (unreadable ${LOCK_FILE})`;
  return `Data directory ${dataDir} is in use by ${info.purpose} (pid ${info.pid} on ${info.hostname}, since ${info.started_at})`;
}
