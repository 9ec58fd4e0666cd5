/**
 * The dashboard's files, served from memory: `cli/` reads them once at start from the build's
 * `admin/static/` directory (only `cli/` and `store/` touch the file system), so a request can
 * only ever name one of these entries — no path ever reaches the file system.
 */
import { createHash } from 'node:crypto';

export interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  ico: 'image/x-icon',
  woff2: 'font/woff2',
  txt: 'text/plain; charset=utf-8',
  map: 'application/json; charset=utf-8',
};

export function contentTypeOf(path: string): string {
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase() ?? '';
  return TYPES[ext] ?? 'application/octet-stream';
}

/** `/index.html`-style keys to files. */
export function staticFiles(entries: Iterable<readonly [string, Buffer]>): Map<string, StaticFile> {
  const map = new Map<string, StaticFile>();
  for (const [path, body] of entries) {
    const key = path.startsWith('/') ? path : `/${path}`;
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    map.set(key, { body, type: contentTypeOf(key), etag });
  }
  return map;
}
