/**
 * Real processes racing for the same stale data-directory lock: exactly one may win each time.
 * Several racers judge the stale lock at about the same moment; a takeover that deletes "the"
 * lock without checking which one it deletes lets a late racer remove a fresh lock and win too.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

import { makeTempDir } from './helpers.js';

const RACER = join(dirname(fileURLToPath(import.meta.url)), 'lock-racer.js');
const RACERS = 4;
const ROUNDS = 150;

interface Racer {
  child: ChildProcessWithoutNullStreams;
  next: () => Promise<string>;
}

function startRacer(): Racer {
  const child = spawn(process.execPath, [RACER], { stdio: ['pipe', 'pipe', 'pipe'] });
  const queue: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const w = waiting.shift();
    if (w !== undefined) w(line);
    else queue.push(line);
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<string>((_, reject) =>
    child.on('exit', (code) => reject(new Error(`racer exited (${code}): ${stderr}`))),
  );
  exited.catch(() => undefined);
  const next = (): Promise<string> => {
    const line = queue.shift();
    if (line !== undefined) return Promise.resolve(line);
    return Promise.race([new Promise<string>((resolve) => waiting.push(resolve)), exited]);
  };
  return { child, next };
}

let root: string;
let cleanup: () => void;
const racers: Racer[] = [];

before(async () => {
  ({ dir: root, cleanup } = makeTempDir('lock-race-'));
  for (let i = 0; i < RACERS; i++) racers.push(startRacer());
  for (const r of racers) assert.equal(await r.next(), 'ready');
});

after(() => {
  for (const r of racers) r.child.stdin.end();
  cleanup();
});

test(`${RACERS} processes taking one stale lock ${ROUNDS} times: exactly one wins each time`, async () => {
  // A pid that is certainly not running: a child that has already exited.
  const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
  assert.ok(deadPid !== undefined && deadPid > 0);
  const stale = JSON.stringify({
    pid: deadPid,
    hostname: hostname(),
    purpose: 'server',
    started_at: '2025-01-12T14:30:25',
    token: 'stale',
  });
  const doubleWins: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const dir = join(root, `r${round}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'server.lock'), stale);
    for (const r of racers) r.child.stdin.write(`${dir}\n`);
    const results = (await Promise.all(racers.map((r) => r.next()))).map(
      (line) => JSON.parse(line) as { dir: string; token?: string; code?: string },
    );
    const winners = results.filter((x) => x.token !== undefined);
    for (const x of results) {
      assert.equal(x.dir, dir);
      if (x.token === undefined) assert.equal(x.code, 'STORE_LOCKED', `round ${round}: ${JSON.stringify(x)}`);
    }
    if (winners.length !== 1) doubleWins.push(`round ${round}: ${winners.length} winners`);
    else {
      const onDisk = JSON.parse(readFileSync(join(dir, 'server.lock'), 'utf8')) as { token: string };
      assert.equal(onDisk.token, winners[0].token, `round ${round}: the lock file is not the winner's`);
    }
  }
  assert.deepEqual(doubleWins, []);
});
