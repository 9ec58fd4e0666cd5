/**
 * A damaged snapshot at start (STYLE.md §9): the compiled CLI logs it loudly,
 * moves the file to corrupt/ (never deletes it), falls back to the newest valid backup, replays the
 * journal written after that save, and serves the session as before.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';

import { decodePickle, type PyDict } from '../../src/pickle/index.js';
import { MessageType } from '../../src/protocol/index.js';
import { CORRUPT_DIR, SNAPSHOT_FILE, LOG_SESSION_RESTORED, logSessionSaved } from '../../src/store/index.js';
import { closeAll, initAs, startCli, tempDataDir } from './cli-server.js';
import { nodeBytes, renameDelta, uuidOf } from './harness.js';

afterEach(closeAll);

test('a corrupt snapshot falls back to the newest valid backup plus the journal, and is moved to corrupt/', async () => {
  const dataDir = tempDataDir();
  const first = await startCli(dataDir);
  const [n1, n2, n3] = [1, 2, 3].map(uuidOf);
  const alice = await initAs(first, [{ uuid: n1, dataBytes: nodeBytes(n1, 'Cube') }]);
  for (const [i, name] of ['bob', 'carol'].entries()) {
    const user = first.client(name);
    await user.login();
    await user.join();
    if (i === 1) {
      await alice.pushCommit({ nodeId: n1, deltaBytes: renameDelta('Saved') });
      await user.waitForData((m) => m.type === MessageType.Commit);
    }
    const at = first.mark();
    await alice.kick(name);
    await first.waitFor(logSessionSaved(`user_disconnect:${name}`), 10_000, at);
  }
  // After the last save: only in the journal.
  const dave = first.client('dave');
  await dave.login();
  await dave.join();
  await alice.pushNode({ uuid: n2, dataBytes: nodeBytes(n2, 'Journaled') });
  await dave.waitForData((m) => m.type === MessageType.Node && m.uuid === n2);
  await first.kill();

  const snapshot = join(dataDir, SNAPSHOT_FILE);
  const bytes = readFileSync(snapshot);
  bytes[bytes.length >> 1] ^= 0x5a;
  writeFileSync(snapshot, bytes);
  const backups = readdirSync(join(dataDir, 'backups')).sort();
  assert.equal(backups.length, 2);

  const second = await startCli(dataDir);
  await second.waitFor(/ERROR +Snapshot session_snapshot\.pkl is unreadable .*moved to corrupt\//);
  await second.waitFor(`Recovered from backup backups/${backups[1]}`);
  await second.waitFor(LOG_SESSION_RESTORED);
  await second.waitFor(/Journal: [1-9]\d* record\(s\) to replay/);
  const moved = readdirSync(join(dataDir, CORRUPT_DIR));
  assert.equal(moved.filter((n) => n.startsWith(SNAPSHOT_FILE)).length, 1, `corrupt/ holds ${moved.join(', ')}`);

  const erin = second.client('erin');
  assert.equal(await erin.login(), 'RUNNING');
  await erin.join();
  const name = (id: string): unknown =>
    (decodePickle(erin.store.nodes.get(id)?.dataBytes ?? new Uint8Array()) as PyDict).get('name');
  assert.equal(name(n1), 'Saved', 'from the backup');
  assert.equal(name(n2), 'Journaled', 'from the journal after it');
  assert.equal(erin.store.nodes.has(n3), false);
  assert.equal(await second.stop(), 0);
});
