/**
 * Strangers who leave must cost nothing: 20,000 connections that each ask for the server info or
 * fail to log in, get their reply (best effort) and close. The server runs as its own process
 * with the production node flags (those of `npm start`, read from package.json), so its RSS and
 * CPU are measured alone, from a cold start; the strangers run in another process (conn-flood.js).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { pickBasePort } from '../helpers/ports.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const PACKAGE_JSON = fileURLToPath(new URL('../../../package.json', import.meta.url));
const FLOOD_SCRIPT = fileURLToPath(new URL('./conn-flood.js', import.meta.url));
const MB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'mus-strangers-'));
const cleanup: (() => unknown)[] = [() => rmSync(dir, { recursive: true, force: true })];
after(() => {
  for (const c of cleanup.reverse()) c();
});

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]) * 1024;
}

/** utime + stime of a process, in clock ticks (1/100 s on Linux). */
function cpuTicksOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function flood(port: number, count: number): Promise<Record<string, number>> {
  const child = spawn(process.execPath, [FLOOD_SCRIPT, 'strangers', String(port), String(count), '64'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let result: Record<string, number> = {};
  createInterface({ input: child.stdout }).on('line', (l) => (result = JSON.parse(l) as Record<string, number>));
  const [code] = (await once(child, 'close')) as [number];
  assert.equal(code, 0);
  return result;
}

/** The environment and node flags of `npm start`: the memory behaviour under test depends on them. */
function productionLaunch(): { env: Record<string, string>; flags: string[] } {
  const pkg = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_]+=/.test(words[0])) {
    const [name, ...value] = words.shift()!.split('=');
    env[name] = value.join('=');
  }
  assert.equal(words[0], 'node');
  return { env, flags: words.slice(1).filter((w) => w.startsWith('--')) };
}

test('20,000 strangers asking once and leaving: 5 s later idle CPU < 1 % and RSS within 20 MB of the cold start', async () => {
  const port = await pickBasePort();
  const { env, flags } = productionLaunch();
  assert.ok(flags.includes('--expose-gc'), `npm start's node flags: ${flags.join(' ')}`);
  const server = spawn(
    process.execPath,
    [
      ...flags,
      MAIN,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '-apwd',
      'strangers-admin',
      '--data-dir',
      dir,
      '--save-interval',
      '0',
      '--max-connections',
      '100000',
      '--max-connections-per-address',
      '100000',
      '--max-new-connections-per-second',
      '1000000',
    ],
    { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  cleanup.push(() => server.kill('SIGKILL'));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      output += d.toString();
      if (output.includes('Listening on')) resolve();
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', onData);
    server.on('close', () => reject(new Error(`server exited:\n${output}`)));
  });
  const pid = server.pid as number;
  const rssBefore = rssOf(pid);

  const result = await flood(port, 20_000);
  assert.equal(result.strangers, 20_000);
  assert.ok(result.replies > 19_000, `replies: ${result.replies}`);

  // Within 5 s of the last stranger leaving, a 2 s window shows the server idle, and the memory
  // the strangers left has been given back (the server collects it once the burst is over).
  await new Promise((r) => setTimeout(r, 3000));
  const ticks = cpuTicksOf(pid);
  await new Promise((r) => setTimeout(r, 2000));
  const used = cpuTicksOf(pid) - ticks;
  assert.ok(used <= 2, `idle CPU: ${used} ticks of 10 ms in 2 s`);
  const growth = rssOf(pid) - rssBefore;
  assert.ok(growth < 20 * MB, `RSS grew ${(growth / MB).toFixed(1)} MB`);
  assert.match(output, /Login of "stranger\d+" from identity [0-9a-f]{32} refused|FAILED/);
  console.log(`# strangers: ${JSON.stringify(result)}, idle ticks ${used}, RSS growth ${(growth / MB).toFixed(1)} MB`);
});
