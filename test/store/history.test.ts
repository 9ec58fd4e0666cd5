/**
 * History on disk: segments move to history/ once a snapshot covers them, checkpoints are kept
 * at the interval, retention drops whole generations oldest first (with a log line), and
 * recovery at start still replays only the journal after the current snapshot.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';

import { encodeMutation, type Mutation, Session, NULL_LOGGER } from '../../src/session/index.js';
import type { HistoryCheckpoint, HistoryListing, HistorySegment } from '../../src/store/history.js';
import { HistoryKeeper, listHistory, planHistoryRetention } from '../../src/store/history.js';
import { JournalWriter } from '../../src/store/journal-writer.js';
import { loadNewestValid } from '../../src/store/recovery.js';
import { SnapshotWriter } from '../../src/store/snapshot-writer.js';
import { collectingLogger, makeTempDir, nodeData } from './helpers.js';

const H = 3_600_000;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function seg(id: string, createdAtMs: number, bytes = 100): HistorySegment {
  return {
    file: `history/${id}.jnl`,
    path: `/x/history/${id}.jnl`,
    header: { formatVersion: 1, segmentId: id, follows: { kind: 'empty' }, createdAtMs, serverVersion: '' },
    error: null,
    createdAtMs,
    bytes,
  };
}

function cp(id: string, timeMs: number, bytes = 1000): HistoryCheckpoint {
  return { file: `history/${id}.pkl`, path: `/x/history/${id}.pkl`, snapshotId: id, timeMs, bytes };
}

describe('planHistoryRetention', () => {
  // Three generations: checkpoint a at 0 h (segments a, a2), b at 10 h (b, b2), c at 20 h (c).
  const listing: HistoryListing = {
    checkpoints: [cp('a', 0), cp('b', 10 * H), cp('c', 20 * H)],
    segments: [seg('a', 0), seg('a2', 5 * H), seg('b', 10 * H), seg('b2', 15 * H), seg('c', 20 * H)],
  };

  test('drops a generation once the next checkpoint is older than the retention, never the newest', () => {
    const drops = planHistoryRetention(listing, 100 * H, 10 * H, 1e12);
    assert.deepEqual(
      drops.map((d) => [d.checkpoint, d.segments, d.reason]),
      [
        ['history/a.pkl', 2, 'retention'],
        ['history/b.pkl', 2, 'retention'],
      ],
    );
    assert.deepEqual(drops[0].files, ['history/a.pkl', 'history/a.jnl', 'history/a2.jnl']);
  });

  test('keeps a generation while any moment of the retention window needs its checkpoint', () => {
    // Window starts at 12 h: moments 12–20 h replay from checkpoint b, so b stays; a goes.
    const drops = planHistoryRetention(listing, 22 * H, 10 * H, 1e12);
    assert.deepEqual(
      drops.map((d) => d.checkpoint),
      ['history/a.pkl'],
    );
  });

  test('drops the oldest generations while history is over its size, down to the newest', () => {
    const total = 3 * 1000 + 5 * 100;
    assert.deepEqual(planHistoryRetention(listing, 21 * H, 100 * H, total), []);
    const one = planHistoryRetention(listing, 21 * H, 100 * H, total - 1);
    assert.deepEqual(
      one.map((d) => [d.checkpoint, d.reason, d.bytes]),
      [['history/a.pkl', 'size', 1200]],
    );
    const all = planHistoryRetention(listing, 21 * H, 100 * H, 0);
    assert.equal(all.length, 2, 'the newest generation stays even over the size');
  });

  test('segments from before the first checkpoint form their own generation', () => {
    const l: HistoryListing = { checkpoints: [cp('b', 10 * H)], segments: [seg('e', 0), seg('b', 10 * H)] };
    const drops = planHistoryRetention(l, 30 * H, 5 * H, 1e12);
    assert.deepEqual(drops[0].files, ['history/e.jnl']);
  });
});

function nodeMutation(uuid: string): Mutation {
  return {
    type: 'node',
    uuid,
    owner: 'COMMON',
    deps: [],
    depsBytes: Buffer.from([0x80, 4, 0x5d, 0x94, 0x2e]),
    dataBytes: nodeData(uuid),
  };
}

describe('HistoryKeeper with the journal and snapshot writers', () => {
  test('saves move covered segments to history/, checkpoint at the interval, and recovery replays only the tail', async () => {
    const { dir, cleanup } = makeTempDir('history-');
    cleanups.push(cleanup);
    mkdirSync(join(dir, 'journal'));
    let clock = Date.UTC(2025, 0, 12, 12, 0, 0);
    const log = collectingLogger();
    const keeper = new HistoryKeeper({
      dataDir: dir,
      retentionMs: 3 * H,
      maxBytes: 1e12,
      checkpointIntervalMs: H,
      log,
      now: () => clock,
    });
    const session = new Session({ adminPassword: 't' });
    const journal = JournalWriter.open({
      dir: join(dir, 'journal'),
      follows: { kind: 'empty' },
      fsync: 'off',
      now: () => clock,
      historyDataDir: dir,
    });
    const writer = new SnapshotWriter({
      dataDir: dir,
      capture: () => session.exportImage(),
      log: NULL_LOGGER,
      serverVersion: 't',
      journal,
      maxBackups: 2,
      now: () => clock,
      afterDurable: (path, id) => keeper.afterSave(path, id),
    });
    let n = 0;
    const change = (): void => {
      const m = nodeMutation(`00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`);
      journal.append(encodeMutation(m, { atMs: clock }));
      session.applyMutation(m);
    };
    // Ten saves, 30 minutes apart, two changes before each.
    for (let i = 0; i < 10; i++) {
      change();
      change();
      clock += 30 * 60_000;
      assert.ok((await writer.save('auto-save')).ok);
    }
    change(); // after the last save: only this one is in journal/
    await journal.close();

    const listing = await listHistory(dir);
    const checkpoints = listing.checkpoints.map((c) => c.snapshotId);
    // Every hour: saves 1, 3, 5, 7, 9 (the first has nothing older), minus what retention dropped.
    assert.ok(checkpoints.length >= 3 && checkpoints.length <= 5, `checkpoints: ${checkpoints.join(', ')}`);
    assert.ok(listing.segments.length >= 5);
    assert.match(log.messages('info').join('\n'), /History: dropped .* older than HISTORY_RETENTION/);
    // Retention kept every moment of the last 3 hours reconstructible: the oldest checkpoint left
    // is at or before the window's start.
    assert.ok(listing.checkpoints[0].timeMs <= clock - 3 * H);
    assert.equal(readdirSync(join(dir, 'backups')).length, 2, 'backups keep their own MAX_BACKUPS rotation');

    const recovered = await loadNewestValid(dir, NULL_LOGGER, { check: () => null, keepHistory: true });
    assert.equal(recovered.journal.records.length, 1, 'only the change after the last snapshot is replayed');
    assert.equal(recovered.image?.nodes.length, 20);
  });

  /** A history of two 5,000-byte checkpoints, an hour apart, and a keeper over it. */
  function twoGenerations(maxBytes: number) {
    const { dir, cleanup } = makeTempDir('history-');
    cleanups.push(cleanup);
    mkdirSync(join(dir, 'history'));
    const log = collectingLogger();
    writeFileSync(join(dir, 'history', '20250112T100000000Z-aaaaaaaa.pkl'), Buffer.alloc(5000));
    writeFileSync(join(dir, 'history', '20250112T110000000Z-bbbbbbbb.pkl'), Buffer.alloc(5000));
    const keeper = new HistoryKeeper({
      dataDir: dir,
      retentionMs: 1000 * H,
      maxBytes,
      checkpointIntervalMs: H,
      log,
      now: () => Date.UTC(2025, 0, 12, 12),
    });
    return { dir, log, keeper };
  }

  test('size bound: the oldest generation goes with a log line naming HISTORY_MAX_BYTES', async () => {
    const { dir, log, keeper } = twoGenerations(6000);
    const drops = await keeper.prune();
    assert.equal(drops.length, 1);
    assert.deepEqual(readdirSync(join(dir, 'history')), ['20250112T110000000Z-bbbbbbbb.pkl']);
    assert.match(
      log.messages('info').join('\n'),
      /History: dropped history\/20250112T100000000Z-aaaaaaaa\.pkl .*HISTORY_MAX_BYTES/,
    );
  });

  test('a disk low on space empties history, the newest generation too, before snapshots fail', async () => {
    const { dir, log, keeper } = twoGenerations(1e12);
    assert.deepEqual(await keeper.relieve(0), []);
    await keeper.relieve(6000);
    assert.deepEqual(readdirSync(join(dir, 'history')), []);
    assert.match(log.messages('info').join('\n'), /History: dropped .* the disk is low on free space/);
  });
});
