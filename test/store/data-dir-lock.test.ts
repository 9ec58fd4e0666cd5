import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';

import { acquireDataDirLock, readDataDirLock } from '../../src/store/data-dir-lock.js';
import { collectingLogger, makeTempDir } from './helpers.js';

describe('data directory lock', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = makeTempDir('lock-')));
  afterEach(() => cleanup());

  const holder = (pid: number, host = 'here'): string =>
    JSON.stringify({ pid, hostname: host, purpose: 'server', started_at: '2025-01-12T14:30:25', token: 'other' });

  test('the lock file names the holder and is removed on release', async () => {
    const lock = await acquireDataDirLock(dir, { purpose: 'server', pid: 4242, hostname: 'here', refreshMs: 0 });
    const info = JSON.parse(readFileSync(join(dir, 'server.lock'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual([info.pid, info.hostname, info.purpose], [4242, 'here', 'server']);
    assert.equal((await readDataDirLock(dir))?.info?.pid, 4242);
    await lock.release();
    assert.equal(existsSync(join(dir, 'server.lock')), false);
    assert.equal(await readDataDirLock(dir), null);
  });

  test('a second taker is refused with STORE_LOCKED naming the live holder', async () => {
    const lock = await acquireDataDirLock(dir, { purpose: 'server', pid: 100, hostname: 'here', refreshMs: 0 });
    await assert.rejects(
      acquireDataDirLock(dir, { purpose: 'verify', pid: 200, hostname: 'here', isAlive: () => true, refreshMs: 0 }),
      (e: unknown) => {
        assert.equal((e as { code?: string }).code, 'STORE_LOCKED');
        assert.match((e as Error).message, /in use by server \(pid 100 on here/);
        return true;
      },
    );
    await lock.release();
  });

  test('a lock left by a dead process on this host is taken over with a warning', async () => {
    writeFileSync(join(dir, 'server.lock'), holder(999_999));
    const log = collectingLogger();
    const lock = await acquireDataDirLock(dir, {
      purpose: 'server',
      pid: 5,
      hostname: 'here',
      isAlive: () => false,
      log,
      refreshMs: 0,
    });
    assert.equal(lock.info.pid, 5);
    assert.match(log.messages('warn')[0], /Removing stale lock .*process 999999 is not running/);
    await lock.release();
  });

  test('a lock naming our own pid (a container restarted as PID 1) is stale', async () => {
    writeFileSync(join(dir, 'server.lock'), holder(1));
    const lock = await acquireDataDirLock(dir, {
      purpose: 'server',
      pid: 1,
      hostname: 'here',
      isAlive: () => true,
      refreshMs: 0,
    });
    assert.equal(lock.info.pid, 1);
    await lock.release();
  });

  test("another host's lock is respected while fresh and taken over once it is older than staleMs", async () => {
    const path = join(dir, 'server.lock');
    writeFileSync(path, holder(7, 'elsewhere'));
    const now = Date.now();
    await assert.rejects(
      acquireDataDirLock(dir, { purpose: 'server', hostname: 'here', now: () => now, staleMs: 30_000, refreshMs: 0 }),
      { code: 'STORE_LOCKED' },
    );
    utimesSync(path, (now - 60_000) / 1000, (now - 60_000) / 1000);
    const lock = await acquireDataDirLock(dir, {
      purpose: 'server',
      hostname: 'here',
      now: () => now,
      staleMs: 30_000,
      refreshMs: 0,
    });
    await lock.release();
  });

  test('release leaves a lock that is no longer ours alone', async () => {
    const lock = await acquireDataDirLock(dir, { purpose: 'server', pid: 3, hostname: 'here', refreshMs: 0 });
    writeFileSync(join(dir, 'server.lock'), holder(8));
    await lock.release();
    assert.equal(existsSync(join(dir, 'server.lock')), true);
  });
  const claimOf = (lockBytes: string): string =>
    join(dir, `server.lock.break-${createHash('sha256').update(lockBytes).digest('hex').slice(0, 16)}`);

  test('a stale lock whose takeover another live process has claimed is not deleted here', async () => {
    writeFileSync(join(dir, 'server.lock'), holder(999_999));
    writeFileSync(claimOf(holder(999_999)), 'claim');
    const opts = { purpose: 'server', pid: 5, hostname: 'here', isAlive: () => false, refreshMs: 0 };
    await assert.rejects(acquireDataDirLock(dir, opts), (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'STORE_LOCKED');
      return true;
    });
    assert.equal(readFileSync(join(dir, 'server.lock'), 'utf8'), holder(999_999));
  });

  test('a takeover claim abandoned by a process that died mid-takeover is superseded, not deleted', async () => {
    writeFileSync(join(dir, 'server.lock'), holder(999_999));
    const claim = claimOf(holder(999_999));
    writeFileSync(claim, 'claim');
    utimesSync(claim, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const lock = await acquireDataDirLock(dir, {
      purpose: 'server',
      pid: 5,
      hostname: 'here',
      isAlive: () => false,
      refreshMs: 0,
      breakAbandonMs: 10_000,
    });
    assert.equal(lock.info.pid, 5);
    assert.equal(existsSync(claim), true);
    assert.equal(existsSync(`${claim}-1`), false, 'the next generation claim is dropped once done');
    await lock.release();
  });
});
