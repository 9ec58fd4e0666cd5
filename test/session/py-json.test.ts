/**
 * py-json.ts against CPython: every case is checked by one python3 process (json.dumps of the
 * unpickled value, json.loads of the text pickled back), so what we hand the stock add-on is
 * byte-for-byte what Python would have written.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';

import {
  decodePickle,
  encodePickle,
  PyCodepointStr,
  PyDict,
  PySet,
  PyTuple,
  type PyValue,
  fromView,
  toView,
  viewsEqual,
  type View,
} from '../../src/pickle/index.js';
import { strDict } from '../../src/protocol/index.js';
import { pyJsonDumps, pyJsonLoads } from '../../src/session/index.js';
import { fixturePath } from '../helpers/fixtures.js';

const PY = String.raw`
import base64, json, pickle, sys
for line in sys.stdin:
    case = json.loads(line)
    out = {'id': case['id']}
    try:
        if case['op'] == 'dumps':
            out['text'] = json.dumps(pickle.loads(base64.b64decode(case['pickle_b64'])))
        else:
            out['pickle_b64'] = base64.b64encode(pickle.dumps(json.loads(case['text']), 4)).decode()
    except Exception as e:
        out['error'] = type(e).__name__
    print(json.dumps(out))
`;

const sample = JSON.parse(readFileSync(fixturePath('captures/samples/users_dict.json'), 'utf8')) as {
  view: Record<string, { metadata: Record<string, View> }>;
};
const chatSample = sample.view.alice.metadata.chat_messages as string;
const tasksSample = sample.view.alice.metadata.tasks as string;

const DUMPS: [string, PyValue][] = [
  ['none', null],
  ['bools', [true, false]],
  ['ints', [0n, -5n, 2n ** 70n, -(2n ** 64n)]],
  ['floats', [1.5, -0.0, 0.0, 5.0, 1e16, 1e-7, 0.1, 1e22, 123456789.123, 1732600000.123456, 2.5e-5, -1e300]],
  ['non-finite', [NaN, Infinity, -Infinity]],
  ['empty-str', ''],
  ['escapes', 'quote " back \\ slash / \n\t\r\b\f'],
  ['controls', '\x00\x01\x1f\x7f\x80\x9f'],
  ['latin', 'é ü ß ñ'],
  ['cjk', '日本語のチャット'],
  ['astral', 'emoji 😀 and 𝄞'],
  ['separators', '\u2028\u2029\ufeff'],
  ['lone-surrogate', 'a\ud800b\udfff'],
  ['codepoint-str', new PyCodepointStr([0x61, 0xd83d, 0xde00])],
  ['empty-containers', [[], new PyDict(), new PyTuple([])]],
  ['tuple', new PyTuple([1n, 'a', new PyTuple([2.5])])],
  [
    'scalar-keys',
    PyDict.from([
      [1n, 'int'],
      [2.5, 'float'],
      [true, 'true'],
      [null, 'none'],
      ['s', 'str'],
      [NaN, 'nan'],
      [-Infinity, 'ninf'],
    ]),
  ],
  [
    'nested',
    strDict([
      ['a', [strDict([['b', [1n, 2.0, null]]])]],
      ['c', strDict([])],
      ['d', 'x'],
    ]),
  ],
  ['chat-sample', pyJsonLoads(chatSample)],
  ['tasks-sample', pyJsonLoads(tasksSample)],
];

const LOADS: [string, string][] = [
  ['empty-list', '[]'],
  ['empty-object', ' {} '],
  ['mixed', ' {"a": 1, "b": 1.0, "c": [true, false, null], "d": "x"}\n'],
  ['compact', '{"a":1,"b":[1,2,{"c":-3}]}'],
  ['overflow', '1e400'],
  ['negative-zero-int', '-0'],
  ['negative-zero-float', '-0.0'],
  ['big-int', '123456789012345678901234567890'],
  ['exponents', '[1.5E+3, -12e-2, 1E2, 0.1]'],
  ['non-finite', '[NaN, Infinity, -Infinity]'],
  ['escaped-pair', '"\\ud83d\\ude00"'],
  ['escaped-lone', '"\\ud800x"'],
  ['escapes', '"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u00E9"'],
  ['raw-unicode', '"日本 😀"'],
  ['duplicate-keys', '{"a": 1, "b": 2, "a": 3}'],
  ['chat-sample', chatSample],
  ['tasks-sample', tasksSample],
  ['err-trailing-comma', '[1, 2,]'],
  ['err-object-trailing-comma', '{"a": 1,}'],
  ['err-raw-control', '"a\u0001b"'],
  ['err-raw-newline', '"a\nb"'],
  ['err-leading-zero', '01'],
  ['err-unterminated', '"abc'],
  ['err-bom', '\ufeff[]'],
  ['err-extra', '[1] x'],
  ['err-missing-colon', '{"a" 1}'],
  ['err-single-quotes', "{'a': 1}"],
  ['err-bad-escape', '"\\x41"'],
  ['err-short-unicode', '"\\u12"'],
  ['err-empty', ''],
  ['err-plus', '+1'],
  ['err-minus-nan', '-NaN'],
  ['err-dot', '1.'],
  ['err-key-not-str', '{1: 2}'],
];

interface PyAnswer {
  id: string;
  text?: string;
  pickle_b64?: string;
  error?: string;
}

describe('py-json matches CPython json', () => {
  const answers = new Map<string, PyAnswer>();

  before(() => {
    const input = [
      ...DUMPS.map(([id, v]) => ({ id, op: 'dumps', pickle_b64: encodePickle(v).toString('base64') })),
      ...LOADS.map(([id, text]) => ({ id: `loads:${id}`, op: 'loads', text })),
    ];
    const res = spawnSync('python3', ['-c', PY], {
      input: input.map((c) => JSON.stringify(c)).join('\n') + '\n',
      encoding: 'utf8',
    });
    assert.equal(res.status, 0, res.stderr);
    for (const line of res.stdout.split('\n')) {
      if (line !== '') {
        const a = JSON.parse(line) as PyAnswer;
        answers.set(a.id, a);
      }
    }
  });

  for (const [id, value] of DUMPS) {
    test(`json.dumps of ${id} is the same text`, () => {
      const py = answers.get(id);
      assert.ok(py?.text !== undefined, `python failed: ${py?.error}`);
      assert.equal(pyJsonDumps(value), py.text);
    });
  }

  for (const [id, text] of LOADS) {
    test(`json.loads of ${id} gives the same value or refuses it alike`, () => {
      const py = answers.get(`loads:${id}`) as PyAnswer;
      if (py.error !== undefined) {
        assert.equal(py.error, 'JSONDecodeError');
        assert.throws(
          () => pyJsonLoads(text),
          (err: { code?: string }) => err.code === 'SESSION_JSON_SYNTAX',
        );
        return;
      }
      const expected = toView(decodePickle(Buffer.from(py.pickle_b64 as string, 'base64')));
      const got = toView(pyJsonLoads(text));
      assert.ok(viewsEqual(got, expected), `${JSON.stringify(got)} != ${JSON.stringify(expected)}`);
    });
  }
});

describe('py-json bounds and refusals', () => {
  test('values json.dumps refuses are a SESSION_JSON_TYPE error', () => {
    for (const v of [new Uint8Array([1]), new PySet(false, [1n]), PyDict.from([[new PyTuple([1n]), 1n]])]) {
      assert.throws(
        () => pyJsonDumps(v),
        (err: { code?: string }) => err.code === 'SESSION_JSON_TYPE',
      );
    }
  });

  test('nesting beyond maxDepth is a SESSION_JSON_LIMIT error, not a stack overflow', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    assert.throws(
      () => pyJsonLoads(deep),
      (err: { code?: string }) => err.code === 'SESSION_JSON_LIMIT',
    );
    assert.ok(Array.isArray(pyJsonLoads('['.repeat(64) + ']'.repeat(64))));
    let v: PyValue = [];
    for (let i = 0; i < 100; i++) v = [v];
    assert.throws(
      () => pyJsonDumps(v),
      (err: { code?: string }) => err.code === 'SESSION_JSON_LIMIT',
    );
  });

  test('an int literal longer than CPython accepts is a SESSION_JSON_LIMIT error', () => {
    assert.throws(
      () => pyJsonLoads('9'.repeat(4301)),
      (err: { code?: string }) => err.code === 'SESSION_JSON_LIMIT',
    );
    assert.equal(pyJsonLoads('9'.repeat(4300)), BigInt('9'.repeat(4300)));
  });

  test('loads keeps ints and floats apart and dumps writes them back unchanged', () => {
    const v = pyJsonLoads('[1, 1.0, -0.0, 1e5]');
    assert.deepEqual(toView(v), [1, { $float: '1.0' }, { $float: '-0.0' }, { $float: '100000.0' }]);
    assert.equal(pyJsonDumps(v), '[1, 1.0, -0.0, 100000.0]');
    assert.deepEqual(toView(fromView(toView(v))), toView(v));
  });
});
