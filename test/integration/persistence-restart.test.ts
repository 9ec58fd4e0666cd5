/**
 * Restarts of the compiled CLI on the same DATA_DIR (DESIGN §4 "Recovery"): after SIGTERM the
 * session comes back without a new Init — a new client gets RUNNING and byte-identical nodes, with
 * every lock COMMON — and the chat and tasks of a user who left are still handed to clients.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';

import { decodePickle, PyDict } from '../../src/pickle/index.js';
import { MessageType, OWNER_COMMON } from '../../src/protocol/index.js';
import { LOCK_FILE, LOG_SESSION_RESTORED, logSessionSaved } from '../../src/store/index.js';
import { closeAll, initAs, startCli, tempDataDir } from './cli-server.js';
import { nodeBytes, renameDelta, uuidOf } from './harness.js';

afterEach(closeAll);

const nodesOf = (store: { nodes: Map<string, { dataBytes: Uint8Array; owner: string }> }) =>
  new Map([...store.nodes].map(([id, n]) => [id, { data: Buffer.from(n.dataBytes).toString('hex'), owner: n.owner }]));

describe('a restart on the same data directory', () => {
  test('after SIGTERM a new client gets RUNNING and the same graph, with every lock COMMON', async () => {
    const dataDir = tempDataDir();
    const first = await startCli(dataDir);
    const [n1, n2, n3, n4] = [1, 2, 3, 4].map(uuidOf);
    const alice = await initAs(first, [
      { uuid: n1, dataBytes: nodeBytes(n1, 'Cube') },
      { uuid: n2, dataBytes: nodeBytes(n2, 'Light') },
      { uuid: n3, dataBytes: nodeBytes(n3, 'Camera') },
    ]);
    const bob = first.client('bob');
    assert.equal(await bob.login(), 'RUNNING');
    await bob.join();
    await alice.pushCommit({ nodeId: n1, deltaBytes: renameDelta('Renamed') });
    await alice.pushNode({ uuid: n4, dataBytes: nodeBytes(n4, 'Empty') });
    await alice.lock([n2]);
    await bob.waitForData((m) => m.type === MessageType.Commit && m.nodeId === n1);
    await bob.waitForData((m) => m.type === MessageType.Node && m.uuid === n4);
    await bob.waitForCommand(MessageType.Right, (m) => m.owner === 'alice');

    const carol = first.client('carol');
    assert.equal(await carol.login(), 'RUNNING');
    // As the add-on does after its login; a login without any change is not saved (operations.md).
    await carol.updateMetadata([['frame_current', 1n]]);
    await carol.join();
    const before = nodesOf(carol.store);
    assert.equal(before.size, 4);
    assert.equal(before.get(n2)?.owner, 'alice');
    const renamed = decodePickle(carol.store.nodes.get(n1)?.dataBytes ?? new Uint8Array()) as PyDict;
    assert.equal(renamed.get('name'), 'Renamed', 'the server applied the commit');

    assert.equal(await first.stop(), 0);
    assert.ok(first.output().includes(logSessionSaved('shutdown')), first.output());

    const second = await startCli(dataDir);
    await second.waitFor(LOG_SESSION_RESTORED);
    await second.waitFor('Nodes: 4');
    await second.waitFor('Users: 3');
    await second.waitFor('Restored from: session_snapshot.pkl (saved for: shutdown)');
    const dave = second.client('dave');
    assert.equal(await dave.login(), 'RUNNING', 'no Init after a restart');
    await dave.join();
    const after = nodesOf(dave.store);
    assert.deepEqual(
      [...after].map(([id, n]) => [id, n.data]),
      [...before].map(([id, n]) => [id, n.data]),
      'same nodes, byte for byte',
    );
    for (const [id, n] of after) assert.equal(n.owner, OWNER_COMMON, `lock of ${id} released`);
  });

  test('SIGINT with stdin held open saves, releases the data directory and exits 0', async () => {
    const dataDir = tempDataDir();
    const first = await startCli(dataDir, [], { stdin: 'pipe' });
    await initAs(first, [{ uuid: uuidOf(1), dataBytes: nodeBytes(uuidOf(1)) }]);
    assert.ok(existsSync(join(dataDir, LOCK_FILE)), 'the running server holds the lock');
    first.child.kill('SIGINT');
    assert.equal(await first.exited, 0);
    assert.match(first.output(), /Shutting down \(SIGINT\)/);
    assert.ok(first.output().includes(logSessionSaved('shutdown')), first.output());
    assert.ok(!existsSync(join(dataDir, LOCK_FILE)), 'the lock is released');
  });

  test('a second server on the same data directory refuses to start and names the holder', async () => {
    const dataDir = tempDataDir();
    const first = await startCli(dataDir);
    const second = await startCli(dataDir, [], { readyText: 'Cannot start' });
    assert.equal(await second.exited, 1);
    assert.match(
      second.output(),
      new RegExp(`ERROR +Cannot start: Data directory .* is in use by server \\(pid ${first.child.pid}`),
    );
    assert.match(second.output(), /choose another --data-dir/);
    assert.ok(!second.output().includes('Listening on'), 'it never listened');
    assert.equal(first.child.exitCode, null, 'the first one keeps running');
  });

  test('chat and tasks survive their author leaving and a restart, in the ~archive user-list entry', async () => {
    const dataDir = tempDataDir();
    const first = await startCli(dataDir);
    const alice = await initAs(first, [{ uuid: uuidOf(1), dataBytes: nodeBytes(uuidOf(1)) }]);
    const bob = first.client('bob');
    await bob.login();
    await bob.join();
    const chat =
      '[{"id": "1732600000.25", "username": "bob", "message": "see you tomorrow", "msg_type": "text", ' +
      '"metadata": {}, "timestamp": 1732600000.25}]';
    const tasks =
      '{"t-42": {"id": "t-42", "title": "Fix the lamp", "description": "", "assigned_to": "alice", ' +
      '"status": "todo", "created_by": "bob", "created_at": 1732600001.5, "object_name": ""}}';
    await bob.updateMetadata([
      ['chat_messages', chat],
      ['tasks', tasks],
    ]);
    await alice.waitForUsers((list) => list.some((u) => u.name === '~archive'));
    const saved = first.mark();
    await alice.kick('bob');
    await first.waitFor(logSessionSaved('user_disconnect:bob'), 10_000, saved);
    assert.equal(await first.stop(), 0);

    const second = await startCli(dataDir);
    await second.waitFor(LOG_SESSION_RESTORED);
    const carol = second.client('carol');
    assert.equal(await carol.login(), 'RUNNING');
    const list = await carol.waitForUsers((users) => users.some((u) => u.name === '~archive'));
    const archive = list.find((u) => u.name === '~archive');
    assert.ok(archive !== undefined);
    assert.equal(list[list.length - 1].name, '~archive', 'last in the list');
    assert.ok(!list.some((u) => u.name === 'bob'), 'bob is gone');
    const meta = archive.metadata;
    assert.ok(meta instanceof PyDict);
    const archivedChat = JSON.parse(meta.get('chat_messages') as string) as { id: string; message: string }[];
    assert.deepEqual(
      archivedChat.map((m) => [m.id, m.message]),
      [['1732600000.25', 'see you tomorrow']],
    );
    const board = JSON.parse(meta.get('tasks') as string) as Record<string, { title: string; created_by: string }>;
    assert.equal(board['t-42']?.title, 'Fix the lamp');
    assert.equal(board['t-42']?.created_by, 'bob');
  });
});
