/**
 * A child process for lock-race.test.ts: for each data directory read on stdin it tries to take
 * the lock once and prints `{"dir", "token"}` (won) or `{"dir", "code"}` (refused). It never
 * releases, so a second winner in the same directory cannot hide behind a release.
 */
import { createInterface } from 'node:readline';

import { acquireDataDirLock } from '../../src/store/data-dir-lock.js';

const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
for await (const dir of lines) {
  try {
    const lock = await acquireDataDirLock(dir, { purpose: 'race', refreshMs: 0 });
    process.stdout.write(`${JSON.stringify({ dir, token: lock.info.token })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ dir, code: (e as { code?: string }).code ?? String(e) })}\n`);
  }
}
