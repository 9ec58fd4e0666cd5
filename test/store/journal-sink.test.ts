/**
 * JournalSink: the persist hook over a journal the disk refuses. Changes are held in memory in
 * order, written in order once the journal works again, and a snapshot captured meanwhile covers
 * them (dropped when durable, put back in front when that save fails). Under `always` the change
 * that hit the failure throws (not relayed) and changes are refused until the journal works.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';

import { decodeMutation, type Mutation } from '../../src/session/index.js';
import { StoreError } from '../../src/store/errors.js';
import { readJournalSegment } from '../../src/store/journal-reader.js';
import { JournalSink } from '../../src/store/journal-sink.js';
import { JournalWriter } from '../../src/store/journal-writer.js';
import { collectingLogger, faultyFs, makeTempDir } from './helpers.js';

const join_ = (name: string): Mutation => ({ type: 'user-join', name, admin: false });

describe('JournalSink', () => {
  let dir: string;
  let cleanup: () => void;
  const writers: JournalWriter[] = [];
  const sinks: JournalSink[] = [];
  beforeEach(() => ({ dir, cleanup } = makeTempDir('journal-sink-')));
  afterEach(async () => {
    for (const s of sinks.splice(0)) s.close();
    for (const w of writers.splice(0)) await w.close().catch(() => undefined);
    cleanup();
  });

  function rig(policy: 'always' | 100) {
    const fsys = faultyFs([]);
    const log = collectingLogger();
    const events: string[] = [];
    const sinkRef: { s: JournalSink | null } = { s: null };
    const journal = JournalWriter.open({
      dir,
      follows: { kind: 'snapshot', snapshotId: 'S1' },
      fsync: policy,
      fs: fsys,
      onError: (e) => sinkRef.s?.journalFailed(e),
    });
    writers.push(journal);
    const sink = new JournalSink({
      journal,
      policy,
      log,
      retryMs: 60_000,
      onRefuse: () => events.push('refuse'),
      onResume: () => events.push('resume'),
      requestSave: () => events.push('save'),
    });
    sinkRef.s = sink;
    sinks.push(sink);
    const diskFull = (): void => void fsys.faults.push({ op: 'writevSync', errno: 'ENOSPC' });
    const diskFreed = (): void => void fsys.faults.splice(0);
    return { fsys, log, events, journal, sink, diskFull, diskFreed };
  }

  /** Names of the user-join records in every segment, in chain (file) order. */
  async function journaled(): Promise<string[]> {
    const names: string[] = [];
    for (const f of readdirSync(dir).sort()) {
      for (const r of (await readJournalSegment(join(dir, f))).records) {
        const m = decodeMutation(r);
        if (m.type === 'user-join') names.push(m.name);
      }
    }
    return names;
  }

  for (const policy of ['always', 100] as const) {
    test(`a change after the journal was closed is logged at ERROR, never silently held (JOURNAL_FSYNC=${policy})`, async () => {
      const { log, journal, sink } = rig(policy);
      await journal.close();
      if (policy === 'always') assert.throws(() => sink.persist(join_('late')));
      else sink.persist(join_('late'));
      sink.persist(join_('later'));
      const errors = log.messages('error');
      assert.equal(
        errors[0],
        'A change could not be written to the journal: journal writer is closed; it is held for the next snapshot',
      );
      assert.equal(errors.filter((e) => e.startsWith('A change could not')).length, 1, 'once, not per change');
      assert.equal(sink.status.heldInMemory, 2);
    });
  }

  test('a full disk holds changes in order (ERROR with the count) and writes them in order once freed', async () => {
    const { log, sink, diskFull, diskFreed } = rig(100);
    assert.equal(sink.persist(join_('a')), undefined);
    diskFull();
    for (const n of ['b', 'c', 'd']) assert.equal(sink.persist(join_(n)), undefined, 'serving goes on');
    await Promise.resolve();
    assert.equal(sink.status.heldInMemory, 3);
    assert.equal(sink.status.writable, false);
    const errors = log.messages('error');
    assert.equal(errors.length, 1, 'one line, not one per change');
    assert.match(errors[0], /^JOURNAL FAILED \(.*ENOSPC.*\): 1 change\(s\) held only in memory/);

    await sink.retry();
    assert.equal(sink.status.heldInMemory, 3, 'still full');
    diskFreed();
    sink.persist(join_('e'));
    assert.equal(sink.status.heldInMemory, 4, 'nothing overtakes what is held');
    await sink.retry();
    assert.deepEqual(sink.status, { writable: true, heldInMemory: 0, error: null, refusing: false });
    assert.match(log.messages('info').at(-1) ?? '', /^Journal writable again: 4 change\(s\)/);
    assert.deepEqual(await journaled(), ['a', 'b', 'c', 'd', 'e']);
  });

  test('a snapshot captured while changes are held covers them once durable; a failed one gives them back in front', async () => {
    const { sink, journal, diskFull, diskFreed } = rig(100);
    diskFull();
    sink.persist(join_('held-1'));
    diskFreed();
    journal.rotate('S2');
    sink.snapshotCaptured('S2');
    sink.persist(join_('after-capture'));
    assert.equal(sink.status.heldInMemory, 2);
    sink.snapshotSaved('S2', false);
    await sink.retry();
    assert.deepEqual(await journaled(), ['held-1', 'after-capture'], 'the failed save gave held-1 back, in front');

    diskFull();
    sink.persist(join_('covered'));
    diskFreed();
    journal.rotate('S3');
    sink.snapshotCaptured('S3');
    sink.persist(join_('later'));
    sink.snapshotSaved('S3', true);
    await sink.retry();
    assert.deepEqual(await journaled(), ['held-1', 'after-capture', 'later'], 'S3 holds "covered"');
    assert.equal(sink.status.writable, true);
  });

  test('after a failure the journal reads as writable only once a retry made everything durable', async () => {
    // A retry clears the writer's failure when it resumes the journal, before its fsync answers:
    // in that gap (writer not failed, nothing held) the sink must still say "not writable".
    const { sink, journal } = rig('always');
    await sink.persist(join_('a'));
    sink.journalFailed(new StoreError('STORE_JOURNAL_FAILED', 'fdatasync: ENOSPC'));
    assert.equal(journal.failure, null, 'the writer itself is not failed: the gap of a resumed retry');
    assert.equal(sink.status.heldInMemory, 0);
    assert.equal(sink.status.writable, false);
    await sink.retry();
    assert.deepEqual(sink.status, { writable: true, heldInMemory: 0, error: null, refusing: false });
  });

  test('under always the failing change throws, changes are refused, and resumed once the journal works', async () => {
    const { events, sink, diskFull, diskFreed } = rig('always');
    await sink.persist(join_('a'));
    diskFull();
    assert.throws(() => sink.persist(join_('b')), { code: 'STORE_JOURNAL_FAILED' });
    assert.deepEqual(
      events.filter((e) => e !== 'save'),
      ['refuse'],
    );
    assert.equal(sink.persist(join_('login-c')), undefined, 'what still arrives (a login) is held, not refused');
    assert.equal(sink.status.refusing, true);
    diskFreed();
    await sink.retry();
    assert.deepEqual(
      events.filter((e) => e !== 'save'),
      ['refuse', 'resume'],
    );
    assert.deepEqual(await journaled(), ['a', 'b', 'login-c']);
  });
});
