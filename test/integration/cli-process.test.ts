/**
 * The compiled CLI as an operator runs it: started with stdin on /dev/null (or closed), it logs
 * where it listens and just runs; `probe` checks it end to end; SIGTERM stops it with exit code 0.
 * The admin password from `.env` never shows up in the output.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';

import { runProbe } from '../../src/cli/index.js';
import { ReplicationClient } from '../../src/client/index.js';
import { pickBasePort } from '../helpers/ports.js';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const SECRET = 'dotenv-admin-secret-4711';

const cwd = mkdtempSync(join(tmpdir(), 'mus-cli-'));
writeFileSync(join(cwd, '.env'), `# test\nADMIN_PASSWORD=${SECRET}\nLOG_LEVEL=debug\n`);
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(cwd, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<number | null>;
}

/** Resolves once `output()` contains `text`; rejects at the deadline or when the process exits first. */
function waitForOutput(r: Omit<Running, 'port'>, text: string, ms = 10_000): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => done(new Error(`'${text}' not printed within ${ms} ms:\n${r.output()}`)), ms);
    const check = (): void => {
      if (r.output().includes(text)) done();
    };
    const done = (err?: Error): void => {
      clearTimeout(timer);
      r.child.stderr?.off('data', check);
      if (err === undefined) resolvePromise();
      else reject(err);
    };
    r.child.stderr?.on('data', check);
    void r.exited.then(() => done(new Error(`exited before printing '${text}':\n${r.output()}`)));
    check();
  });
}

async function startCli(stdin: 'ignore' | 'closed-pipe', env: Record<string, string> = {}): Promise<Running> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await pickBasePort();
    const child = spawn(process.execPath, [MAIN, '--port', String(port), '--host', '127.0.0.1'], {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: [stdin === 'ignore' ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    children.push(child);
    if (stdin === 'closed-pipe') child.stdin?.end();
    let text = '';
    child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const running = { child, port, output: () => text, exited };
    try {
      await waitForOutput(running, `Listening on ${port}.`);
      return running;
    } catch (err) {
      if (!text.includes('already in use')) throw err;
    }
  }
  throw new Error('no free port for the CLI');
}

async function stop(r: Running): Promise<number | null> {
  r.child.kill('SIGTERM');
  const deadline = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error('no exit after SIGTERM')), 10_000).unref(),
  );
  return Promise.race([r.exited, deadline]);
}

describe('the multiuser-server command', () => {
  test('with stdin on /dev/null it serves, passes a probe, and exits 0 on SIGTERM', async () => {
    // A zone with a half-hour offset: the time stamp carries the date and the offset, not just HH:MM:SS.
    const r = await startCli('ignore', { TZ: 'Asia/Kolkata' });
    assert.match(r.output(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+05:30 SERVER INFO {5}Listening on \d+\.$/m);
    const report: string[] = [];
    const code = await runProbe(
      { host: '127.0.0.1', port: r.port, serverPassword: '', timeoutMs: 5000, username: 'probe-test' },
      { write: (s: string) => report.push(s) } as unknown as NodeJS.WritableStream,
    );
    assert.equal(code, 0, report.join(''));
    assert.match(report.join(''), /result: OK/);
    await waitForOutput(r, 'probe-test logged in.');
    assert.equal(await stop(r), 0);
    assert.match(r.output(), /Shutting down \(SIGTERM\)/);
    assert.match(r.output(), /Server stopped\./);
    assert.ok(!r.output().includes(SECRET), 'the admin password is never printed');
    assert.ok(!r.output().includes('default one'), 'no default-password warning: .env set one');
  });

  test('with LOG_FORMAT=json every line is one JSON object: time, level, subsystem, msg, fields', async () => {
    const r = await startCli('ignore', { LOG_FORMAT: 'json' });
    const report: string[] = [];
    const code = await runProbe(
      { host: '127.0.0.1', port: r.port, serverPassword: '', timeoutMs: 5000, username: 'probe-json' },
      { write: (s: string) => report.push(s) } as unknown as NodeJS.WritableStream,
    );
    assert.equal(code, 0, report.join(''));
    await waitForOutput(r, 'probe-json logged in.');
    // The probe changed nothing; an artist's metadata (as the add-on sends after login) does, so the
    // shutdown writes a snapshot and its line, with fields, is checked below.
    const artist = new ReplicationClient({ host: '127.0.0.1', port: r.port, username: 'artist' });
    try {
      await artist.login();
      await artist.updateMetadata([['frame_current', 1n]]);
      await artist.waitForUsers((list) => list.some((u) => u.name === 'artist' && u.metadata.size > 0));
      assert.equal(await stop(r), 0);
    } finally {
      await artist.close();
    }
    const lines = r
      .output()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const l of lines) {
      assert.deepEqual(Object.keys(l), ['time', 'level', 'subsystem', 'msg', 'fields']);
      assert.equal(new Date(l.time as string).toISOString(), l.time);
    }
    const find = (msg: RegExp) => lines.find((l) => msg.test(l.msg as string));
    assert.equal(find(/^Listening on \d+\.$/)?.subsystem, 'server');
    assert.equal(find(/^probe-json logged in\.$/)?.subsystem, 'net');
    const saved = find(/^Session saved to disk \(reason: shutdown\)$/);
    assert.equal(saved?.subsystem, 'store');
    assert.equal(saved?.level, 'INFO');
    assert.equal((saved?.fields as Record<string, unknown>).reason, 'shutdown');
    assert.ok(!r.output().includes(SECRET), 'the admin password is never printed');
  });

  test('with stdin closed it keeps running until SIGTERM', async () => {
    const r = await startCli('closed-pipe');
    await waitForOutput(r, 'Command tcp://127.0.0.1:');
    assert.equal(r.child.exitCode, null);
    assert.equal(await stop(r), 0);
  });

  test('a bad flag value exits 2 with a message naming the flag', async () => {
    const child = spawn(process.execPath, [MAIN, '--port', 'abc'], { cwd, env: { PATH: process.env.PATH ?? '' } });
    children.push(child);
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 2);
    assert.match(err, /--port: the port must be an integer from 1 to 65533, got 'abc'/);
  });
});
