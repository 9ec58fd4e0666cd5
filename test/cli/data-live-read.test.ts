/**
 * `backups` and `verify` only read, so they run beside a live server (which holds server.lock) and
 * on a read-only mount, through the real CLI; the tools that write still refuse a held directory.
 * The read-only directory is a real read-only bind mount in a private mount namespace when this
 * machine allows it (`unshare -m`, as root); otherwise Node's permission model denies every write
 * of the tool's process (a simulation: the error is ERR_ACCESS_DENIED, not EROFS).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';

import {
  inspectDataDir,
  inspectDataDirStable,
  MAX_INSPECT_ATTEMPTS,
  type InspectOptions,
} from '../../src/cli/data-inspect.js';
import { fixturePath } from '../helpers/fixtures.js';
import { closeAll, startCli } from '../integration/cli-server.js';
import { buildStandardDir, MAIN, makeTempDir, runCli, treeOf, type CliRun } from './data-helpers.js';

const tmp = makeTempDir('cli-live-read-');
after(async () => {
  await closeAll();
  tmp.cleanup();
});

const sample = (): string =>
  join(
    fixturePath('captures/samples'),
    readdirSync(fixturePath('captures/samples')).find((f) => f.endsWith('.db')) as string,
  );

/** Whether `unshare -m` + a read-only bind mount work here (root with CAP_SYS_ADMIN). */
function canBindReadOnly(dir: string): boolean {
  const r = spawnSync('unshare', ['-m', 'sh', '-c', 'mount --bind -o ro "$1" "$1" && ! touch "$1/.probe"', 'sh', dir], {
    stdio: 'ignore',
  });
  return r.status === 0;
}

/** The CLI with `dir` read-only for it, by the best means available (see the file comment). */
function runReadOnly(dir: string, args: readonly string[], bind: boolean): CliRun {
  const env = { PATH: process.env.PATH ?? '' };
  const res = bind
    ? spawnSync(
        'unshare',
        [
          '-m',
          'sh',
          '-c',
          'mount --bind -o ro "$1" "$1" && shift && exec "$@"',
          'sh',
          dir,
          process.execPath,
          MAIN,
          ...args,
        ],
        { cwd: dirname(MAIN), env, encoding: 'utf8' },
      )
    : spawnSync(process.execPath, ['--experimental-permission', '--allow-fs-read=*', '--no-warnings', MAIN, ...args], {
        cwd: dirname(MAIN),
        env,
        encoding: 'utf8',
      });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe('read-only data tools', () => {
  test('backups and verify read a directory a live server holds; restore and import still refuse', async () => {
    const dir = join(tmp.dir, 'live');
    await buildStandardDir(dir);
    const server = await startCli(dir);
    const lock = readFileSync(join(dir, 'server.lock'), 'utf8');
    assert.match(lock, /"purpose":\s*"server"/);

    const list = runCli(['backups', '--json', '--data-dir', dir]);
    assert.equal(list.status, 0, list.stderr);
    assert.match(
      list.stderr,
      new RegExp(`in use by server \\(pid ${server.child.pid} on .*reading it without the lock`),
    );
    const rows = (JSON.parse(list.stdout) as { files: { file: string; verified: boolean; loads: boolean }[] }).files;
    assert.equal(rows[0].file, 'session_snapshot.pkl');
    assert.ok(rows.length >= 3, list.stdout);
    assert.ok(
      rows.every((r) => r.verified),
      list.stdout,
    );
    assert.equal(rows.filter((r) => r.loads).length, 1);

    const check = runCli(['verify', '--data-dir', dir]);
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /^INFO {2}a server holds this directory/m);
    assert.match(check.stdout, /LOADS at the next start/);
    assert.match(check.stdout, /^Result: OK$/m);

    for (const args of [
      ['restore', readdirSync(join(dir, 'backups')).sort()[0]],
      ['import', sample(), '--force'],
    ]) {
      const run = runCli([...args, '--data-dir', dir]);
      assert.equal(run.status, 3, `${args[0]}: ${run.stdout}${run.stderr}`);
      assert.match(run.stderr, new RegExp(`in use by server \\(pid ${server.child.pid} on `), args[0]);
    }
    // The server's lock is untouched by the readers: still its own file, still its token.
    assert.equal(readFileSync(join(dir, 'server.lock'), 'utf8'), lock);
    assert.equal(await server.stop(), 0);
  });

  test('backups and verify work on a read-only directory, and change nothing', async () => {
    const dir = join(tmp.dir, 'ro');
    await buildStandardDir(dir);
    const before = treeOf(dir);
    const bind = canBindReadOnly(dir);
    const how = bind ? 'read-only bind mount' : 'writes denied by the Node permission model';

    const list = runReadOnly(dir, ['backups', '--data-dir', dir], bind);
    assert.equal(list.status, 0, `${how}: ${list.stdout}${list.stderr}`);
    assert.match(list.stdout, /session_snapshot\.pkl \*/, how);
    const check = runReadOnly(dir, ['verify', '--data-dir', dir], bind);
    assert.equal(check.status, 0, `${how}: ${check.stdout}${check.stderr}`);
    assert.match(check.stdout, /^Result: OK$/m, how);
    // A tool that writes fails there (it cannot even take the lock), naming the directory.
    const restore = runReadOnly(dir, ['restore', readdirSync(join(dir, 'backups')).sort()[0], '--data-dir', dir], bind);
    assert.notEqual(restore.status, 0, `${how}: ${restore.stdout}${restore.stderr}`);
    assert.deepEqual(treeOf(dir), before);
  });
});

describe('inspectDataDirStable', () => {
  const options = (): InspectOptions => ({
    checkAll: true,
    check: () => null,
    stderr: { write: () => true } as unknown as NodeJS.WritableStream,
  });

  test('reads again when a save changes the directory during the read', async () => {
    const dir = join(tmp.dir, 'saved-during');
    await buildStandardDir(dir);
    let calls = 0;
    const r = await inspectDataDirStable(dir, options(), async (d, o) => {
      const plan = await inspectDataDir(d, o);
      // The first read is overtaken by a save: a new backup appears after it listed backups/.
      if (calls++ === 0) writeFileSync(join(dir, 'backups', 'snapshot_20250112_150000.pkl'), 'not yet complete');
      return plan;
    });
    assert.equal(r.attempts, 2);
    assert.equal(r.stable, true);
    assert.ok(r.plan.files.some((f) => f.file === 'backups/snapshot_20250112_150000.pkl'));
  });

  test('gives up as unstable when every read is overtaken by a save', async () => {
    const dir = join(tmp.dir, 'always-saving');
    await buildStandardDir(dir);
    let n = 0;
    const r = await inspectDataDirStable(dir, options(), async (d, o) => {
      const plan = await inspectDataDir(d, o);
      writeFileSync(join(dir, 'session_metadata.json'), JSON.stringify({ n: 'x'.repeat(++n) }));
      return plan;
    });
    assert.equal(r.attempts, MAX_INSPECT_ATTEMPTS);
    assert.equal(r.stable, false);
  });
});
