/**
 * Expected start failures end in one clear line and a non-zero exit, never a stack trace.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, test } from 'node:test';

import { closeAll, startCli, tempDataDir } from './cli-server.js';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

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

test('DATA_DIR under /proc/sys (where mkdir -p never ends in Node) fails at once with one line, exit 1', () => {
  // Node's recursive mkdir loops at full CPU there, ignoring SIGTERM; ours tries each level once.
  const run = spawnSync(
    process.execPath,
    [MAIN, '--port', '1', '--host', '127.0.0.1', '--data-dir', '/proc/sys/multiuser-server-test'],
    { cwd: tempDataDir(), env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8', timeout: 20_000 },
  );
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /ERROR +Cannot start: \/proc\/sys\/multiuser-server-test: .*\(step: mkdir\)/);
  assert.doesNotMatch(run.stderr, /^\s+at /m);
});
