/**
 * `multiuser-server health` as a container health check runs it: exit 0 only when the command port
 * gives a valid server-info reply within the deadline; it never logs in (no user appears, no log
 * line above DEBUG) and writes nothing. Also `--version` and `--help` for every subcommand.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, afterEach, describe, test } from 'node:test';

import { pickBasePort } from '../helpers/ports.js';
import { closeAll, startCli, tempDataDir } from './cli-server.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');

afterEach(closeAll);
const cwd = mkdtempSync(join(tmpdir(), 'mus-health-'));
after(() => rmSync(cwd, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(args: readonly string[], env: Record<string, string> = {}, ms = 10_000): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`multiuser-server ${args.join(' ')} still running after ${ms} ms`));
    }, ms);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

describe('multiuser-server health', () => {
  test('exits 0 against a running server without logging in, logging above DEBUG or writing', async () => {
    const dataDir = tempDataDir();
    const server = await startCli(dataDir);
    // The last start-up lines: the sockets, and the journal reserve, which is written in the
    // background after them (its line and file must not be taken for the check's). Everything
    // after the mark is about the check or the login below.
    await server.waitFor('Command tcp://127.0.0.1:');
    await server.waitFor('Journal reserve: ');
    const filesBefore = readdirSync(dataDir).sort();
    const mark = server.mark();
    const r = await run(['health', `127.0.0.1:${server.port}`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^healthy: 127\.0\.0\.1:\d+ answered server info in \d+ ms/);

    // The server has answered, so anything it would log about the check is logged by now;
    // a login that follows is a fence: its line comes after any line about the check.
    const carol = server.client('carol');
    assert.equal(await carol.login(), 'LOBBY');
    await server.waitFor('carol logged in.', 10_000, mark);
    const users = await carol.waitForUsers((list) => list.length > 0);
    assert.deepEqual(
      users.map((u) => u.name),
      ['carol'],
      'the check is not a user',
    );
    const logged = server.output().slice(mark).split('\n');
    assert.deepEqual(
      logged.filter((l) => l !== '' && !l.includes('carol')),
      [],
      'no line about the check at INFO',
    );
    assert.deepEqual(readdirSync(dataDir).sort(), filesBefore, 'nothing written');
  });

  test('takes PORT from the environment when no target is given', async () => {
    const server = await startCli(tempDataDir());
    const r = await run(['health'], { PORT: String(server.port) });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`127\\.0\\.0\\.1:${server.port}`));
  });

  test('takes PORT from .env in the working directory', async () => {
    const server = await startCli(tempDataDir());
    writeFileSync(join(cwd, '.env'), `PORT=${server.port}\n`);
    try {
      const r = await run(['health']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    } finally {
      rmSync(join(cwd, '.env'));
    }
  });

  test('exits 1 within the deadline when nothing listens', async () => {
    const port = await pickBasePort();
    const r = await run(['health', `127.0.0.1:${port}`, '--timeout', '500']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^unhealthy: .*within 500 ms/);
    assert.ok(r.ms < 5000, `took ${Math.round(r.ms)} ms`);
  });

  test('exits 1 when the port accepts connections but never answers (a hung server)', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    const port = await pickBasePort();
    await new Promise<void>((r) => silent.listen(port, '127.0.0.1', r));
    try {
      const r = await run(['health', `127.0.0.1:${port}`]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stdout, /within 2000 ms/, 'the default deadline is 2 s');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  test('bad arguments exit 2 with the usage', async () => {
    const r = await run(['health', 'host:notaport']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot read 'host:notaport' as HOST:PORT/);
    assert.match(r.stderr, /usage: multiuser-server health/);
  });
});

describe('--version and --help', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

  for (const flag of ['--version', '-V', 'version']) {
    test(`${flag} prints the package version and exits 0`, async () => {
      const r = await run([flag]);
      assert.equal(r.code, 0);
      assert.equal(r.stdout.split(' ')[1], pkg.version);
      assert.match(r.stdout, /^multiuser-server \S+ \(replication 0\.9\.10 protocol, Node v\d+/);
    });
  }

  const commands = ['serve', 'health', 'probe', 'check-fixtures', 'backups', 'verify', 'restore', 'export', 'import'];
  test('COMMAND --help and -h print that command’s usage and exit 0, for every command', async () => {
    for (const cmd of commands) {
      for (const flag of ['--help', '-h']) {
        const r = await run([cmd, flag]);
        assert.equal(r.code, 0, `${cmd} ${flag}: ${r.stderr}`);
        assert.ok(r.stdout.startsWith(`usage: multiuser-server ${cmd === 'serve' ? '[serve]' : cmd}`), r.stdout);
      }
    }
    const later = await run(['backups', '--data-dir', 'x', '--help']);
    assert.equal(later.code, 0, 'also after other flags');
    assert.ok(later.stdout.startsWith('usage: multiuser-server backups'));
  });

  test('a password that is literally -h is a password, not a request for help', async () => {
    const r = await run(['probe', '127.0.0.1:1', '--server-password', '-h', '--timeout', '200']);
    assert.equal(r.code, 1, 'the probe ran (and failed: nothing listens there)');
    assert.match(r.stdout, /probing 127\.0\.0\.1:1/);
  });

  test('help lists every command', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0);
    for (const cmd of commands.slice(1)) assert.match(r.stdout, new RegExp(`multiuser-server ${cmd}\\b`));
    assert.match(r.stdout, /--version/);
  });
});
