/** scripts/run-bench.mjs: `--list` names every benchmark and runs none; mistakes exit non-zero. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function runBench(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['scripts/run-bench.mjs', ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const benches = readdirSync(join(ROOT, 'bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .sort();

test('--list prints each benchmark with what it measures, and runs none', () => {
  const r = runBench('--list');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const lines = r.stdout.trimEnd().split('\n');
  assert.deepEqual(
    lines.map((l) => l.split(/\s+/)[0]),
    benches,
  );
  for (const l of lines) assert.match(l, /^\S+\s{2,}\S.{10,}/, `no description: ${l}`);
});

test('--list with a name lists only the matching benchmarks', () => {
  const r = runBench('--list', 'pickle');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s+/)[0]),
    ['pickle'],
  );
});

test('an unknown option or a name matching nothing fails instead of running nothing', () => {
  const typo = runBench('--lst');
  assert.equal(typo.status, 2);
  assert.match(typo.stderr, /unknown option --lst/);
  const none = runBench('no-such-bench');
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no benchmark matches no-such-bench; there are: delta, /);
});
