/**
 * `multiuser-server check-fixtures DIR` as a child process of the compiled CLI: it passes on the
 * repo's fixture data and fails (exit 1) on a directory holding a broken case.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import { fixturePath } from '../helpers/fixtures.js';

/** dist/src/cli/main.js: this file runs as dist/test/cli/check-fixtures.test.js. */
const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

function runCli(dir: string, env?: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, 'check-fixtures', dir], {
    encoding: 'utf8',
    env: env ?? process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** `pickle.dumps(1, protocol=4)`. */
const PICKLED_ONE = 'gARLAS4=';

describe('check-fixtures', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'check-fixtures-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('every fixture under test/fixtures/data passes, with one line per file and a total', () => {
    const res = runCli(fixturePath('.'));
    const lines = res.stdout.trim().split('\n');
    assert.equal(res.status, 0, res.stderr.slice(0, 4000));
    assert.match(lines.at(-1) ?? '', /^[1-9][0-9]* passed, 0 failed$/);
    for (const name of [
      'pickle/plain.jsonl.gz',
      'pickle/encode.jsonl.gz',
      'delta/targeted.jsonl.gz',
      'captures/01_main_session.jsonl',
    ]) {
      assert.ok(
        lines.some((l) => new RegExp(`^${name.replace(/\./g, '\\.')}: [1-9][0-9]* passed, 0 failed$`).test(l)),
        `no passing line for ${name}`,
      );
    }
  });

  test('a directory holding one broken case fails with exit status 1 and counts it', () => {
    const dir = join(tmp, 'broken');
    mkdirSync(join(dir, 'nested'), { recursive: true });
    const good = { id: 'good-1', pickle_b64: PICKLED_ONE, value: 1, strict_ok: true };
    const bad = { id: 'bad-1', pickle_b64: PICKLED_ONE, value: 2, strict_ok: true };
    writeFileSync(join(dir, 'nested', 'cases.jsonl.gz'), gzipSync(`${JSON.stringify(good)}\n${JSON.stringify(bad)}\n`));
    const res = runCli(dir);
    assert.equal(res.status, 1);
    assert.match(res.stdout, /^nested\/cases\.jsonl\.gz: 1 passed, 1 failed$/m);
    assert.match(res.stdout, /^1 passed, 1 failed$/m);
    assert.match(res.stderr, /bad-1/);
  });

  test('a record no checker recognises is a failure, not a silent pass', () => {
    const dir = join(tmp, 'unknown');
    mkdirSync(dir);
    writeFileSync(join(dir, 'odd.jsonl'), '{"id": "x", "something": 1}\n');
    const res = runCli(dir);
    assert.equal(res.status, 1);
    assert.match(res.stdout, /^0 passed, 1 failed$/m);
  });

  test('encode cases are checked by CPython and fail clearly when python3 is missing', () => {
    const dir = join(tmp, 'encode');
    mkdirSync(dir);
    const line = { id: 'enc-x', kind: 'encode', view: { a: [1, { $float: '2.0' }] }, python_pickle_b64: PICKLED_ONE };
    writeFileSync(join(dir, 'encode.jsonl'), `${JSON.stringify(line)}\n`);
    const ok = runCli(dir);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^1 passed, 0 failed$/m);

    const noPython = runCli(dir, { ...process.env, PATH: join(tmp, 'no-such-bin') });
    assert.equal(noPython.status, 1);
    assert.match(noPython.stderr, /python3 not found/);
  });
});
