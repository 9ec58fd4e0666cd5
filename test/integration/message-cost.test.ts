/**
 * What one message can cost, through real sockets: a logged-in user's node pickles that would
 * make every client's unpickler allocate a memo of 2^28 or 2^32 slots, and messages of millions
 * of empty dicts (as a Node, a Right and a metadata update, at the attack's real size of 9.9 MB),
 * are refused: not stored, not relayed, and nobody else is dropped. The refusals are cheap (the
 * opcode scan stops at the container budget, oversized metadata is refused before decoding), so
 * the heartbeats of the others keep flowing; docs/benchmarks.md has the timings.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { encodePickle } from '../../src/pickle/index.js';
import { encodeCommand, MessageType, strDict, typeFrame, encodeTextFrame } from '../../src/protocol/index.js';
import type { ReplicationClient } from '../../src/client/index.js';
import { nodeBytes, startTestServer, uuidOf, type TestServer } from './harness.js';

let ts: TestServer | undefined;
after(async () => {
  await ts?.close();
});

/** `{'type_id': 'Object', 'uuid': …, 'name': 'Cube'}`, then LONG_BINPUT of that dict at `index`. */
function memoBombNode(uuid: string, index: number): Buffer {
  const plain = nodeBytes(uuid);
  const put = Buffer.alloc(5);
  put[0] = 0x72; // LONG_BINPUT
  put.writeUInt32LE(index, 1);
  return Buffer.concat([plain.subarray(0, plain.length - 1), put, Buffer.from('.')]);
}

/** A pickle of `{'a': [{}, {}, …]}` with `n` empty dicts: one byte per dict. */
function dictFlood(n: number): Buffer {
  const b = Buffer.alloc(n + 9, 0x7d);
  b.set([0x80, 0x04, 0x7d, 0x8c, 0x01, 0x61, 0x5d, 0x28], 0); // PROTO 4, {}, 'a', [], MARK
  b[n + 8] = 0x65; // APPENDS
  return Buffer.concat([b, Buffer.from([0x73, 0x2e])]); // SETITEM, STOP
}

function nodeFrames(uuid: string, owner: string, data: Uint8Array): Buffer[] {
  return [
    typeFrame(MessageType.Node),
    encodeTextFrame(uuid, 1),
    encodeTextFrame(owner, 2),
    encodePickle(null),
    Buffer.from(data),
  ];
}

test('memo-index and dict-flood messages of a logged-in user are refused; nobody is dropped', async () => {
  ts = await startTestServer();
  const server = ts;
  const base = uuidOf(1);
  const alice = await ts.initWith([{ uuid: base }]);
  const others: ReplicationClient[] = [alice];
  for (const name of ['bob', 'carol', 'dave']) {
    const c = ts.client(name);
    assert.equal(await c.login(), 'RUNNING');
    await c.join();
    others.push(c);
  }
  const eve = ts.client('eve');
  assert.equal(await eve.login(), 'RUNNING');
  await eve.join();
  const bob = others[1];
  await alice.waitForUsers((list) => list.length === 5);

  const hostile = { at2pow28: uuidOf(101), atMax: uuidOf(102), flood: uuidOf(103) };
  const refused = (uuid: string): Promise<unknown> =>
    server.logs.waitFor((l) => l.level === 'warn' && l.message.includes(`Node ${uuid} from eve refused`));

  await eve.send('data', nodeFrames(hostile.at2pow28, 'eve', memoBombNode(hostile.at2pow28, 2 ** 28)));
  await eve.send('data', nodeFrames(hostile.atMax, 'eve', memoBombNode(hostile.atMax, 0xffffffff)));
  await eve.send('data', nodeFrames(hostile.flood, 'eve', dictFlood(9_900_000)));
  await eve.send(
    'command',
    encodeCommand(MessageType.Right, 'eve', strDict([['flood', null]]))
      .slice(0, 2)
      .concat(dictFlood(9_900_000)),
  );
  await eve.send('command', [
    typeFrame(MessageType.UpdateUserMetadata),
    encodeTextFrame('eve', 1),
    dictFlood(4_000_000),
  ]);
  // Within the metadata frame bound, but 200,000 dicts: past the command container budget.
  await eve.send('command', [typeFrame(MessageType.UpdateUserMetadata), encodeTextFrame('eve', 1), dictFlood(200_000)]);
  // A well-formed node from the same connection, after the hostile ones: once bob has it, the
  // server has handled everything eve sent on the data socket before it.
  const marker = uuidOf(104);
  await eve.pushNode({ uuid: marker, owner: 'eve', dataBytes: nodeBytes(marker) });
  await bob.waitForData((m) => m.type === MessageType.Node && m.uuid === marker);

  await Promise.all(Object.values(hostile).map(refused));
  const commandRefusals = (): string[] =>
    server.logs.lines.filter((l) => l.message.startsWith('Malformed command message')).map((l) => l.message);
  await server.logs.waitFor(() => commandRefusals().length >= 3);
  const [right, bigMetadata, denseMetadata] = commandRefusals();
  assert.match(right, /PROTOCOL_PICKLE.*PICKLE_LIMIT/);
  assert.match(bigMetadata, /PROTOCOL_FRAME_SIZE/);
  assert.match(denseMetadata, /PROTOCOL_PICKLE.*PICKLE_LIMIT/);

  // Not relayed: no client has them. Not stored: a newcomer's catalog lacks them.
  for (const c of others) for (const id of Object.values(hostile)) assert.equal(c.store.nodes.has(id), false);
  const frank = ts.client('frank');
  assert.equal(await frank.login(), 'RUNNING');
  const joined = await frank.join();
  assert.deepEqual([...joined.catalog].sort(), [base, marker].sort());

  // Three more user lists (each heartbeat tick sends one): everybody, eve included, still listed.
  const everybody = ['alice', 'bob', 'carol', 'dave', 'eve', 'frank'];
  for (let i = 0; i < 3; i++) {
    await alice.waitForUsers(
      (list) =>
        list
          .map((u) => u.name)
          .sort()
          .join() === everybody.join(),
    );
  }
  for (const c of [...others, eve]) assert.equal(c.state, 'active');
  assert.equal(server.server.stats().sessionErrors, 0);
  assert.ok(!server.logs.has(/lost|timed out/i), 'no client was dropped');
});
