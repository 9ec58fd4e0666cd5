/**
 * The admin console's HTTP server: dashboard files, JSON API, Server-Sent Events, `/metrics`,
 * `/healthz` and `/readyz` (docs/admin.md). Plain `node:http`: the console has about twenty fixed
 * routes, one JSON body (the login) and no templates, so a framework would add dependencies and
 * attack surface for nothing; cookie parsing and serialising come from the maintained `cookie`
 * package, metrics from `prom-client`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import { parse as parseCookie, serialize as serializeCookie } from 'cookie';

import { ConsoleAuth, safeEqual } from './console-auth.js';
import type { AdminHost, SaveResult } from './host.js';
import { ApiError, BASE_HEADERS, sendError, sendJson } from './http-reply.js';
import { LiveFeed, type LiveFeedOptions } from './live-feed.js';
import { LoginLimiter } from './login-limiter.js';
import { createMetrics, type ConsoleMetrics } from './metrics.js';
import { readinessReasons } from './readiness.js';
import { routeApi, type ApiContext } from './api-routes.js';
import type { StaticFile } from './static-files.js';

/** What the console writes to the server log (never a password, token or cookie). */
export interface AdminLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface AdminServerOptions {
  host: string;
  port: number;
  /** HTTP_ADMIN_PASSWORD, else ADMIN_PASSWORD; empty disables console logins. */
  password: string;
  /** METRICS_TOKEN; empty leaves /metrics open. */
  metricsToken: string;
  /** HTTP_LOGIN_ATTEMPTS per address and minute. */
  loginAttemptsPerMinute: number;
  /** HTTP_SECURE_COOKIE: the cookie is `Secure` (TLS proxy in front). */
  secureCookie: boolean;
  /** Only loopback `Host` headers are served (against DNS rebinding while the password is the default). */
  loopbackHostsOnly: boolean;
  files: ReadonlyMap<string, StaticFile>;
  logger: AdminLogger;
  feed?: LiveFeedOptions;
}

/** `server.address()` of a TCP listener (node:net's AddressInfo; only net/ imports node:net). */
interface BoundAddress {
  address: string;
  family: string;
  port: number;
}

export const SESSION_COOKIE = 'mus_session';
export const CSRF_HEADER = 'x-csrf-token';
/** Largest request body (the login's JSON). */
const MAX_BODY_BYTES = 4096;
/** Least gap between two log lines about failed logins. */
const LOGIN_LOG_GAP_MS = 10_000;

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

const LOOPBACK_HOST = /^(?:localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(?::\d{1,5})?$/i;

export class AdminServer {
  readonly feed: LiveFeed;
  private readonly server: Server;
  private readonly auth: ConsoleAuth;
  private readonly limiter: LoginLimiter;
  private readonly metrics: ConsoleMetrics;
  private lastLoginLogMs = -Infinity;
  private failedSinceLog = 0;

  private constructor(
    private readonly host: AdminHost,
    private readonly opts: AdminServerOptions,
  ) {
    this.auth = new ConsoleAuth({ password: opts.password });
    this.limiter = new LoginLimiter({ attempts: opts.loginAttemptsPerMinute });
    this.metrics = createMetrics(host, { ready: () => readinessReasons(host).length === 0 });
    this.feed = new LiveFeed(host, opts.feed);
    this.server = createServer((req, res) => this.handle(req, res));
    // A slow client cannot hold a socket with a half-sent request; event streams are responses, not requests.
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
    this.server.keepAliveTimeout = 5_000;
    this.server.maxHeadersCount = 64;
    this.server.maxConnections = 256;
  }

  /** Binds and starts the feed. Throws the listen error (EADDRINUSE …) with nothing left open. */
  static async start(host: AdminHost, opts: AdminServerOptions): Promise<AdminServer> {
    const s = new AdminServer(host, opts);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(opts.port, opts.host, () => {
        s.server.off('error', reject);
        resolve();
      });
    });
    s.feed.start();
    return s;
  }

  /** `http://host:port` as bound. */
  get url(): string {
    const a = this.server.address() as BoundAddress;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  get port(): number {
    return (this.server.address() as BoundAddress).port;
  }

  /** A save finished (any reason): metrics and the live feed. */
  saved(result: SaveResult): void {
    this.metrics.recordSave(result);
    const at = new Date(result.atMs).toISOString();
    this.feed.publish(
      'save',
      result.ok
        ? { at, ok: true, reason: result.reason, bytes: result.bytes, file: result.backup }
        : { at, ok: false, reason: result.reason, error: result.error },
    );
  }

  /** A WARN or ERROR line of the server log, for the live feed. */
  warning(message: string): void {
    this.feed.publish('warning', { at: new Date().toISOString(), message });
  }

  async close(): Promise<void> {
    this.feed.stop();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    void this.route(req, res).catch((err: unknown) => {
      const e =
        err instanceof ApiError
          ? err
          : new ApiError('internal', 'the request failed on the server (see the server log)');
      if (!(err instanceof ApiError))
        this.opts.logger.error(`Admin console: ${req.method} ${pathOf(req)} failed: ${describe(err)}`);
      if (res.headersSent) res.destroy();
      else sendError(res, e);
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req);
    const method = req.method ?? 'GET';
    if (this.opts.loopbackHostsOnly && !LOOPBACK_HOST.test(req.headers.host ?? '')) {
      throw new ApiError(
        'bad_request',
        'this console answers only to localhost addresses (set a console password to publish it)',
      );
    }
    if (path === '/healthz') return this.only(method, 'GET', () => sendJson(res, 200, { status: 'ok' }));
    if (path === '/readyz') {
      return this.only(method, 'GET', () => {
        const reasons = readinessReasons(this.host);
        sendJson(res, reasons.length === 0 ? 200 : 503, { ready: reasons.length === 0, reasons });
      });
    }
    if (path === '/metrics') return this.only(method, 'GET', () => this.serveMetrics(req, res));
    if (path.startsWith('/api/')) return this.routeApi(method, path, req, res);
    return this.only(method, 'GET', () => this.serveFile(path, req, res));
  }

  private async only(method: string, allowed: string, run: () => void | Promise<void>): Promise<void> {
    if (method !== allowed) {
      throw new ApiError('method_not_allowed', `use ${allowed}`, { Allow: allowed });
    }
    await run();
  }

  private async serveMetrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.opts.metricsToken !== '') {
      const header = req.headers.authorization ?? '';
      const token = header.startsWith('Bearer ') ? header.slice(7) : '';
      if (!safeEqual(token, this.opts.metricsToken)) {
        throw new ApiError('unauthorized', 'send METRICS_TOKEN as "Authorization: Bearer <token>"', {
          'WWW-Authenticate': 'Bearer',
        });
      }
    }
    const text = await this.metrics.scrape();
    res.writeHead(200, { ...BASE_HEADERS, 'Content-Type': this.metrics.registry.contentType });
    res.end(text);
  }

  private serveFile(path: string, req: IncomingMessage, res: ServerResponse): void {
    const file = this.opts.files.get(path === '/' ? '/index.html' : path);
    if (file === undefined) throw new ApiError('not_found', `no page at ${path}`);
    const headers = {
      ...BASE_HEADERS,
      'Content-Security-Policy': CSP,
      'X-Frame-Options': 'DENY',
      ETag: file.etag,
      'Cache-Control': 'no-cache',
    };
    if (req.headers['if-none-match'] === file.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': file.type, 'Content-Length': file.body.length });
    res.end(file.body);
  }

  private async routeApi(method: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const nowMs = Date.now();
    const token = parseCookie(req.headers.cookie ?? '')[SESSION_COOKIE];
    if (path === '/api/login') return this.only(method, 'POST', () => this.login(req, res, nowMs));
    const csrf = this.auth.check(token, nowMs);
    if (csrf === null) throw new ApiError('unauthorized', 'log in first');
    if (method === 'POST') {
      const sent = req.headers[CSRF_HEADER];
      if (!this.auth.checkCsrf(csrf, typeof sent === 'string' ? sent : undefined) || !sameOrigin(req)) {
        throw new ApiError('csrf', 'missing or wrong X-CSRF-Token header (reload the page)');
      }
    }
    if (path === '/api/logout') {
      return this.only(method, 'POST', () => {
        this.auth.logout(token);
        res.writeHead(204, { ...BASE_HEADERS, 'Set-Cookie': this.cookie(req, '', 0) });
        res.end();
      });
    }
    if (path === '/api/csrf') return this.only(method, 'GET', () => sendJson(res, 200, { csrfToken: csrf }));
    const ctx: ApiContext = {
      host: this.host,
      feed: this.feed,
      logger: this.opts.logger,
      saved: (r) => this.saved(r),
      body: () => readJson(req),
    };
    await routeApi(ctx, method, path, req, res);
  }

  private async login(req: IncomingMessage, res: ServerResponse, nowMs: number): Promise<void> {
    const address = req.socket.remoteAddress ?? '?';
    const wait = this.limiter.take(address, nowMs);
    if (wait > 0) {
      throw new ApiError('rate_limited', `too many login attempts: try again in ${wait} s`, {
        'Retry-After': String(wait),
      });
    }
    if (!this.auth.enabled) throw new ApiError('unauthorized', 'console logins are disabled (no admin password set)');
    const body = await readJson(req);
    const password = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).password : undefined;
    if (typeof password !== 'string') throw new ApiError('bad_request', 'send {"password": "…"} as JSON');
    const session = this.auth.login(password, nowMs);
    if (session === null) {
      this.logFailedLogin(address, nowMs);
      throw new ApiError('bad_password', 'wrong password');
    }
    this.opts.logger.info(`Admin console: login from ${address}`);
    sendJson(res, 200, { csrfToken: session.csrf }, { 'Set-Cookie': this.cookie(req, session.token, null) });
  }

  private logFailedLogin(address: string, nowMs: number): void {
    this.failedSinceLog++;
    if (nowMs - this.lastLoginLogMs < LOGIN_LOG_GAP_MS) return;
    this.lastLoginLogMs = nowMs;
    const more = this.failedSinceLog > 1 ? ` (${this.failedSinceLog} failed attempts since the last such line)` : '';
    this.failedSinceLog = 0;
    this.opts.logger.warn(`Admin console: failed login from ${address}${more}`);
  }

  private cookie(req: IncomingMessage, value: string, maxAge: number | null): string {
    const tls = (req.socket as { encrypted?: boolean }).encrypted === true;
    return serializeCookie(SESSION_COOKIE, value, {
      httpOnly: true,
      sameSite: 'strict',
      secure: tls || this.opts.secureCookie,
      path: '/',
      ...(maxAge === null ? {} : { maxAge }),
    });
  }
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** A browser's `Origin` (when it sends one) must be this console: a second line behind the CSRF token. */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw new ApiError('bad_request', 'the body must be application/json');
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > MAX_BODY_BYTES)
      throw new ApiError('payload_too_large', `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new ApiError('bad_request', 'the body is not valid JSON');
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
