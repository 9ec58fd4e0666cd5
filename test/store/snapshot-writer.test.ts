import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';

import { JournalWriter } from '../../src/store/journal-writer.js';
import { logSaveFailed, logSessionSaved } from '../../src/store/log-messages.js';
import type { SessionImage } from '../../src/store/session-image.js';
import { readSnapshotFile } from '../../src/store/snapshot-codec.js';
import { SnapshotWriter, type SnapshotWriterOptions } from '../../src/store/snapshot-writer.js';
import { PYREF_PATH } from '../helpers/python.js';
import { changedCopy, collectingLogger, faultyFs, makeImage, makeTempDir } from './helpers.js';

const T0 = new Date(2025, 0, 12, 14, 30, 25).getTime();

describe('SnapshotWriter', () => {
  let dir: string;
  let cleanup: () => void;
  let clock: number;
  let captures: number;
  let image: SessionImage;
  const journals: JournalWriter[] = [];
  beforeEach(() => {
    ({ dir, cleanup } = makeTempDir('writer-'));
    clock = T0;
    captures = 0;
    image = makeImage({ nodes: 3, users: ['alice', 'bob'] });
  });
  afterEach(async () => {
    for (const j of journals.splice(0)) await j.close().catch(() => undefined);
    cleanup();
  });

  const make = (opts: Partial<SnapshotWriterOptions> = {}) => {
    const log = collectingLogger();
    const writer = new SnapshotWriter({
      dataDir: dir,
      // Each save stands for a session that changed since the last one, unless a test passes its own capture.
      capture: () => {
        captures++;
        return changedCopy(image);
      },
      log,
      serverVersion: '0.1.0-test',
      now: () => (clock += 1000),
      ...opts,
    });
    return { writer, log };
  };

  test('a save writes the snapshot, a backup and the metadata file, then logs the operator line', async () => {
    const { writer, log } = make();
    const out = await writer.save('auto-save');
    assert.ok(out.ok);
    assert.equal(out.backup, 'backups/snapshot_20250112_143026.pkl');
    assert.deepEqual([out.nodeCount, out.userCount], [3, 2]);
    const snap = await readSnapshotFile(join(dir, 'session_snapshot.pkl'));
    assert.equal(snap.snapshotId, out.snapshotId);
    assert.equal(snap.meta?.reason, 'auto-save');
    assert.ok(readFileSync(join(dir, 'session_snapshot.pkl')).equals(readFileSync(join(dir, out.backup))));
    const meta = JSON.parse(readFileSync(join(dir, 'session_metadata.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(
      [meta.reason, meta.node_count, meta.user_count, meta.snapshot_id],
      ['auto-save', 3, 2, out.snapshotId],
    );
    assert.equal(meta.bytes, out.bytes);
    assert.deepEqual(log.messages('info'), [logSessionSaved('auto-save')]);
    assert.equal(log.messages('info')[0], 'Session saved to disk (reason: auto-save)');
  });

  test('a save of the same content as the last one writes nothing: no snapshot, no backup, no metadata', async () => {
    const { writer, log } = make({ capture: () => image });
    const first = await writer.save('auto-save');
    assert.ok(first.ok);
    const files = () =>
      ['session_snapshot.pkl', 'session_metadata.json', ...readdirSync(join(dir, 'backups')).map((b) => `backups/${b}`)]
        .map((f) => `${f}:${readFileSync(join(dir, f)).toString('base64')}`)
        .join('\n');
    const before = files();
    // A fresh capture of the same state: new arrays, the same node byte arrays.
    image = { ...image, nodes: image.nodes.map((n) => ({ ...n })) };
    const again = await writer.save('user_disconnect:probe-1');
    assert.ok(again.ok && again.unchanged === true);
    assert.equal(files(), before);
    assert.deepEqual(log.messages('debug'), [
      'Session unchanged since the last save: nothing written (reason: user_disconnect:probe-1)',
    ]);
    const manual = await writer.save('manual');
    assert.ok(manual.ok && manual.unchanged === true);
    assert.equal(
      log.messages('info').at(-1),
      'Session unchanged since the last save: nothing written (reason: manual)',
    );
    // Any change is written: a node's data replaced, an owner, a user record.
    const n0 = image.nodes[0];
    for (const change of [
      () => (image = { ...image, nodes: [{ ...n0, dataBytes: Buffer.from(n0.dataBytes) }, ...image.nodes.slice(1)] }),
      () => (image = { ...image, nodes: [{ ...image.nodes[0], owner: 'bob' }, ...image.nodes.slice(1)] }),
      () => (image = makeImage({ nodes: 3, users: ['alice'] })),
    ]) {
      change();
      const out = await writer.save('auto-save');
      assert.ok(out.ok && out.unchanged !== true);
    }
    assert.equal(readdirSync(join(dir, 'backups')).length, 4);
  });

  test('with savedImage (the session as loaded) a first save without changes writes nothing', async () => {
    const { writer } = make({ savedImage: image, capture: () => image });
    const out = await writer.save('shutdown');
    assert.ok(out.ok && out.unchanged === true);
    assert.equal(existsSync(join(dir, 'session_snapshot.pkl')), false);
  });

  test('the snapshot and its backup, renamed .db, open as the add-on loads a session file', async () => {
    const { writer } = make();
    const out = await writer.save('shutdown');
    assert.ok(out.ok && out.backup !== null);
    const db = join(dir, 'export.db');
    copyFileSync(join(dir, out.backup), db);
    for (const file of [join(dir, 'session_snapshot.pkl'), db]) {
      const res = spawnSync('python3', [PYREF_PATH, '--session-db', file], { encoding: 'utf8' });
      const v = JSON.parse(res.stdout) as Record<string, unknown>;
      assert.equal(v.ok, true, String(v.error));
      assert.equal(v.nodes_are_chunk_lists, true);
      assert.equal(v.nodes_loaded, 3);
    }
  });

  test('saves coalesce: one in flight, one queued, and a third request joins the queued one with its reason', async () => {
    const { writer, log } = make();
    const a = writer.save('auto-save');
    assert.equal(captures, 1, 'the first save captured synchronously');
    const b = writer.save('user_disconnect:alice');
    const c = writer.save('user_disconnect:bob');
    assert.equal(b, c);
    assert.equal(writer.queuedReason, 'user_disconnect:bob');
    const [ra, rb] = await Promise.all([a, b]);
    await writer.idle();
    assert.equal(captures, 2);
    assert.deepEqual([ra.reason, rb.reason], ['auto-save', 'user_disconnect:bob']);
    assert.deepEqual(log.messages('info'), [logSessionSaved('auto-save'), logSessionSaved('user_disconnect:bob')]);
    assert.equal(readdirSync(join(dir, 'backups')).length, 2);
    const meta = JSON.parse(readFileSync(join(dir, 'session_metadata.json'), 'utf8')) as { reason: string };
    assert.equal(meta.reason, 'user_disconnect:bob');
    assert.equal(writer.saving, false);
  });

  test('the queued save captures the state as of its own start', async () => {
    const { writer } = make();
    const first = writer.save('auto-save');
    const second = writer.save('manual');
    image = makeImage({ nodes: 5 });
    await first;
    const out = await second;
    assert.ok(out.ok);
    assert.equal(out.nodeCount, 5);
    assert.equal((await readSnapshotFile(join(dir, 'session_snapshot.pkl'))).image.nodes.length, 5);
  });

  for (const [errno, op] of [
    ['ENOSPC', 'handle.write'],
    ['EACCES', 'open'],
  ] as const) {
    test(`${errno} logs "Failed to save session", keeps the previous snapshot, and the next save works`, async () => {
      const fsys = faultyFs([]);
      const { writer, log } = make({ fs: fsys });
      const ok = await writer.save('auto-save');
      assert.ok(ok.ok);
      const before = readFileSync(join(dir, 'session_snapshot.pkl'));
      fsys.faults.push({ op, errno, when: (p) => p.includes('session_snapshot.pkl') });
      image = makeImage({ nodes: 4 });
      const bad = await writer.save('user_disconnect:alice');
      assert.equal(bad.ok, false);
      assert.ok(!bad.ok);
      assert.deepEqual([bad.error.code, bad.error.errno], ['STORE_WRITE_FAILED', errno]);
      assert.ok(readFileSync(join(dir, 'session_snapshot.pkl')).equals(before));
      assert.deepEqual(
        readdirSync(dir).filter((n) => n.endsWith('.tmp')),
        [],
      );
      const errors = log.messages('error');
      assert.equal(errors.length, 1);
      assert.equal(errors[0], logSaveFailed(bad.error.message));
      assert.match(errors[0], new RegExp(`^Failed to save session: .*${errno}`));
      assert.equal(readdirSync(join(dir, 'backups')).length, 1, 'no backup of a failed save');
      fsys.faults.length = 0;
      const again = await writer.save('auto-save');
      assert.ok(again.ok);
      assert.equal((await readSnapshotFile(join(dir, 'session_snapshot.pkl'))).image.nodes.length, 4);
    });
  }

  test('a failed backup is logged, and the save still counts', async () => {
    const fsys = faultyFs([{ op: 'copyFile', errno: 'ENOSPC' }]);
    const { writer, log } = make({ fs: fsys });
    const out = await writer.save('auto-save');
    assert.ok(out.ok);
    assert.equal(out.backup, null);
    assert.match(log.messages('warn')[0], /^Failed to save backup: .*ENOSPC/);
    assert.deepEqual(log.messages('info'), [logSessionSaved('auto-save')]);
    const meta = JSON.parse(readFileSync(join(dir, 'session_metadata.json'), 'utf8')) as { backup_file: unknown };
    assert.equal(meta.backup_file, null);
  });

  test('backups rotate to MAX_BACKUPS', async () => {
    const { writer } = make({ maxBackups: 2 });
    const names: (string | null)[] = [];
    for (let i = 0; i < 4; i++) {
      const out = await writer.save(`s${i}`);
      assert.ok(out.ok);
      names.push(out.backup);
    }
    assert.deepEqual(
      readdirSync(join(dir, 'backups')).sort(),
      names.slice(2).map((n) => (n ?? '').replace('backups/', '')),
    );
  });

  test('an empty session is not saved over a non-empty snapshot unless explicitly allowed', async () => {
    const { writer, log } = make({ lastKnownNodeCount: 3 });
    image = makeImage({ nodes: 0 });
    const out = await writer.save('auto-save');
    assert.ok(!out.ok);
    assert.equal(out.error.code, 'STORE_EMPTY_OVERWRITE');
    assert.match(log.messages('error')[0], /^Failed to save session: refusing to replace a snapshot of 3 node/);
    assert.equal(existsSync(join(dir, 'session_snapshot.pkl')), false);
    assert.ok((await writer.save('manual', { allowEmpty: true })).ok);
  });

  test('the journal rotates at capture, and the segment before a durable snapshot is deleted', async () => {
    const jdir = join(dir, 'journal');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(jdir, { recursive: true });
    const journal = JournalWriter.open({ dir: jdir, follows: { kind: 'empty' }, fsync: 'off' });
    journals.push(journal);
    const first = journal.position.segmentId;
    journal.append(Buffer.from('init'));
    const { writer } = make({ journal });
    const pending = writer.save('auto-save');
    const captured = journal.position.segmentId;
    assert.notEqual(captured, first, 'rotated in the same step as the capture');
    journal.append(Buffer.from('after capture'));
    const out = await pending;
    assert.ok(out.ok);
    assert.equal(out.snapshotId, captured);
    assert.deepEqual(readdirSync(jdir), [`${captured}.jnl`]);
    const meta = JSON.parse(readFileSync(join(dir, 'session_metadata.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(meta.journal_segment, `journal/${captured}.jnl`);
  });

  test('when the snapshot fails, every journal segment since the last durable one is kept', async () => {
    const jdir = join(dir, 'journal');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(jdir, { recursive: true });
    const journal = JournalWriter.open({ dir: jdir, follows: { kind: 'empty' }, fsync: 'off' });
    journals.push(journal);
    const first = journal.position.segmentId;
    const fsys = faultyFs([{ op: 'handle.write', errno: 'ENOSPC', when: (p) => p.includes('session_snapshot.pkl') }]);
    const { writer } = make({ journal, fs: fsys, log: collectingLogger() });
    const out = await writer.save('auto-save');
    assert.ok(!out.ok);
    assert.deepEqual(readdirSync(jdir).sort(), [`${first}.jnl`, `${journal.position.segmentId}.jnl`].sort());
  });

  test('a journal rotation failure fails the save before anything is written', async () => {
    const jdir = join(dir, 'journal');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(jdir, { recursive: true });
    const jfs = faultyFs([]);
    const journal = JournalWriter.open({ dir: jdir, follows: { kind: 'empty' }, fsync: 'off', fs: jfs });
    journals.push(journal);
    jfs.faults.push({ op: 'writevSync', errno: 'ENOSPC', times: 1 });
    const { writer, log } = make({ journal });
    const out = await writer.save('auto-save');
    assert.ok(!out.ok);
    assert.match(log.messages('error')[0], /^Failed to save session: /);
    assert.equal(existsSync(join(dir, 'session_snapshot.pkl')), false);
  });
});
