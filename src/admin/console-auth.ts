/**
 * Console logins: the password compared in constant time (SHA-256 digests of both sides, so the
 * comparison does not leak the length either), sessions as random 256-bit tokens held in memory
 * (a restart logs everyone out, which is the safe direction), each with its own CSRF synchronizer
 * token. Tokens never appear in a URL or a log line; the cookie carries the session token and
 * the page learns the CSRF token from the login reply or `GET /api/csrf`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface ConsoleAuthOptions {
  /** The console password; empty disables logins. */
  password: string;
  /** A session unused this long expires. */
  idleMs?: number;
  /** Sessions kept at most (the oldest is dropped beyond). */
  maxSessions?: number;
}

interface ConsoleSession {
  readonly csrf: string;
  lastUsedMs: number;
}

/** Eight hours: a working day at the dashboard without logging in again. */
export const CONSOLE_SESSION_IDLE_MS = 8 * 3600_000;
const MAX_SESSIONS = 1000;

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Constant-time equality of two strings of any lengths. */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export class ConsoleAuth {
  private readonly sessions = new Map<string, ConsoleSession>();
  private readonly passwordDigest: Buffer;
  private readonly idleMs: number;
  private readonly maxSessions: number;

  constructor(private readonly opts: ConsoleAuthOptions) {
    this.passwordDigest = digest(opts.password);
    this.idleMs = opts.idleMs ?? CONSOLE_SESSION_IDLE_MS;
    this.maxSessions = opts.maxSessions ?? MAX_SESSIONS;
  }

  get enabled(): boolean {
    return this.opts.password !== '';
  }

  /** A new session when the password matches, else null. */
  login(password: string, nowMs: number): { token: string; csrf: string } | null {
    const ok = timingSafeEqual(digest(password), this.passwordDigest);
    if (!ok || !this.enabled) return null;
    if (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next();
      if (oldest.done !== true) this.sessions.delete(oldest.value);
    }
    const token = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    this.sessions.set(token, { csrf, lastUsedMs: nowMs });
    return { token, csrf };
  }

  /** The session's CSRF token when `token` is a live session (its idle timer restarts), else null. */
  check(token: string | undefined, nowMs: number): string | null {
    if (token === undefined || token === '') return null;
    const s = this.sessions.get(token);
    if (s === undefined) return null;
    if (nowMs - s.lastUsedMs >= this.idleMs) {
      this.sessions.delete(token);
      return null;
    }
    s.lastUsedMs = nowMs;
    return s.csrf;
  }

  /** Whether `sent` (the X-CSRF-Token header) equals the session's token, compared in constant time. */
  checkCsrf(expected: string, sent: string | undefined): boolean {
    return sent !== undefined && safeEqual(expected, sent);
  }

  logout(token: string | undefined): void {
    if (token !== undefined) this.sessions.delete(token);
  }
}
