/**
 * `multiuser-server probe` (the built CLI) against the built server on a saved session: each probe
 * leaves the user list as soon as its connections have closed (DISCONNECT_GRACE, not the heartbeat
 * timeout), and the probes, the start and the clean stop leave the data directory as they found
 * it — every file's path, size, mtime and SHA-256 (the journal appends to its empty last segment
 * instead of opening a new one at each start). Changes appended to that reused segment are replayed
 * after a crash.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, test } from 'node:test';

import { MessageType } from '../../src/protocol/index.js';
import { logSessionReady, readJournalSegment } from '../../src/store/index.js';
import { closeAll, initAs, startCli, tempDataDir } from './cli-server.js';
import { nodeBytes, uuidOf } from './harness.js';

afterEach(closeAll);

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const GRACE_MS = 500;
/** Far beyond the test's deadlines: only the disconnect rule can remove a probe in time. */
const TIMEOUT_MS = 60_000;

/** Path (relative) → size, mtime and SHA-256 of every file under `dir`. */
function fingerprint(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else {
        const sha = createHash('sha256').update(readFileSync(p)).digest('hex');
        out.set(p.slice(dir.length + 1), `${s.size} bytes, mtime ${s.mtimeMs}, sha256 ${sha}`);
      }
    }
  };
  walk(dir);
  return out;
}

describe('probe against a running server', () => {
  test('each probe leaves the user list within the grace, and the data directory is untouched', async () => {
    const dataDir = tempDataDir();
    const args = ['--timeout', String(TIMEOUT_MS), '--disconnect-grace', String(GRACE_MS)];
    const first = await startCli(dataDir, args);
    const alice = await initAs(first, [{ uuid: uuidOf(1), dataBytes: nodeBytes(uuidOf(1)) }]);
    await alice.close();
    await first.waitFor('alice disconnected from the server [connection closed]', GRACE_MS + 3000);
    await first.waitFor('Session saved to disk (reason: user_disconnect:alice)');
    assert.equal(await first.stop(), 0);

    const before = fingerprint(dataDir);
    const server = await startCli(dataDir, args);
    const watcher = server.client('watcher');
    assert.equal(await watcher.login(), 'RUNNING');
    for (let i = 0; i < 3; i++) {
      const username = `probe-${i}`;
      const { stdout } = await promisify(execFile)(process.execPath, [
        MAIN,
        'probe',
        `127.0.0.1:${server.port}`,
        '--username',
        username,
      ]);
      assert.match(stdout, /result: OK/);
      // A list holding the probe, then the first one after it without: the probe is gone.
      let listed = false;
      await watcher.waitForUsers((list) => {
        const has = list.some((u) => u.name === username);
        listed ||= has;
        return listed && !has;
      }, GRACE_MS + 3000);
      await server.waitFor(`${username} disconnected from the server [connection closed]`);
    }
    await watcher.close();
    assert.equal(await server.stop(), 0);
    assert.match(server.output(), /Session saved to disk \(reason: shutdown\): unchanged since the last save/);

    assert.deepEqual(fingerprint(dataDir), before);

    // The reused segment takes records as a new one would: a change, a crash, and it is replayed.
    const third = await startCli(dataDir, args);
    const bob = third.client('bob');
    const carol = third.client('carol');
    for (const c of [bob, carol]) {
      assert.equal(await c.login(), 'RUNNING');
      await c.join();
    }
    await bob.pushNode({ uuid: uuidOf(2), dataBytes: nodeBytes(uuidOf(2)) });
    // Relayed only once journaled (journal before relay).
    await carol.waitForData((m) => m.type === MessageType.Node && m.uuid === uuidOf(2));
    await third.kill();
    const journals = [...fingerprint(dataDir).keys()].filter((p) => p.startsWith('journal/'));
    assert.deepEqual(
      journals,
      [...before.keys()].filter((p) => p.startsWith('journal/')),
      'no new segment',
    );
    const read = await readJournalSegment(join(dataDir, journals[0]));
    assert.equal(read.records.length, 3, 'the two logins and the node');
    const fourth = await startCli(dataDir, args);
    await fourth.waitFor(logSessionReady(2, 2, 3, true));
  });
});
