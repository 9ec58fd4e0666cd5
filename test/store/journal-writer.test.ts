import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';

import { StoreError } from '../../src/store/errors.js';
import { readJournalSegment } from '../../src/store/journal-reader.js';
import { JournalWriter } from '../../src/store/journal-writer.js';
import { collectingLogger, faultyFs, makeTempDir } from './helpers.js';

const count = (calls: string[], op: string): number => calls.filter((c) => c.startsWith(`${op} `)).length;

describe('JournalWriter', () => {
  let dir: string;
  let cleanup: () => void;
  const writers: JournalWriter[] = [];
  beforeEach(() => ({ dir, cleanup } = makeTempDir('journal-write-')));
  afterEach(async () => {
    for (const w of writers.splice(0)) await w.close().catch(() => undefined);
    cleanup();
  });
  const open = (opts: Partial<Parameters<typeof JournalWriter.open>[0]> = {}): JournalWriter => {
    const w = JournalWriter.open({ dir, follows: { kind: 'snapshot', snapshotId: 'S1' }, fsync: 'off', ...opts });
    writers.push(w);
    return w;
  };

  test('an appended record is in the file as soon as append returns, before any fsync', async () => {
    const w = open({ fsync: 'off' });
    w.append(Buffer.from('mutation'));
    const r = await readJournalSegment(join(dir, 'S1.jnl'));
    assert.deepEqual(r.records.map(String), ['mutation']);
    assert.equal(statSync(join(dir, 'S1.jnl')).size, w.position.bytes);
  });

  test('a record given as several parts is stored as their concatenation', async () => {
    const w = open();
    const pos = w.append([Buffer.from('ab'), new Uint8Array([0x63]), Buffer.from('de')]);
    assert.equal(pos.records, 1);
    assert.equal(pos.segment, 'journal/S1.jnl');
    const r = await readJournalSegment(join(dir, 'S1.jnl'));
    assert.deepEqual(r.records.map(String), ['abcde']);
  });

  test('a segment following the empty session gets a fresh id and says what it follows', async () => {
    const w = open({ follows: { kind: 'empty' }, now: () => Date.UTC(2025, 0, 12, 14, 30, 25, 123) });
    assert.match(w.position.segmentId, /^20250112T143025123Z-[0-9a-f]{8}$/);
    const r = await readJournalSegment(join(dir, `${w.position.segmentId}.jnl`));
    assert.deepEqual(r.header.follows, { kind: 'empty' });
  });

  test('under always, one fsync covers every record appended before waitDurable (group commit)', async () => {
    const fsys = faultyFs([]);
    const w = open({ fsync: 'always', fs: fsys });
    for (let i = 0; i < 10; i++) w.append(Buffer.from(`m${i}`));
    await Promise.all([w.waitDurable(), w.waitDurable(), w.waitDurable()]);
    assert.equal(count(fsys.calls, 'fdatasync'), 1);
    await w.waitDurable();
    assert.equal(count(fsys.calls, 'fdatasync'), 1, 'nothing new: no second fsync');
    w.append(Buffer.from('more'));
    await w.waitDurable();
    assert.equal(count(fsys.calls, 'fdatasync'), 2);
  });

  test('under always, a failed fsync rejects waitDurable and every later append throws STORE_JOURNAL_FAILED', async () => {
    const fsys = faultyFs([{ op: 'fdatasync', errno: 'EIO' }]);
    const errors: StoreError[] = [];
    const log = collectingLogger();
    const w = open({ fsync: 'always', fs: fsys, log, onError: (e) => errors.push(e) });
    w.append(Buffer.from('accepted?'));
    await assert.rejects(w.waitDurable(), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.equal(e.code, 'STORE_JOURNAL_FAILED');
      assert.equal(e.step, 'fsync');
      assert.equal(e.errno, 'EIO');
      return true;
    });
    assert.throws(() => w.append(Buffer.from('next')), { code: 'STORE_JOURNAL_FAILED' });
    await assert.rejects(w.waitDurable(), { code: 'STORE_JOURNAL_FAILED' });
    assert.equal(errors.length, 1);
    assert.equal(w.failure, errors[0]);
    assert.deepEqual(log.messages('error'), [], 'logging is left to onError (journal-sink.ts)');
  });

  test('a disk-full write asks onNoSpace to free space and retries once; without space it fails', () => {
    const fsys = faultyFs([]);
    let asked = 0;
    const w = open({ fs: fsys, onNoSpace: () => ++asked === 1 });
    fsys.faults.push({ op: 'writevSync', errno: 'ENOSPC', times: 1 });
    w.append(Buffer.from('fits in the reserve'));
    assert.equal(asked, 1);
    assert.equal(w.failure, null);
    fsys.faults.push({ op: 'writevSync', errno: 'ENOSPC', times: 1 });
    assert.throws(() => w.append(Buffer.from('no reserve left')), { code: 'STORE_JOURNAL_FAILED' });
    assert.equal(asked, 2);
  });

  test('tryResume leaves the failed state once the disk works: the same segment after a write, a fresh one after an fsync', async () => {
    const fsys = faultyFs([]);
    const w = open({ fs: fsys, fsync: 'always' });
    fsys.faults.push({ op: 'writevSync', errno: 'ENOSPC', times: 1 });
    assert.throws(() => w.append(Buffer.from('a')), { code: 'STORE_JOURNAL_FAILED' });
    const segment = w.position.segmentId;
    assert.equal(await w.tryResume(), true);
    w.append(Buffer.from('a'));
    await w.waitDurable();
    assert.equal(w.position.segmentId, segment);

    fsys.faults.push({ op: 'fdatasync', errno: 'EIO', times: 2 });
    w.append(Buffer.from('b'));
    await assert.rejects(w.waitDurable(), { code: 'STORE_JOURNAL_FAILED' });
    assert.equal(await w.tryResume(), false, 'the disk still fails: still failed');
    assert.ok(w.failure !== null);
    assert.equal(await w.tryResume(), true);
    assert.notEqual(w.position.segmentId, segment, 'goes on in a fresh segment');
    w.append(Buffer.from('c'));
    await w.waitDurable();
  });

  test('a disk-full write throws, leaves no partial record and fails the writer', async () => {
    const fsys = faultyFs([]);
    const w = open({ fs: fsys });
    w.append(Buffer.from('one'));
    const before = w.position.bytes;
    fsys.faults.push({ op: 'writevSync', errno: 'ENOSPC' });
    assert.throws(
      () => w.append(Buffer.from('two')),
      (e: unknown) => {
        assert.ok(e instanceof StoreError);
        assert.deepEqual([e.code, e.step, e.errno], ['STORE_JOURNAL_FAILED', 'write', 'ENOSPC']);
        return true;
      },
    );
    assert.equal(statSync(join(dir, 'S1.jnl')).size, before);
    fsys.faults.length = 0;
    assert.throws(() => w.append(Buffer.from('three')), { code: 'STORE_JOURNAL_FAILED' });
    const r = await readJournalSegment(join(dir, 'S1.jnl'));
    assert.deepEqual(r.records.map(String), ['one']);
  });

  test('a record over maxRecordBytes is refused with STORE_LIMIT and nothing is written', () => {
    const w = open({ maxRecordBytes: 4 });
    const before = w.position.bytes;
    assert.throws(() => w.append(Buffer.from('12345')), { code: 'STORE_LIMIT' });
    assert.equal(w.position.bytes, before);
    assert.equal(w.failure, null);
  });

  test('under an interval policy the timer fsyncs what was appended, and only then', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    let synced!: () => void;
    const fsyncSeen = new Promise<void>((r) => (synced = r));
    const fsys = faultyFs([]);
    const base = fsys.fdatasync;
    fsys.fdatasync = async (fd) => {
      await base(fd);
      synced();
    };
    const w = open({ fsync: 100, fs: fsys });
    await w.flush(); // the new segment's directory entry
    const after = count(fsys.calls, 'fdatasync');
    t.mock.timers.tick(100);
    assert.equal(count(fsys.calls, 'fdatasync'), after, 'nothing appended: no fsync');
    w.append(Buffer.from('x'));
    t.mock.timers.tick(100);
    await fsyncSeen;
    assert.equal(count(fsys.calls, 'fdatasync'), after + 1);
  });

  test('rotation starts a segment named by the snapshot id, following the old one at its length', async () => {
    const w = open();
    w.append(Buffer.from('before capture'));
    const oldBytes = w.position.bytes;
    const pos = w.rotate('S2');
    assert.deepEqual([pos.segmentId, pos.records], ['S2', 0]);
    w.append(Buffer.from('after capture'));
    await w.flush();
    const r2 = await readJournalSegment(join(dir, 'S2.jnl'));
    assert.deepEqual(r2.header.follows, { kind: 'segment', segmentId: 'S1', bytes: oldBytes });
    assert.deepEqual(r2.records.map(String), ['after capture']);
    const r1 = await readJournalSegment(join(dir, 'S1.jnl'));
    assert.deepEqual(r1.records.map(String), ['before capture']);
    assert.equal(r1.validBytes, oldBytes);
  });

  test('dropBefore deletes the segments a durable snapshot covers, and only those', async () => {
    const w = open({ chain: ['S0'], follows: { kind: 'segment', segmentId: 'S0', bytes: 0 } });
    const first = w.position.segmentId;
    w.rotate('S2');
    w.rotate('S3');
    const deleted = await w.dropBefore('S2');
    assert.deepEqual(deleted, [`${first}.jnl`]); // S0.jnl never existed on disk here
    assert.deepEqual(readdirSync(dir).sort(), ['S2.jnl', 'S3.jnl']);
    assert.deepEqual(await w.dropBefore('unknown'), []);
  });

  test('the failed state ends once a snapshot captured after the failure is durable', async () => {
    const fsys = faultyFs([]);
    const w = open({ fs: fsys, log: collectingLogger() });
    fsys.faults.push({ op: 'writevSync', errno: 'ENOSPC', times: 1 });
    assert.throws(() => w.append(Buffer.from('lost')), { code: 'STORE_JOURNAL_FAILED' });
    w.rotate('S2'); // the capture of the next snapshot
    assert.throws(() => w.append(Buffer.from('still refused')), { code: 'STORE_JOURNAL_FAILED' });
    await w.dropBefore('S2'); // snapshot S2 is durable
    assert.equal(w.failure, null);
    w.append(Buffer.from('accepted again'));
    assert.equal(existsSync(join(dir, 'S1.jnl')), false);
  });

  test('a segment that cannot be created makes rotate throw and keeps the current segment', () => {
    const fsys = faultyFs([]);
    const w = open({ fs: fsys });
    fsys.faults.push({ op: 'writevSync', errno: 'ENOSPC', times: 1 });
    assert.throws(() => w.rotate('S2'), { code: 'STORE_WRITE_FAILED' });
    assert.equal(w.position.segmentId, 'S1');
    assert.deepEqual(readdirSync(dir), ['S1.jnl'], 'the half-made segment is removed');
    w.append(Buffer.from('still fine'));
    assert.throws(() => w.rotate('S1'), { code: 'STORE_WRITE_FAILED' }, 'an existing segment is never reopened');
  });
});
