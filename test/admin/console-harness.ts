/**
 * A real server with its admin console, in-process and wired exactly as `serve` wires them
 * (cli/admin-console.ts): persistence on a temp data dir, the three session sockets, and the
 * console on an ephemeral port. The data directory's file system can be made to fail fsyncs or to
 * report little free space, as the store tests do. `api()` speaks real HTTP (fetch).
 */
import assert from 'node:assert/strict';

import { AdminServer, staticFiles, type SaveResult } from '../../src/admin/index.js';
import {
  consoleHost,
  netViewOf,
  saveResultOf,
  storeViewOf,
  type ConsoleState,
  Persistence,
} from '../../src/cli/index.js';
import { ReplicationClient } from '../../src/client/index.js';
import { createFuncLogger } from '../../src/session/index.js';
import type { SessionServer } from '../../src/net/index.js';
import { NODE_STORE_FS, type StoreFs, type JournalFsyncPolicy } from '../../src/store/index.js';
import { startServerOver } from '../helpers/wired-server.js';
import { tempDataDir } from '../integration/cli-server.js';
import { ADMIN_PASSWORD, LogSink } from '../integration/harness.js';

export const CONSOLE_PASSWORD = 'console-secret';
export const INDEX_HTML = '<!doctype html><title>test console</title>';

export interface ConsoleOptions {
  journalFsync?: JournalFsyncPolicy;
  metricsToken?: string;
  loginAttempts?: number;
  maxBackups?: number;
  diskFreeWarnBytes?: number;
}

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  readonly text: string;
  json(): unknown;
}

export interface ConsoleServer {
  readonly url: string;
  readonly logs: LogSink;
  readonly server: SessionServer;
  readonly persistence: Persistence;
  readonly admin: AdminServer;
  /** From now on every journal fsync fails with ENOSPC (until called with false). */
  failFsyncs(on: boolean): void;
  /** statfs reports this many free bytes from now on (null: the real value). */
  setFreeBytes(bytes: number | null): void;
  api(
    path: string,
    init?: { method?: string; body?: unknown; cookie?: string; csrf?: string; headers?: Record<string, string> },
  ): Promise<Reply>;
  /** Logs in; returns the cookie header and CSRF token. */
  login(password?: string): Promise<{ cookie: string; csrf: string }>;
  client(username: string, admin?: boolean): ReplicationClient;
  close(): Promise<void>;
}

export async function startConsoleServer(opts: ConsoleOptions = {}): Promise<ConsoleServer> {
  const logs = new LogSink();
  const logger = createFuncLogger((level, message) => logs.push({ level, message }));
  let failFsync = false;
  let freeBytes: number | null = null;
  const fs: StoreFs = {
    ...NODE_STORE_FS,
    fdatasync: (fd) =>
      failFsync
        ? Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, fdatasync'), { code: 'ENOSPC' }))
        : NODE_STORE_FS.fdatasync(fd),
    statfs: async (path) => {
      const real = await NODE_STORE_FS.statfs(path);
      return freeBytes === null ? real : { freeBytes, totalBytes: real.totalBytes };
    },
  };
  const sessionOptions = { adminPassword: ADMIN_PASSWORD };
  const persistence = await Persistence.open({
    dataDir: tempDataDir('mus-admin-'),
    saveIntervalS: 0,
    maxBackups: opts.maxBackups ?? 10,
    journalFsync: opts.journalFsync ?? 100,
    journalReserveBytes: 0,
    diskFreeWarnBytes: opts.diskFreeWarnBytes ?? 1024 * 1024,
    session: sessionOptions,
    logger,
    serverVersion: 'test',
    fs,
  });
  const server = await startServerOver(persistence, logger);
  const track: { lastSave: SaveResult | null } = { lastSave: null };
  const state: ConsoleState = {
    session: persistence.session,
    net: netViewOf(server),
    store: storeViewOf(persistence, sessionOptions, track),
  };
  const admin = await AdminServer.start(consoleHost(state, 'test', server.port), {
    host: '127.0.0.1',
    port: 0,
    password: CONSOLE_PASSWORD,
    metricsToken: opts.metricsToken ?? '',
    loginAttemptsPerMinute: opts.loginAttempts ?? 100,
    secureCookie: false,
    loopbackHostsOnly: false,
    files: staticFiles([['/index.html', Buffer.from(INDEX_HTML)]]),
    logger,
    feed: { statsIntervalMs: 200, watchIntervalMs: 50 },
  });
  persistence.onSaveOutcome = (o) => {
    track.lastSave = saveResultOf(o, Date.now());
    admin.saved(track.lastSave);
  };
  const clients: ReplicationClient[] = [];
  const url = admin.url;
  const api: ConsoleServer['api'] = async (path, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.cookie !== undefined) headers.cookie = init.cookie;
    if (init.csrf !== undefined) headers['x-csrf-token'] = init.csrf;
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(url + path, { method: init.method ?? 'GET', headers, body, redirect: 'manual' });
    const bytes = Buffer.from(await res.arrayBuffer());
    const text = bytes.toString('utf8');
    return { status: res.status, headers: res.headers, body: bytes, text, json: () => JSON.parse(text) as unknown };
  };
  return {
    url,
    logs,
    server,
    persistence,
    admin,
    failFsyncs: (on) => (failFsync = on),
    setFreeBytes: (b) => (freeBytes = b),
    api,
    async login(password = CONSOLE_PASSWORD) {
      const r = await api('/api/login', { method: 'POST', body: { password } });
      assert.equal(r.status, 200, r.text);
      const setCookie = r.headers.get('set-cookie') ?? '';
      const cookie = setCookie.split(';')[0];
      assert.match(cookie, /^mus_session=.+/);
      return { cookie, csrf: (r.json() as { csrfToken: string }).csrfToken };
    },
    client(username, admin = false) {
      const c = new ReplicationClient({
        host: '127.0.0.1',
        port: server.port,
        username,
        stepTimeoutMs: 5000,
        adminPassword: admin ? ADMIN_PASSWORD : undefined,
      });
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await admin.close();
      await server.close();
      await persistence.close();
    },
  };
}

/** Reads Server-Sent Events from a streaming response until `match` returns true for one. */
export async function readEventsUntil(
  res: Response,
  match: (event: string, data: unknown) => boolean,
  ms = 5000,
): Promise<{ event: string; data: unknown }[]> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const seen: { event: string; data: unknown }[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const deadline = Date.now() + ms;
  try {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`event not received in ${ms} ms; got ${JSON.stringify(seen.map((s) => s.event))}`);
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`event not received in ${ms} ms; got ${JSON.stringify(seen)}`)),
            left,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      if (chunk.done) throw new Error('the event stream ended');
      buffer += decoder.decode(chunk.value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (data === '') continue;
        const parsed = JSON.parse(data) as unknown;
        seen.push({ event, data: parsed });
        if (match(event, parsed)) return seen;
      }
    }
  } finally {
    reader.releaseLock();
  }
}
