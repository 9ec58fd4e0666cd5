/**
 * What the docs quote is what the code does: the operator lines in docs/operations.md are built
 * by the same functions the server logs with, and comments in the repository state reasons, not
 * references to an issue tracker a reader of the code cannot open.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

import { logJournalForeign } from '../../src/store/log-messages.js';

// dist/test/store -> the repository root (sources are read, not their compiled copies).
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'fixtures' ? [] : sourceFiles(path);
    return /\.(ts|mjs|py|sh)$/.test(name) ? [path] : [];
  });
}

describe('docs and comments', () => {
  test('operations.md quotes the foreign-journal line as the server logs it (ERROR, "it follows snapshot …")', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    const line = logJournalForeign(
      '20250112T133225123Z-1a2b3c4d.jnl',
      '20250112T110000456Z-9f8e7d6c',
      'corrupt/…',
      'it follows snapshot 20250112T133225123Z-1a2b3c4d',
    );
    assert.ok(doc.includes(`SERVER.store ERROR    ${line}`), line);
  });

  test('no comment in src/, test/, bench/ or scripts/ cites an issue number', () => {
    const offenders: string[] = [];
    for (const top of ['src', 'test', 'bench', 'scripts']) {
      for (const file of sourceFiles(join(ROOT, top))) {
        readFileSync(file, 'utf8')
          .split('\n')
          .forEach((text, i) => {
            if (/\bissue #?\d+/i.test(text) && !text.includes('/\\bissue')) offenders.push(`${file}:${i + 1}`);
          });
      }
    }
    assert.deepEqual(offenders, []);
  });
});
