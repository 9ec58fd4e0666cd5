/**
 * Clients leaving, over real sockets: kicked by an admin (and not by anyone else), timed out by
 * the heartbeat with a short TIMEOUT, dropped for never starting a heartbeat, kicked from the
 * shell; their locks go back to COMMON even when nobody else is online (capture 08_lock_leak).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';

import { PyDict } from '../../src/pickle/index.js';
import { MessageType, OWNER_COMMON, OWNER_SERVER } from '../../src/protocol/index.js';
import { startTestServer, uuidOf, type TestServer } from './harness.js';

let ts: TestServer | undefined;
afterEach(async () => {
  await ts?.close();
  ts = undefined;
});

describe('clients leaving over real sockets', () => {
  test('an admin kick disconnects the user and frees their locks; a non-admin kick is refused', async () => {
    ts = await startTestServer();
    const node = uuidOf(1);
    const alice = await ts.initWith([{ uuid: node }]);
    const bob = ts.client('bob');
    const carol = ts.client('carol');
    for (const c of [bob, carol]) {
      await c.login();
      await c.join();
    }
    await bob.lock([node]);
    await carol.waitForCommand(MessageType.Right, (m) => m.owner === 'bob');

    await carol.kick('bob');
    await ts.logs.waitFor((l) => l.message === 'Kick refused: carol is not an admin');
    assert.equal(bob.state, 'active');

    await alice.kick('bob');
    const disconnect = await bob.waitForCommand(MessageType.Disconnect);
    assert.ok(disconnect.data instanceof PyDict);
    assert.equal(disconnect.data.get('reason'), 'kicked by admin');
    assert.equal(await bob.waitForClosed(), 'kicked by admin');
    const unlock = await carol.waitForCommand(MessageType.Right, (m) => m.owner === OWNER_SERVER);
    assert.ok(unlock.data instanceof PyDict);
    assert.deepEqual(unlock.data.get('uuid'), [node]);
    assert.equal(carol.store.nodes.get(node)?.owner, OWNER_COMMON);
    await carol.waitForUsers((list) => list.length === 2 && !list.some((u) => u.name === 'bob'));
    await ts.logs.waitFor((l) => l.message === 'bob kicked from the session by alice.');
    await ts.logs.waitFor((l) => l.message === 'bob disconnected from the server [kicked]');
  });

  test('a silent client is timed out by the heartbeat and its locks are freed with nobody else online', async () => {
    ts = await startTestServer({ timeoutMs: 300 });
    const node = uuidOf(1);
    const alice = await ts.initWith([{ uuid: node }]);
    await alice.lock([node]);
    await alice.waitForCommand(MessageType.Right);
    await alice.waitFor((e) => e.type === 'ping'); // the heartbeat runs
    alice.setAnswerPings(false);
    await ts.logs.waitFor((l) => l.message === 'alice disconnected from the server [connection closed]', 8000);
    assert.ok(ts.logs.has(`Released 1 lock(s) of alice to COMMON: ${node}`));
    assert.deepEqual(ts.session.listUsers(), []);

    const dave = ts.client('dave');
    assert.equal(await dave.login(), 'RUNNING');
    await dave.join();
    assert.equal(dave.store.nodes.get(node)?.owner, OWNER_COMMON, 'no lock leak (cap 08_lock_leak)');
  });

  test('a client that never starts its heartbeat is dropped after the grace period', async () => {
    ts = await startTestServer({ heartbeatGraceMs: 200 });
    const ghost = ts.client('ghost', { heartbeat: false });
    assert.equal(await ghost.login(), 'LOBBY');
    await ts.logs.waitFor((l) => l.message === 'ghost disconnected from the server [no heartbeat]', 5000);
    const again = ts.client('ghost');
    assert.equal(await again.login(), 'LOBBY', 'the username is free again');
  });

  test('the operator kick (shell) disconnects a user by name', async () => {
    ts = await startTestServer();
    const bob = ts.client('bob');
    await bob.login();
    ts.server.adminKick('bob');
    assert.equal(await bob.waitForClosed(), 'kicked by admin');
    await ts.logs.waitFor((l) => l.message === 'bob kicked from the session by operator.');
  });
});
