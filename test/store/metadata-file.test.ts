import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';

import { metadataOf, readMetadataFile, writeMetadataFile } from '../../src/store/metadata-file.js';
import { makeTempDir } from './helpers.js';

const T = new Date(2025, 0, 12, 14, 32, 25, 123).getTime();

describe('session_metadata.json', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = makeTempDir('metadata-')));
  afterEach(() => cleanup());

  const meta = metadataOf({
    savedAtMs: T,
    reason: 'user_disconnect:Alice',
    initialized: true,
    userCount: 3,
    nodeCount: 47,
    chatCount: 5,
    taskCount: 2,
    bytes: 12345,
    backupFile: 'backups/snapshot_20250112_143225.pkl',
    snapshotId: 'S1',
    formatVersion: 1,
    serverVersion: '0.1.0',
    journal: { segment: 'journal/S1.jnl', offset: 150 },
  });

  test("holds the seed's fields with the seed's formats, plus ours", async () => {
    await writeMetadataFile(dir, meta);
    const text = readFileSync(join(dir, 'session_metadata.json'), 'utf8');
    const v = JSON.parse(text) as Record<string, unknown>;
    assert.equal(v.timestamp, T / 1000);
    assert.equal(v.datetime, '2025-01-12T14:32:25');
    assert.equal(v.reason, 'user_disconnect:Alice');
    assert.equal(v.user_count, 3);
    assert.equal(v.node_count, 47);
    assert.equal(v.initialized, true);
    assert.deepEqual(Object.keys(v), [
      'timestamp',
      'datetime',
      'reason',
      'initialized',
      'user_count',
      'node_count',
      'chat_count',
      'task_count',
      'bytes',
      'snapshot_file',
      'backup_file',
      'snapshot_id',
      'format_version',
      'server_version',
      'journal_segment',
      'journal_offset',
    ]);
    assert.ok(text.endsWith('}\n'));
    assert.deepEqual(await readMetadataFile(dir), v);
  });

  test('a missing or unparseable file reads as null', async () => {
    assert.equal(await readMetadataFile(dir), null);
    writeFileSync(join(dir, 'session_metadata.json'), '{ truncated');
    assert.equal(await readMetadataFile(dir), null);
  });
});
