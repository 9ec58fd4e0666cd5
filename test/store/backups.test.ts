import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';

import { listBackups, nextBackupName, rotateBackups, writeBackup } from '../../src/store/backups.js';
import { localIsoSeconds, localStamp, parseBackupName, tempNameFor, TEMP_NAME_RE } from '../../src/store/file-names.js';
import { collectingLogger, makeTempDir } from './helpers.js';

/** 2025-01-12 14:30:25 local time. */
const T = new Date(2025, 0, 12, 14, 30, 25, 500).getTime();

describe('file names', () => {
  test('stamps are local time, as the seed shows them', () => {
    assert.equal(localStamp(T), '20250112_143025');
    assert.equal(localIsoSeconds(T), '2025-01-12T14:30:25');
  });

  test('backup names parse back to their local time and counter', () => {
    assert.deepEqual(parseBackupName('snapshot_20250112_143025.pkl'), {
      name: 'snapshot_20250112_143025.pkl',
      stamp: '20250112_143025',
      seq: 0,
      timeMs: T - 500,
    });
    assert.equal(parseBackupName('snapshot_20250112_143025_12.pkl')?.seq, 12);
    for (const other of [
      'snapshot_manual.pkl',
      'snapshot_20250112_143025_0.pkl',
      'snapshot_20250112_143025.pkl.9.1.tmp',
      'README',
    ]) {
      assert.equal(parseBackupName(other), null, other);
    }
  });

  test('temp names sit next to their target and are recognisable', () => {
    const a = tempNameFor('session_snapshot.pkl', 42);
    const b = tempNameFor('session_snapshot.pkl', 42);
    assert.notEqual(a, b);
    assert.match(a, /^session_snapshot\.pkl\.42\.\d+\.tmp$/);
    assert.equal(TEMP_NAME_RE.exec(a)?.[1], 'session_snapshot.pkl');
  });
});

describe('nextBackupName', () => {
  test('a free second gets the plain name', () => {
    assert.equal(nextBackupName([], T), 'snapshot_20250112_143025.pkl');
    assert.equal(nextBackupName(['snapshot_20250112_143024.pkl'], T), 'snapshot_20250112_143025.pkl');
  });

  test('saves within the same second get _1, _2, … and still sort after the first', () => {
    const names = ['snapshot_20250112_143025.pkl'];
    names.push(nextBackupName(names, T));
    names.push(nextBackupName(names, T));
    assert.deepEqual(names.slice(1), ['snapshot_20250112_143025_1.pkl', 'snapshot_20250112_143025_2.pkl']);
  });

  test('a clock that went back (DST end, NTP step) does not produce a name sorting before the newest', () => {
    const newest = 'snapshot_20250112_153000_3.pkl';
    assert.equal(nextBackupName(['README', newest], T), 'snapshot_20250112_153000_4.pkl');
  });
});

describe('backups on disk', () => {
  let dir: string;
  let cleanup: () => void;
  let snapshot: string;
  beforeEach(() => {
    ({ dir, cleanup } = makeTempDir('backups-'));
    snapshot = join(dir, 'session_snapshot.pkl');
    writeFileSync(snapshot, 'snapshot bytes');
  });
  afterEach(() => cleanup());

  test('a backup is a copy of the snapshot under the next name, and never overwrites', async () => {
    mkdirSync(join(dir, 'backups'));
    writeFileSync(join(dir, 'backups', 'snapshot_20250112_143025.pkl'), 'older backup');
    const b = await writeBackup(dir, snapshot, { nowMs: T });
    assert.equal(b.name, 'snapshot_20250112_143025_1.pkl');
    assert.equal(b.bytes, 14);
    assert.equal(readFileSync(b.path, 'utf8'), 'snapshot bytes');
    assert.equal(readFileSync(join(dir, 'backups', 'snapshot_20250112_143025.pkl'), 'utf8'), 'older backup');
  });

  test('listing orders by time then counter, numerically (_10 after _9), and ignores other files', async () => {
    mkdirSync(join(dir, 'backups'));
    for (const n of [
      'snapshot_20250112_143025_10.pkl',
      'snapshot_20250112_143025_9.pkl',
      'snapshot_20250111_000000.pkl',
      'notes.txt',
      'snapshot_keep.pkl',
    ]) {
      writeFileSync(join(dir, 'backups', n), n);
    }
    assert.deepEqual(
      (await listBackups(dir)).map((b) => b.name),
      ['snapshot_20250111_000000.pkl', 'snapshot_20250112_143025_9.pkl', 'snapshot_20250112_143025_10.pkl'],
    );
  });

  test('rotation keeps the newest MAX_BACKUPS backups and touches nothing else in backups/', async () => {
    const bdir = join(dir, 'backups');
    mkdirSync(bdir);
    const others = ['README.md', 'snapshot_manual.pkl', 'snapshot_20250101_000000.pkl.77.1.tmp'];
    for (const n of others) writeFileSync(join(bdir, n), 'keep me');
    for (let i = 0; i < 13; i++) await writeBackup(dir, snapshot, { nowMs: T + i * 1000 });
    const log = collectingLogger();
    const deleted = await rotateBackups(dir, 10, { log });
    assert.deepEqual(log.messages('info'), [
      'Deleted old backup snapshot_20250112_143025.pkl (MAX_BACKUPS=10: the newest 10 are kept)',
      'Deleted old backup snapshot_20250112_143026.pkl (MAX_BACKUPS=10: the newest 10 are kept)',
      'Deleted old backup snapshot_20250112_143027.pkl (MAX_BACKUPS=10: the newest 10 are kept)',
    ]);
    assert.deepEqual(deleted, [
      'snapshot_20250112_143025.pkl',
      'snapshot_20250112_143026.pkl',
      'snapshot_20250112_143027.pkl',
    ]);
    const left = readdirSync(bdir).sort();
    assert.equal(left.filter((n) => parseBackupName(n) !== null).length, 10);
    for (const n of others) assert.ok(left.includes(n), n);
    assert.equal(left.filter((n) => parseBackupName(n) !== null)[0], 'snapshot_20250112_143028.pkl');
  });

  test('rotation with MAX_BACKUPS 0 removes every backup', async () => {
    await writeBackup(dir, snapshot, { nowMs: T });
    assert.equal((await rotateBackups(dir, 0)).length, 1);
    assert.deepEqual(await listBackups(dir), []);
  });
});
