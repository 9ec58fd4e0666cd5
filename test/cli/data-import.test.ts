/**
 * `multiuser-server import FILE.db`: seeds a data directory from the captured
 * session file the add-on saved with *Save session data*; `backups` and `verify` show it, and the
 * next start restores it ACTIVE. Non-.db and damaged files are refused, and so is a directory that
 * already holds a session unless --force (which keeps that session as a backup first).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, describe, test } from 'node:test';

import type { BackupRow } from '../../src/cli/data-backups.js';
import { readSnapshotFile } from '../../src/store/index.js';
import { fixturePath } from '../helpers/fixtures.js';
import {
  assertJournalInHistory,
  backupNames,
  buildStandardDir,
  makeTempDir,
  recoverAsServer,
  runCli,
  STANDARD,
  treeOf,
  uuidsOf,
} from './data-helpers.js';

const tmp = makeTempDir('cli-import-');
after(tmp.cleanup);

function samplePath(): string {
  const dir = fixturePath('captures/samples');
  const name = readdirSync(dir).find((f) => /^session_.*\.db$/.test(f));
  assert.ok(name, 'the captured session sample exists');
  return join(dir, name);
}

describe('import', () => {
  test('seeds a new data dir from the add-on session sample; backups, verify and recovery show it', async () => {
    const sample = samplePath();
    const addon = await readSnapshotFile(sample);
    const dir = join(tmp.dir, 'fresh');
    const run = runCli(['import', sample, '--data-dir', dir]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /\(saved by the add-on\)/);
    assert.match(run.stdout, /clients get RUNNING, no Init needed/);

    const rows = (JSON.parse(runCli(['backups', '--json', '--data-dir', dir]).stdout) as { files: BackupRow[] }).files;
    assert.equal(rows[0].file, 'session_snapshot.pkl');
    assert.equal(rows[0].reason, `import:${basename(sample)}`);
    assert.equal(rows[0].nodes, addon.image.nodes.length);
    assert.equal(rows[0].verified, true);
    assert.equal(rows.length, 2, 'the imported snapshot is backed up like any save');

    const check = runCli(['verify', '--data-dir', dir]);
    assert.equal(check.status, 0, check.stdout);

    const meta = JSON.parse(readFileSync(join(dir, 'session_metadata.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(meta.reason, `import:${basename(sample)}`);
    assert.equal(meta.initialized, true);

    const recovered = await recoverAsServer(dir);
    assert.equal(
      recovered.result.source?.meta?.reason,
      `import:${basename(sample)}`,
      'our format, not the add-on file',
    );
    assert.equal(recovered.result.image?.initialized, true);
    assert.deepEqual(uuidsOf(recovered.image), uuidsOf(addon.image));
    assert.deepEqual(
      recovered.image.nodes.map((x) => Buffer.from(x.dataBytes)),
      addon.image.nodes.map((x) => Buffer.from(x.dataBytes)),
    );
    assert.ok(recovered.image.chat.length > 0, "the users' chat is archived");
  });

  test('refuses a file that is not a .db, and a damaged .db, without creating the data dir', () => {
    const dir = join(tmp.dir, 'refused');
    const notDb = join(tmp.dir, 'notes.txt');
    writeFileSync(notDb, 'hello');
    const wrongKind = runCli(['import', notDb, '--data-dir', dir]);
    assert.equal(wrongKind.status, 1);
    assert.match(wrongKind.stderr, /is not a \.db file/);

    const damaged = join(tmp.dir, 'damaged.db');
    writeFileSync(damaged, readFileSync(samplePath()).subarray(0, 400));
    const bad = runCli(['import', damaged, '--data-dir', dir]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /is not a readable session file .*nothing was changed/);

    const text = join(tmp.dir, 'text.db');
    writeFileSync(text, 'this is not a session file at all');
    assert.equal(runCli(['import', text, '--data-dir', dir]).status, 1);
    assert.equal(existsSync(dir), false);
  });

  test('refuses a data dir that holds a session unless --force, which keeps that session as a backup', async () => {
    const dir = join(tmp.dir, 'occupied');
    await buildStandardDir(dir);
    const sample = samplePath();
    const before = treeOf(dir);
    const refused = runCli(['import', sample, '--data-dir', dir]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /already holds a session \(4 nodes, .*use --force/);
    assert.deepEqual(treeOf(dir), before);

    const forced = runCli(['import', sample, '--force', '--data-dir', dir]);
    assert.equal(forced.status, 0, forced.stderr);
    const names = backupNames(dir);
    const kept = await readSnapshotFile(join(dir, 'backups', names[2]));
    assert.equal(kept.meta?.reason, 'pre-import');
    assert.deepEqual(uuidsOf(kept.image), STANDARD.finalNodes);
    assert.deepEqual(readdirSync(join(dir, 'journal')), []);
    assert.match(forced.stdout, /^Moved journal\/\S+\.jnl to history\//m);
    assertJournalInHistory(dir);

    const recovered = await recoverAsServer(dir);
    assert.deepEqual(uuidsOf(recovered.image), uuidsOf((await readSnapshotFile(sample)).image));
    assert.deepEqual(
      recovered.log.filter((l) => l.startsWith('error: ')),
      [],
    );
  });

  test('imports a file that export wrote, chat and tasks included', async () => {
    const src = join(tmp.dir, 'export-src');
    await buildStandardDir(src);
    const db = join(tmp.dir, 'roundtrip.db');
    assert.equal(runCli(['export', '--out', db, '--data-dir', src]).status, 0);
    const dir = join(tmp.dir, 'roundtrip');
    const run = runCli(['import', db, '--data-dir', dir]);
    assert.equal(run.status, 0, run.stderr);
    const recovered = await recoverAsServer(dir);
    assert.deepEqual(uuidsOf(recovered.image), STANDARD.finalNodes);
    assert.equal(recovered.image.chat.length, 1);
    assert.equal(recovered.image.tasks.size, 1);
  });
});
