/**
 * The data tools refuse a data directory another live process holds: exit code 3,
 * a message naming the holder's pid, and nothing changed. The holder here is this test process:
 * alive, on this host, and not the tool's own pid (it is the tool's parent).
 */
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { fixturePath } from '../helpers/fixtures.js';
import { buildStandardDir, makeTempDir, runCli, treeOf } from './data-helpers.js';

const tmp = makeTempDir('cli-lock-');
after(tmp.cleanup);

describe('the data-dir lock', () => {
  test('every data tool refuses with exit code 3 while a live process holds the lock', async () => {
    const dir = join(tmp.dir, 'held');
    await buildStandardDir(dir);
    writeFileSync(
      join(dir, 'server.lock'),
      JSON.stringify({
        pid: process.pid,
        hostname: hostname(),
        purpose: 'server',
        started_at: '2025-01-12T14:30:25',
        token: 'held-by-the-test',
      }),
    );
    const before = treeOf(dir);
    const sample = join(
      fixturePath('captures/samples'),
      readdirSync(fixturePath('captures/samples')).find((f) => f.endsWith('.db')) as string,
    );
    const commands = [
      ['backups'],
      ['verify'],
      ['restore', readdirSync(join(dir, 'backups'))[0]],
      ['export', '--out', join(tmp.dir, 'out.db')],
      ['import', sample, '--force'],
    ];
    for (const args of commands) {
      const run = runCli([...args, '--data-dir', dir]);
      assert.equal(run.status, 3, `${args[0]}: ${run.stderr}`);
      assert.match(run.stderr, new RegExp(`in use by server \\(pid ${process.pid} on `), args[0]);
    }
    assert.deepEqual(treeOf(dir), before);
  });

  test('takes over a lock left by a process that is gone, and releases its own', async () => {
    const dir = join(tmp.dir, 'stale');
    await buildStandardDir(dir);
    // Pids wrap far below 2^22 on Linux by default; this one is not running.
    writeFileSync(
      join(dir, 'server.lock'),
      JSON.stringify({ pid: 4_194_000, hostname: hostname(), purpose: 'server', started_at: '?', token: 'gone' }),
    );
    const run = runCli(['verify', '--data-dir', dir]);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.equal(readdirSync(dir).includes('server.lock'), false);
  });
});
