/**
 * The add-on's everyday flows over real sockets, several clients at once, with our client and the
 * real session: login, LOBBY, init, the catalog pushed to the lobby, join with RUNNING, Node and
 * Commit relays, locks, delete, metadata.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';

import type { ClientEvent } from '../../src/client/index.js';
import { PyDict, pyInt } from '../../src/pickle/index.js';
import { MessageType, OWNER_COMMON, encodeMessage, type Node } from '../../src/protocol/index.js';
import { nodeBytes, renameDelta, startTestServer, uuidOf, type TestServer } from './harness.js';

let ts: TestServer | undefined;
afterEach(async () => {
  await ts?.close();
  ts = undefined;
});

const bytesOf = (b: Uint8Array | undefined): Buffer | undefined => (b === undefined ? undefined : Buffer.from(b));
const isData = (e: ClientEvent): e is ClientEvent & { type: 'data' } => e.type === 'data';
const dataFor = (id: string) => (m: { type: number; uuid?: string; nodeId?: string }) =>
  (m.type === MessageType.Node ? m.uuid : m.nodeId) === id;

describe('session flows over real sockets', () => {
  test('an admin initialises the session and a client waiting in the lobby pulls the pushed catalog', async () => {
    ts = await startTestServer();
    const bob = ts.client('bob');
    assert.equal(await bob.login(), 'LOBBY');
    const nodes = [1, 2, 3].map((n) => ({ uuid: uuidOf(n), name: `n${n}` }));
    const alice = await ts.initWith(nodes);
    assert.equal(alice.state, 'active');
    const result = await bob.join({ request: false }); // the server pushes INIT to the lobby (§4.3 step 4)
    assert.deepEqual(
      result.catalog,
      nodes.map((n) => n.uuid),
    );
    assert.equal(result.received, 3);
    assert.deepEqual([...bob.store.nodes.keys()].sort(), nodes.map((n) => n.uuid).sort());
    assert.deepEqual(bytesOf(bob.store.nodes.get(uuidOf(2))?.dataBytes), nodeBytes(uuidOf(2), 'n2'));
    const users = await alice.waitForUsers((list) => list.length === 2 && list.every((u) => u.status === 2));
    assert.deepEqual(users.map((u) => [u.name, u.admin]).sort(), [
      ['alice', true],
      ['bob', false],
    ]);
  });

  test('a second init is refused cleanly while the first client keeps working', async () => {
    ts = await startTestServer();
    const alice = await ts.initWith([{ uuid: uuidOf(1) }]);
    const dave = ts.client('dave', { adminPassword: 'integration-admin' });
    assert.equal(await dave.login(), 'RUNNING');
    assert.equal(await dave.init([{ uuid: uuidOf(9), dataBytes: nodeBytes(uuidOf(9)) }]), 'REJECTED');
    const join = await dave.join();
    assert.deepEqual(join.catalog, [uuidOf(1)]);
    assert.equal(alice.state, 'active');
  });

  test('a joining client gets RUNNING and the latest state of every node, one GET at a time', async () => {
    ts = await startTestServer();
    const ids = [1, 2, 3, 4].map(uuidOf);
    const alice = await ts.initWith(ids.map((uuid) => ({ uuid })));
    // Changes before the join: a rename by Commit and a whole-node update.
    await alice.pushCommit({ nodeId: ids[0], deltaBytes: renameDelta('renamed') });
    await alice.pushNode({ uuid: ids[1], dataBytes: nodeBytes(ids[1], 'replaced') });
    const carol = ts.client('carol');
    assert.equal(await carol.login(), 'RUNNING');
    await carol.waitForUsers((list) => list.some((u) => u.name === 'carol'));
    const result = await carol.join();
    assert.equal(result.received, 4);
    assert.equal(result.removed, 0);
    assert.deepEqual(bytesOf(carol.store.nodes.get(ids[0])?.dataBytes), nodeBytes(ids[0], 'renamed'));
    assert.deepEqual(bytesOf(carol.store.nodes.get(ids[1])?.dataBytes), nodeBytes(ids[1], 'replaced'));
    const logs = ts.logs;
    await logs.waitFor((l) => l.message === 'carol - Snapshot : done.');
  });

  test('Node and Commit are relayed verbatim to every other client and never echoed to the sender', async () => {
    ts = await startTestServer();
    const base = uuidOf(1);
    const alice = await ts.initWith([{ uuid: base }]);
    const bob = ts.client('bob');
    const carol = ts.client('carol');
    for (const c of [bob, carol]) {
      assert.equal(await c.login(), 'RUNNING');
      await c.join();
    }
    const fresh = uuidOf(2);
    const freshNode: Node = {
      type: MessageType.Node,
      uuid: fresh,
      owner: OWNER_COMMON,
      deps: [base],
      dataBytes: nodeBytes(fresh, 'Sphere'),
    };
    await alice.pushNode({ uuid: fresh, deps: [base], dataBytes: freshNode.dataBytes });
    await alice.pushCommit({ nodeId: base, deps: [fresh], deltaBytes: renameDelta('Cube.001') });
    for (const c of [bob, carol]) {
      const node = await c.waitForData(dataFor(fresh));
      assert.deepEqual(
        node.raw?.map((f) => Buffer.from(f)),
        encodeMessage(freshNode),
      );
      const commit = await c.waitForData(dataFor(base));
      assert.equal(commit.type, MessageType.Commit);
      assert.deepEqual(commit.type === MessageType.Commit && Buffer.from(commit.deltaBytes), renameDelta('Cube.001'));
    }
    assert.deepEqual(bob.store.nodes.get(base)?.deps, [fresh]);
    // Per-socket FIFO: had alice been sent her own pushes, they would precede bob's reply to her.
    await bob.pushNode({ uuid: uuidOf(3), dataBytes: nodeBytes(uuidOf(3)) });
    await alice.waitForData(dataFor(uuidOf(3)));
    assert.deepEqual(alice.mailbox.peek(isData), []);
  });

  test('lock, unlock and delete are echoed to everyone including the sender, and locks are enforced', async () => {
    ts = await startTestServer();
    const [a, b] = [uuidOf(1), uuidOf(2)];
    const alice = await ts.initWith([{ uuid: a }, { uuid: b }]);
    const bob = ts.client('bob');
    await bob.login();
    await bob.join();

    await bob.lock([a]);
    for (const c of [alice, bob]) {
      const right = await c.waitForCommand(MessageType.Right);
      assert.equal(right.owner, 'bob');
      assert.equal(c.store.nodes.get(a)?.owner, 'bob');
    }
    // alice may not change what bob holds: refused, not relayed; her change of a COMMON node is.
    await alice.pushCommit({ nodeId: a, deltaBytes: renameDelta('stolen') });
    await alice.pushCommit({ nodeId: b, deltaBytes: renameDelta('fine') });
    await bob.waitForData(dataFor(b));
    assert.deepEqual(
      bob.mailbox.peek((e) => isData(e) && dataFor(a)(e.message)),
      [],
    );
    await ts.logs.waitFor((l) => l.level === 'warn' && l.message.includes(`${a} from alice refused: locked by bob`));

    await bob.unlock([a]);
    for (const c of [alice, bob]) {
      await c.waitForCommand(
        MessageType.Right,
        (m) => m.data instanceof PyDict && m.data.get('owner') === OWNER_COMMON,
      );
      assert.equal(c.store.nodes.get(a)?.owner, OWNER_COMMON);
    }
    await alice.deleteNode(b);
    for (const c of [alice, bob]) {
      const del = await c.waitForCommand(MessageType.Delete);
      assert.equal(del.data, b);
      assert.equal(c.store.nodes.has(b), false);
    }
    const carol = ts.client('carol');
    await carol.login();
    assert.deepEqual((await carol.join()).catalog, [a]);
  });

  test('metadata is merged into the sender record and relayed to the others only', async () => {
    ts = await startTestServer();
    const alice = await ts.initWith([{ uuid: uuidOf(1) }]);
    const bob = ts.client('bob');
    await bob.login();
    await bob.join();
    await alice.updateMetadata([
      ['frame_current', pyInt(12)],
      ['mode_current', 'OBJECT'],
    ]);
    const relayed = await bob.waitForCommand(MessageType.UpdateUserMetadata);
    assert.equal(relayed.owner, 'alice');
    assert.ok(relayed.data instanceof PyDict);
    assert.equal(relayed.data.get('frame_current'), 12n);
    const users = await bob.waitForUsers(
      (list) => list.find((u) => u.name === 'alice')?.metadata.get('frame_current') === 12n,
    );
    assert.equal(users.find((u) => u.name === 'alice')?.metadata.get('mode_current'), 'OBJECT');
    await bob.updateMetadata([['frame_current', pyInt(3)]]);
    await alice.waitForCommand(MessageType.UpdateUserMetadata, (m) => m.owner === 'bob');
    assert.deepEqual(
      alice.mailbox.peek((e) => e.type === 'command' && e.message.type === MessageType.UpdateUserMetadata),
      [],
      'alice never got her own metadata back',
    );
  });
});
