/**
 * `multiuser-server verify`: exit 0 when the next start loads a valid snapshot (or
 * a valid backup in its place) and the journal is consistent, else 1 — and it never changes the
 * directory: no move to corrupt/, no truncation of a torn tail.
 */
import assert from 'node:assert/strict';
import { statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import {
  backupNames,
  standardDirs,
  corruptFirstRecord,
  makeTempDir,
  onlySegment,
  runCli,
  tearTail,
  treeOf,
} from './data-helpers.js';

const tmp = makeTempDir('cli-verify-');
after(tmp.cleanup);
const standardDir = standardDirs(tmp.dir);

/** Runs verify and checks that the directory is byte for byte what it was. */
function verify(dir: string, ...flags: string[]): { status: number | null; stdout: string; lines: string[] } {
  const before = treeOf(dir);
  const run = runCli(['verify', '--data-dir', dir, ...flags]);
  assert.deepEqual(treeOf(dir), before, 'verify changed the data directory');
  return { status: run.status, stdout: run.stdout, lines: run.stdout.split('\n') };
}

describe('verify', () => {
  test('passes a healthy directory: one OK line per file and the state the next start loads', async () => {
    const dir = await standardDir();
    const r = verify(dir);
    assert.equal(r.status, 0, r.stdout);
    assert.equal(r.lines.filter((l) => l.startsWith('OK    ')).length, 4, r.stdout);
    assert.match(r.stdout, /^OK {4}session_snapshot\.pkl: 4 nodes, .*LOADS at the next start$/m);
    assert.match(r.stdout, /^OK {4}journal\/.*\.jnl: 3 record\(s\) to replay$/m);
    assert.match(
      r.stdout,
      /next start loads session_snapshot\.pkl \+ 3 journal record\(s\): 4 nodes, 1 users, 1 chat message\(s\), 1 task\(s\)/,
    );
    assert.match(r.stdout, /^Result: OK$/m);
  });

  test('passes when the snapshot is damaged but a backup is valid, and says which file loads', async () => {
    const dir = await standardDir();
    truncateSync(join(dir, 'session_snapshot.pkl'), 50);
    const r = verify(dir);
    assert.equal(r.status, 0, r.stdout);
    assert.match(r.stdout, /^FAIL {2}session_snapshot\.pkl: .*\(moved to corrupt\/ at the next start\)$/m);
    const newest = backupNames(dir).at(-1) as string;
    assert.match(r.stdout, new RegExp(`^OK {4}backups/${newest}: .*LOADS at the next start$`, 'm'));
    // The newest backup shares the snapshot's id, so the journal still applies to it.
    assert.match(r.stdout, /next start loads backups\/.* \+ 3 journal record\(s\): 4 nodes/);
  });

  test('passes a torn journal tail with a warning and leaves the tail in place', async () => {
    const dir = await standardDir();
    const segment = onlySegment(dir);
    tearTail(segment);
    const size = statSync(segment).size;
    const r = verify(dir);
    assert.equal(r.status, 0, r.stdout);
    assert.match(r.stdout, /^WARN {2}journal\/.*: 3 record\(s\) to replay; torn last record at byte \d+ \(18 bytes/m);
    assert.equal(statSync(segment).size, size);
  });

  test('fails a journal damaged in the middle and leaves it untouched', async () => {
    const dir = await standardDir();
    await corruptFirstRecord(onlySegment(dir));
    const r = verify(dir);
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stdout, /^FAIL {2}journal\/.*: CORRUPT at byte \d+ \(bad-crc\)/m);
    assert.match(r.stdout, /^Result: FAILED: the journal is not consistent/m);
  });

  test('fails when neither the snapshot nor any backup decodes', async () => {
    const dir = await standardDir();
    writeFileSync(join(dir, 'session_snapshot.pkl'), 'not gzip at all, not at all');
    for (const b of backupNames(dir)) truncateSync(join(dir, 'backups', b), 30);
    const r = verify(dir);
    assert.equal(r.status, 1, r.stdout);
    assert.equal(r.lines.filter((l) => l.startsWith('FAIL  ')).length, 3, r.stdout);
    assert.match(r.stdout, /the next start would begin with an EMPTY session/);
  });

  test('fails with --strict on a damaged old backup that the default accepts', async () => {
    const dir = await standardDir();
    truncateSync(join(dir, 'backups', backupNames(dir)[0]), 40);
    assert.equal(verify(dir).status, 0);
    const strict = verify(dir, '--strict');
    assert.equal(strict.status, 1);
    assert.match(strict.stdout, /1 damaged file\(s\) \(--strict\)/);
  });
});
