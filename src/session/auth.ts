/**
 * RequestServerInfo (§4.1) and Auth (§4.2): the only commands read from identities that have not
 * logged in.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

import { pyFloatRepr, PyDict, pyTypeName, type PyValue } from '../pickle/index.js';
import {
  AUTH_FAILED_ALREADY_LOGGED_IN,
  AUTH_FAILED_INVALID_USERNAME,
  AUTH_FAILED_MALFORMED,
  AUTH_FAILED_SERVER_FULL,
  AUTH_FAILED_WRONG_ADMIN_PASSWORD,
  AUTH_FAILED_WRONG_SERVER_PASSWORD,
  AUTH_KEY_ADMIN_PASSWORD,
  AUTH_KEY_ID,
  AUTH_KEY_SERVER_PASSWORD,
  AUTH_KEY_TYPE,
  AUTH_KEY_VERSION,
  AUTH_REPLY_LOBBY,
  AUTH_REPLY_RUNNING,
  AUTH_TYPE_ADMIN,
  OWNER_COMMON,
  REPLICATION_VERSION,
  authFailedWrongVersion,
  type Auth,
  encodeAuthReply,
  encodeServerInfoReply,
} from '../protocol/index.js';
import { broadcastUserList, ClientRecord } from './clients.js';
import { reject, type SessionContext } from './context.js';
import type { ClientId } from './events.js';
import { promoteHeartbeat } from './heartbeat.js';
import { ARCHIVE_USERNAME } from './archive.js';
import { logLogin } from './log-messages.js';
import { acceptJoin } from './mutation.js';

/** RequestServerInfo, answered to anybody (§4.1). `private` is whether a server password is set. */
export function handleServerInfo(ctx: SessionContext, from: ClientId): void {
  ctx.out.send('command', [from], encodeServerInfoReply(ctx.options.serverPassword !== ''));
}

/** SHA-256 of a secret, so that comparisons run in constant time whatever the lengths. */
export function secretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

const LONE_SURROGATE = /\p{Cs}/u;
const CONTROL = /\p{Cc}/u;
const UNPRINTABLE = /[\p{Cc}\p{Cs}]/gu;

/** Constant-time `given == expected` (§9 item 14: the reference compares with `==`). */
function sameSecret(given: string, expected: Buffer): boolean {
  // Lone surrogates would be encoded as U+FFFD and could match a password that contains one.
  return !LONE_SURROGATE.test(given) && timingSafeEqual(secretDigest(given), expected);
}

/** Python's `str(v)` for the scalar values an Auth carries; other types never equal a password. */
function pyStr(v: PyValue | undefined): string | undefined {
  if (v === undefined || v === null) return 'None';
  switch (typeof v) {
    case 'string':
      return v;
    case 'boolean':
      return v ? 'True' : 'False';
    case 'bigint':
      return v.toString();
    case 'number':
      return pyFloatRepr(v);
  }
  return undefined;
}

/** Longest client version echoed back in the version failure reply. */
const MAX_ECHOED_VERSION_CHARS = 100;

/** A name the session can use: shown in every user list, used as a lock owner and in logs. */
function isValidUsername(ctx: SessionContext, name: PyValue | undefined): name is string {
  if (typeof name !== 'string' || name.length === 0) return false;
  if ([...name].length > ctx.limits.maxUsernameChars) return false;
  if (LONE_SURROGATE.test(name) || CONTROL.test(name)) return false;
  // 'COMMON' as a user would hold every unlocked node; the archive entry is not a user (§7.4).
  return name !== OWNER_COMMON && name !== ARCHIVE_USERNAME;
}

/**
 * The reply to an Auth request: the reference's checks in its order (§4.2) — duplicate name,
 * admin password, server password, version — then ours (deviations, docs/compatibility.md):
 * a usable username and the client bound. Returns `null` on success.
 */
function checkAuth(ctx: SessionContext, from: ClientId, data: PyValue): string | null {
  if (!(data instanceof PyDict)) return AUTH_FAILED_MALFORMED;
  const name = data.get(AUTH_KEY_ID);
  // An identity re-authenticating would rename its record and orphan its locks.
  if (ctx.clients.get(from) !== undefined) return AUTH_FAILED_ALREADY_LOGGED_IN;
  if (typeof name === 'string' && ctx.clients.byUsername(name) !== undefined) return AUTH_FAILED_ALREADY_LOGGED_IN;

  if (data.get(AUTH_KEY_TYPE) === AUTH_TYPE_ADMIN) {
    const given = data.get(AUTH_KEY_ADMIN_PASSWORD);
    // An empty admin password disables admin logins instead of granting admin to everyone.
    const ok =
      typeof given === 'string' &&
      ctx.options.adminPassword !== '' &&
      sameSecret(given, ctx.options.adminPasswordDigest);
    if (!ok) return AUTH_FAILED_WRONG_ADMIN_PASSWORD;
  }

  const serverPassword = pyStr(data.get(AUTH_KEY_SERVER_PASSWORD));
  if (ctx.options.serverPassword === '') {
    // Public server: the add-on sends '' and the plain library None (§4.2 recommendation).
    if (serverPassword !== '' && serverPassword !== 'None') return AUTH_FAILED_WRONG_SERVER_PASSWORD;
  } else if (serverPassword === undefined || !sameSecret(serverPassword, ctx.options.serverPasswordDigest)) {
    return AUTH_FAILED_WRONG_SERVER_PASSWORD;
  }

  const version = data.get(AUTH_KEY_VERSION);
  if (version !== REPLICATION_VERSION) {
    const shown = pyStr(version) ?? `<${pyTypeName(version as PyValue)}>`;
    // Echoed to the client and logged: bounded, and without control characters (log injection).
    return authFailedWrongVersion(shown.slice(0, MAX_ECHOED_VERSION_CHARS).replace(UNPRINTABLE, '?'));
  }

  if (!isValidUsername(ctx, name)) return AUTH_FAILED_INVALID_USERNAME;
  if (ctx.clients.size >= ctx.limits.maxClients) return AUTH_FAILED_SERVER_FULL;
  return null;
}

/**
 * Auth (§4.2). On success the record is stored (status LOBBY, latency 999) and a heartbeat INIT
 * that arrived before the Auth is honoured. Success or not, UpdateClientsState goes to every
 * logged-in client **before** the reply (verification.json). Passwords are never logged.
 */
export function handleAuth(ctx: SessionContext, from: ClientId, msg: Auth, now: number): void {
  const failure = checkAuth(ctx, from, msg.data);
  const name = msg.data instanceof PyDict ? msg.data.get(AUTH_KEY_ID) : undefined;
  if (failure === null) {
    const admin = msg.data instanceof PyDict && msg.data.get(AUTH_KEY_TYPE) === AUTH_TYPE_ADMIN;
    const record = new ClientRecord(from, acceptJoin(ctx, name as string, admin), now);
    ctx.clients.add(record);
    promoteHeartbeat(ctx, from);
    ctx.out.log('info', logLogin(record.id, admin));
  } else {
    const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 64)) : 'a client';
    reject(ctx, 'auth', from, `Login of ${shown} from identity ${from} refused: ${failure}`, 'info');
  }
  broadcastUserList(ctx);
  const reply = failure ?? (ctx.phase === 'ACTIVE' ? AUTH_REPLY_RUNNING : AUTH_REPLY_LOBBY);
  ctx.out.send('command', [from], encodeAuthReply(reply));
}
