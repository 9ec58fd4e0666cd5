/**
 * The socket side alone, over real sockets on 127.0.0.1, with a scripted session: routing to a
 * DEALER that never sent, one message that breaks the session not ending a loop, slow clients
 * dropped at the queue bound, port-in-use errors, rate-limited log effects, clean close.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { after, describe, test } from 'node:test';

import { DealerConnection } from '../../src/net/dealer.js';
import { channelEndpoints } from '../../src/net/endpoint.js';
import { NetError } from '../../src/net/errors.js';
import { createFuncLogger, type Channel, type Effect, type SessionEvent } from '../../src/session/index.js';
import { SessionServer, type SessionServerOptions } from '../../src/net/session-server.js';
import { pickBasePort, withFreeBasePort } from '../helpers/ports.js';

/** A session whose reply to each message is computed by `script` from the message text. */
class ScriptedSession {
  readonly events: SessionEvent[] = [];
  private waiters: { check: (e: SessionEvent) => boolean; resolve: (e: SessionEvent) => void }[] = [];

  constructor(private readonly script: (text: string, from: string, channel: Channel) => Effect[]) {}

  handle(event: SessionEvent): Effect[] {
    this.events.push(event);
    this.waiters = this.waiters.filter((w) => {
      if (!w.check(event)) return true;
      w.resolve(event);
      return false;
    });
    if (event.type !== 'message') return [];
    return this.script(Buffer.from(event.frames[0] ?? []).toString(), event.from, event.channel);
  }

  /** The first event (already seen or next) matching `check`; rejects after `ms`. */
  next(check: (e: SessionEvent) => boolean, ms = 5000): Promise<SessionEvent> {
    const seen = this.events.find(check);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('session event not seen in time')), ms);
      this.waiters.push({
        check,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }
}

const text = (s: string): Buffer[] => [Buffer.from(s)];
const closers: (() => unknown)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

async function startServer(
  session: ScriptedSession,
  extra: Partial<SessionServerOptions> = {},
): Promise<{ server: SessionServer; lines: string[] }> {
  const lines: string[] = [];
  const logger = createFuncLogger((level, message) => lines.push(`${level} ${message}`));
  const server = await withFreeBasePort((port) =>
    SessionServer.start({ port, host: '127.0.0.1', session, logger, ...extra }),
  );
  closers.push(() => server.close());
  return { server, lines };
}

function dealer(server: SessionServer, channel: Channel, id: Buffer, extra: object = {}): DealerConnection {
  const conn = new DealerConnection({ channel, endpoint: server.endpoints[channel], routingId: id, ...extra });
  closers.push(() => conn.close());
  return conn;
}

async function firstMessage(conn: DealerConnection): Promise<string> {
  for await (const frames of conn.messages()) return frames[0].toString();
  throw new Error('connection closed');
}

describe('SessionServer over real sockets', () => {
  test('a data push reaches a DEALER that connected but never sent anything on that socket', async () => {
    const session = new ScriptedSession((msg, from) =>
      msg === 'push' ? [{ type: 'send', channel: 'data', to: [from], frames: text('node update') }] : [],
    );
    const { server } = await startServer(session);
    const id = Buffer.concat([Buffer.from([0]), randomBytes(15)]); // a leading 0x00 occurs in real uuids
    const data = dealer(server, 'data', id);
    const command = dealer(server, 'command', id);
    const received = firstMessage(data);
    await command.send(text('push'));
    assert.equal(await received, 'node update');
    const ev = await session.next((e) => e.type === 'message');
    assert.equal(ev.type === 'message' && ev.from, id.toString('hex'));
  });

  test('a message the session throws on is logged and the receive loop goes on', async () => {
    const session = new ScriptedSession((msg, from, channel) => {
      if (msg === 'boom') throw new Error('session bug');
      return [{ type: 'send', channel, to: [from], frames: text(`echo ${msg}`) }];
    });
    const { server, lines } = await startServer(session);
    const id = randomBytes(16);
    for (const channel of ['command', 'data', 'heartbeat'] as const) {
      const conn = dealer(server, channel, id);
      const reply = firstMessage(conn);
      await conn.send(text('boom'));
      await conn.send(text('after'));
      assert.equal(await reply, 'echo after');
    }
    assert.equal(server.stats().sessionErrors, 3);
    assert.ok(lines.some((l) => l.startsWith('error Session failed on a message event: session bug')));
  });

  test('a client that stops reading is dropped at its queue bound while another keeps receiving everything', async () => {
    const big = Buffer.alloc(256 * 1024, 7);
    const rounds = 300; // 75 MB offered to the silent client: far beyond TCP buffers + HWM + queue
    let slowId = '';
    const session: ScriptedSession = new ScriptedSession((msg, from): Effect[] => {
      if (msg === 'slow') slowId = from;
      if (msg === 'again') return [{ type: 'send', channel: 'data', to: [from], frames: text('welcome back') }];
      if (!msg.startsWith('next ')) return [];
      // The reader paces the writer (one message in flight), so only the silent client falls behind.
      // Like the real session, stop addressing a client once its drop was reported.
      const slowGone = session.events.some((e: SessionEvent) => e.type === 'dropped');
      const to = slowGone ? [from] : [slowId, from];
      return [{ type: 'send', channel: 'data', to, frames: [Buffer.from(msg.slice(5)), big] }];
    });
    const { server, lines } = await startServer(session, {
      sendQueue: { maxMessages: 8, maxBytes: 1024 * 1024 },
      tuning: { sendHighWaterMark: 4 },
    });
    const slow = randomBytes(16);
    const fast = randomBytes(16);
    const slowCommand = dealer(server, 'command', slow);
    const slowData = dealer(server, 'data', slow, { receiveHighWaterMark: 1 }); // connected, not read for now
    const fastCommand = dealer(server, 'command', fast);
    const fastData = dealer(server, 'data', fast);
    await slowCommand.send(text('slow'));
    await session.next((e) => e.type === 'message' && e.from === slow.toString('hex'));

    const got: string[] = [];
    await fastCommand.send(text('next n0'));
    for await (const frames of fastData.messages()) {
      got.push(frames[0].toString());
      if (got.length === rounds) break;
      await fastCommand.send(text(`next n${got.length}`));
    }
    assert.deepEqual(
      got,
      Array.from({ length: rounds }, (_, i) => `n${i}`),
    );
    const dropped = await session.next((e) => e.type === 'dropped', 1000);
    assert.equal(dropped.type === 'dropped' && dropped.client, slow.toString('hex'));
    assert.equal(session.events.filter((e) => e.type === 'dropped').length, 1, 'dropped once, the reader never');
    const dropLine = lines.find((l) => l.includes('Dropping client'));
    assert.ok(dropLine?.startsWith('warn Dropping client ' + slow.toString('hex')), dropLine);
    assert.match(dropLine ?? '', /send queue on the data socket is full/);
    assert.deepEqual(server.queuedFor(slow.toString('hex')).data, { messages: 0, bytes: 0 });

    // What reached the dropped client is a gap-free prefix; once the drop was handled, the same
    // identity is served again (a new login must not be silently ignored).
    await slowCommand.send(text('again'));
    const backlog: string[] = [];
    for await (const frames of slowData.messages()) {
      const label = frames[0].toString();
      if (label === 'welcome back') break;
      backlog.push(label);
    }
    assert.ok(backlog.length < rounds);
    assert.deepEqual(
      backlog,
      Array.from({ length: backlog.length }, (_, i) => `n${i}`),
    );
  });

  test('a port already in use fails with NET_ADDRESS_IN_USE naming the port, and nothing stays bound', async () => {
    const base = await pickBasePort();
    const occupant: Server = createServer();
    await new Promise<void>((resolve) => occupant.listen(base + 2, '127.0.0.1', resolve));
    try {
      const session = new ScriptedSession(() => []);
      await assert.rejects(SessionServer.start({ port: base, host: '127.0.0.1', session }), (err: unknown) => {
        assert.ok(err instanceof NetError);
        assert.equal(err.code, 'NET_ADDRESS_IN_USE');
        assert.match(err.message, new RegExp(`port ${base + 2} \\(heartbeat\\)`));
        return true;
      });
    } finally {
      await new Promise((resolve) => occupant.close(resolve));
    }
    // The command and data sockets bound before the failure were closed: the same port starts now.
    const server = await SessionServer.start({ port: base, host: '127.0.0.1', session: new ScriptedSession(() => []) });
    await server.close();
  });

  test('a port range past 65535 is refused before binding', async () => {
    const session = new ScriptedSession(() => []);
    await assert.rejects(SessionServer.start({ port: 65534, session }), (err: unknown) => {
      assert.ok(err instanceof NetError);
      assert.equal(err.code, 'NET_BIND');
      return true;
    });
  });

  test('log effects with a key are rate limited, those without are not', async () => {
    const session = new ScriptedSession((msg, from) => {
      if (msg === 'bad') return [{ type: 'log', level: 'warn', message: 'bad frame', key: `bad:${from}` }];
      if (msg === 'plain') return [{ type: 'log', level: 'info', message: 'plain line' }];
      return [{ type: 'send', channel: 'command', to: [from], frames: text('sync') }];
    });
    const { server, lines } = await startServer(session, { logLimits: { burst: 3, windowMs: 60_000 } });
    const conn = dealer(server, 'command', randomBytes(16));
    const reply = firstMessage(conn);
    for (let i = 0; i < 20; i++) await conn.send(text('bad'));
    for (let i = 0; i < 4; i++) await conn.send(text('plain'));
    await conn.send(text('sync'));
    await reply;
    assert.equal(lines.filter((l) => l === 'warn bad frame').length, 3);
    assert.equal(lines.filter((l) => l === 'info plain line').length, 4);
  });

  test('the tick event arrives periodically with a growing now', async () => {
    const session = new ScriptedSession(() => []);
    await startServer(session, { tickIntervalMs: 10 });
    const first = await session.next((e) => e.type === 'tick');
    const later = await session.next((e) => e.type === 'tick' && e !== first);
    assert.ok(later.now >= first.now);
  });

  test('close ends the receive loops, is idempotent, and frees the ports', async () => {
    const session = new ScriptedSession(() => []);
    const { server } = await startServer(session);
    const port = server.port;
    await server.close();
    await server.close();
    const again = await SessionServer.start({ port, host: '127.0.0.1', session });
    assert.deepEqual(again.endpoints, channelEndpoints('127.0.0.1', port));
    await again.close();
  });
});

describe('drained', () => {
  test('resolves true once the last connection closes, false at the timeout while one stays open', async () => {
    const session = new ScriptedSession(() => []);
    const { server } = await startServer(session);
    const conn = dealer(server, 'command', randomBytes(5));
    await conn.send(text('hello'));
    // The session saw the message: the connection was admitted and is counted.
    await session.next((e) => e.type === 'message');
    assert.equal(server.connectionCount, 1);
    assert.equal(await server.drained(100), false, 'the connection is still open at the timeout');
    const drained = server.drained(30_000);
    conn.close();
    assert.equal(await drained, true);
    assert.equal(server.connectionCount, 0);
    assert.equal(await server.drained(30_000), true, 'nothing open: at once');
  });
});
