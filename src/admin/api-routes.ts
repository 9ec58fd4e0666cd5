/**
 * The JSON API behind the login (docs/admin.md): session overview, users, nodes, chat, tasks,
 * backups, and the actions save, kick and export. Handlers read the session when asked; nothing
 * here is cached between requests except what the store caches (backup verification).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { AdminLogger } from './admin-server.js';
import type { AdminHost, BackupInfo, FileBody, SaveResult, StoreView } from './host.js';
import { ApiError, BASE_HEADERS, sendJson, sendNoContent } from './http-reply.js';
import type { LiveFeed } from './live-feed.js';
import { chatView, tasksView } from './views.js';
import type { Session } from '../session/index.js';

export interface ApiContext {
  readonly host: AdminHost;
  readonly feed: LiveFeed;
  readonly logger: AdminLogger;
  readonly saved: (result: SaveResult) => void;
  /** The request's JSON body (application/json, bounded). */
  readonly body: () => Promise<unknown>;
}

/** The save reason of the console's "save now". */
export const SAVE_REASON_ADMIN = 'admin';

/** Backup names in URLs: what `backups/` holds, without the `.pkl`. */
const BACKUP_NAME = /^snapshot_\d{8}_\d{6}(?:_[1-9]\d*)?$/;
/** User names in URLs: anything printable, bounded (the add-on's names are short). */
const MAX_NAME_CHARS = 256;

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function sessionOf(ctx: ApiContext): Session {
  const s = ctx.host.session();
  if (s === null) throw new ApiError('unavailable', 'the session is still being restored');
  return s;
}

function storeOf(ctx: ApiContext): StoreView {
  const s = ctx.host.store();
  if (s === null) throw new ApiError('unavailable', 'the data directory is still being restored');
  return s;
}

function backupJson(b: BackupInfo): Record<string, unknown> {
  return {
    name: b.name,
    savedAt: new Date(b.savedAtMs).toISOString(),
    bytes: b.bytes,
    verified: b.verified,
    detail: b.detail,
  };
}

function lastSaveJson(r: SaveResult | null): Record<string, unknown> | null {
  if (r === null) return null;
  return r.ok
    ? { at: iso(r.atMs), reason: r.reason, ok: true, bytes: r.bytes, file: r.backup, durationMs: r.durationMs }
    : { at: iso(r.atMs), reason: r.reason, ok: false, bytes: null, file: null, error: r.error };
}

/** Streams a session file as a download named `<name>.db`. */
function sendDownload(res: ServerResponse, name: string, body: FileBody): void {
  res.writeHead(200, {
    ...BASE_HEADERS,
    'Content-Type': 'application/octet-stream',
    'Content-Disposition': `attachment; filename="${name}.db"`,
    ...(body.bytes === null ? {} : { 'Content-Length': body.bytes }),
  });
  body.stream.on('error', () => res.destroy());
  res.on('close', () => {
    const s = body.stream as NodeJS.ReadableStream & { destroy?: () => void };
    s.destroy?.();
  });
  body.stream.pipe(res);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ApiError('bad_request', 'bad percent-encoding in the path');
  }
}

export async function routeApi(
  ctx: ApiContext,
  method: string,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const get = method === 'GET';
  const post = method === 'POST';
  const wrong = (allowed: string): never => {
    throw new ApiError('method_not_allowed', `use ${allowed}`, { Allow: allowed });
  };
  switch (path) {
    case '/api/session':
      if (!get) wrong('GET');
      return sendJson(res, 200, sessionJson(ctx));
    case '/api/users':
      if (!get) wrong('GET');
      return sendJson(res, 200, { users: usersJson(ctx) });
    case '/api/nodes': {
      if (!get) wrong('GET');
      return sendJson(res, 200, sessionOf(ctx).nodeSummary());
    }
    case '/api/chat':
      if (!get) wrong('GET');
      return sendJson(res, 200, { messages: chatView(sessionOf(ctx).archiveView().chat) });
    case '/api/tasks':
      if (!get) wrong('GET');
      return sendJson(res, 200, { tasks: tasksView(sessionOf(ctx).archiveView().tasks) });
    case '/api/backups': {
      if (!get) wrong('GET');
      const list = await storeOf(ctx).listBackups();
      return sendJson(res, 200, { backups: list.map(backupJson) });
    }
    case '/api/save': {
      if (!post) wrong('POST');
      const store = storeOf(ctx);
      ctx.logger.info('Admin console: save requested');
      const r = await store.save(SAVE_REASON_ADMIN);
      if (!r.ok) throw new ApiError('unavailable', `the save failed: ${r.error}`);
      return sendJson(res, 200, { file: r.backup ?? 'session_snapshot.pkl', bytes: r.bytes, reason: r.reason });
    }
    case '/api/export': {
      if (!get) wrong('GET');
      sessionOf(ctx);
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
      return sendDownload(res, `session_${stamp}`, storeOf(ctx).exportSession());
    }
    case '/api/restore': {
      if (!post) wrong('POST');
      const restore = ctx.host.restore?.bind(ctx.host);
      if (restore === undefined) throw new ApiError('unavailable', 'live restore is not available');
      const body = await ctx.body();
      const at = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).at : undefined;
      const before = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).before : undefined;
      if ((typeof at === 'string') === (typeof before === 'string'))
        throw new ApiError('bad_request', 'send {"at": "TIME"} or {"before": "CHANGE"} as JSON');
      ctx.logger.info(`Admin console: live restore to ${JSON.stringify(at ?? before)} requested`);
      const r = await restore(typeof at === 'string' ? { at } : { before: before as string });
      if (!r.ok) throw new ApiError(r.usage ? 'bad_request' : 'unavailable', r.message);
      return sendJson(res, 200, { message: r.message });
    }
    case '/api/events':
      if (!get) wrong('GET');
      if (!ctx.feed.open(res)) throw new ApiError('unavailable', 'too many open event streams');
      return;
    case '/api/stats/history':
      if (!get) wrong('GET');
      return sendJson(res, 200, { samples: ctx.feed.samples() });
  }
  const kick = /^\/api\/users\/([^/]+)\/kick$/.exec(path);
  if (kick !== null) {
    if (!post) wrong('POST');
    const name = decodeSegment(kick[1]);
    if (name.length > MAX_NAME_CHARS) throw new ApiError('bad_request', 'user name too long');
    const session = sessionOf(ctx);
    const net = ctx.host.net();
    if (net === null) throw new ApiError('unavailable', 'the session sockets are not bound');
    if (!session.listUsers().some((u) => u.name === name)) throw new ApiError('not_found', 'no such user online');
    net.kick(name);
    ctx.logger.info(`Admin console: kicked ${JSON.stringify(name)}`);
    ctx.feed.publish('kick', { at: new Date().toISOString(), name, by: 'console' });
    return sendNoContent(res);
  }
  const backup = /^\/api\/backups\/([^/]+)\/(verify|download)$/.exec(path);
  if (backup !== null) {
    const name = decodeSegment(backup[1]);
    if (!BACKUP_NAME.test(name)) throw new ApiError('not_found', 'no such backup');
    const store = storeOf(ctx);
    if (backup[2] === 'verify') {
      if (!post) wrong('POST');
      const b = await store.verifyBackup(name);
      if (b === null) throw new ApiError('not_found', 'no such backup');
      return sendJson(res, 200, backupJson(b));
    }
    if (!get) wrong('GET');
    const body = await store.openBackup(name);
    if (body === null) throw new ApiError('not_found', 'no such backup');
    return sendDownload(res, name, body);
  }
  throw new ApiError('not_found', `no API route ${path}`);
}

function sessionJson(ctx: ApiContext): Record<string, unknown> {
  const { host } = ctx;
  const session = host.session();
  const store = host.store();
  const disk = store?.disk() ?? null;
  const nowMs = Date.now();
  return {
    state: session === null ? 'RECOVERING' : session.phase,
    startedAt: iso(host.startedAtMs),
    uptimeSeconds: Math.floor((nowMs - host.startedAtMs) / 1000),
    version: host.version,
    ports: host.ports,
    usersOnline: session?.listUsers().length ?? 0,
    nodes: session?.nodeCount ?? 0,
    sessionBytes: session?.sessionBytes ?? 0,
    lastSave: lastSaveJson(store?.lastSave() ?? null),
    nextAutoSaveAt: iso(store?.nextAutoSaveAtMs() ?? null),
    diskFreeBytes: disk?.freeBytes ?? null,
    warnings: warningsOf(ctx),
  };
}

/** Standing problems (the live feed carries passing ones). */
function warningsOf(ctx: ApiContext): { at: string; message: string }[] {
  const at = new Date().toISOString();
  const store = ctx.host.store();
  const out: { at: string; message: string }[] = [];
  if (store === null) return out;
  const j = store.journal();
  if (!j.writable) out.push({ at, message: `Journal failing: ${j.error ?? 'changes held in memory'}` });
  const last = store.lastSave();
  if (last !== null && !last.ok) out.push({ at: iso(last.atMs) ?? at, message: `Last save failed: ${last.error}` });
  const d = store.disk();
  if (d.state === 'low') out.push({ at, message: `Disk space low: ${d.freeBytes ?? '?'} bytes free` });
  return out;
}

function usersJson(ctx: ApiContext): Record<string, unknown>[] {
  const session = sessionOf(ctx);
  const net = ctx.host.net();
  return session.listUsers().map((u) => ({
    name: u.name,
    admin: u.admin,
    status: u.status,
    // The session reports 999 until a heartbeat measured something (the add-on's convention).
    latencyMs: u.latencyMs >= 999 ? null : u.latencyMs,
    address: net?.peerOf(u.clientId) ?? null,
    lockedNodes: session.lockedNodes(u.name),
  }));
}
