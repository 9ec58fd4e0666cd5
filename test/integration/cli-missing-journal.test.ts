/**
 * A journal segment that session_metadata.json says continues the snapshot, deleted while the
 * server was down: its changes are lost, and that must never be silent — an ERROR naming the
 * segment at start, a FAIL in `verify`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';

import { buildStandardDir, runCli } from '../cli/data-helpers.js';
import { logSessionSaved } from '../../src/store/index.js';
import { closeAll, initAs, startCli, tempDataDir } from './cli-server.js';
import { nodeBytes, uuidOf } from './harness.js';

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

test('a journal segment deleted while the server runs is an ERROR, and a snapshot makes its changes durable', async () => {
  const dataDir = tempDataDir();
  const server = await startCli(dataDir, ['--save-interval', '0']);
  await initAs(server, [{ uuid: uuidOf(1), dataBytes: nodeBytes(uuidOf(1), 'Only in the journal') }]);
  const [segment] = readdirSync(join(dataDir, 'journal'));
  rmSync(join(dataDir, 'journal', segment));
  await server.waitFor(`ERROR    Journal segment journal/${segment} was DELETED while the server runs`, 15_000);
  await server.waitFor(logSessionSaved('journal_failed'));
  await server.kill();

  const again = await startCli(dataDir);
  const reader = again.client('reader');
  assert.equal(await reader.login(), 'RUNNING');
  await reader.join();
  assert.ok(reader.store.nodes.has(uuidOf(1)));
  assert.equal(await again.stop(), 0);
});
