/**
 * The interactive shell runs when stdin is a terminal: the compiled CLI is started on a
 * pseudo-terminal (CPython's `pty`, which the test suite already depends on), answers `users`,
 * `help` and `save` (a snapshot lands in its temp DATA_DIR), and `exit` stops it cleanly with exit code 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';

import { pickBasePort } from '../helpers/ports.js';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

/** Drives the CLI on a pty: every wait is bounded; prints the transcript and then `EXIT <code>`. */
const DRIVER = `
import os, pty, select, sys, time
node, main, port, data = sys.argv[1:5]
pid, fd = pty.fork()
if pid == 0:
    os.execv(node, [node, main, '-p', port, '--host', '127.0.0.1', '-apwd', 'shell-test-pw', '--data-dir', data])
out = b''
def until(token, timeout=10.0):
    global out
    end = time.time() + timeout
    while token not in out and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                out += os.read(fd, 4096)
            except OSError:
                break
    return token in out
until(b'Listening on')
os.write(fd, b'users\\n'); until(b'no users connected')
os.write(fd, b'help\\n'); until(b'kick NAME')
os.write(fd, b'save\\n'); until(b'Session saved to disk (reason: manual)')
os.write(fd, b'exit\\n'); until(b'Server stopped.')
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors='replace'))
print('EXIT', os.waitstatus_to_exitcode(status))
`;

const dataDir = mkdtempSync(join(tmpdir(), 'mus-shell-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

test('on a terminal the shell answers users, help and save, and exit stops the server with code 0', async () => {
  const port = await pickBasePort();
  const child = spawn('python3', ['-c', DRIVER, process.execPath, MAIN, String(port), dataDir], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pty driver did not finish:\n${out}`));
    }, 40_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolvePromise(c);
    });
  });
  assert.equal(code, 0, out);
  assert.match(out, new RegExp(`Listening on ${port}\\.`));
  assert.match(out, /no users connected/);
  assert.match(out, /kick NAME {4}disconnect a user/);
  assert.match(out, /saving the session/);
  assert.match(out, /Session saved to disk \(reason: manual\)/);
  assert.ok(existsSync(join(dataDir, 'session_snapshot.pkl')), 'save wrote the snapshot');
  assert.match(out, /Shutting down \(exit\)/);
  assert.match(out, /EXIT 0\s*$/);
});
