import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { encodePickle, PyDict, PyGlobal, PySet, PyTuple, type PyValue } from '../../src/pickle/index.js';
import { strDict } from '../../src/protocol/index.js';
import {
  decodeMutation,
  encodeMutation,
  encodeMutationParts,
  pyJsonLoads,
  type Mutation,
} from '../../src/session/index.js';
import { nodeData, renameDelta } from './helpers.js';
import { mutationView } from './image-helpers.js';

const DEPS = encodePickle(['mesh', 'material']);
const DATA = encodePickle(nodeData('cube'));

const SAMPLES: Mutation[] = [
  { type: 'node', uuid: 'cube', owner: 'alice', deps: ['mesh', 'material'], depsBytes: DEPS, dataBytes: DATA },
  { type: 'node', uuid: 'root', owner: 'COMMON', deps: null, depsBytes: encodePickle(null), dataBytes: DATA },
  { type: 'commit', uuid: 'cube', deps: ['mesh', 'material'], depsBytes: DEPS, deltaBytes: renameDelta('Cube.001') },
  { type: 'delete', uuids: ['a', 'b'] },
  { type: 'owner', uuids: ['a'], owner: 'COMMON' },
  { type: 'user-join', name: 'alice', admin: true },
  { type: 'user-leave', name: 'élodie' },
  {
    type: 'metadata',
    name: 'bob',
    data: strDict([
      ['color', new PyTuple([0.2, 0.6, 1.0, 1n])],
      ['selected_objects', new PySet(false, ['x', 'y'])],
      ['frame_current', 12n],
    ]),
  },
  { type: 'init-done' },
  {
    type: 'chat',
    messages: pyJsonLoads('[{"id": "1.5", "username": "a", "message": "hi", "timestamp": 1.5}]') as PyDict[],
  },
  {
    type: 'tasks',
    put: pyJsonLoads('{"t1": {"id": "t1", "title": "Fix", "created_by": "a", "created_at": 2.5}}') as PyDict,
    remove: ['t0'],
  },
];

function assertCorrupt(bytes: Uint8Array): void {
  assert.throws(
    () => decodeMutation(bytes),
    (err: { code?: string; name?: string }) => err.name === 'SessionError' && err.code === 'SESSION_MUTATION_CORRUPT',
  );
}

/** Decodes or refuses with the typed error; anything else fails the test. */
function decodeOrRefuse(bytes: Uint8Array): Mutation | 'refused' {
  try {
    return decodeMutation(bytes);
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'SESSION_MUTATION_CORRUPT', String(err));
    return 'refused';
  }
}

function record(entries: [string, PyValue][]): Buffer {
  return encodePickle(strDict([['v', 1n], ...entries]));
}

describe('mutation codec', () => {
  for (const m of SAMPLES) {
    test(`a ${m.type} mutation survives encode and decode`, () => {
      const bytes = encodeMutation(m);
      assert.deepEqual(mutationView(decodeMutation(bytes)), mutationView(m));
      assert.deepEqual(Buffer.concat(encodeMutationParts(m)), bytes);
    });
  }

  test('every truncation of every sample is refused with SESSION_MUTATION_CORRUPT', () => {
    for (const m of SAMPLES) {
      const bytes = encodeMutation(m);
      for (let n = 0; n < bytes.length; n++) assertCorrupt(bytes.subarray(0, n));
    }
  });

  test('every single-byte corruption decodes to a mutation or is refused with the typed error', () => {
    let refused = 0;
    for (const m of SAMPLES) {
      const bytes = encodeMutation(m);
      for (let i = 0; i < bytes.length; i++) {
        for (const mask of [0x01, 0x80, 0xff]) {
          const copy = Buffer.from(bytes);
          copy[i] ^= mask;
          if (decodeOrRefuse(copy) === 'refused') refused += 1;
        }
      }
    }
    assert.ok(refused > 0);
  });

  test('random bytes are refused with the typed error', () => {
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 500; i++) {
      const bytes = Buffer.alloc(next() % 64);
      for (let j = 0; j < bytes.length; j++) bytes[j] = next() & 0xff;
      // A random prefix of 0x80 0x04 ... could be a pickle, never a well-formed record.
      assertCorrupt(bytes);
    }
  });

  test('well-formed pickles of the wrong shape are refused', () => {
    const cases: Buffer[] = [
      encodePickle(['v', 1n]),
      encodePickle(strDict([['t', 'init-done']])),
      encodePickle(
        strDict([
          ['v', 2n],
          ['t', 'init-done'],
        ]),
      ),
      encodePickle(
        strDict([
          ['v', 1.0],
          ['t', 'init-done'],
        ]),
      ),
      record([['t', 'explode']]),
      record([['t', 42n]]),
      record([
        ['t', 'node'],
        ['uuid', 'x'],
        ['owner', 'a'],
        ['deps', DEPS],
      ]),
      record([
        ['t', 'node'],
        ['uuid', 'x'],
        ['owner', 'a'],
        ['deps', encodePickle(5n)],
        ['data', DATA],
      ]),
      record([
        ['t', 'node'],
        ['uuid', 'x'],
        ['owner', 'a'],
        ['deps', Buffer.from('not a pickle')],
        ['data', DATA],
      ]),
      record([
        ['t', 'node'],
        ['uuid', 'lone \ud800'],
        ['owner', 'a'],
        ['deps', DEPS],
        ['data', DATA],
      ]),
      record([
        ['t', 'commit'],
        ['uuid', 'x'],
        ['deps', 'not bytes'],
        ['delta', DATA],
      ]),
      record([
        ['t', 'delete'],
        ['uuids', ['a', 1n]],
      ]),
      record([
        ['t', 'owner'],
        ['uuids', new PyTuple(['a'])],
        ['owner', 'b'],
      ]),
      record([
        ['t', 'user-join'],
        ['name', 'a'],
        ['admin', 1n],
      ]),
      record([
        ['t', 'metadata'],
        ['name', 'a'],
        ['data', ['x']],
      ]),
      record([
        ['t', 'chat'],
        ['messages', [strDict([['id', 'x']])]],
      ]),
      record([
        ['t', 'chat'],
        [
          'messages',
          [
            strDict([
              ['id', 'x'],
              ['timestamp', NaN],
            ]),
          ],
        ],
      ]),
      record([
        ['t', 'tasks'],
        ['put', PyDict.from([['t', 'not a dict']])],
        ['remove', []],
      ]),
      record([
        ['t', 'tasks'],
        ['put', new PyDict()],
      ]),
      record([
        ['t', 'tasks'],
        ['put', PyDict.from([['t', strDict([['blob', Buffer.from('x')]])]])],
        ['remove', []],
      ]),
      record([
        ['t', 'chat'],
        [
          'messages',
          [
            strDict([
              ['id', 'x'],
              ['timestamp', 1n],
              ['tags', new PySet(false, ['a'])],
            ]),
          ],
        ],
      ]),
      record([
        ['t', 'metadata'],
        ['name', 'a'],
        ['data', strDict([['x', new PyGlobal('os', 'system')]])],
      ]),
    ];
    for (const bytes of cases) assertCorrupt(bytes);
  });

  test('node frames above the configured bound are refused', () => {
    const bytes = encodeMutation(SAMPLES[0]);
    assert.ok(decodeMutation(bytes).type === 'node');
    assert.throws(
      () => decodeMutation(bytes, { maxPayloadFrameBytes: 8 }),
      (err: { code?: string }) => err.code === 'SESSION_MUTATION_CORRUPT',
    );
  });
});
