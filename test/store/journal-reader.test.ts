/**
 * Journal segments on disk: a torn tail is the normal end of a log, damage followed by a valid
 * record is corruption (STYLE.md §9). One damaged-segment fixture per case, generated from a
 * valid segment written by JournalWriter.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';

import { crc32, crc32Portable } from '../../src/store/crc32.js';
import { JOURNAL_MAGIC, parseJournalFsync, recordHeader } from '../../src/store/journal-format.js';
import { readJournalSegment, readSegmentHeader } from '../../src/store/journal-reader.js';
import { JournalWriter } from '../../src/store/journal-writer.js';
import { makeTempDir } from './helpers.js';

const PAYLOADS = ['first', 'second record', 'third', 'fourth and last'].map((s) => Buffer.from(s));

/** Writes a segment with PAYLOADS; returns its path and the offset where each record starts. */
async function writeSegment(dir: string): Promise<{ path: string; starts: number[]; end: number }> {
  const w = JournalWriter.open({ dir, follows: { kind: 'snapshot', snapshotId: 'S1' }, fsync: 'off' });
  const starts: number[] = [];
  for (const p of PAYLOADS) {
    starts.push(w.position.bytes);
    w.append(p);
  }
  const end = w.position.bytes;
  await w.close();
  return { path: join(dir, 'S1.jnl'), starts, end };
}

describe('CRC-32', () => {
  test('matches the standard check value and chains across parts, natively and portably', () => {
    const check = Buffer.from('123456789');
    for (const f of [crc32, crc32Portable]) {
      assert.equal(f(check), 0xcbf43926);
      assert.equal(f(check.subarray(4), f(check.subarray(0, 4))), 0xcbf43926);
    }
  });
});

describe('JOURNAL_FSYNC parsing', () => {
  test('accepts always, off and a positive number of milliseconds, and nothing else', () => {
    assert.equal(parseJournalFsync('always'), 'always');
    assert.equal(parseJournalFsync(' OFF '), 'off');
    assert.equal(parseJournalFsync('100'), 100);
    for (const bad of ['', '0', '-5', '1.5', 'everysec', '999999']) assert.equal(parseJournalFsync(bad), null);
  });
});

describe('reading journal segments', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = makeTempDir('journal-read-')));
  afterEach(() => cleanup());

  test('a clean segment gives its header and every record in order', async () => {
    const { path, end } = await writeSegment(dir);
    const r = await readJournalSegment(path);
    assert.equal(r.header.segmentId, 'S1');
    assert.deepEqual(r.header.follows, { kind: 'snapshot', snapshotId: 'S1' });
    assert.deepEqual(
      r.records.map((b) => Buffer.from(b).toString()),
      PAYLOADS.map(String),
    );
    assert.equal(r.validBytes, end);
    assert.equal(r.tornTail, null);
    assert.equal(r.corruption, null);
    assert.equal((await readSegmentHeader(path)).header.segmentId, 'S1');
  });

  test('every truncation inside the records reads as the complete records before it plus a torn tail', async () => {
    const { path, starts, end } = await writeSegment(dir);
    const whole = readFileSync(path);
    for (let n = starts[0]; n < end; n++) {
      writeFileSync(path, whole.subarray(0, n));
      const r = await readJournalSegment(path);
      const complete = starts.filter((s, i) => (i + 1 < starts.length ? starts[i + 1] : end) <= n).length;
      assert.equal(r.records.length, complete, `cut at ${n}`);
      assert.equal(r.corruption, null);
      if (starts.includes(n)) assert.equal(r.tornTail, null, `cut at ${n} is a record boundary`);
      else assert.equal(r.tornTail?.offset, starts[complete], `cut at ${n}`);
    }
  });

  test('torn tail, short header: 3 stray bytes after the last record are dropped and repaired away', async () => {
    const { path, end } = await writeSegment(dir);
    appendFileSync(path, Buffer.from([1, 2, 3]));
    const r = await readJournalSegment(path, { repair: true });
    assert.equal(r.records.length, 4);
    assert.deepEqual(r.tornTail, {
      offset: end,
      reason: 'short-header',
      droppedBytes: 3,
      verified: true,
      truncated: true,
    });
    assert.equal(statSync(path).size, end);
  });

  test('torn tail, short payload: a record cut mid-payload is dropped', async () => {
    const { path, starts, end } = await writeSegment(dir);
    truncateSync(path, end - 3);
    const r = await readJournalSegment(path);
    assert.equal(r.records.length, 3);
    assert.equal(r.tornTail?.reason, 'short-payload');
    assert.equal(r.tornTail?.offset, starts[3]);
    assert.equal(r.tornTail?.truncated, false);
    assert.equal(statSync(path).size, end - 3, 'not repaired unless asked');
  });

  test('torn tail, bad CRC: a last record with a wrong checksum is dropped', async () => {
    const { path, starts } = await writeSegment(dir);
    const b = readFileSync(path);
    b[b.length - 1] ^= 0xff;
    writeFileSync(path, b);
    const r = await readJournalSegment(path);
    assert.equal(r.records.length, 3);
    assert.deepEqual([r.tornTail?.offset, r.tornTail?.reason], [starts[3], 'bad-crc']);
  });

  test('torn tail, zero fill: a file extended with zeros after power loss ends at the last good record', async () => {
    const { path, end } = await writeSegment(dir);
    appendFileSync(path, Buffer.alloc(4096));
    const r = await readJournalSegment(path, { repair: true });
    assert.equal(r.records.length, 4);
    assert.equal(r.tornTail?.offset, end);
    assert.equal(r.tornTail?.droppedBytes, 4096);
    assert.equal(statSync(path).size, end);
  });

  test('corruption, bad CRC in the middle: a damaged record followed by valid ones is STORE_CORRUPT', async () => {
    const { path, starts } = await writeSegment(dir);
    const b = readFileSync(path);
    b[starts[1] + 10] ^= 0x04;
    writeFileSync(path, b);
    await assert.rejects(readJournalSegment(path), (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'STORE_CORRUPT');
      assert.equal((e as { details?: { offset?: number } }).details?.offset, starts[1]);
      return true;
    });
    const salvaged = await readJournalSegment(path, { salvage: true, repair: true });
    assert.deepEqual(salvaged.records.map(String), ['first']);
    assert.deepEqual(salvaged.corruption, { offset: starts[1], reason: 'bad-crc', validRecordAt: starts[2] });
    assert.equal(readFileSync(path).length, b.length, 'corruption is never truncated by the reader');
  });

  test('corruption, damaged length in the middle: found by scanning for the next valid record', async () => {
    const { path, starts } = await writeSegment(dir);
    const b = readFileSync(path);
    b.writeUInt32LE(0xfffffff0, starts[1]);
    writeFileSync(path, b);
    const r = await readJournalSegment(path, { salvage: true });
    assert.equal(r.records.length, 1);
    assert.equal(r.corruption?.reason, 'bad-length');
    assert.equal(r.corruption?.validRecordAt, starts[2]);
  });

  test('a long torn payload is searched window by window; a search over budget leaves the file unrepaired', async () => {
    const { path, end } = await writeSegment(dir);
    const tornRecord = (payload: Buffer): Buffer =>
      Buffer.concat([recordHeader([payload]), payload]).subarray(0, payload.length / 2);
    // 0xff bytes: no u32 in them is a length that fits, so the search is exhaustive and cheap.
    appendFileSync(path, tornRecord(Buffer.alloc(6_000_000, 0xff)));
    const r = await readJournalSegment(path, { repair: true });
    assert.equal(r.records.length, 4);
    assert.deepEqual([r.tornTail?.offset, r.tornTail?.reason, r.tornTail?.verified], [end, 'short-payload', true]);
    assert.equal(statSync(path).size, end);
    // Mesh-like floats: misaligned u32s are small plausible lengths, each needing a CRC; the budget runs out.
    const floats = Buffer.from(new Float32Array(1_500_000).fill(1.5).buffer);
    appendFileSync(path, tornRecord(floats));
    const limited = await readJournalSegment(path, { repair: true });
    assert.equal(limited.records.length, 4);
    assert.deepEqual([limited.tornTail?.verified, limited.tornTail?.truncated], [false, false]);
    assert.equal(statSync(path).size, end + 3_000_000);
  });

  test('corruption, one flipped bit in a length: found without a scan, even past a big payload', async () => {
    const w = JournalWriter.open({ dir, follows: { kind: 'snapshot', snapshotId: 'S1' }, fsync: 'off' });
    const starts: number[] = [];
    for (const p of [Buffer.from('a'), Buffer.from(new Float32Array(1_000_000).fill(1.5).buffer), Buffer.from('c')]) {
      starts.push(w.position.bytes);
      w.append(p);
    }
    await w.close();
    const path = join(dir, 'S1.jnl');
    const b = readFileSync(path);
    b[starts[1] + 2] ^= 0x02; // 4,000,000 becomes 4,131,072: it points past the end of the file
    writeFileSync(path, b);
    const r = await readJournalSegment(path, { salvage: true, scanBudgetBytes: 0 });
    assert.deepEqual(r.corruption, { offset: starts[1], reason: 'short-payload', validRecordAt: starts[2] });
  });

  test('a segment with a bad magic or a damaged header is STORE_CORRUPT', async () => {
    const { path } = await writeSegment(dir);
    const b = readFileSync(path);
    const badMagic = Buffer.from(b);
    badMagic[0] ^= 1;
    writeFileSync(path, badMagic);
    await assert.rejects(readJournalSegment(path), { code: 'STORE_CORRUPT' });
    const badHeader = Buffer.from(b);
    badHeader[JOURNAL_MAGIC.length + 12] ^= 1;
    writeFileSync(path, badHeader);
    await assert.rejects(readSegmentHeader(path), { code: 'STORE_CORRUPT' });
    writeFileSync(path, Buffer.alloc(0));
    await assert.rejects(readJournalSegment(path), { code: 'STORE_CORRUPT' });
  });

  test('a header record that is valid but not a header we know is STORE_CORRUPT', async () => {
    const json = Buffer.from('{"format":1}');
    writeFileSync(join(dir, 'x.jnl'), Buffer.concat([JOURNAL_MAGIC, recordHeader([json]), json]));
    await assert.rejects(readSegmentHeader(join(dir, 'x.jnl')), { code: 'STORE_CORRUPT' });
  });

  test('a newer journal format is STORE_FORMAT', async () => {
    const json = Buffer.from('{"format":2,"segment_id":"S","follows":{"kind":"empty"}}');
    writeFileSync(join(dir, 'x.jnl'), Buffer.concat([JOURNAL_MAGIC, recordHeader([json]), json]));
    await assert.rejects(readSegmentHeader(join(dir, 'x.jnl')), { code: 'STORE_FORMAT' });
  });
});
