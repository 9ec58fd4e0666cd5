import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { encodePickle, PickleError, PyDict, PyTuple, pyInt, type PyValue } from '../../src/pickle/index.js';
import {
  decodeHeartbeat,
  decodeMessage,
  encodeTextFrame,
  MessageType,
  ProtocolError,
  typeFrame,
  type ProtocolErrorCode,
  type ProtocolLimits,
} from '../../src/protocol/index.js';
import { loadJsonl } from '../helpers/fixtures.js';

const b64 = (s: string): Buffer => Buffer.from(s, 'base64');
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Asserts that decoding throws a ProtocolError with `code` (and nothing else ever escapes). */
function assertRejects(frames: Uint8Array[], code: ProtocolErrorCode, limits?: Partial<ProtocolLimits>): ProtocolError {
  let caught: unknown;
  try {
    decodeMessage(frames, limits);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ProtocolError, `expected a ProtocolError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}

/** Decoding throws a ProtocolError; a successful decode or any other exception fails the test. */
function assertProtocolError(frames: Uint8Array[], what: string): void {
  let caught: unknown;
  try {
    decodeMessage(frames);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ProtocolError, `${what}: expected a ProtocolError, got ${String(caught)}`);
}

/** Decoding either succeeds or throws a ProtocolError; any other exception fails the test. */
function decodeOrProtocolError(frames: Uint8Array[]): void {
  try {
    decodeMessage(frames);
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
  }
}

const captured10 = loadJsonl('captures/10_untrusted_pickle.jsonl');
const hostile = captured10.filter((r) => r.type_num === null && r.socket !== 'ttl');
const printPickle = b64(hostile[0].frames_b64[0]);

const authFrames = (): Buffer[] => [
  typeFrame(MessageType.Auth),
  utf8('alice'),
  encodePickle(PyDict.from([['AUTH_ID', 'alice'] as [PyValue, PyValue]])),
];
const nodeFrames = (): Buffer[] => [
  typeFrame(MessageType.Node),
  utf8('6f1d4c2e-8a3b-4f59-9d7e-2b1c0a9e8f70'),
  utf8('COMMON'),
  encodePickle(['a', 'b']),
  encodePickle(PyDict.from([['type_id', 'Scene'] as [PyValue, PyValue]])),
];
const commitFrames = (): Buffer[] => [
  typeFrame(MessageType.Commit),
  utf8('6f1d4c2e-8a3b-4f59-9d7e-2b1c0a9e8f70'),
  encodePickle([]),
  encodePickle(new PyDict()),
];

describe('frame count', () => {
  test('an empty message is PROTOCOL_FRAME_COUNT', () => {
    assertRejects([], 'PROTOCOL_FRAME_COUNT');
  });

  test('every type with one frame too few is PROTOCOL_FRAME_COUNT (crash: too_few_frames)', () => {
    for (const frames of [authFrames(), nodeFrames(), commitFrames()]) {
      for (let n = 1; n < frames.length; n++) assertRejects(frames.slice(0, n), 'PROTOCOL_FRAME_COUNT');
    }
  });

  test('extra frames are ignored and left out of raw, as the reference ignores them', () => {
    const frames = [...nodeFrames(), utf8('extra'), utf8('more')];
    const msg = decodeMessage(frames);
    assert.equal(msg.type, MessageType.Node);
    assert.equal(msg.raw?.length, 5);
  });

  test('more frames than maxFrames is PROTOCOL_FRAME_COUNT', () => {
    const frames = [...authFrames(), ...Array.from({ length: 14 }, () => utf8('x'))];
    assertRejects(frames, 'PROTOCOL_FRAME_COUNT');
    assert.equal(decodeMessage(frames, { maxFrames: 17 }).type, MessageType.Auth);
  });
});

describe('type frame', () => {
  const cases: [string, Uint8Array][] = [
    ['an empty frame', Buffer.alloc(0)],
    ['plain text', utf8('Auth')],
    ['a pickled str', encodePickle('9')],
    ['a pickled float', encodePickle(9.0)],
    ['a pickled bool', encodePickle(true)],
    ['a pickled None', encodePickle(null)],
    ['a pickled tuple', encodePickle(new PyTuple([pyInt(9)]))],
    ['type number 0', encodePickle(pyInt(0))],
    ['type number 15', encodePickle(pyInt(15))],
    ['type number -9', encodePickle(pyInt(-9))],
    ['type number 2**64 + 9', encodePickle(2n ** 64n + 9n)],
    ['a truncated canonical frame', Buffer.from('80044b09', 'hex')],
    ['a canonical frame with trailing garbage inside the pickle', Buffer.from('80044b09ff2e', 'hex')],
  ];
  for (const [name, frame] of cases) {
    test(`${name} is PROTOCOL_TYPE`, () => {
      assertRejects([frame, utf8('x'), encodePickle(null)], 'PROTOCOL_TYPE');
    });
  }

  test('the frames of capture 10_untrusted_pickle are refused by size before any decoding', () => {
    assert.equal(hostile.length, 2);
    for (const record of hostile) {
      assert.equal(assertRejects(record.frames_b64.map(b64), 'PROTOCOL_FRAME_SIZE').frame, 0);
    }
  });

  test('with a larger type-frame bound the capture 10 frames are PROTOCOL_TYPE: the global is refused, never resolved', () => {
    for (const record of hostile) {
      const err = assertRejects(record.frames_b64.map(b64), 'PROTOCOL_TYPE', { maxTypeFrameBytes: 1024 });
      assert.equal(err.frame, 0);
      assert.ok(err.cause instanceof PickleError);
      assert.equal(err.cause.code, 'PICKLE_FORBIDDEN');
    }
  });

  test('a non-canonical type frame larger than maxTypeFrameBytes is PROTOCOL_FRAME_SIZE', () => {
    const padded = Buffer.concat([Buffer.from('8004', 'hex'), Buffer.alloc(100, 0x4e), Buffer.from('4b092e', 'hex')]);
    assertRejects([padded, utf8('x'), encodePickle(null)], 'PROTOCOL_FRAME_SIZE');
  });
});

describe('pickled frames allow no global', () => {
  test('command data holding a global is PROTOCOL_PICKLE', () => {
    const err = assertRejects([typeFrame(MessageType.Kick), utf8('mallory'), printPickle], 'PROTOCOL_PICKLE');
    assert.equal(err.frame, 2);
  });

  test('a dependency list holding a global is PROTOCOL_PICKLE', () => {
    const frames = nodeFrames();
    frames[3] = printPickle;
    assert.equal(assertRejects(frames, 'PROTOCOL_PICKLE').frame, 3);
  });

  test('a persistent id in command data is PROTOCOL_PICKLE', () => {
    // PROTO 4, SHORT_BINUNICODE '<<NoneType>>', BINPERSID, STOP: how deltas carry NoneType (§5.2).
    const persid = Buffer.concat([Buffer.from('80048c0c', 'hex'), utf8('<<NoneType>>'), Buffer.from('512e', 'hex')]);
    assertRejects([typeFrame(MessageType.UpdateUserMetadata), utf8('bob'), persid], 'PROTOCOL_PICKLE');
  });

  test('undecodable command data is PROTOCOL_PICKLE', () => {
    assertRejects([typeFrame(MessageType.Delete), utf8('client'), utf8('not a pickle')], 'PROTOCOL_PICKLE');
  });

  test('node data and commit deltas are kept raw, not decoded, when the message is decoded', () => {
    const node = nodeFrames();
    node[4] = utf8('not a pickle');
    const msg = decodeMessage(node);
    assert.equal(msg.type === MessageType.Node && Buffer.from(msg.dataBytes).toString(), 'not a pickle');
    const commit = commitFrames();
    commit[3] = printPickle;
    const c = decodeMessage(commit);
    assert.ok(c.type === MessageType.Commit && c.deltaBytes === commit[3]);
  });
});

describe('dependency lists', () => {
  const shapes: [string, PyValue][] = [
    ['a str', 'abc'],
    ['a tuple of str', new PyTuple(['a'])],
    ['a list holding an int', ['a', pyInt(1)]],
    ['a list holding bytes', [utf8('a')]],
    ['a dict', new PyDict()],
  ];
  for (const [name, deps] of shapes) {
    test(`${name} as dependencies is PROTOCOL_SHAPE`, () => {
      const frames = nodeFrames();
      frames[3] = encodePickle(deps);
      assertRejects(frames, 'PROTOCOL_SHAPE');
      const commit = commitFrames();
      commit[2] = encodePickle(deps);
      assertRejects(commit, 'PROTOCOL_SHAPE');
    });
  }

  test('an empty list pickled at protocol 4 or 5 decodes to a fresh [] each time; other protocols and near misses go through the full decoder', () => {
    for (const proto of [4, 5]) {
      const frames = nodeFrames();
      frames[3] = Buffer.from([0x80, proto, 0x5d, 0x94, 0x2e]);
      const a = decodeMessage(frames);
      const b = decodeMessage(frames);
      assert.ok(a.type === MessageType.Node && b.type === MessageType.Node);
      assert.deepEqual(a.deps, []);
      assert.notEqual(a.deps, b.deps, 'a list the caller may change is never shared');
    }
    // Protocol 2 (another empty list, with BINPUT) decodes through the decoder.
    const p2 = nodeFrames();
    p2[3] = Buffer.from([0x80, 0x02, 0x5d, 0x71, 0x00, 0x2e]);
    assert.deepEqual((decodeMessage(p2) as { deps: unknown }).deps, []);
    // An unknown protocol with the same shape is still refused, as the decoder refuses it.
    const p6 = nodeFrames();
    p6[3] = Buffer.from([0x80, 0x06, 0x5d, 0x94, 0x2e]);
    assertRejects(p6, 'PROTOCOL_PICKLE');
    // EMPTY_DICT in the same frame shape is not a list.
    const dict = nodeFrames();
    dict[3] = Buffer.from([0x80, 0x04, 0x7d, 0x94, 0x2e]);
    assertRejects(dict, 'PROTOCOL_SHAPE');
  });

  test('None as dependencies is accepted (§2.2)', () => {
    const commit = commitFrames();
    commit[2] = encodePickle(null);
    const msg = decodeMessage(commit);
    assert.ok(msg.type === MessageType.Commit && msg.deps === null);
  });
});

describe('UTF-8 frames', () => {
  const invalid: [string, string][] = [
    ['a lone continuation byte', '80'],
    ['0xff', 'ff'],
    ['an overlong slash', 'c0af'],
    ['an encoded surrogate', 'eda080'],
    ['a truncated sequence', 'e282'],
  ];
  for (const [name, hex] of invalid) {
    test(`${name} in a node id, owner or uuid is PROTOCOL_UTF8`, () => {
      const bad = Buffer.from(`61${hex}`, 'hex');
      const auth = authFrames();
      auth[1] = bad;
      assert.equal(assertRejects(auth, 'PROTOCOL_UTF8').frame, 1);
      const node = nodeFrames();
      node[2] = bad;
      assert.equal(assertRejects(node, 'PROTOCOL_UTF8').frame, 2);
      const commit = commitFrames();
      commit[1] = bad;
      assertRejects(commit, 'PROTOCOL_UTF8');
    });
  }

  test('a leading BOM is kept as U+FEFF, as Python decodes it', () => {
    const auth = authFrames();
    auth[1] = Buffer.from('efbbbf61', 'hex');
    const msg = decodeMessage(auth);
    assert.ok(msg.type === MessageType.Auth && msg.owner === '\ufeffa');
  });

  test('encoding a string with a lone surrogate is PROTOCOL_UTF8, not a silent U+FFFD', () => {
    assert.throws(
      () => encodeTextFrame('a\ud800', 1),
      (err: unknown) => err instanceof ProtocolError && err.code === 'PROTOCOL_UTF8',
    );
    assert.equal(encodeTextFrame('a\ud83d\ude00', 1).toString('hex'), '61f09f9880');
  });
});

describe('frame sizes', () => {
  test('an owner above maxTextFrameBytes is PROTOCOL_FRAME_SIZE', () => {
    const auth = authFrames();
    auth[1] = utf8('x'.repeat(9));
    assert.equal(assertRejects(auth, 'PROTOCOL_FRAME_SIZE', { maxTextFrameBytes: 8 }).frame, 1);
    assert.equal(decodeMessage(auth, { maxTextFrameBytes: 9 }).type, MessageType.Auth);
  });

  test('command data, node data and deltas above maxPayloadFrameBytes are PROTOCOL_FRAME_SIZE', () => {
    const limits = { maxPayloadFrameBytes: 10 };
    const auth = authFrames();
    assert.ok(auth[2].length > 10);
    assertRejects(auth, 'PROTOCOL_FRAME_SIZE', limits);
    assert.equal(assertRejects(nodeFrames(), 'PROTOCOL_FRAME_SIZE', limits).frame, 4);
    const commit = commitFrames();
    commit[3] = Buffer.alloc(11);
    assert.equal(assertRejects(commit, 'PROTOCOL_FRAME_SIZE', limits).frame, 3);
  });

  test('a dependency list above maxDepsFrameBytes is PROTOCOL_FRAME_SIZE', () => {
    assert.equal(assertRejects(nodeFrames(), 'PROTOCOL_FRAME_SIZE', { maxDepsFrameBytes: 4 }).frame, 3);
  });
});

describe('damaged input never escapes as another exception type', () => {
  test('every truncation of every pickled frame of a valid message is a ProtocolError', () => {
    let cuts = 0;
    // The pickles decodeMessage reads, by frame index. A cut text frame is still well-formed text,
    // and Node data / Commit deltas travel undecoded to the session, which checks them there.
    for (const [frames, decoded] of [
      [authFrames(), [0, 2]],
      [nodeFrames(), [0, 3]],
      [commitFrames(), [0, 2]],
    ] as const) {
      for (const i of decoded) {
        for (let n = 0; n < frames[i].length; n++) {
          const cut = frames.slice();
          cut[i] = frames[i].subarray(0, n);
          assertProtocolError(cut, `frame ${i} cut to ${n} of ${frames[i].length} bytes`);
          cuts++;
        }
      }
    }
    assert.ok(cuts > 40, `only ${cuts} truncations tried`);
  });

  test('every single-byte corruption of a captured UpdateClientsState', () => {
    const record = loadJsonl('captures/01_main_session.jsonl').find((r) => r.type_num === 12);
    const frames: Buffer[] = record.frames_b64.map(b64);
    for (let i = 0; i < frames[2].length; i++) {
      for (const x of [0x00, 0xff, 0x28, 0x94, 0x68]) {
        const bad = Buffer.from(frames[2]);
        bad[i] = x;
        decodeOrProtocolError([frames[0], frames[1], bad]);
      }
    }
  });
});

describe('heartbeat frames', () => {
  test('INIT, PING and PONG are recognised; other single frames are OTHER', () => {
    assert.equal(decodeHeartbeat([utf8('INIT')]), 'INIT');
    assert.equal(decodeHeartbeat([utf8('PING')]), 'PING');
    assert.equal(decodeHeartbeat([utf8('PONG')]), 'PONG');
    assert.equal(decodeHeartbeat([utf8('PONGX')]), 'OTHER');
  });

  test('a two-frame heartbeat is PROTOCOL_FRAME_COUNT (crash: ttl_two_frames) and a huge one PROTOCOL_FRAME_SIZE', () => {
    for (const [frames, code] of [
      [[utf8('PONG'), utf8('PONG')], 'PROTOCOL_FRAME_COUNT'],
      [[], 'PROTOCOL_FRAME_COUNT'],
      [[Buffer.alloc(65)], 'PROTOCOL_FRAME_SIZE'],
    ] as const) {
      assert.throws(
        () => decodeHeartbeat(frames),
        (err: unknown) => err instanceof ProtocolError && err.code === code,
      );
    }
  });
});
