/**
 * A child process that opens many connections to a server port, so the server's process (the
 * test) and the attacker each hold one end within the fd limit. Run with node:
 *   conn-flood.js hold PORT N            N connections that never send a byte; reports when all
 *                                        are open, then when the server has closed them all
 *   conn-flood.js strangers PORT N C     N strangers, C at a time: ZMTP handshake, one
 *                                        RequestServerInfo or failing Auth, wait for the reply,
 *                                        close
 * Prints one JSON line per report on stdout.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';

import { encodeAuthRequest, encodeServerInfoRequest } from '../../src/client/index.js';
import {
  encodeCommandBody,
  encodeProperties,
  encodeCommandFrame,
  encodeMessage,
  FrameReader,
  encodeGreeting,
} from '../../src/net/index.js';

const [mode, portText, countText, concurrencyText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);

function connect(): Promise<Socket> {
  const s = createConnection({ host: '127.0.0.1', port });
  s.on('error', () => undefined);
  return once(s, 'connect').then(() => s);
}

async function hold(): Promise<void> {
  const started = performance.now();
  let closedCount = 0;
  let resolveAll: () => void = () => undefined;
  const allClosed = new Promise<void>((resolve) => (resolveAll = resolve));
  for (let i = 0; i < count; i += 200) {
    const batch = await Promise.all(Array.from({ length: Math.min(200, count - i) }, () => connect()));
    for (const s of batch) {
      s.resume();
      s.on('close', () => {
        if (++closedCount === count) resolveAll();
      });
    }
  }
  console.log(JSON.stringify({ open: count, ms: Math.round(performance.now() - started) }));
  await allClosed;
  console.log(JSON.stringify({ closed: closedCount, ms: Math.round(performance.now() - started) }));
}

const GREETING = encodeGreeting();
const READY_FRAMES = (id: Buffer): Buffer =>
  encodeCommandFrame(
    encodeCommandBody(
      'READY',
      encodeProperties([
        ['Socket-Type', Buffer.from('DEALER')],
        ['Identity', id],
      ]),
    ),
  );
const INFO = Buffer.concat(encodeMessage(encodeServerInfoRequest()));
const BAD_AUTH = (name: string): Buffer =>
  Buffer.concat(encodeMessage(encodeAuthRequest({ username: name, adminPassword: 'wrong' })));

/** One stranger: handshake, one request, the reply, close. Resolves true when a reply came. */
async function stranger(i: number): Promise<boolean> {
  const s = await connect();
  const id = randomBytes(16);
  s.write(Buffer.concat([GREETING, READY_FRAMES(id), i % 2 === 0 ? INFO : BAD_AUTH(`stranger${i}`)]));
  let greeting = 0;
  const replied = await new Promise<boolean>((resolve) => {
    const reader = new FrameReader(
      {
        budget: () => ({ maxFrames: 16, maxFrameBytes: 1 << 20, maxMessageBytes: 1 << 20 }),
        message: () => resolve(true),
        command: () => undefined,
      },
      4096,
    );
    s.on('data', (c: Buffer) => {
      let rest = c;
      if (greeting < 64) {
        const take = Math.min(64 - greeting, c.length);
        greeting += take;
        rest = c.subarray(take);
      }
      if (rest.length > 0) reader.push(rest);
    });
    s.on('close', () => resolve(false));
  });
  s.destroy();
  return replied;
}

async function strangers(): Promise<void> {
  const started = performance.now();
  const concurrency = Number(concurrencyText);
  let next = 0;
  let replies = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      if (await stranger(next++)) replies++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  console.log(JSON.stringify({ strangers: count, replies, ms: Math.round(performance.now() - started) }));
}

await (mode === 'hold' ? hold() : strangers());
