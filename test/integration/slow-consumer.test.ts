/**
 * A logged-in client that stops reading its data socket is dropped once its bounded send queue is
 * full — with a clear log line, its locks released — while the others keep receiving every update
 * in order. Nothing is silently skipped and memory stays bounded.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { MessageType, OWNER_SERVER } from '../../src/protocol/index.js';
import { nodeBytes, startTestServer, uuidOf, type TestServer } from './harness.js';

let ts: TestServer | undefined;
after(async () => {
  await ts?.close();
});

test('a client that stops reading is dropped at its queue bound and the others receive everything', async () => {
  ts = await startTestServer(
    {},
    { sendQueue: { maxMessages: 8, maxBytes: 1024 * 1024 }, tuning: { sendHighWaterMark: 4 } },
  );
  const [node, big] = [uuidOf(1), uuidOf(2)];
  const alice = await ts.initWith([{ uuid: node }, { uuid: big }]);
  const slow = ts.client('slow', { readData: false, dataReceiveHighWaterMark: 1 });
  const carol = ts.client('carol');
  for (const c of [slow, carol]) {
    await c.login();
    await c.join();
  }
  await slow.lock([node]);
  await carol.waitForCommand(MessageType.Right, (m) => m.owner === 'slow');

  // 300 whole-node updates of ~256 KB, paced by carol's reads (one in flight): ~75 MB offered to
  // a client that reads nothing — far beyond TCP buffers, the high-water mark and its queue.
  const padding = Buffer.alloc(256 * 1024, 1);
  const rounds = 300;
  for (let i = 0; i < rounds; i++) {
    await alice.pushNode({ uuid: big, dataBytes: nodeBytes(big, `v${i}`, [['blob', padding]]) });
    const got = await carol.waitForData((m) => m.type === MessageType.Node && m.uuid === big);
    assert.deepEqual(
      Buffer.from(got.type === MessageType.Node ? got.dataBytes : []),
      nodeBytes(big, `v${i}`, [['blob', padding]]),
    );
  }

  const line = await ts.logs.waitFor((l) => l.message.startsWith('Dropping slow (client '), 1000);
  assert.equal(line.level, 'warn');
  assert.match(
    line.message,
    /send queue on the data socket is full \(\d+ messages, \d+ bytes waiting; not reading fast enough/,
  );
  const unlock = await carol.waitForCommand(MessageType.Right, (m) => m.owner === OWNER_SERVER);
  assert.ok(unlock.data !== null);
  await carol.waitForUsers((list) => !list.some((u) => u.name === 'slow'));
  assert.deepEqual(ts.server.queuedFor(slow.clientId).data, { messages: 0, bytes: 0 });
  assert.ok(ts.server.stats().send.data.queuedBytes <= 1024 * 1024, 'nothing left queued beyond the bound');
  assert.ok(ts.logs.has('slow disconnected from the server'));
});
