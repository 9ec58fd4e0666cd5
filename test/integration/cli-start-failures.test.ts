/**
 * Expected start failures end in one clear line and a non-zero exit, never a stack trace.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';

import { closeAll, startCli, tempDataDir } from './cli-server.js';

afterEach(closeAll);

test('a file where DATA_DIR/journal belongs: one ERROR line naming it, exit 1, no stack trace', async () => {
  const dataDir = tempDataDir();
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'journal'), 'not a directory');
  const server = await startCli(dataDir, [], { readyText: 'Cannot start' });
  assert.equal(await server.exited, 1);
  assert.match(
    server.output(),
    /ERROR +Cannot start: \S+\/journal cannot be created as a directory: a file of that name .* is in the way/,
  );
  assert.doesNotMatch(server.output(), /^\s+at /m);
  assert.doesNotMatch(server.output(), /EEXIST: file already exists, mkdir/);
});
