/**
 * `npm test` on a machine without a requirement: one clear message naming it and the Debian
 * package that provides it, exit 1, and no test run.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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

test('where a tmpfs cannot be mounted the test command says what the full-disk tests need, and runs nothing', () => {
  const bin = mkdtempSync(join(tmpdir(), 'mus-path-'));
  try {
    // A PATH with python3 only: no mount command, as good as no permission to mount.
    const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
    symlinkSync(python.stdout.trim(), join(bin, 'python3'));
    const run = spawnSync(process.execPath, ['scripts/run-tests.mjs', 'cli-full-disk'], {
      cwd: ROOT,
      env: { PATH: bin },
      encoding: 'utf8',
    });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /lacks:\n {2}- permission to mount a tmpfs .*--cap-add SYS_ADMIN/);
    assert.doesNotMatch(run.stderr, /apt-get/, 'no package provides it');
    assert.doesNotMatch(run.stdout + run.stderr, /# tests/, 'no test ran');
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

test('as root with apt-get, the test command installs what is missing, then runs the tests', (t) => {
  if (process.getuid?.() !== 0) {
    t.diagnostic('not root: the install path is not taken (the test above covers that case)');
    return;
  }
  const bin = mkdtempSync(join(tmpdir(), 'mus-path-'));
  try {
    const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
    symlinkSync(python.stdout.trim(), join(bin, 'python3'));
    // A stand-in apt-get: records its calls, and "installs" systemd by putting a systemd-analyze
    // that runs the real one on PATH.
    const real = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(
      join(bin, 'apt-get'),
      `#!/bin/sh\necho "$@" >> "${join(bin, 'calls')}"\n` +
        `[ "$1" = install ] && printf '#!/bin/sh\\nexec ${real} "$@"\\n' > "${join(bin, 'systemd-analyze')}" && /bin/chmod +x "${join(bin, 'systemd-analyze')}"\nexit 0\n`,
    );
    chmodSync(join(bin, 'apt-get'), 0o755);
    const run = spawnSync(process.execPath, ['scripts/run-tests.mjs', 'systemd-unit'], {
      cwd: ROOT,
      env: { PATH: bin },
      encoding: 'utf8',
    });
    assert.match(run.stderr, /Installing what the tests need: apt-get install -y systemd$/m);
    assert.deepEqual(readFileSync(join(bin, 'calls'), 'utf8').trim().split('\n'), [
      '--version',
      'update -qq',
      'install -y -qq systemd',
    ]);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /ℹ pass [1-9]/);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});
