/**
 * Startup recovery over real data directories built by the store itself, then damaged one way per
 * test (STYLE.md §9): truncated / bit-flipped snapshot and backups, every file damaged, a backup
 * restored by hand (foreign journal), a torn journal tail, corruption mid-journal, a failed save.
 */
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, test } from 'node:test';

import { decodePickle, encodePickle, PyDict, pyInt } from '../../src/pickle/index.js';
import { recordHeader } from '../../src/store/journal-format.js';
import { JournalWriter } from '../../src/store/journal-writer.js';
import * as msg from '../../src/store/log-messages.js';
import { loadNewestValid } from '../../src/store/recovery.js';
import type { SessionImage } from '../../src/store/session-image.js';
import { SnapshotWriter } from '../../src/store/snapshot-writer.js';
import { fixturePath } from '../helpers/fixtures.js';
import { changedCopy, collectingLogger, makeImage, makeTempDir } from './helpers.js';

const T0 = new Date(2025, 0, 12, 14, 30, 25).getTime();

/** A running "server": a journal and a snapshot writer on one data dir. */
class Rig {
  image: SessionImage = makeImage({ nodes: 3, users: ['alice', 'bob'] });
  clock = T0;
  readonly journal: JournalWriter;
  readonly writer: SnapshotWriter;
  readonly log = collectingLogger();

  constructor(
    readonly dir: string,
    follows: Parameters<typeof JournalWriter.open>[0]['follows'] = { kind: 'empty' },
    chain: string[] = [],
  ) {
    mkdirSync(join(dir, 'journal'), { recursive: true });
    this.journal = JournalWriter.open({
      dir: join(dir, 'journal'),
      follows,
      chain,
      fsync: 'off',
      now: () => this.clock,
    });
    this.writer = new SnapshotWriter({
      dataDir: dir,
      // Each save stands for a session that changed since the last one (the records in between).
      capture: () => changedCopy(this.image),
      log: this.log,
      serverVersion: 'test',
      journal: this.journal,
      now: () => (this.clock += 1000),
    });
  }

  record(text: string): void {
    this.journal.append(Buffer.from(text));
  }

  async save(reason = 'auto-save', nodes?: number): Promise<string> {
    if (nodes !== undefined) this.image = makeImage({ nodes, users: ['alice', 'bob'] });
    const out = await this.writer.save(reason);
    assert.ok(out.ok, out.ok ? '' : out.error.message);
    return out.snapshotId;
  }

  /** A crash: the fds are dropped without a final fsync (the records are in the page cache). */
  async crash(): Promise<void> {
    await this.journal.close();
  }
}

const texts = (records: Uint8Array[]): string[] => records.map((r) => Buffer.from(r).toString());

describe('loadNewestValid', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = makeTempDir('recovery-')));
  afterEach(() => cleanup());

  const recover = async (now = T0 + 3_600_000) => {
    const log = collectingLogger();
    const result = await loadNewestValid(dir, log, { now: () => now, check: () => null });
    return { result, log };
  };

  test('an empty data dir gives no image, creates the folders, and says so', async () => {
    const { result, log } = await recover();
    assert.equal(result.image, null);
    assert.equal(result.allFailed, false);
    assert.deepEqual(result.journal.follows, { kind: 'empty' });
    assert.deepEqual(log.messages('info'), [msg.LOG_NO_SAVED_SESSION]);
    assert.deepEqual(readdirSync(dir).sort(), ['backups', 'journal']);
  });

  test('a session saved and then journaled is restored with the journal records to replay, and logged', async () => {
    const rig = new Rig(dir);
    rig.record('before the save');
    const id = await rig.save('user_disconnect:carol');
    rig.record('m1');
    rig.record('m2');
    await rig.crash();
    const { result, log } = await recover();
    assert.equal(result.image?.nodes.length, 3);
    assert.equal(result.source?.kind, 'snapshot');
    assert.equal(result.source?.snapshotId, id);
    assert.deepEqual(texts(result.journal.records), ['m1', 'm2']);
    assert.deepEqual(result.journal.segments, [`${id}.jnl`]);
    assert.equal(result.journal.follows.kind, 'segment');
    assert.deepEqual(log.messages('info'), [
      msg.LOG_SESSION_RESTORED,
      'Timestamp: 2025-01-12T14:30:26',
      'Users: 2',
      'Nodes: 3',
      'Restored from: session_snapshot.pkl (saved for: user_disconnect:carol)',
      msg.logJournalReplay(2, [`${id}.jnl`]),
    ]);
  });

  test('a crash before the first save still recovers everything from the journal of the empty session', async () => {
    const rig = new Rig(dir);
    rig.record('init node 1');
    rig.record('init node 2');
    await rig.crash();
    const { result } = await recover();
    assert.equal(result.image, null);
    assert.deepEqual(texts(result.journal.records), ['init node 1', 'init node 2']);
  });

  test('restarts chain: a writer opened from the recovery result continues the same journal', async () => {
    const rig = new Rig(dir);
    await rig.save();
    rig.record('a');
    await rig.crash();
    const first = await recover();
    const again = new Rig(dir, first.result.journal.follows, first.result.journal.chain);
    again.record('b');
    await again.crash();
    const second = await recover();
    assert.deepEqual(texts(second.result.journal.records), ['a', 'b']);
    assert.equal(second.result.journal.segments.length, 2);
  });

  test('a save that failed leaves a chain: the older snapshot plus both segments', async () => {
    const rig = new Rig(dir);
    await rig.save();
    rig.record('a');
    rig.journal.rotate('20990101T000000000Z-deadbeef'); // the capture of a save that never completed
    rig.record('b');
    await rig.crash();
    const { result } = await recover();
    assert.deepEqual(texts(result.journal.records), ['a', 'b']);
  });

  test('a truncated snapshot is moved to corrupt/ and the newest valid backup is used, loudly', async () => {
    const rig = new Rig(dir);
    await rig.save('auto-save', 2);
    const id = await rig.save('auto-save', 5);
    rig.record('after');
    await rig.crash();
    const snap = join(dir, 'session_snapshot.pkl');
    truncateSync(snap, Math.floor(statSync(snap).size / 2));
    const { result, log } = await recover();
    assert.equal(result.source?.kind, 'backup');
    assert.equal(result.source?.snapshotId, id, 'the newest backup is a copy of the same snapshot');
    assert.equal(result.image?.nodes.length, 5);
    assert.deepEqual(texts(result.journal.records), ['after'], 'so its journal still applies');
    assert.equal(existsSync(snap), false);
    assert.deepEqual(readdirSync(join(dir, 'corrupt')), ['session_snapshot.pkl.20250112_153025']);
    assert.deepEqual(result.movedToCorrupt, ['corrupt/session_snapshot.pkl.20250112_153025']);
    const errors = log.messages('error');
    assert.match(
      errors[0],
      /^Snapshot session_snapshot\.pkl is unreadable \(.*gzip.*\); moved to corrupt\/session_snapshot\.pkl\.20250112_153025/,
    );
    assert.match(errors[1], /^Recovered from backup backups\/snapshot_/);
  });

  test('a bit-flipped snapshot and a bit-flipped newest backup fall back to the older backup; its journal is gone', async () => {
    const rig = new Rig(dir);
    const older = await rig.save('auto-save', 2);
    await rig.save('auto-save', 5);
    rig.record('after');
    await rig.crash();
    const backups = readdirSync(join(dir, 'backups')).sort();
    for (const f of [join(dir, 'session_snapshot.pkl'), join(dir, 'backups', backups[1])]) {
      const b = readFileSync(f);
      b[Math.floor(b.length / 2)] ^= 0x10;
      writeFileSync(f, b);
    }
    const { result, log } = await recover();
    assert.equal(result.source?.file, `backups/${backups[0]}`);
    assert.equal(result.source?.snapshotId, older);
    assert.equal(result.image?.nodes.length, 2);
    assert.deepEqual(result.journal.records, [], 'the journal follows the newer snapshot: not replayed');
    assert.equal(readdirSync(join(dir, 'corrupt')).length, 3); // snapshot, backup, journal segment
    assert.ok(log.messages('error').some((l) => l.startsWith('Journal ') && l.includes('NOT replayed')));
  });

  test('when every file is damaged the result is empty, flagged, and the loudest line is logged', async () => {
    const rig = new Rig(dir);
    await rig.save();
    await rig.crash();
    for (const f of [
      join(dir, 'session_snapshot.pkl'),
      ...readdirSync(join(dir, 'backups')).map((n) => join(dir, 'backups', n)),
    ]) {
      writeFileSync(f, 'garbage that is not gzip');
    }
    const { result, log } = await recover();
    assert.equal(result.image, null);
    assert.equal(result.allFailed, true);
    assert.equal(
      result.lastKnownNodeCount,
      3,
      'from session_metadata.json: the writer will refuse to save empty over it',
    );
    assert.ok(log.messages('error').includes(msg.logAllSnapshotsFailed(2)));
  });

  test('a backup copied over session_snapshot.pkl by hand is used, and the journal of the newer one is not replayed', async () => {
    const rig = new Rig(dir);
    const older = await rig.save('auto-save', 2);
    await rig.save('auto-save', 5);
    rig.record('belongs to the newer snapshot');
    await rig.crash();
    const backups = readdirSync(join(dir, 'backups')).sort();
    copyFileSync(join(dir, 'backups', backups[0]), join(dir, 'session_snapshot.pkl'));
    const { result, log } = await recover();
    assert.equal(result.source?.kind, 'snapshot');
    assert.equal(result.source?.snapshotId, older);
    assert.equal(result.image?.nodes.length, 2);
    assert.deepEqual(result.journal.records, []);
    assert.deepEqual(result.journal.follows, { kind: 'snapshot', snapshotId: older });
    const foreign = log.messages('error').find((l) => l.startsWith('Journal '));
    assert.match(
      foreign ?? '',
      new RegExp(`does not belong to the loaded snapshot ${older} .*NOT replayed; moved to corrupt/`),
    );
    assert.deepEqual(readdirSync(join(dir, 'journal')), []);
  });

  test('a torn last journal record is dropped, cut off the file, and reported', async () => {
    const rig = new Rig(dir);
    const id = await rig.save();
    rig.record('kept 1');
    rig.record('kept 2');
    rig.record('torn');
    await rig.crash();
    const seg = join(dir, 'journal', `${id}.jnl`);
    truncateSync(seg, statSync(seg).size - 2);
    const { result, log } = await recover();
    assert.deepEqual(texts(result.journal.records), ['kept 1', 'kept 2']);
    assert.equal(result.journal.tornTails, 1);
    assert.match(log.messages('warn')[0], new RegExp(`^Journal ${id}\\.jnl: dropped a torn last record`));
    assert.equal(result.journal.follows.kind === 'segment' && result.journal.follows.bytes, statSync(seg).size);
  });

  test('a torn record too long to verify is still cut, and the dropped bytes are kept in corrupt/', async () => {
    const rig = new Rig(dir);
    const id = await rig.save();
    rig.record('kept');
    await rig.crash();
    const seg = join(dir, 'journal', `${id}.jnl`);
    const size = statSync(seg).size;
    const floats = Buffer.from(new Float32Array(1_500_000).fill(1.5).buffer);
    const torn = Buffer.concat([recordHeader([floats]), floats]).subarray(0, 3_000_000);
    writeFileSync(seg, Buffer.concat([readFileSync(seg), torn]));
    const { result, log } = await recover();
    assert.deepEqual(texts(result.journal.records), ['kept']);
    assert.equal(statSync(seg).size, size);
    const tail = join(dir, 'corrupt', `${id}.jnl.tail.20250112_153025`);
    assert.ok(readFileSync(tail).equals(torn));
    assert.match(log.messages('warn')[0], /torn last record .* the dropped bytes are kept as corrupt\//);
    assert.equal(log.messages('error').length, 0);
  });

  test('corruption mid-journal: the records before it are replayed, a copy is kept, later segments are set aside', async () => {
    const rig = new Rig(dir);
    const id = await rig.save();
    rig.record('good');
    rig.record('damaged');
    rig.record('valid but after the damage');
    rig.journal.rotate('20990101T000000000Z-deadbeef');
    rig.record('in the next segment');
    await rig.crash();
    const seg = join(dir, 'journal', `${id}.jnl`);
    const b = readFileSync(seg);
    const at = b.indexOf(Buffer.from('damaged'));
    b[at] ^= 0x20;
    writeFileSync(seg, b);
    const { result, log } = await recover();
    assert.deepEqual(texts(result.journal.records), ['good']);
    assert.equal(result.journal.corrupt, true);
    const corrupt = readdirSync(join(dir, 'corrupt')).sort();
    assert.ok(corrupt.includes(`${id}.jnl.20250112_153025`), 'a copy of the damaged segment');
    assert.ok(
      corrupt.some((n) => n.startsWith('20990101T000000000Z-deadbeef.jnl')),
      'the next segment, set aside',
    );
    assert.ok(readFileSync(join(dir, 'corrupt', `${id}.jnl.20250112_153025`)).equals(b));
    assert.ok(log.messages('error').some((l) => l.startsWith(`Journal ${id}.jnl is CORRUPT at byte`)));
    assert.deepEqual(readdirSync(join(dir, 'journal')), [`${id}.jnl`]);
  });

  test('a segment older than the loaded snapshot (a crash before it was deleted) is deleted', async () => {
    const rig = new Rig(dir);
    const first = await rig.save();
    const keep = readFileSync(join(dir, 'journal', `${first}.jnl`));
    await rig.save();
    await rig.crash();
    writeFileSync(join(dir, 'journal', `${first}.jnl`), keep);
    const { result, log } = await recover();
    assert.equal(existsSync(join(dir, 'journal', `${first}.jnl`)), false);
    assert.equal(existsSync(join(dir, 'corrupt')), false);
    assert.ok(log.messages('info').includes(`Deleted journal ${first}.jnl: older than the loaded snapshot`));
    assert.equal(result.journal.segments.length, 1);
  });

  test('a session file saved by the add-on, placed as session_snapshot.pkl, is imported and its journal follows it', async () => {
    const samples = fixturePath('captures/samples');
    const db = readdirSync(samples).find((n) => /^session_.*\.db$/.test(n)) as string;
    copyFileSync(join(samples, db), join(dir, 'session_snapshot.pkl'));
    const { result, log } = await recover();
    assert.equal(result.source?.meta, null);
    assert.equal(result.image?.nodes.length, 5);
    assert.ok(log.messages('info').includes('Restored from: session_snapshot.pkl'));
    assert.equal(result.journal.follows.kind, 'snapshot');
    const rig = new Rig(dir, result.journal.follows, result.journal.chain);
    rig.record('edit after import');
    await rig.crash();
    const again = await recover();
    assert.deepEqual(texts(again.result.journal.records), ['edit after import']);
  });

  test('a snapshot of a newer format stops recovery and is left in place', async () => {
    const rig = new Rig(dir);
    await rig.save();
    await rig.crash();
    const snap = join(dir, 'session_snapshot.pkl');
    const top = decodePickle(gunzipSync(readFileSync(snap))) as PyDict;
    (top.get('multiuser_server') as PyDict).setStr('format_version', pyInt(99));
    writeFileSync(snap, gzipSync(encodePickle(top)));
    await assert.rejects(recover(), { code: 'STORE_FORMAT' });
    assert.equal(existsSync(snap), true);
  });

  test('a missing snapshot with backups present restores the newest backup', async () => {
    const rig = new Rig(dir);
    await rig.save('auto-save', 4);
    await rig.crash();
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, 'session_snapshot.pkl'));
    const { result } = await recover();
    assert.equal(result.source?.kind, 'backup');
    assert.equal(result.image?.nodes.length, 4);
    assert.equal(result.allFailed, false);
  });

  test('temp files left by an interrupted save are removed; other files are not', async () => {
    mkdirSync(join(dir, 'backups'), { recursive: true });
    const ours = ['session_snapshot.pkl.123.4.tmp', 'session_metadata.json.9.1.tmp'];
    const ourBackup = 'snapshot_20250112_143025.pkl.5.6.tmp';
    const theirs = ['notes.tmp', 'other.pkl.1.2.tmp'];
    for (const n of [...ours, ...theirs]) writeFileSync(join(dir, n), 'x');
    writeFileSync(join(dir, 'backups', ourBackup), 'x');
    await recover();
    for (const n of ours) assert.equal(existsSync(join(dir, n)), false, n);
    assert.equal(existsSync(join(dir, 'backups', ourBackup)), false);
    for (const n of theirs) assert.equal(existsSync(join(dir, n)), true, n);
  });

  test('a users value that is not a dict is damage too: the file is set aside', async () => {
    const bad = new PyDict();
    bad.setStr('nodes', []);
    bad.setStr('users', 'not a dict');
    writeFileSync(join(dir, 'session_snapshot.pkl'), gzipSync(encodePickle(bad)));
    const { result } = await recover();
    assert.equal(result.allFailed, true);
    assert.equal(existsSync(join(dir, 'corrupt')), true);
  });
});
