/**
 * When the compiled CLI saves (seed/000 "How It Works"): when a user leaves, every SAVE_INTERVAL
 * seconds only if something changed (a debug line when skipped), never when the content equals the
 * last save (a probe leaves snapshot, backups and metadata untouched), and after a failed save (a
 * write that fails even as root) it keeps serving and the next trigger saves again.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';

import { runProbe } from '../../src/cli/index.js';

import {
  BACKUP_NAME_RE,
  METADATA_FILE,
  SNAPSHOT_FILE,
  LOG_SAVE_SKIPPED,
  logAutoSaveEnabled,
  logSaveUnchanged,
  logSessionSaved,
} from '../../src/store/index.js';
import { closeAll, initAs, startCli, tempDataDir } from './cli-server.js';
import { nodeBytes, uuidOf } from './harness.js';

afterEach(closeAll);

const backupsIn = (dataDir: string): string[] =>
  readdirSync(join(dataDir, 'backups')).filter((n) => BACKUP_NAME_RE.test(n));

describe('saves of the running server', () => {
  test('a user leaving saves the session with reason user_disconnect:NAME and writes a backup', async () => {
    const dataDir = tempDataDir();
    const server = await startCli(dataDir, ['--timeout', '1000', '--log-level', 'DEBUG']);
    const alice = await initAs(server, [{ uuid: uuidOf(1), dataBytes: nodeBytes(uuidOf(1)) }]);
    assert.deepEqual(backupsIn(dataDir), []);
    // As the add-on's Disconnect: the sockets close and the server notices through the heartbeat.
    await alice.close();
    await server.waitFor('alice disconnected from the server');
    await server.waitFor(logSessionSaved('user_disconnect:alice'));
    assert.equal(backupsIn(dataDir).length, 1);
    // A user who changed nothing (a probe, a look-only visit): nothing is written, no second
    // backup with the same content.
    const carol = server.client('carol');
    assert.equal(await carol.login(), 'RUNNING');
    await carol.join();
    await carol.close();
    await server.waitFor(logSaveUnchanged('user_disconnect:carol'));
    assert.equal(backupsIn(dataDir).length, 1);
    const bob = server.client('bob');
    assert.equal(await bob.login(), 'RUNNING');
    await bob.join();
    await bob.pushNode({ uuid: uuidOf(2), dataBytes: nodeBytes(uuidOf(2)) });
    await bob.close();
    await server.waitFor(logSessionSaved('user_disconnect:bob'));
    assert.equal(backupsIn(dataDir).length, 2);
    const meta = JSON.parse(readFileSync(join(dataDir, METADATA_FILE), 'utf8')) as Record<string, unknown>;
    assert.equal(meta.reason, 'user_disconnect:bob');
    assert.equal(meta.node_count, 2);
    assert.equal(meta.initialized, true);
  });

  test('a probe leaves snapshot, backups and metadata untouched, and so does a clean stop right after', async () => {
    const dataDir = tempDataDir();
    const server = await startCli(dataDir, ['--timeout', '1000', '--log-level', 'DEBUG']);
    const alice = await initAs(server, [{ uuid: uuidOf(1), dataBytes: nodeBytes(uuidOf(1)) }]);
    await alice.close();
    await server.waitFor(logSessionSaved('user_disconnect:alice'));
    const files = (): string =>
      [SNAPSHOT_FILE, METADATA_FILE, ...backupsIn(dataDir).map((b) => `backups/${b}`)]
        .map((f) => `${f} ${readFileSync(join(dataDir, f)).toString('base64')}`)
        .join('\n');
    const before = files();
    for (const username of ['probe-a', 'probe-b']) {
      const report: string[] = [];
      const code = await runProbe(
        { host: '127.0.0.1', port: server.port, serverPassword: '', timeoutMs: 5000, username },
        { write: (t: string) => report.push(t) } as unknown as NodeJS.WritableStream,
      );
      assert.equal(code, 0, report.join(''));
      await server.waitFor(logSaveUnchanged(`user_disconnect:${username}`));
    }
    assert.equal(files(), before);
    assert.equal(await server.stop(), 0);
    // At INFO, and starting as the line operators grep for after a stop.
    assert.match(
      server.output(),
      / INFO +Session saved to disk \(reason: shutdown\): unchanged since the last save, nothing rewritten/,
    );
    assert.equal(files(), before);
  });

  test('auto-save saves when something changed and skips (debug line) when nothing did', async () => {
    const dataDir = tempDataDir();
    const server = await startCli(dataDir, ['--save-interval', '1', '--log-level', 'DEBUG']);
    await server.waitFor(logAutoSaveEnabled(1));
    await server.waitFor(LOG_SAVE_SKIPPED, 5000); // a fresh server has nothing to save
    const beforeInit = server.mark();
    await initAs(server, [{ uuid: uuidOf(1), dataBytes: nodeBytes(uuidOf(1)) }]);
    await server.waitFor(logSessionSaved('auto-save'), 5000, beforeInit);
    const afterSave = server.mark();
    await server.waitFor(LOG_SAVE_SKIPPED, 5000, afterSave);
    assert.equal(server.output().slice(afterSave).split(logSessionSaved('auto-save')).length - 1, 0);
    assert.equal(backupsIn(dataDir).length, 1);
  });

  test('a failed save is logged, the server keeps serving, and the next trigger saves', async () => {
    const dataDir = tempDataDir();
    const server = await startCli(dataDir);
    const alice = await initAs(server, [{ uuid: uuidOf(1), dataBytes: nodeBytes(uuidOf(1)) }]);
    // Renaming the written temp file onto a non-empty directory fails for root too (EISDIR).
    const obstacle = join(dataDir, SNAPSHOT_FILE);
    mkdirSync(obstacle);
    writeFileSync(join(obstacle, 'keep'), 'x');

    const bob = server.client('bob');
    await bob.login();
    await bob.join();
    await alice.kick('bob');
    await server.waitFor(/ERROR +Failed to save session: .*session_snapshot\.pkl/);
    assert.deepEqual(backupsIn(dataDir), [], 'nothing half-saved');

    const carol = server.client('carol');
    assert.equal(await carol.login(), 'RUNNING', 'still serving');
    const joined = await carol.join();
    assert.equal(joined.received, 1);

    rmSync(obstacle, { recursive: true });
    const retry = server.mark();
    await alice.kick('carol');
    await server.waitFor(logSessionSaved('user_disconnect:carol'), 10_000, retry);
    assert.equal(backupsIn(dataDir).length, 1);
    assert.equal(
      readdirSync(dataDir).filter((n) => n.endsWith('.tmp')).length,
      0,
      'the failed save left no temp file behind',
    );
  });
});
