/** DiskSpaceMonitor: one WARN line when free space falls below DISK_FREE_WARN, one INFO line when back. */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DiskSpaceMonitor } from '../../src/store/disk-space.js';
import { NODE_STORE_FS } from '../../src/store/fs-port.js';
import { collectingLogger } from './helpers.js';

test('logs once per state change and keeps the state queryable', async () => {
  let free = 10_000;
  const log = collectingLogger();
  const fs = { ...NODE_STORE_FS, statfs: async () => ({ freeBytes: free, totalBytes: 100_000 }) };
  const checked: number[] = [];
  const m = new DiskSpaceMonitor({
    dataDir: '/data',
    warnBelowBytes: 5000,
    fs,
    log,
    now: () => 42,
    onCheck: (s) => void checked.push(s.freeBytes ?? -1),
  });
  assert.equal(m.status.state, 'unknown');
  await m.check();
  assert.equal(m.status.state, 'ok');
  free = 4000;
  await m.check();
  await m.check();
  assert.deepEqual(m.status, {
    state: 'low',
    freeBytes: 4000,
    totalBytes: 100_000,
    warnBelowBytes: 5000,
    checkedAtMs: 42,
  });
  free = 6000;
  await m.check();
  assert.equal(m.status.state, 'ok');
  assert.equal(log.messages('warn').length, 1);
  assert.match(
    log.messages('warn')[0],
    /^LOW DISK SPACE in DATA_DIR \/data: 3\.9 KB free of 97\.7 KB, below DISK_FREE_WARN/,
  );
  assert.equal(log.messages('info').length, 1);
  assert.match(log.messages('info')[0], /^Disk space in DATA_DIR back above DISK_FREE_WARN/);
  assert.deepEqual(checked, [10_000, 4000, 4000, 6000]);
});
