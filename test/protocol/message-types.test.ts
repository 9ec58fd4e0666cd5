import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import {
  CANONICAL_TYPE_FRAME_BYTES,
  canonicalTypeOf,
  decodeMessage,
  decodeTypeFrame,
  DEFAULT_PROTOCOL_LIMITS,
  isMessageType,
  MessageType,
  messageTypeName,
  typeFrame,
  type MessageTypeNumber,
} from '../../src/protocol/index.js';
import { fixturePath } from '../helpers/fixtures.js';

const typeNumFrames = JSON.parse(readFileSync(fixturePath('captures/samples/type_num_frames.json'), 'utf8')) as Record<
  string,
  { class: string; frame0_hex: string }
>;

describe('type numbers', () => {
  test('the 14 type numbers carry the Python class names of captures/samples/type_num_frames.json', () => {
    assert.equal(Object.keys(MessageType).length, 14);
    for (const [num, { class: name }] of Object.entries(typeNumFrames)) {
      const n = Number(num);
      assert.ok(isMessageType(n));
      assert.equal(messageTypeName(n), name);
      assert.equal(MessageType[name as keyof typeof MessageType], n);
    }
  });

  test('typeFrame is byte-identical to the captured frame 0 of every type', () => {
    for (const [num, { frame0_hex }] of Object.entries(typeNumFrames)) {
      const frame = typeFrame(Number(num) as MessageTypeNumber);
      assert.equal(frame.length, CANONICAL_TYPE_FRAME_BYTES);
      assert.equal(frame.toString('hex'), frame0_hex);
      assert.equal(canonicalTypeOf(frame), Number(num));
    }
  });

  test('0, 15 and out-of-range bytes are not type numbers', () => {
    for (const n of [0, 15, 255, -1, 1.5]) assert.equal(isMessageType(n), false);
    assert.equal(canonicalTypeOf(Buffer.from('80044b002e', 'hex')), undefined);
    assert.equal(canonicalTypeOf(Buffer.from('80044b0f2e', 'hex')), undefined);
  });
});

describe('frame 0 accepts any pickle of the int (§2.1)', () => {
  // Hand-written pickles of 9 at other protocols and opcode forms, as CPython's pickle.loads reads them.
  const forms: [string, string][] = [
    ['protocol 0 INT text', Buffer.from('I9\n.', 'latin1').toString('hex')],
    ['protocol 0 LONG text', Buffer.from('L9L\n.', 'latin1').toString('hex')],
    ['protocol 2 BININT1', '80024b092e'],
    ['protocol 3 BININT2', '80034d09002e'],
    ['protocol 4 BININT', '80044a090000002e'],
    ['protocol 4 LONG1', '80048a01092e'],
    ['protocol 4 with a FRAME', '80049502000000000000004b092e'],
    ['protocol 5 BININT1', '80054b092e'],
    ['no PROTO at all', '4b092e'],
  ];
  for (const [name, hex] of forms) {
    test(`${name} decodes to Auth`, () => {
      const frame = Buffer.from(hex, 'hex');
      assert.equal(canonicalTypeOf(frame), undefined);
      assert.equal(decodeTypeFrame(frame, { ...DEFAULT_PROTOCOL_LIMITS }), MessageType.Auth);
      const msg = decodeMessage([frame, Buffer.from('alice'), Buffer.from('80044e2e', 'hex')]);
      assert.equal(msg.type, MessageType.Auth);
    });
  }
});
