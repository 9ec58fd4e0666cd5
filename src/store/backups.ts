/**
 * backups/: a copy of each saved snapshot, named `snapshot_YYYYMMDD_HHMMSS.pkl` in local time
 * (seed/000 "Backup Structure"). A backup never replaces an existing file: a second save in the
 * same second becomes `_1`, `_2`, … Names stay in save order even if the clock goes back (NTP
 * step, DST ending): a stamp earlier than the newest backup's reuses the newest stamp with the
 * next counter. Rotation keeps the newest MAX_BACKUPS files matching that pattern; any other
 * file in backups/ (an operator's copy, a README) is never touched.
 */
import { join } from 'node:path';

import { copyFileAtomic } from './atomic-write.js';
import { describeCause, StoreError } from './errors.js';
import {
  BACKUPS_DIR,
  compareBackupNames,
  formatBackupName,
  localStamp,
  parseBackupName,
  type BackupName,
} from './file-names.js';
import { NODE_STORE_FS, readdirOrEmpty, type StoreFs } from './fs-port.js';
import { logBackupRotated } from './log-messages.js';
import { NULL_LOGGER, type Logger } from '../session/index.js';

/** `MAX_BACKUPS` default (seed/000: "Keep last 10 snapshots"). */
export const DEFAULT_MAX_BACKUPS = 10;
/** How many names to try when others keep appearing (only an operator copying files in could cause it). */
const MAX_NAME_ATTEMPTS = 100;

export interface BackupEntry extends BackupName {
  /** Absolute path. */
  path: string;
}

/** Our backups, oldest first. */
export async function listBackups(dataDir: string, fsys: StoreFs = NODE_STORE_FS): Promise<BackupEntry[]> {
  const dir = join(dataDir, BACKUPS_DIR);
  const parsed: BackupName[] = [];
  for (const name of await readdirOrEmpty(fsys, dir)) {
    const p = parseBackupName(name);
    if (p !== null) parsed.push(p);
  }
  parsed.sort(compareBackupNames);
  return parsed.map((p) => ({ ...p, path: join(dir, p.name) }));
}

/** The name for a backup made at `nowMs`, given the names already in backups/. */
export function nextBackupName(existing: readonly string[], nowMs: number): string {
  let newest: BackupName | null = null;
  for (const name of existing) {
    const p = parseBackupName(name);
    if (p !== null && (newest === null || compareBackupNames(p, newest) > 0)) newest = p;
  }
  const stamp = localStamp(nowMs);
  if (newest === null || stamp > newest.stamp) return formatBackupName(stamp, 0);
  return formatBackupName(newest.stamp, newest.seq + 1);
}

/**
 * Copies `snapshotPath` into backups/ under the next free name (atomically, never replacing).
 * Throws StoreError STORE_WRITE_FAILED (the snapshot itself is unaffected).
 */
export async function writeBackup(
  dataDir: string,
  snapshotPath: string,
  options: { fs?: StoreFs; nowMs: number },
): Promise<{ name: string; path: string; bytes: number }> {
  const fsys = options.fs ?? NODE_STORE_FS;
  const dir = join(dataDir, BACKUPS_DIR);
  await fsys.mkdir(dir);
  const names = await readdirOrEmpty(fsys, dir);
  for (let attempt = 0; ; attempt++) {
    const name = nextBackupName(names, options.nowMs);
    const path = join(dir, name);
    try {
      const { bytes } = await copyFileAtomic(snapshotPath, path, { fs: fsys, noReplace: true });
      return { name, path, bytes };
    } catch (e) {
      if (!(e instanceof StoreError) || e.code !== 'STORE_EXISTS' || attempt >= MAX_NAME_ATTEMPTS) throw e;
      names.push(name);
    }
  }
}

/**
 * Deletes our oldest backups until `maxBackups` remain, each with an INFO line naming it and the
 * rule (a lowered MAX_BACKUPS deletes many at once: never silently). Returns the deleted names; a
 * file that cannot be deleted is logged and skipped (it is retried at the next rotation).
 */
export async function rotateBackups(
  dataDir: string,
  maxBackups: number,
  options: { fs?: StoreFs; log?: Logger } = {},
): Promise<string[]> {
  const fsys = options.fs ?? NODE_STORE_FS;
  const log = options.log ?? NULL_LOGGER;
  const all = await listBackups(dataDir, fsys);
  const excess = all.slice(0, Math.max(0, all.length - Math.max(0, maxBackups)));
  const deleted: string[] = [];
  for (const b of excess) {
    try {
      await fsys.unlink(b.path);
      deleted.push(b.name);
      log.info(logBackupRotated(b.name, maxBackups), { file: `${BACKUPS_DIR}/${b.name}`, max_backups: maxBackups });
    } catch (e) {
      log.warn(`Could not delete old backup ${b.name}: ${describeCause(e)}`);
    }
  }
  return deleted;
}
