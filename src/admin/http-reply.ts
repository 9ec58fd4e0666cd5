/**
 * JSON replies and the console's error shape, `{"error":{"code","message"}}`, with the stable
 * codes of docs/admin.md. Every reply forbids caching and sniffing: API answers carry session
 * data that must not outlive the page.
 */
import type { ServerResponse } from 'node:http';

export type ApiErrorCode =
  | 'unauthorized'
  | 'csrf'
  | 'not_found'
  | 'bad_request'
  | 'rate_limited'
  | 'conflict'
  | 'unavailable'
  | 'internal'
  | 'bad_password'
  | 'method_not_allowed'
  | 'payload_too_large';

const STATUS: Readonly<Record<ApiErrorCode, number>> = {
  unauthorized: 401,
  bad_password: 401,
  csrf: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  bad_request: 400,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/** An expected refusal a handler throws; the router turns it into the JSON error reply. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get status(): number {
    return STATUS[this.code];
  }
}

export const BASE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
});

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...BASE_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, { error: { code: err.code, message: err.message } }, { ...err.headers });
}

export function sendNoContent(res: ServerResponse, headers: Record<string, string> = {}): void {
  res.writeHead(204, { ...BASE_HEADERS, ...headers });
  res.end();
}
