/**
 * A journal segment that session_metadata.json says continues the snapshot, deleted while the
 * server was down: its changes are lost, and that must never be silent — an ERROR naming the
 * segment at start, a FAIL in `verify`.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';

import { buildStandardDir, runCli } from '../cli/data-helpers.js';
import { closeAll, startCli, tempDataDir } from './cli-server.js';

afterEach(closeAll);

test('a missing journal segment is an ERROR at start naming it, and a FAIL in verify', async () => {
  const dataDir = tempDataDir();
  await buildStandardDir(dataDir);
  const meta = JSON.parse(readFileSync(join(dataDir, 'session_metadata.json'), 'utf8')) as { journal_segment: string };
  assert.match(meta.journal_segment, /^journal\/.+\.jnl$/);

  const intact = runCli(['verify', '--data-dir', dataDir]);
  assert.equal(intact.status, 0, intact.stdout);
  rmSync(join(dataDir, meta.journal_segment));

  const verify = runCli(['verify', '--data-dir', dataDir]);
  assert.equal(verify.status, 1, verify.stdout);
  assert.ok(verify.stdout.includes(`FAIL  ${meta.journal_segment}: MISSING`), verify.stdout);

  const server = await startCli(dataDir);
  await server.waitFor(`ERROR    Journal segment ${meta.journal_segment} is MISSING`);
  assert.equal(await server.stop(), 0);
});
