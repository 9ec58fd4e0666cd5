/**
 * A logged-in user's message over MAX_FRAME_BYTES or MAX_FRAMES_PER_MESSAGE is cut at the frame
 * header and says so: one warning naming the user, the peer address and the limit (the
 * zeromq-based server cut such a connection without a word).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';

import { Dealer } from 'zeromq';

import { encodeAuthRequest } from '../../src/client/index.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from './harness.js';

const servers: TestServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

const MAX_FRAME = 64 * 1024;

async function loggedIn(ts: TestServer, username: string): Promise<{ command: Dealer; data: Dealer }> {
  const id = randomBytes(16);
  const make = (endpoint: string): Dealer => {
    const d = new Dealer({ linger: 0 });
    (d as unknown as { routingId: Buffer }).routingId = id;
    d.connect(endpoint);
    return d;
  };
  const command = make(ts.server.endpoints.command);
  const data = make(ts.server.endpoints.data);
  await command.send(encodeAuthRequest({ username, adminPassword: ADMIN_PASSWORD }));
  let reply = '';
  while (!reply.includes('LOBBY')) {
    const [, , frame] = await command.receive();
    reply = Buffer.from(frame).toString('latin1');
  }
  return { command, data };
}

function disconnected(d: Dealer): Promise<void> {
  const events = d.events;
  return (async () => {
    for (;;) if ((await events.receive()).type === 'disconnect') return;
  })();
}

test('a frame over MAX_FRAME_BYTES from a logged-in user: connection cut, a warning names user, address and limit', async () => {
  const ts = await startTestServer({}, { tuning: { maxFrameBytes: MAX_FRAME } });
  servers.push(ts);
  const { command, data } = await loggedIn(ts, 'mallory');
  try {
    const gone = disconnected(data);
    await data.send([Buffer.from('x'), Buffer.alloc(MAX_FRAME + 1)]);
    const line = await ts.logs.waitFor((l) => l.message.includes('mid-message'));
    assert.equal(line.level, 'warn');
    assert.match(line.message, /mallory/);
    assert.match(line.message, /from 127\.0\.0\.1:\d+/);
    assert.match(line.message, new RegExp(`limit ${MAX_FRAME}, MAX_FRAME_BYTES`));
    await gone;
  } finally {
    command.close();
    data.close();
  }
});

test('more frames than MAX_FRAMES_PER_MESSAGE from a logged-in user: the same, naming MAX_FRAMES_PER_MESSAGE', async () => {
  const ts = await startTestServer({}, { tuning: { maxFramesPerMessage: 6 } });
  servers.push(ts);
  const { command, data } = await loggedIn(ts, 'eve');
  try {
    const gone = disconnected(data);
    await data.send(Array.from({ length: 7 }, () => Buffer.alloc(1)));
    const line = await ts.logs.waitFor((l) => l.message.includes('mid-message'));
    assert.match(line.message, /eve/);
    assert.match(line.message, /limit 6, MAX_FRAMES_PER_MESSAGE/);
    await gone;
  } finally {
    command.close();
    data.close();
  }
});
