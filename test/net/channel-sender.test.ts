/**
 * The per-socket send queue, driven through a fake `send` that fails the way a mandatory ROUTER
 * does (`EAGAIN` for a full pipe, `EHOSTUNREACH` for a peer that is not connected).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ChannelSender, messageParts, type OverflowInfo, type SendQueueLimits } from '../../src/net/channel-sender.js';

class Errno extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

/** A fake socket: records what went out per identity; `refuse` decides per identity whether to fail. */
class FakeSocket {
  readonly delivered = new Map<string, string[]>();
  refuse = new Map<string, string>();
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  readonly send = async (parts: Uint8Array[]): Promise<void> => {
    const id = Buffer.from(parts[0]).toString('hex');
    const code = this.refuse.get(id);
    if (code !== undefined) throw new Errno(code);
    const list = this.delivered.get(id) ?? [];
    list.push(Buffer.from(parts[1]).toString());
    this.delivered.set(id, list);
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  };

  got(id: string): string[] {
    return this.delivered.get(id) ?? [];
  }

  /** Resolves once `check` holds after a delivery; rejects after `ms`. */
  until(check: () => boolean, ms = 2000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('condition not reached in time')), ms);
      this.waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

const A = 'aa'.repeat(16);
const B = 'bb'.repeat(16);
const id = (hex: string): Buffer => Buffer.from(hex, 'hex');
const frame = (s: string): Uint8Array[] => messageParts([Buffer.from(s)]);

function makeSender(
  sock: FakeSocket,
  limits: SendQueueLimits = { maxMessages: 100, maxBytes: 1 << 20 },
): { sender: ChannelSender; overflows: OverflowInfo[]; errors: string[] } {
  const overflows: OverflowInfo[] = [];
  const errors: string[] = [];
  const sender = new ChannelSender({
    channel: 'data',
    send: sock.send,
    limits,
    now: () => performance.now(),
    onOverflow: (info) => overflows.push(info),
    onSendError: (client) => errors.push(client),
  });
  return { sender, overflows, errors };
}

/** Lets the drain loop run its pending microtasks. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ChannelSender', () => {
  test('messages to a client that keeps up leave at once and in submission order', async () => {
    const sock = new FakeSocket();
    const { sender } = makeSender(sock);
    for (let i = 0; i < 50; i++) sender.submit(A, id(A), frame(`m${i}`), 2);
    await sock.until(() => sock.got(A).length === 50);
    await settle();
    assert.deepEqual(
      sock.got(A),
      Array.from({ length: 50 }, (_, i) => `m${i}`),
    );
    assert.equal(sender.stats().sent, 50);
    sender.close();
  });

  test('a full client waits in its own queue, in order, while other clients are served', async () => {
    const sock = new FakeSocket();
    const { sender, overflows } = makeSender(sock);
    sock.refuse.set(A, 'EAGAIN');
    for (let i = 0; i < 5; i++) {
      sender.submit(A, id(A), frame(`a${i}`), 2);
      sender.submit(B, id(B), frame(`b${i}`), 2);
    }
    await sock.until(() => sock.got(B).length === 5);
    await settle();
    assert.deepEqual(sender.queued(A), { messages: 5, bytes: 10 });
    assert.equal(sock.got(A).length, 0);
    sock.refuse.delete(A);
    await sock.until(() => sock.got(A).length === 5);
    await settle();
    assert.deepEqual(sock.got(A), ['a0', 'a1', 'a2', 'a3', 'a4']);
    assert.deepEqual(sender.queued(A), { messages: 0, bytes: 0 });
    assert.equal(overflows.length, 0);
    sender.close();
  });

  test('messages submitted while a client is blocked are appended behind the waiting ones', async () => {
    const sock = new FakeSocket();
    const { sender } = makeSender(sock);
    sock.refuse.set(A, 'EHOSTUNREACH');
    sender.submit(A, id(A), frame('first'), 5);
    await settle();
    assert.equal(sender.queued(A).messages, 1);
    sender.submit(A, id(A), frame('second'), 6);
    sock.refuse.delete(A);
    sender.submit(A, id(A), frame('third'), 5);
    await sock.until(() => sock.got(A).length === 3);
    assert.deepEqual(sock.got(A), ['first', 'second', 'third']);
    sender.close();
  });

  test('a client whose queue passes the message bound is dropped once and gets nothing more', async () => {
    const sock = new FakeSocket();
    const { sender, overflows } = makeSender(sock, { maxMessages: 3, maxBytes: 1 << 20 });
    sock.refuse.set(A, 'EAGAIN');
    for (let i = 0; i < 10; i++) sender.submit(A, id(A), frame(`a${i}`), 2);
    await settle();
    assert.equal(overflows.length, 1);
    assert.equal(overflows[0].client, A);
    assert.equal(overflows[0].channel, 'data');
    assert.equal(overflows[0].messages, 3);
    assert.equal(overflows[0].reason, 'full');
    assert.deepEqual(sender.queued(A), { messages: 0, bytes: 0 });
    assert.equal(sender.stats().queuedMessages, 0);
    sock.refuse.delete(A);
    sender.submit(A, id(A), frame('after-drop'), 10);
    await settle();
    assert.deepEqual(sock.got(A), [], 'a dropped client never receives a stream with a hole');
    sender.close();
  });

  test('the byte bound drops a client, but one big message alone is always accepted into an empty queue', async () => {
    const sock = new FakeSocket();
    const { sender, overflows } = makeSender(sock, { maxMessages: 100, maxBytes: 100 });
    sock.refuse.set(A, 'EAGAIN');
    sender.submit(A, id(A), frame('big'), 1000);
    await settle();
    assert.deepEqual(sender.queued(A), { messages: 1, bytes: 1000 });
    assert.equal(overflows.length, 0);
    sender.submit(A, id(A), frame('small'), 1);
    await settle();
    assert.equal(overflows.length, 1);
    assert.equal(overflows[0].bytes, 1000);
    sender.close();
  });

  test('after forget a dropped client can be served again (a new login with the same identity)', async () => {
    const sock = new FakeSocket();
    const { sender, overflows } = makeSender(sock, { maxMessages: 1, maxBytes: 100 });
    sock.refuse.set(A, 'EAGAIN');
    sender.submit(A, id(A), frame('x'), 1);
    sender.submit(A, id(A), frame('y'), 1);
    await settle();
    assert.equal(overflows.length, 1);
    sender.forget(A);
    sock.refuse.delete(A);
    sender.submit(A, id(A), frame('fresh'), 5);
    await sock.until(() => sock.got(A).length === 1);
    assert.deepEqual(sock.got(A), ['fresh']);
    sender.close();
  });

  test('what was submitted before forget still gets its attempt (a Disconnect before the client is forgotten)', async () => {
    const sock = new FakeSocket();
    const { sender } = makeSender(sock);
    sender.submit(A, id(A), frame('disconnect'), 10);
    sender.forget(A);
    await sock.until(() => sock.got(A).length === 1);
    assert.deepEqual(sock.got(A), ['disconnect']);
    sender.close();
  });

  test('forget releases the queue of a client that was blocked', async () => {
    const sock = new FakeSocket();
    const { sender } = makeSender(sock);
    sock.refuse.set(A, 'EHOSTUNREACH');
    sender.submit(A, id(A), frame('lost'), 4);
    sender.forget(A);
    await settle();
    assert.deepEqual(sender.queued(A), { messages: 0, bytes: 0 });
    assert.equal(sender.stats().blockedClients, 0);
    sender.close();
  });

  test('an unexpected send error drops the client and reports it', async () => {
    const sock = new FakeSocket();
    const { sender, errors } = makeSender(sock);
    sock.refuse.set(A, 'EPROTO');
    sender.submit(A, id(A), frame('x'), 1);
    sender.submit(B, id(B), frame('y'), 1);
    await sock.until(() => sock.got(B).length === 1);
    assert.deepEqual(errors, [A]);
    sock.refuse.delete(A);
    sender.submit(A, id(A), frame('z'), 1);
    await settle();
    assert.deepEqual(sock.got(A), []);
    sender.close();
  });
});
