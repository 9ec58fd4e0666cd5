/**
 * `npm test` on a machine without a requirement: one clear message naming it and the Debian
 * package that provides it, exit 1, and no test run.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('without systemd-analyze the test command names it and how to install it, and runs nothing', () => {
  const bin = mkdtempSync(join(tmpdir(), 'mus-path-'));
  try {
    // A PATH with python3 only: systemd-analyze cannot be found.
    const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
    symlinkSync(python.stdout.trim(), join(bin, 'python3'));
    const run = spawnSync(process.execPath, ['scripts/run-tests.mjs', 'systemd-unit'], {
      cwd: ROOT,
      env: { PATH: bin },
      encoding: 'utf8',
    });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /lacks:\n {2}- systemd-analyze/);
    assert.match(run.stderr, /apt-get install -y systemd$/m);
    assert.doesNotMatch(run.stdout + run.stderr, /# tests/, 'no test ran');
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});
