/**
 * `multiuser-server restore BACKUP`, and the seed's manual procedure (copy a backup
 * over session_snapshot.pkl while the server is stopped), both checked against what recovery
 * really loads afterwards.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { readSnapshotFile } from '../../src/store/index.js';
import {
  assertJournalInHistory,
  backupNames,
  standardDirs,
  makeTempDir,
  recoverAsServer,
  runCli,
  STANDARD,
  treeOf,
  uuidsOf,
} from './data-helpers.js';

const tmp = makeTempDir('cli-restore-');
after(tmp.cleanup);
const standardDir = standardDirs(tmp.dir);

describe('restore', () => {
  test('makes the backup the snapshot, keeps the previous session as a backup, and recovery loads it cleanly', async () => {
    const dir = await standardDir();
    const [first, second] = backupNames(dir);
    const chosen = await readSnapshotFile(join(dir, 'backups', first));

    const run = runCli(['restore', first, '--data-dir', dir]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^Verified backups\/snapshot_20250112_143026\.pkl: 3 nodes/m);
    assert.match(run.stdout, /Next start loads session_snapshot\.pkl: 3 nodes, .*; no journal to replay$/m);
    assert.deepEqual(readFileSync(join(dir, 'session_snapshot.pkl')), readFileSync(join(dir, 'backups', first)));
    assert.deepEqual(readdirSync(join(dir, 'journal')), [], 'the old journal is moved aside');
    // Not damaged: it joins history (as a save would move it), not corrupt/.
    assert.equal(existsSync(join(dir, 'corrupt')), false, 'nothing is moved to corrupt/');
    assertJournalInHistory(dir);

    const meta = JSON.parse(readFileSync(join(dir, 'session_metadata.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(meta.reason, `restore:${first}`);
    assert.equal(meta.node_count, 3);
    assert.equal(meta.snapshot_id, chosen.snapshotId);

    // Nothing lost: the pre-restore session (snapshot 2 + its journal) is a backup of its own, and
    // the newest backup is the restored snapshot (what recovery falls back to if it gets damaged).
    const names = backupNames(dir);
    assert.equal(names.length, 4);
    assert.deepEqual(names.slice(0, 2), [first, second]);
    const kept = await readSnapshotFile(join(dir, 'backups', names[2]));
    assert.equal(kept.meta?.reason, 'pre-restore');
    assert.deepEqual(uuidsOf(kept.image), STANDARD.finalNodes);
    assert.equal(kept.image.tasks.size, 1);
    assert.deepEqual(readFileSync(join(dir, 'backups', names[3])), readFileSync(join(dir, 'session_snapshot.pkl')));

    const check = runCli(['verify', '--data-dir', dir]);
    assert.equal(check.status, 0, check.stdout);

    const recovered = await recoverAsServer(dir);
    assert.equal(recovered.result.source?.file, 'session_snapshot.pkl');
    assert.deepEqual(recovered.result.journal.records, []);
    assert.deepEqual(uuidsOf(recovered.image), uuidsOf(chosen.image));
    assert.deepEqual(
      recovered.image.nodes.map((x) => Buffer.from(x.dataBytes)),
      chosen.image.nodes.map((x) => Buffer.from(x.dataBytes)),
    );
    assert.deepEqual(
      recovered.log.filter((l) => l.startsWith('error: ')),
      [],
      'no foreign journal, no damaged file',
    );
  });

  test('restoring the kept backup brings the pre-restore session back, journal changes included', async () => {
    const dir = await standardDir();
    assert.equal(runCli(['restore', backupNames(dir)[0], '--data-dir', dir]).status, 0);
    const kept = backupNames(dir)[2];
    const back = runCli(['restore', kept, '--data-dir', dir]);
    assert.equal(back.status, 0, back.stderr);
    assert.deepEqual(uuidsOf((await recoverAsServer(dir)).image), STANDARD.finalNodes);
  });

  test('over a damaged snapshot: it goes to corrupt/, and the fallback session (backup + journal) is kept', async () => {
    const dir = await standardDir();
    const [first] = backupNames(dir);
    truncateSync(join(dir, 'session_snapshot.pkl'), 90);
    const damaged = readFileSync(join(dir, 'session_snapshot.pkl'));
    const run = runCli(['restore', first, '--data-dir', dir]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^Moved session_snapshot\.pkl, which cannot be loaded, to corrupt\//m);
    const moved = readdirSync(join(dir, 'corrupt')).filter((f) => f.startsWith('session_snapshot.pkl.'));
    assert.equal(moved.length, 1);
    assert.deepEqual(readFileSync(join(dir, 'corrupt', moved[0])), damaged);
    const kept = await readSnapshotFile(join(dir, 'backups', backupNames(dir)[2]));
    assert.deepEqual(uuidsOf(kept.image), STANDARD.finalNodes);
    assert.deepEqual(uuidsOf((await recoverAsServer(dir)).image), STANDARD.firstNodes);
  });

  test('with history off (HISTORY_RETENTION=0) the old journal goes to corrupt/, as nothing would keep it', async () => {
    const dir = await standardDir();
    const run = runCli(['restore', backupNames(dir)[0], '--data-dir', dir], { env: { HISTORY_RETENTION: '0' } });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^Moved journal\/\S+\.jnl to corrupt\//m);
    assert.equal(readdirSync(join(dir, 'corrupt')).filter((f) => f.includes('.jnl')).length, 1);
    assert.equal(existsSync(join(dir, 'history')), false);
  });

  test('accepts a path and refuses a damaged backup without changing anything', async () => {
    const dir = await standardDir();
    const [first] = backupNames(dir);
    truncateSync(join(dir, 'backups', first), 64);
    const before = treeOf(dir);
    const run = runCli(['restore', join(dir, 'backups', first), '--data-dir', dir]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /cannot be restored: .*nothing was changed/);
    assert.deepEqual(treeOf(dir), before);
    const missing = runCli(['restore', 'snapshot_20000101_000000.pkl', '--data-dir', dir]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /does not exist/);
  });
});

describe("the seed's manual restore (cp a backup over session_snapshot.pkl while stopped)", () => {
  test('loads exactly the copied backup: the journal of the replaced snapshot is moved aside, not replayed', async () => {
    const dir = await standardDir();
    const [first] = backupNames(dir);
    copyFileSync(join(dir, 'backups', first), join(dir, 'session_snapshot.pkl'));

    const check = runCli(['verify', '--data-dir', dir]);
    assert.equal(check.status, 0, check.stdout);
    assert.match(check.stdout, /^WARN {2}journal\/.*: not for the snapshot that loads .*3 record\(s\) NOT replayed/m);

    const recovered = await recoverAsServer(dir);
    assert.deepEqual(uuidsOf(recovered.image), STANDARD.firstNodes);
    assert.deepEqual(recovered.result.journal.records, []);
    assert.equal(recovered.result.movedToCorrupt.length, 1);
    assert.ok(existsSync(join(dir, recovered.result.movedToCorrupt[0])), 'the journal is kept in corrupt/');
    assert.equal(recovered.log.filter((l) => l.includes('does not belong to the loaded snapshot')).length, 1);
  });

  test('without a journal the kept backup is still marked pre-restore, and MAX_BACKUPS holds at once', async () => {
    const dir = await standardDir();
    const [first, second] = backupNames(dir);
    assert.equal(runCli(['restore', first, '--data-dir', dir]).status, 0);
    assert.deepEqual(readdirSync(join(dir, 'journal')), [], 'no journal follows the restored snapshot');
    assert.equal(backupNames(dir).length, 4);
    const run = runCli(['restore', second, '--data-dir', dir], { env: { MAX_BACKUPS: '3' } });
    assert.equal(run.status, 0, run.stderr);
    const names = backupNames(dir);
    assert.equal(names.length, 3, names.join(' '));
    assert.match(run.stdout, /^Deleted old backup backups\/snapshot_\S+\.pkl \(MAX_BACKUPS=3\)$/m);
    // Newest first: the restored snapshot's copy, then what was kept before restoring.
    const kept = await readSnapshotFile(join(dir, 'backups', names[1]));
    assert.equal(kept.meta?.reason, 'pre-restore');
    assert.deepEqual(uuidsOf(kept.image), STANDARD.firstNodes);
  });

  test('copying the newest backup changes nothing: it is the same snapshot and its journal still applies', async () => {
    const dir = await standardDir();
    const newest = backupNames(dir).at(-1) as string;
    copyFileSync(join(dir, 'backups', newest), join(dir, 'session_snapshot.pkl'));
    assert.deepEqual(uuidsOf((await recoverAsServer(dir)).image), STANDARD.finalNodes);
  });
});
