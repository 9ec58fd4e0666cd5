/**
 * Malformed and hostile messages on all three sockets — from strangers and from a logged-in
 * client — stop nothing: afterwards relays still flow, a new client logs in and joins, and the
 * session never threw (the reference's threads died on one message: capture 11, crash_vectors).
 * The random part is seeded and bounded.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';

import { DealerConnection } from '../../src/net/index.js';
import { encodePickle } from '../../src/pickle/index.js';
import { encodeCommand, MessageType, strDict, typeFrame } from '../../src/protocol/index.js';
import type { Channel } from '../../src/session/index.js';
import { nodeBytes, renameDelta, startTestServer, uuidOf, type TestServer } from './harness.js';

let ts: TestServer | undefined;
const conns: DealerConnection[] = [];
after(async () => {
  for (const c of conns) c.close();
  await ts?.close();
});

/** xorshift32: the same "random" frames on every run. */
function prng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

function hostileMessages(): { channel: Channel; frames: Buffer[] }[] {
  const b = (s: string): Buffer => Buffer.from(s, 'latin1');
  const cmd = (type: Parameters<typeof encodeCommand>[0], data: Parameters<typeof encodeCommand>[2]): Buffer[] =>
    encodeCommand(type, 'x', data);
  const list: { channel: Channel; frames: Buffer[] }[] = [
    { channel: 'command', frames: [Buffer.alloc(0)] },
    { channel: 'command', frames: [b('not a pickle')] },
    { channel: 'command', frames: [b("c__builtin__\neval\n(S'1+1'\ntR.")] }, // a global in frame 0 (cap 10)
    { channel: 'command', frames: [typeFrame(MessageType.Auth), b('alice')] }, // too few frames
    { channel: 'command', frames: cmd(MessageType.Auth, 'not a dict') },
    { channel: 'command', frames: cmd(MessageType.Kick, strDict([])) }, // crash: kick_without_user
    { channel: 'command', frames: cmd(MessageType.Snapshot, strDict([['STATE', 'GET']])) }, // crash: snapshot_GET_without_ID
    {
      channel: 'command',
      frames: cmd(
        MessageType.ServerSnapshot,
        strDict([
          ['STATE', 'SET'],
          ['DATA', []],
        ]),
      ),
    },
    { channel: 'command', frames: cmd(MessageType.ServerSnapshot, strDict([['STATE', 'END']])) },
    { channel: 'command', frames: cmd(MessageType.Right, strDict([['uuid', 5n]])) },
    { channel: 'command', frames: cmd(MessageType.Delete, null) },
    { channel: 'command', frames: cmd(MessageType.UpdateUserMetadata, 'not a dict') },
    { channel: 'data', frames: [typeFrame(MessageType.Commit), b(uuidOf(77)), encodePickle([]), renameDelta('x')] },
    { channel: 'data', frames: [typeFrame(MessageType.Node), b(uuidOf(78)), b('COMMON'), encodePickle([]), b('junk')] },
    { channel: 'data', frames: [typeFrame(MessageType.Commit), b(uuidOf(1)), encodePickle([]), b('junk delta')] },
    { channel: 'data', frames: [typeFrame(MessageType.Right)] },
    { channel: 'heartbeat', frames: [b('PING'), b('PONG')] }, // crash: ttl_two_frames
    { channel: 'heartbeat', frames: [b('PONG')] },
    { channel: 'heartbeat', frames: [Buffer.alloc(100, 0x41)] }, // past ZMQ_MAXMSGSIZE: libzmq cuts the peer off
  ];
  const rand = prng(0x5eed);
  const channels: Channel[] = ['command', 'data', 'heartbeat'];
  for (let i = 0; i < 60; i++) {
    const count = 1 + Math.floor(rand() * 6);
    const frames = Array.from({ length: count }, (_, j) => {
      const bytes = Buffer.alloc(Math.floor(rand() * 48));
      for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(rand() * 256);
      // Often a valid type frame in front, so the decoders get past frame 0.
      return j === 0 && rand() < 0.5 ? typeFrame((1 + Math.floor(rand() * 14)) as 1) : bytes;
    });
    list.push({ channel: channels[i % 3], frames });
  }
  // Past MAX_FRAMES_PER_MESSAGE (and the pre-login budget): the connection is cut at the 17th
  // frame header, so it goes last.
  list.push({ channel: 'command', frames: Array.from({ length: 40 }, () => b('x')) });
  return list;
}

test('hostile messages on all three sockets, from strangers and from a member, stop nothing', async () => {
  ts = await startTestServer();
  const node = uuidOf(1);
  const alice = await ts.initWith([{ uuid: node }]);
  const bob = ts.client('bob');
  await bob.login();
  await bob.join();

  const stranger = randomBytes(16);
  const messages = hostileMessages();
  for (const channel of ['command', 'data', 'heartbeat'] as const) {
    const conn = new DealerConnection({ channel, endpoint: ts.server.endpoints[channel], routingId: stranger });
    conns.push(conn);
    for (const m of messages) if (m.channel === channel) await conn.send(m.frames);
  }
  for (const m of messages) await bob.send(m.channel, m.frames);

  // Everything still works: a relay, a user list, a fresh login and join.
  await alice.pushCommit({ nodeId: node, deltaBytes: renameDelta('still alive') });
  await bob.waitForData((m) => m.type === MessageType.Commit && m.nodeId === node);
  const carol = ts.client('carol');
  assert.equal(await carol.login(), 'RUNNING');
  const joined = await carol.join();
  assert.deepEqual(joined.catalog, [node]);
  assert.deepEqual(Buffer.from(carol.store.nodes.get(node)?.dataBytes ?? []), nodeBytes(node, 'still alive'));
  await alice.waitForUsers((list) => list.length === 3);

  assert.equal(ts.server.stats().sessionErrors, 0, 'the session never threw');
  assert.ok(ts.server.stats().received.command >= messages.filter((m) => m.channel === 'command').length);
  assert.ok(
    ts.logs.lines.some((l) => l.level === 'warn'),
    'refusals are logged',
  );
  assert.ok(bob.state === 'active' && alice.state === 'active');
});
