/**
 * How the deployed server starts node, read from `npm start` (package.json), which a test ties to
 * the CLI's shebang (test/cli/package-start.test.ts): the benchmarks' server processes get the
 * same environment and flags without a copy of them here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { REPO_ROOT } from './harness.js';

function startWords(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  return pkg.scripts.start.trim().split(/\s+/);
}

const words = startWords();
const assignments = words.slice(0, words.indexOf('node'));

/** `npm start`'s environment assignments (`GLIBC_TUNABLES=…`). */
export const SERVER_ENV: Readonly<Record<string, string>> = Object.fromEntries(
  assignments.map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]),
);

/** `npm start`'s node flags (`--max-semi-space-size=2 …`). */
export const SERVER_NODE_FLAGS: readonly string[] = words
  .slice(words.indexOf('node') + 1)
  .filter((w) => w.startsWith('--'));
