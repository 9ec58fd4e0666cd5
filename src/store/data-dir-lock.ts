/**
 * DATA_DIR/server.lock: one process at a time works on a data directory. The server holds it
 * while running; CLI tools (`backups`, `restore`, `verify`, `export`, `import`) take it too, so
 * they refuse clearly instead of racing a live server (issue 4 §7).
 *
 * The file holds `{pid, hostname, purpose, started_at, token}` and is created atomically (temp
 * file linked into place, which fails if it exists). A lock is stale, and is taken over, when:
 * - same host: its pid is not running, or is our own pid (a container restarted as PID 1 again);
 * - another host (a second container on a shared volume): its mtime is older than `staleMs` —
 *   the holder touches the file every `refreshMs`, so a live holder elsewhere is never stale.
 */
import { randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';

import { writeFileAtomic } from './atomic-write.js';
import { describeCause, storeError, StoreError } from './errors.js';
import { localIsoSeconds, LOCK_FILE } from './file-names.js';
import { NODE_STORE_FS, isErrno, type StoreFs } from './fs-port.js';
import { SILENT_STORE_LOGGER, type StoreLogger } from './logger.js';

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
  log?: StoreLogger;
  pid?: number;
  hostname?: string;
  /** Whether a local pid is running (default: `process.kill(pid, 0)`). */
  isAlive?: (pid: number) => boolean;
  now?: () => number;
  /** How often the holder touches the file (default 10 s; 0 = never, for short CLI runs). */
  refreshMs?: number;
  /** Age after which another host's lock is stale (default 30 s). */
  staleMs?: number;
}

const DEFAULT_REFRESH_MS = 10_000;
const DEFAULT_STALE_MS = 30_000;
const MAX_TAKEOVERS = 3;

export class DataDirLock {
  private timer: NodeJS.Timeout | null = null;
  private released = false;

  constructor(
    readonly path: string,
    readonly info: LockInfo,
    private readonly fsys: StoreFs,
    log: StoreLogger,
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

/**
 * Takes the lock of `dataDir` (creating the directory). Throws StoreError STORE_LOCKED (message
 * names the holder: purpose, pid, host, since when) or STORE_WRITE_FAILED.
 */
export async function acquireDataDirLock(dataDir: string, options: DataDirLockOptions): Promise<DataDirLock> {
  const fsys = options.fs ?? NODE_STORE_FS;
  const log = options.log ?? SILENT_STORE_LOGGER;
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
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFileAtomic(path, body, { fs: fsys, noReplace: true });
      return new DataDirLock(path, info, fsys, log, options.refreshMs ?? DEFAULT_REFRESH_MS, now);
    } catch (e) {
      if (!(e instanceof StoreError) || e.code !== 'STORE_EXISTS') throw e;
    }
    const held = await readLockFile(path, fsys).catch(() => null);
    if (held === null) continue; // vanished meanwhile: try again
    const verdict = judge(held, info, options, now());
    if (verdict.stale && attempt < MAX_TAKEOVERS) {
      log.warn(`Removing stale lock ${path} (${verdict.why})`);
      await fsys.unlink(path).catch((e: unknown) => {
        if (!isErrno(e, 'ENOENT')) throw e;
      });
      continue;
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
  return readLockFile(join(dataDir, LOCK_FILE), fsys);
}

async function readLockFile(path: string, fsys: StoreFs): Promise<{ info: LockInfo | null; mtimeMs: number } | null> {
  let text: Buffer;
  let mtimeMs: number;
  try {
    mtimeMs = (await fsys.stat(path)).mtimeMs;
    text = await fsys.readFile(path);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    throw e;
  }
  return { info: parseLockInfo(text.toString('utf8')), mtimeMs };
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
  held: { info: LockInfo | null; mtimeMs: number },
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
