import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/**
 * Root of the fixture copies inside the repo. Tests run from dist/test/helpers, so the
 * source tree is three levels up; tests must never read ../shared (shared brief).
 */
const DATA_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'data');

/** Absolute path of a file under test/fixtures/data, e.g. `fixturePath('captures/README.md')`. */
export function fixturePath(relPath: string): string {
  return resolve(DATA_ROOT, relPath);
}

/**
 * Parse a JSONL fixture, one value per non-empty line. `relPath` is relative to
 * test/fixtures/data; when `<relPath>.gz` exists it is gunzipped transparently, so
 * callers may name either 'pickle/plain.jsonl' or 'pickle/plain.jsonl.gz'.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixture lines are heterogeneous JSON; each test narrows them
export function loadJsonl(relPath: string): any[] {
  let path = fixturePath(relPath);
  if (!relPath.endsWith('.gz') && !existsSync(path) && existsSync(`${path}.gz`)) path = `${path}.gz`;
  let raw = readFileSync(path);
  if (path.endsWith('.gz')) raw = gunzipSync(raw);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
  const out: any[] = [];
  for (const line of raw.toString('utf8').split('\n')) {
    if (line.trim() !== '') out.push(JSON.parse(line));
  }
  return out;
}
