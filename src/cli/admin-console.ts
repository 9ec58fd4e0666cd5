/**
 * Wires the admin console (src/admin/) to the running server: the views of the session, the
 * socket server and persistence it reads, the backup catalogue and session files it serves, and
 * the dashboard's files (read once from the build's `admin/static/`). `admin/` never imports
 * `net/` or `cli/`: everything crosses here as plain objects and callbacks.
 */
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  AdminServer,
  staticFiles,
  type AdminHost,
  type BackupInfo,
  type FileBody,
  type NetView,
  type SaveResult,
  type StaticFile,
  type StoreView,
} from '../admin/index.js';
import type { SessionServer } from '../net/index.js';
import { type SessionImage, Session, type SessionOptions } from '../session/index.js';
import {
  listBackups,
  describeCause,
  StoreError,
  BACKUPS_DIR,
  parseBackupName,
  encodeSnapshot,
  readSnapshotFile,
  type SaveOutcome,
  listDirSync,
  openFileReadStream,
  readFileBytesSync,
  statPathSync,
} from '../store/index.js';
import { consolePassword, isLoopbackHost, DEFAULT_CONFIG, type Config } from './config.js';
import { snapshotMetaOf } from './data-set-aside.js';
import type { LiveRestoreRequest, LiveRestoreResult } from './live-restore.js';
import type { Persistence } from './persistence.js';
import type { ServerLogger } from './server-logger.js';

/** The dashboard's files: `dist/src/admin/static/` next to this build. */
export const STATIC_DIR = fileURLToPath(new URL('../admin/static/', import.meta.url));
/** The dashboard is a few files; anything bigger is a packaging mistake, not something to hold in memory. */
const MAX_STATIC_BYTES = 16 * 1024 * 1024;

/** Reads every file under `dir` (empty when it does not exist). */
export function loadConsoleFiles(dir: string = STATIC_DIR): Map<string, StaticFile> {
  const entries: [string, Buffer][] = [];
  let total = 0;
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = listDirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(d, name);
      const st = statPathSync(path);
      if (st.isDirectory()) walk(path);
      else if (st.isFile()) {
        total += st.size;
        if (total > MAX_STATIC_BYTES) throw new Error(`the console's files in ${dir} exceed ${MAX_STATIC_BYTES} bytes`);
        entries.push(['/' + relative(dir, path).split(sep).join('/'), readFileBytesSync(path)]);
      }
    }
  };
  walk(dir);
  return staticFiles(entries);
}

/** The mutable state behind the console's `AdminHost`: filled in as the server starts. */
export interface ConsoleState {
  session: Session | null;
  net: NetView | null;
  store: StoreView | null;
  /** The live restore, once the session runs. */
  restore?: (request: LiveRestoreRequest) => Promise<LiveRestoreResult>;
}

export function consoleHost(state: ConsoleState, version: string, port: number): AdminHost {
  return {
    version,
    startedAtMs: Date.now(),
    ports: { command: port, data: port + 1, heartbeat: port + 2 },
    session: () => state.session,
    net: () => state.net,
    store: () => state.store,
    restore: (request) =>
      state.restore === undefined
        ? Promise.resolve({ ok: false, usage: false, message: 'the session is still being restored' })
        : state.restore(request),
  };
}

export function netViewOf(server: SessionServer): NetView {
  return {
    stats: () => server.stats(),
    get connectionCount() {
      return server.connectionCount;
    },
    peerOf: (clientId) => server.peersOf(clientId).command ?? null,
    kick: (username) => server.adminKick(username),
  };
}

export function saveResultOf(o: SaveOutcome, atMs: number): SaveResult {
  return o.ok
    ? { ok: true, reason: o.reason, bytes: o.bytes, backup: o.backup, durationMs: o.durationMs, atMs }
    : { ok: false, reason: o.reason, error: o.error.message, atMs };
}

interface Verified {
  readonly size: number;
  readonly mtimeMs: number;
  readonly verified: 'ok' | 'bad';
  readonly detail: string | null;
}

/** Persistence as the console sees it; `lastSave` is kept from `onSaveOutcome`. */
export function storeViewOf(
  persistence: Persistence,
  sessionOptions: SessionOptions,
  track: { lastSave: SaveResult | null },
): StoreView {
  const dir = join(persistence.dataDir, BACKUPS_DIR);
  // Verification reads a whole file: remembered per name, size and mtime (backups are never rewritten in place).
  const verified = new Map<string, Verified>();
  const check = (image: SessionImage): string | null => Session.checkImage(image, sessionOptions);
  const info = (name: string, size: number, mtimeMs: number): BackupInfo => {
    const v = verified.get(name);
    const fresh = v !== undefined && v.size === size && v.mtimeMs === mtimeMs;
    return {
      name,
      savedAtMs: parseBackupName(`${name}.pkl`)?.timeMs ?? mtimeMs,
      bytes: size,
      verified: fresh ? v.verified : 'unknown',
      detail: fresh ? v.detail : null,
    };
  };
  const statOf = (name: string): { size: number; mtimeMs: number } | null => {
    try {
      const st = statPathSync(join(dir, `${name}.pkl`));
      return st.isFile() ? { size: st.size, mtimeMs: st.mtimeMs } : null;
    } catch {
      return null;
    }
  };
  return {
    journal: () => persistence.journalStatus,
    journalStats: () => persistence.journalStats,
    disk: () => persistence.diskSpace,
    lastSave: () => track.lastSave,
    nextAutoSaveAtMs: () => persistence.nextAutoSaveAtMs,
    save: async (reason) => saveResultOf(await persistence.save(reason), Date.now()),
    listBackups: async () => {
      const out: BackupInfo[] = [];
      for (const b of (await listBackups(persistence.dataDir)).reverse()) {
        const name = b.name.replace(/\.pkl$/, '');
        const st = statOf(name);
        if (st !== null) out.push(info(name, st.size, st.mtimeMs));
      }
      return out;
    },
    verifyBackup: async (name) => {
      const st = statOf(name);
      if (st === null) return null;
      let result: Verified;
      try {
        await readSnapshotFile(join(dir, `${name}.pkl`), { check });
        result = { ...st, verified: 'ok', detail: null };
      } catch (err) {
        if (!(err instanceof StoreError)) throw err;
        if (err.code === 'STORE_NOT_FOUND') return null;
        result = { ...st, verified: 'bad', detail: describeCause(err) };
      }
      verified.set(name, result);
      return info(name, st.size, st.mtimeMs);
    },
    openBackup: async (name): Promise<FileBody | null> => {
      const st = statOf(name);
      if (st === null) return null;
      // Opened before the reply starts: a backup rotated away meanwhile is a 404, not a broken
      // download. An open file stays readable after the rotation unlinks it.
      const stream = openFileReadStream(join(dir, `${name}.pkl`));
      const opened = await new Promise<boolean>((resolve) => {
        stream.once('open', () => resolve(true));
        stream.once('error', () => resolve(false));
      });
      return opened ? { bytes: st.size, stream } : null;
    },
    exportSession: () => ({
      bytes: null,
      stream: encodeSnapshot(persistence.session.exportImage(), snapshotMetaOf('export', Date.now())),
    }),
  };
}

/** Whether the console keeps to loopback `Host` headers (DNS rebinding with a well-known password). */
export function consoleLoopbackOnly(config: Config): boolean {
  return consolePassword(config) === DEFAULT_CONFIG.adminPassword;
}

/** Starts the console on HTTP_ADDR (port P+3 by default); null when HTTP_ADDR=off. Throws the bind error. */
export async function startConsole(config: Config, host: AdminHost, logger: ServerLogger): Promise<AdminServer | null> {
  const addr = config.httpAddr;
  if (addr === null) return null;
  const password = consolePassword(config);
  const admin = await AdminServer.start(host, {
    host: addr.host,
    port: addr.port ?? config.port + 3,
    password,
    metricsToken: config.metricsToken,
    loginAttemptsPerMinute: config.httpLoginAttempts,
    secureCookie: config.httpSecureCookie,
    loopbackHostsOnly: consoleLoopbackOnly(config) && isLoopbackHost(addr.host),
    files: loadConsoleFiles(),
    logger,
  });
  logger.observe((_level, message) => admin.warning(message));
  if (password === '') logger.info('Admin console: no password set, so console logins are disabled.');
  return admin;
}
