/**
 * The compiled CLI under the process events a deployment brings: a log reader that goes away
 * (`| tee` stopped with Ctrl-C, a log collector restarted) must not kill the server before its final
 * save, and SIGHUP (logrotate, a closed terminal) reopens LOG_FILE while the server keeps serving.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';

import { requestServerInfo } from '../../src/client/index.js';
import { LOCK_FILE, METADATA_FILE } from '../../src/store/index.js';
import { closeAll, initAs, startCli, tempDataDir } from './cli-server.js';
import { nodeBytes, uuidOf } from './harness.js';

afterEach(closeAll);

const savedReason = (dataDir: string): unknown =>
  (JSON.parse(readFileSync(join(dataDir, METADATA_FILE), 'utf8')) as { reason?: unknown }).reason;

describe('a log reader that goes away', () => {
  test('closed stdout and stderr pipes: the server keeps serving, then saves and releases the lock', async () => {
    const dataDir = tempDataDir();
    const server = await startCli(dataDir);
    await initAs(server, [{ uuid: uuidOf(1), dataBytes: nodeBytes(uuidOf(1), 'Cube') }]);
    await server.waitFor('Session initialised by alice');
    // The reading ends close, as when `tee` dies: every later log line meets EPIPE.
    server.child.stdout?.destroy();
    server.child.stderr?.destroy();
    const bob = server.client('bob');
    assert.equal(await bob.login(), 'RUNNING', 'serves while its log lines hit a closed pipe');
    await bob.join();
    await bob.close('done');
    const info = await requestServerInfo({ host: '127.0.0.1', port: server.port, timeoutMs: 2000 });
    assert.equal(info.private, false, 'still answers after many EPIPEs');
    assert.equal(server.child.exitCode, null);

    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, 'exit 0, not killed by EPIPE');
    assert.equal(savedReason(dataDir), 'shutdown', 'the final save happened');
    assert.equal(existsSync(join(dataDir, LOCK_FILE)), false, 'server.lock released');
  });
});

describe('SIGHUP', () => {
  test('reopens LOG_FILE after logrotate moved it, and the server keeps serving', async () => {
    const dataDir = tempDataDir();
    const logFile = join(dataDir, 'server.log');
    const server = await startCli(dataDir, ['--log-file', logFile]);
    await initAs(server, [{ uuid: uuidOf(1), dataBytes: nodeBytes(uuidOf(1)) }]);
    await server.waitFor('Session initialised by alice');
    renameSync(logFile, `${logFile}.1`);

    const mark = server.mark();
    server.child.kill('SIGHUP');
    await server.waitFor(`SIGHUP: log file ${logFile} reopened.`, 10_000, mark);
    const bob = server.client('bob');
    assert.equal(await bob.login(), 'RUNNING');
    await server.waitFor('bob logged in.', 10_000, mark);
    assert.equal(await server.stop(), 0);

    const rotated = readFileSync(`${logFile}.1`, 'utf8');
    const fresh = readFileSync(logFile, 'utf8');
    assert.match(rotated, /Listening on \d+\./);
    assert.doesNotMatch(rotated, /bob logged in/, 'nothing more goes to the rotated file');
    assert.match(fresh, /SIGHUP: log file .* reopened\./);
    assert.match(fresh, /bob logged in\./);
    assert.match(fresh, /Session saved to disk \(reason: shutdown\)/);
    assert.match(fresh, /Server stopped\./);
  });

  test('without LOG_FILE it says so and keeps serving', async () => {
    const dataDir = tempDataDir();
    const server = await startCli(dataDir);
    server.child.kill('SIGHUP');
    await server.waitFor('SIGHUP: no log file to reopen');
    const info = await requestServerInfo({ host: '127.0.0.1', port: server.port, timeoutMs: 2000 });
    assert.equal(typeof info.version, 'string');
    assert.equal(await server.stop(), 0);
    assert.equal(existsSync(join(dataDir, LOCK_FILE)), false);
  });
});
