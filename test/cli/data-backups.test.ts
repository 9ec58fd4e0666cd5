/**
 * `multiuser-server backups` run as a child process on data directories written by
 * the store: every file with time, reason, nodes, users, size and whether it decodes; a damaged
 * backup is listed as not verified with the reason; DATA_DIR is resolved as the server resolves it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import type { BackupRow } from '../../src/cli/data-backups.js';
import { backupNames, buildStandardDir, makeTempDir, runCli, treeOf } from './data-helpers.js';

const tmp = makeTempDir('cli-backups-');
after(tmp.cleanup);

function listJson(dir: string): BackupRow[] {
  const run = runCli(['backups', '--data-dir', dir, '--json']);
  assert.equal(run.status, 0, run.stderr);
  return (JSON.parse(run.stdout) as { files: BackupRow[] }).files;
}

describe('backups', () => {
  test('lists the snapshot, then every backup newest first, with time, reason, nodes, users and size', async () => {
    const dir = join(tmp.dir, 'standard');
    await buildStandardDir(dir);
    const [older, newer] = backupNames(dir);
    const rows = listJson(dir);
    assert.deepEqual(
      rows.map((r) => [r.file, r.reason, r.nodes, r.users, r.verified, r.loads]),
      [
        ['session_snapshot.pkl', 'user_disconnect:alice', 4, 1, true, true],
        [`backups/${newer}`, 'user_disconnect:alice', 4, 1, true, false],
        [`backups/${older}`, 'auto-save', 3, 1, true, false],
      ],
    );
    assert.equal(rows[0].bytes, statSync(join(dir, 'session_snapshot.pkl')).size);
    assert.equal(rows[2].time, '2025-01-12T14:30:26');
    assert.equal(rows[0].snapshot_id, rows[1].snapshot_id, 'the newest backup is a copy of the snapshot');

    const table = runCli(['backups', '--data-dir', dir]);
    assert.equal(table.status, 0, table.stderr);
    const lines = table.stdout.split('\n');
    assert.match(lines[1], /^FILE\s+TIME\s+REASON\s+NODES\s+USERS\s+SIZE\s+VERIFIED$/);
    assert.match(
      lines[2],
      /^session_snapshot\.pkl \*\s+2025-01-12T14:30:28\s+user_disconnect:alice\s+4\s+1\s+\d+ B\s+yes$/,
    );
    assert.match(table.stdout, /The next start loads session_snapshot\.pkl/);
  });

  test('backups are sorted by the save time they show, not by file name', async () => {
    const dir = join(tmp.dir, 'renamed');
    await buildStandardDir(dir);
    const [older, newer] = backupNames(dir);
    // The newest save under a name that sorts first (a clock that was set back when it was made).
    renameSync(join(dir, 'backups', newer), join(dir, 'backups', 'snapshot_20200101_000000.pkl'));
    const rows = listJson(dir);
    assert.deepEqual(
      rows.map((r) => r.file),
      ['session_snapshot.pkl', 'backups/snapshot_20200101_000000.pkl', `backups/${older}`],
    );
    assert.ok(rows[1].timestamp > rows[2].timestamp);
  });

  test('shows a truncated backup as not verified, with the reason, and changes nothing', async () => {
    const dir = join(tmp.dir, 'damaged');
    await buildStandardDir(dir);
    const [older] = backupNames(dir);
    truncateSync(join(dir, 'backups', older), 100);
    const before = treeOf(dir);
    const rows = listJson(dir);
    const bad = rows.find((r) => r.file === `backups/${older}`);
    assert.ok(bad);
    assert.equal(bad.verified, false);
    assert.equal(bad.nodes, null);
    assert.match(bad.error ?? '', /gzip/);
    assert.equal(rows.filter((r) => r.verified).length, 2);
    const table = runCli(['backups', '--data-dir', dir]);
    assert.match(table.stdout, new RegExp(`backups/${older}.*no: .*gzip`));
    assert.deepEqual(treeOf(dir), before);
  });

  test('takes DATA_DIR from the flag, then the environment, then .env, like the server', async () => {
    const cwd = join(tmp.dir, 'cwd');
    mkdirSync(cwd);
    await buildStandardDir(join(cwd, 'from-dotenv'));
    mkdirSync(join(cwd, 'from-env'));
    mkdirSync(join(cwd, 'from-flag'));
    writeFileSync(join(cwd, '.env'), 'DATA_DIR=from-dotenv\n');
    const dirLine = (run: { stdout: string; stderr: string }): string => {
      assert.equal(run.stderr, '');
      return run.stdout.split('\n')[0];
    };
    assert.equal(dirLine(runCli(['backups'], { cwd })), `Data directory: ${join(cwd, 'from-dotenv')}`);
    assert.equal(
      dirLine(runCli(['backups'], { cwd, env: { DATA_DIR: 'from-env' } })),
      `Data directory: ${join(cwd, 'from-env')}`,
    );
    const flagged = runCli(['backups', '--data-dir', 'from-flag'], { cwd, env: { DATA_DIR: 'from-env' } });
    assert.equal(dirLine(flagged), `Data directory: ${join(cwd, 'from-flag')}`);
    assert.match(flagged.stdout, /No snapshot and no backup yet/);
  });

  test('refuses a data directory that does not exist, and bad arguments', () => {
    const missing = runCli(['backups', '--data-dir', join(tmp.dir, 'nope')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /does not exist/);
    const bad = runCli(['backups', '--bogus']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown option '--bogus'/);
  });
});
