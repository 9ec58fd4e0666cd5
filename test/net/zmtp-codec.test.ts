/**
 * The ZMTP codec alone: greeting, commands and properties, and the frame reader fed byte streams
 * split at every point, every malformed header, and every budget checked at the header.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  encodeCommandBody,
  encodeErrorBody,
  encodePingBody,
  encodeProperties,
  encodeReadyBody,
  isCommandError,
  parseCommand,
  parsePing,
  parseProperties,
} from '../../src/net/zmtp/commands.js';
import {
  encodeFrameHeader,
  encodeMessage,
  FrameReader,
  type FrameBudget,
  type FrameError,
} from '../../src/net/zmtp/frames.js';
import { checkGreetingHead, encodeGreeting, isGreetingError, parseGreeting } from '../../src/net/zmtp/greeting.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('greeting', () => {
  test('ours is 64 bytes: signature, version 3.1, NULL, as-server 0, zero filler', () => {
    const g = encodeGreeting();
    assert.equal(g.length, 64);
    assert.deepEqual(g.subarray(0, 12), hex('ff 0000000000000000 7f 03 01'));
    assert.equal(g.subarray(12, 32).toString('latin1').replace(/\0+$/, ''), 'NULL');
    assert.ok(g.subarray(32).every((b) => b === 0));
  });

  test('3.0 and 3.1 greetings parse, and every prefix of them passes the early check', () => {
    for (const minor of [0, 1]) {
      const g = encodeGreeting(minor);
      for (let n = 0; n <= 64; n++) assert.equal(checkGreetingHead(g.subarray(0, n)), null);
      const parsed = parseGreeting(g);
      assert.ok(!isGreetingError(parsed));
      assert.deepEqual(parsed, { major: 3, minor, mechanism: 'NULL', asServer: false });
    }
  });

  test('a wrong first byte, a ZMTP 1.0 signature and versions below 3 are refused as soon as they show', () => {
    const g = encodeGreeting();
    const bad = Buffer.from(g);
    bad[0] = 0x47; // "GET / HTTP..."
    assert.equal(checkGreetingHead(bad.subarray(0, 1))?.code, 'ZMTP_SIGNATURE');
    const v1 = Buffer.from(g);
    v1[9] = 0x7e;
    assert.equal(checkGreetingHead(v1.subarray(0, 9)), null);
    assert.equal(checkGreetingHead(v1.subarray(0, 10))?.code, 'ZMTP_SIGNATURE');
    for (const major of [1, 2]) {
      const old = Buffer.from(g);
      old[10] = major;
      assert.equal(checkGreetingHead(old.subarray(0, 11))?.code, 'ZMTP_VERSION');
    }
  });

  test('mechanisms other than NULL, or NULL with junk in its padding, are refused', () => {
    for (const name of ['PLAIN', 'CURVE', 'NUL', 'NULLX']) {
      const g = encodeGreeting();
      g.fill(0, 12, 32);
      g.write(name, 12, 'latin1');
      const r = parseGreeting(g);
      assert.ok(isGreetingError(r) && r.code === 'ZMTP_MECHANISM', name);
    }
    const junk = encodeGreeting();
    junk[20] = 1;
    assert.ok(isGreetingError(parseGreeting(junk)));
  });
});

describe('commands', () => {
  test('a command body splits into name and data; empty, nameless and overlong names are malformed', () => {
    const c = parseCommand(encodeCommandBody('PING', hex('0001')));
    assert.ok(!isCommandError(c));
    assert.equal(c.name, 'PING');
    assert.deepEqual(c.data, hex('0001'));
    for (const body of [hex(''), hex('00'), hex('05 50 49 4e 47'), hex('ff 41')]) {
      assert.ok(isCommandError(parseCommand(body)), body.toString('hex'));
    }
  });

  test('properties round-trip with case-insensitive names; every truncation point is malformed', () => {
    const data = encodeProperties([
      ['Socket-Type', Buffer.from('DEALER')],
      ['Identity', hex('00 01 02')],
    ]);
    const props = parseProperties(data);
    assert.ok(!isCommandError(props));
    assert.equal(props.get('socket-type')?.toString(), 'DEALER');
    assert.deepEqual(props.get('identity'), hex('00 01 02'));
    const boundaries = new Set([0, 1 + 11 + 4 + 6, data.length]);
    for (let n = 1; n < data.length; n++) {
      if (boundaries.has(n)) continue;
      assert.ok(isCommandError(parseProperties(data.subarray(0, n))), `cut at ${n}`);
    }
    assert.ok(isCommandError(parseProperties(hex('00 00000000'))), 'empty property name');
    assert.ok(isCommandError(parseProperties(hex('01 41 ffffffff 00'))), 'value length past the end');
  });

  test('READY and ERROR bodies are what a libzmq peer parses', () => {
    const ready = parseCommand(encodeReadyBody('ROUTER', Buffer.from('SERVER_COMMAND')));
    assert.ok(!isCommandError(ready) && ready.name === 'READY');
    const props = parseProperties(ready.data);
    assert.ok(!isCommandError(props));
    assert.equal(props.get('socket-type')?.toString(), 'ROUTER');
    assert.equal(props.get('identity')?.toString(), 'SERVER_COMMAND');
    assert.deepEqual(encodeErrorBody('bad'), hex('05 4552524f52 03 626164'));
  });

  test('PING needs a TTL and at most 16 bytes of context', () => {
    const ping = parseCommand(encodePingBody(100, Buffer.from('ctx')));
    assert.ok(!isCommandError(ping));
    assert.deepEqual(parsePing(ping.data), { ttl: 100, context: Buffer.from('ctx') });
    assert.ok(isCommandError(parsePing(hex('00'))));
    assert.ok(isCommandError(parsePing(Buffer.alloc(2 + 17))));
    assert.ok(!isCommandError(parsePing(Buffer.alloc(2 + 16))));
  });
});

const OPEN: FrameBudget = { maxFrames: 16, maxFrameBytes: 1 << 20, maxMessageBytes: 1 << 22 };

/** A reader that records what it delivers. */
function recorder(budget: FrameBudget = OPEN, maxCommandBytes = 4096) {
  const messages: string[][] = [];
  const commands: string[] = [];
  let budgetCalls = 0;
  const reader = new FrameReader(
    {
      budget: () => {
        budgetCalls++;
        return budget;
      },
      message: (frames) => messages.push(frames.map((f) => f.toString('latin1'))),
      command: (body) => commands.push(body.toString('latin1')),
    },
    maxCommandBytes,
  );
  return { reader, messages, commands, budgetCalls: () => budgetCalls };
}

const message = (...frames: string[]): Buffer =>
  Buffer.concat(encodeMessage(frames.map((f) => Buffer.from(f, 'latin1'))));

describe('frame reader', () => {
  const stream = Buffer.concat([
    message('a', '', 'ccc'),
    Buffer.concat([encodeFrameHeader(5, false, true), Buffer.from('\x04PING')]),
    message('x'.repeat(300)), // long size
    message(''),
    Buffer.concat([hex('02 0000000000000002'), Buffer.from('ok')]), // long size for a short body is legal
  ]);
  const expected = [['a', '', 'ccc'], ['x'.repeat(300)], [''], ['ok']];

  test('the same messages come out however the stream is split, and midMessage is true exactly inside one', () => {
    // Offsets between messages and commands: the only places where nothing is half read.
    const boundaries = new Set<number>([0]);
    let at = 0;
    for (const part of [
      message('a', '', 'ccc'),
      Buffer.concat([encodeFrameHeader(5, false, true), Buffer.from('\x04PING')]),
      message('x'.repeat(300)),
      message(''),
    ]) {
      at += part.length;
      boundaries.add(at);
    }
    boundaries.add(stream.length);
    for (let cut = 0; cut <= stream.length; cut++) {
      const r = recorder();
      assert.equal(r.reader.push(stream.subarray(0, cut)), null);
      assert.equal(r.reader.midMessage, !boundaries.has(cut), `midMessage at ${cut}`);
      assert.equal(r.reader.push(stream.subarray(cut)), null);
      assert.deepEqual(r.messages, expected, `cut at ${cut}`);
      assert.deepEqual(r.commands, ['\x04PING']);
    }
    const r = recorder();
    for (let i = 0; i < stream.length; i++) {
      assert.equal(r.reader.push(stream.subarray(i, i + 1)), null);
    }
    assert.deepEqual(r.messages, expected, 'byte by byte');
    assert.equal(r.reader.midMessage, false);
  });

  test('every truncation point inside a message leaves it undelivered and midMessage set', () => {
    const m = message('ab', 'x'.repeat(300));
    for (let n = 1; n < m.length; n++) {
      const r = recorder();
      assert.equal(r.reader.push(m.subarray(0, n)), null);
      assert.deepEqual(r.messages, [], `cut at ${n}`);
      assert.equal(r.reader.midMessage, true, `cut at ${n}`);
    }
  });

  test('the budget is asked once per message, at its first header', () => {
    const r = recorder();
    r.reader.push(Buffer.concat([message('a', 'b', 'c'), message('d')]));
    assert.equal(r.budgetCalls(), 2);
  });

  const fails = (bytes: Buffer, code: FrameError['code'], budget: FrameBudget = OPEN, maxCommandBytes = 4096) => {
    const r = recorder(budget, maxCommandBytes);
    const err = r.reader.push(bytes);
    assert.equal(err?.code, code, bytes.subarray(0, 24).toString('hex'));
    assert.deepEqual(r.messages, []);
    // Stopped: nothing more is read.
    assert.equal(r.reader.push(message('later')), null);
    assert.deepEqual(r.messages, []);
    return err as FrameError;
  };

  test('every reserved flag bit is refused at the flags byte', () => {
    for (let bit = 3; bit < 8; bit++) fails(Buffer.from([1 << bit]), 'ZMTP_RESERVED_FLAGS');
  });

  test('a command with MORE, or inside a multipart message, is refused', () => {
    fails(hex('05'), 'ZMTP_COMMAND_MORE');
    fails(hex('01 01 61 04'), 'ZMTP_COMMAND_IN_MESSAGE');
  });

  test('a command larger than its bound is refused at its header', () => {
    fails(hex('04 ff'), 'ZMTP_COMMAND_BYTES', OPEN, 100);
    fails(hex('06 0000000100000000'), 'ZMTP_COMMAND_BYTES', OPEN, 100);
  });

  test('frames per message: the last allowed frame passes, the next header fails before its body', () => {
    const b: FrameBudget = { maxFrames: 3, maxFrameBytes: 100, maxMessageBytes: 1000 };
    const r = recorder(b);
    assert.equal(r.reader.push(message('1', '2', '3')), null);
    assert.deepEqual(r.messages, [['1', '2', '3']]);
    const err = fails(hex('01 00 01 00 01 00 01 00'), 'BUDGET_FRAMES', b);
    assert.equal(err.limit, 3);
  });

  test('bytes per frame and per message are checked at the header, short and long sizes alike', () => {
    const b: FrameBudget = { maxFrames: 8, maxFrameBytes: 100, maxMessageBytes: 150 };
    fails(hex('00 65'), 'BUDGET_FRAME_BYTES', b); // 101, short size, no body sent
    fails(hex('02 0000000000000065'), 'BUDGET_FRAME_BYTES', b);
    const huge = fails(hex('02 ffffffffffffffff'), 'BUDGET_FRAME_BYTES', b);
    assert.match(huge.reason, /2\^53/);
    fails(Buffer.concat([hex('01 64'), Buffer.alloc(100), hex('00 33')]), 'BUDGET_MESSAGE_BYTES', b); // 100 + 51
    const r = recorder(b);
    assert.equal(r.reader.push(Buffer.concat([hex('01 64'), Buffer.alloc(100), hex('00 32'), Buffer.alloc(50)])), null);
    assert.equal(r.messages.length, 1);
  });

  test('a long size split across chunks is read whole', () => {
    const m = message('y'.repeat(70_000));
    const r = recorder();
    r.reader.push(m.subarray(0, 4));
    r.reader.push(m.subarray(4, 7));
    r.reader.push(m.subarray(7));
    assert.deepEqual(r.messages, [['y'.repeat(70_000)]]);
  });

  test('encodeMessage coalesces headers and small frames and passes large frames by reference', () => {
    const big = Buffer.alloc(100_000, 1);
    const chunks = encodeMessage([Buffer.from('t'), big, Buffer.from('u')]);
    assert.equal(chunks.length, 3);
    assert.equal(chunks[1], big, 'the same Buffer, not a copy');
    const r = recorder({ ...OPEN, maxFrameBytes: 200_000 });
    r.reader.push(Buffer.concat(chunks));
    assert.equal(r.messages.length, 1);
    assert.equal(r.messages[0][1].length, 100_000);
    assert.equal(encodeMessage([Buffer.from('a'), Buffer.from('b')]).length, 1);
  });

  test('encodeMessage writes the bytes of a header-by-header encoding, whatever the mix of sizes', () => {
    const sizes = [[0], [255], [256], [0, 0, 0], [1, 300, 20_000, 0, 10], [20_000], [17_000, 17_000], [16_384, 16_385]];
    for (const s of sizes) {
      const frames = s.map((n, i) => Buffer.alloc(n, i + 1));
      const expected = Buffer.concat(frames.flatMap((f, i) => [encodeFrameHeader(f.length, i < frames.length - 1), f]));
      const chunks = encodeMessage(frames);
      assert.deepEqual(Buffer.concat(chunks), expected, `sizes ${s.join(',')}`);
      for (const f of frames) if (f.length > 16 * 1024) assert.ok(chunks.includes(f), 'a large frame by reference');
    }
  });
});
