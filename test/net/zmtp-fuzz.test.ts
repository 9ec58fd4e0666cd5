/**
 * The ZMTP decoders fuzzed: 1,000,000 seeded mutations of a valid stream (byte flips, cuts,
 * inserted bytes, random chunking) through the frame reader, and of READY/PING bodies through the
 * command parsers. Nothing throws, nothing passes a budget, memory stays bounded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  encodeCommandBody,
  encodeProperties,
  parseCommand,
  parsePing,
  parseProperties,
} from '../../src/net/zmtp/commands.js';
import { encodeFrameHeader, encodeMessage, FrameReader, type FrameBudget } from '../../src/net/zmtp/frames.js';
import { checkGreetingHead, encodeGreeting, parseGreeting } from '../../src/net/zmtp/greeting.js';

/** xorshift32, seeded: the same inputs on every run. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

const INPUTS = 1_000_000;
const BUDGET: FrameBudget = { maxFrames: 8, maxFrameBytes: 512, maxMessageBytes: 1024 };

test('1,000,000 mutated inputs: no throw, budgets hold, memory bounded', () => {
  const rand = prng(0xc0ffee);
  const int = (n: number): number => Math.floor(rand() * n);
  const ready = encodeCommandBody(
    'READY',
    encodeProperties([
      ['Socket-Type', Buffer.from('DEALER')],
      ['Identity', Buffer.from('0123456789abcdef')],
    ]),
  );
  const base = Buffer.concat([
    encodeFrameHeader(ready.length, false, true),
    ready,
    ...encodeMessage([Buffer.from([0x80, 4, 0x4b, 9, 0x2e]), Buffer.from('alice'), Buffer.alloc(300, 7)]),
    ...encodeMessage([Buffer.alloc(0), Buffer.alloc(0)]),
    encodeFrameHeader(7, false, true),
    encodeCommandBody('PING', Buffer.from([0, 10, 1, 2])),
  ]);
  const greeting = encodeGreeting();
  let delivered = 0;
  let errors = 0;
  let overBudget = 0;
  const scratch = Buffer.alloc(base.length + 64);
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  for (let i = 0; i < INPUTS; i++) {
    // Mutate a copy of the base stream.
    let len = base.length;
    base.copy(scratch);
    const edits = 1 + int(4);
    for (let e = 0; e < edits; e++) {
      const kind = int(4);
      if (kind === 0) scratch[int(len)] = int(256);
      else if (kind === 1) scratch[int(len)] ^= 1 << int(8);
      else if (kind === 2) len = 1 + int(len);
      else if (len < scratch.length) {
        const at = int(len);
        scratch.copy(scratch, at + 1, at, len);
        scratch[at] = int(256);
        len++;
      }
    }
    const input = scratch.subarray(0, len);
    const reader = new FrameReader(
      {
        budget: () => BUDGET,
        message: (frames) => {
          delivered++;
          let bytes = 0;
          for (const f of frames) bytes += f.length;
          if (frames.length > BUDGET.maxFrames || bytes > BUDGET.maxMessageBytes) overBudget++;
        },
        command: (body) => {
          const c = parseCommand(body);
          if ('name' in c) {
            parseProperties(c.data);
            parsePing(c.data);
          }
        },
      },
      256,
    );
    // Random chunking.
    let at = 0;
    while (at < len) {
      const n = 1 + int(len - at);
      if (reader.push(input.subarray(at, at + n)) !== null) {
        errors++;
        break;
      }
      at += n;
    }
    if ((i & 7) === 0) {
      const g = Buffer.from(greeting);
      g[int(64)] = int(256);
      checkGreetingHead(g.subarray(0, int(65)));
      parseGreeting(g);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const rssGrowth = process.memoryUsage().rss - rssBefore;
  assert.equal(overBudget, 0);
  assert.ok(delivered > 0 && errors > 0, `both paths exercised (delivered ${delivered}, errors ${errors})`);
  assert.ok(rssGrowth < 64 * 1024 * 1024, `RSS grew ${rssGrowth} bytes`);
  assert.ok(seconds < 25, `took ${seconds.toFixed(1)} s`);
});
