/**
 * Many readers whose connections are `full` at once cost the server no CPU while they stall: the
 * per-client queues wait for their connection to have room again instead of retrying on timers,
 * and once the readers read again every message arrives, in order, with nothing lost.
 *
 * The readers are bare ZMTP peers over node:net (our codec), so a reader can stop reading its
 * socket outright (`pause`) and its kernel buffers fill; paused, they cost this process nothing,
 * so the CPU this process uses while they stall is the server's.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { after, test } from 'node:test';

import { createFuncLogger, type Effect, type SessionEvent } from '../../src/session/index.js';
import { SessionServer } from '../../src/net/session-server.js';
import { encodeReadyBody } from '../../src/net/zmtp/commands.js';
import { encodeCommandFrame, encodeMessage, FrameReader } from '../../src/net/zmtp/frames.js';
import { encodeGreeting, GREETING_BYTES } from '../../src/net/zmtp/greeting.js';
import { withFreeBasePort } from '../helpers/ports.js';

const K = 16;
const MESSAGES = 120;
const PAYLOAD = Buffer.alloc(64 * 1024, 0x5a);

/** A DEALER reduced to what the test needs: handshake, send, count received labels, pause. */
class RawReader {
  readonly labels: string[] = [];
  private greetingLeft = GREETING_BYTES;
  private waiter: (() => void) | undefined;
  private readonly reader = new FrameReader(
    {
      budget: () => ({ maxFrames: 8, maxFrameBytes: 1 << 20, maxMessageBytes: 1 << 21 }),
      message: (frames) => {
        this.labels.push(frames[0].toString());
        this.waiter?.();
      },
      command: () => undefined,
    },
    4096,
  );

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      const skip = Math.min(this.greetingLeft, chunk.length);
      this.greetingLeft -= skip;
      if (skip < chunk.length) assert.equal(this.reader.push(chunk.subarray(skip)), null);
    });
  }

  static async connect(port: number, identity: Buffer): Promise<RawReader> {
    const socket = createConnection({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    socket.write(encodeGreeting(1));
    socket.write(encodeCommandFrame(encodeReadyBody('DEALER', identity)));
    return new RawReader(socket);
  }

  send(text: string): void {
    for (const chunk of encodeMessage([Buffer.from(text)])) this.socket.write(chunk);
  }

  /** Resolves once `n` messages have arrived. */
  async received(n: number): Promise<void> {
    while (this.labels.length < n) await new Promise<void>((resolve) => (this.waiter = resolve));
    this.waiter = undefined;
  }
}

const closers: (() => unknown)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

test('readers whose connections are all full cost no CPU while stalled, then get every message in order', async () => {
  const readers: string[] = [];
  const session = {
    handle(e: SessionEvent): Effect[] {
      if (e.type !== 'message') return [];
      const text = Buffer.from(e.frames[0] ?? []).toString();
      if (text === 'reader') readers.push(e.from);
      if (text !== 'burst') return [];
      return Array.from({ length: MESSAGES }, (_, i) => ({
        type: 'send' as const,
        channel: 'data' as const,
        to: readers,
        frames: [Buffer.from(`m${i}`), PAYLOAD],
      }));
    },
  };
  const server = await withFreeBasePort((port) =>
    SessionServer.start({
      port,
      host: '127.0.0.1',
      session,
      logger: createFuncLogger(() => undefined),
      // Small marks so the connections are full after a few messages; queues far from their bound.
      tuning: { sendHighWaterMark: 4, sendHighWaterBytes: 256 * 1024 },
    }),
  );
  closers.push(() => server.close());
  const dataPort = server.port + 1;

  const all: RawReader[] = [];
  for (let i = 0; i < K; i++) {
    const r = await RawReader.connect(dataPort, randomBytes(16));
    closers.push(() => r.socket.destroy());
    r.socket.pause();
    r.send('reader');
    all.push(r);
  }
  while (readers.length < K) await new Promise((resolve) => setImmediate(resolve));

  // Every reader is offered ~7.5 MB it does not read: kernel buffers, the marks, then its queue.
  const producer = await RawReader.connect(dataPort, randomBytes(16));
  closers.push(() => producer.socket.destroy());
  producer.send('burst');
  const stats = (): { queued: number; retries: number } => {
    const s = server.stats().send.data;
    return { queued: s.queuedMessages, retries: s.retries };
  };
  while (stats().queued === 0 || server.stats().received.data < K + 1) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // The kernel buffers take a while to fill on a loaded machine: wait until the queues stop
  // moving (the same count over 500 ms), i.e. every reader's connection is full.
  for (let last = -1, since = performance.now(); ; await new Promise((resolve) => setTimeout(resolve, 50))) {
    const queued = stats().queued;
    if (queued !== last) [last, since] = [queued, performance.now()];
    else if (performance.now() - since >= 500) break;
  }
  const before = stats();
  assert.ok(before.queued > K, `every reader has messages waiting (${before.queued} queued)`);
  assert.equal(server.stats().send.data.blockedClients, K);

  const cpu0 = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const during = stats();
  assert.equal(during.retries, before.retries, 'no send is retried while no reader reads');
  assert.equal(during.queued, before.queued);
  assert.ok(cpuMs < 300, `server CPU while ${K} readers stall for 2 s: ${cpuMs.toFixed(1)} ms`);

  for (const r of all) r.socket.resume();
  await Promise.all(all.map((r) => r.received(MESSAGES)));
  const expected = Array.from({ length: MESSAGES }, (_, i) => `m${i}`);
  for (const r of all) assert.deepEqual(r.labels, expected);
  assert.equal(server.stats().send.data.droppedClients, 0);
  assert.equal(server.stats().send.data.queuedMessages, 0);
});
