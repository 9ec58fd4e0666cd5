import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { decodePickle } from '../../src/pickle/decode.js';
import { encodePickle, encodePickleParts } from '../../src/pickle/encode.js';
import { PickleError } from '../../src/pickle/errors.js';
import { isPlainConstructorGlobal } from '../../src/pickle/plain-constructors.js';
import {
  PyByteArray,
  PyCodepointStr,
  PyDict,
  PyGlobal,
  PyObject,
  PyTuple,
  pyInt,
  type PyValue,
} from '../../src/pickle/value.js';
import { fromView, toView, type View } from '../../src/pickle/view.js';
import { loadJsonl } from '../helpers/fixtures.js';
import { pyrefById, runPyref, type PyrefLine, type PyrefRun } from '../helpers/python.js';
import { assertViewsEqual } from '../helpers/views.js';

interface EncodeLine {
  id: string;
  desc: string;
  view: View;
  python_pickle_b64: string;
}

const lines = loadJsonl('pickle/encode.jsonl') as EncodeLine[];

/**
 * Cases where CPython's bytes are fully determined by the view (no sharing, no set order, no
 * NaN payload), so ours must be identical: every scalar edge (LONG1/LONG4 sizes, SHORT_BINUNICODE
 * boundaries, surrogates) and the multi-frame cases (frame cuts at 64 KiB, big payloads unframed).
 */
const BYTE_IDENTICAL = new Set([
  ...lines.filter((l) => l.id <= 'enc-0104' && l.id !== 'enc-0056').map((l) => l.id), // enc-0056: -nan
  'enc-0164',
  'enc-0165',
]);

function buf(b64: string): Buffer {
  return Buffer.from(b64, 'base64');
}

function decodedView(b: Uint8Array): View {
  return toView(decodePickle(b));
}

/** Hand-built values for what the fixture file does not reach; checked by CPython in the same batch. */
function extraCases(): { id: string; value: PyValue }[] {
  const shared = Array.from({ length: 300 }, (_, i) => [pyInt(i)]);
  const longSurrogate = 'x'.repeat(100) + '\ud800' + 'y';
  const hugeSurrogate = 'z'.repeat(70_000) + '\udfff';
  const t = new PyTuple([]);
  const d = new PyDict();
  d.setStr('back', t);
  t.items.push([d]);
  return [
    { id: 'extra-long-binget', value: [...shared, ...shared] },
    { id: 'extra-codepoints', value: new PyCodepointStr([0xd83d, 0xde00, 0x41, 0xdc00]) },
    { id: 'extra-long-lone-surrogate', value: longSurrogate },
    { id: 'extra-long-non-ascii', value: 'é'.repeat(100) + '😀' + '€'.repeat(50) },
    { id: 'extra-huge-lone-surrogate', value: hugeSurrogate },
    { id: 'extra-floats-2500', value: Array.from({ length: 2500 }, (_, i) => i / 7) },
    // Inside a list with a following item: a missing POP would leave a stray stack item that shows.
    { id: 'extra-tuple-cycle-through-dict', value: [t, 'after', t] },
    { id: 'extra-big-bytes-parts', value: [new Uint8Array(70_000).fill(7), 'after', new Uint8Array(65_536)] },
  ];
}

describe('encode.jsonl: every value encodes to a pickle that decodes back to it', () => {
  const encoded = new Map<string, Buffer | Error>();
  const extras = extraCases();
  let run: PyrefRun;
  let checked: Map<unknown, PyrefLine>;

  before(() => {
    for (const line of lines) {
      try {
        encoded.set(line.id, encodePickle(fromView(line.view)));
      } catch (e) {
        encoded.set(line.id, e as Error);
      }
    }
    const input: object[] = [];
    for (const line of lines) {
      const b = encoded.get(line.id);
      if (b instanceof Buffer) input.push({ id: line.id, pickle_b64: b.toString('base64'), view: line.view });
    }
    for (const c of extras) {
      const b = Buffer.concat(encodePickleParts(c.value));
      encoded.set(c.id, b);
      input.push({ id: c.id, pickle_b64: b.toString('base64'), view: toView(c.value) });
    }
    // One python3 for the whole file, in strict mode: our output must need no global at all.
    run = runPyref(['--check'], input);
    checked = pyrefById(run);
  });

  for (const line of lines) {
    test(`${line.id}: ${line.desc}`, () => {
      const b = encoded.get(line.id);
      if (b instanceof Error) throw b;
      assert.ok(b !== undefined);
      const back = decodedView(b);
      assertViewsEqual(back, line.view);
      const py = checked.get(line.id);
      assert.ok(py?.ok, `CPython refused it: ${py?.error}`);
      assert.equal(py.match, true, 'CPython decoded a different value');
      if (BYTE_IDENTICAL.has(line.id)) assert.deepEqual(b, buf(line.python_pickle_b64));
    });
  }

  for (const c of extras) {
    test(`${c.id}: the hand-built value decodes back, here and in CPython`, () => {
      const b = encoded.get(c.id) as Buffer;
      const back = decodedView(b);
      const want = toView(c.value);
      assertViewsEqual(back, want);
      const py = checked.get(c.id);
      assert.ok(py?.ok, `CPython refused it: ${py?.error}`);
      assert.equal(py.match, true, 'CPython decoded a different value');
    });
  }

  test('pyref checked every case in one run and all passed', () => {
    assert.equal(run.lines.length, lines.length + extras.length);
    assert.equal(run.failed, 0, run.stderr);
    assert.equal(run.status, 0);
  });
});

describe('encodePickle framing and memo', () => {
  test('a pickle starts with PROTO 4 outside the first frame', () => {
    const b = encodePickle(['a list', 'of', 'strs']);
    assert.deepEqual([...b.subarray(0, 3)], [0x80, 4, 0x95]);
    assert.equal(b.readBigUInt64LE(3), BigInt(b.length - 11));
    assert.equal(b[b.length - 1], 0x2e);
  });

  test('an object reached twice is memoized once and fetched with BINGET', () => {
    const inner = [pyInt(1)];
    const b = encodePickle([inner, inner]);
    const back = decodePickle(b) as PyValue[][];
    assert.equal(back[0], back[1]);
  });

  test('equal strs share one memo slot', () => {
    const b = encodePickle(['repeated key', 'repeated key', 'repeated key']);
    assert.equal(b.indexOf('repeated key'), b.lastIndexOf('repeated key'));
    assert.deepEqual(decodePickle(b), ['repeated key', 'repeated key', 'repeated key']);
  });

  test('str memo slots of an earlier call are never reused by a later one', () => {
    encodePickle(['alpha', 'beta', 'gamma']);
    const b = encodePickle(['gamma', 'beta', 'gamma', 'delta']);
    assert.deepEqual(decodePickle(b), ['gamma', 'beta', 'gamma', 'delta']);
    assert.equal(b.indexOf('gamma'), b.lastIndexOf('gamma'));
  });

  test('a big bytes value is its own part, sharing the value memory', () => {
    const big = new Uint8Array(100_000).fill(9);
    const d = new PyDict();
    d.setStr('head', 'x');
    d.setStr('blob', big);
    d.setStr('tail', [1.5]);
    const parts = encodePickleParts(d);
    assert.equal(parts.length, 3);
    assert.equal(parts[1].buffer, big.buffer);
    assert.equal(parts[1].byteOffset, big.byteOffset);
    assert.equal(parts[1].length, big.length);
    const whole = Buffer.concat(parts);
    assert.deepEqual(whole, encodePickle(d));
    assertViewsEqual(decodedView(whole), toView(d));
  });

  test('a bytearray is written as builtins.bytearray called on bytes, and stays shared', () => {
    const ba = new PyByteArray(new Uint8Array([1, 2, 3]));
    const value = [ba, ba, new PyByteArray(new Uint8Array(0))];
    const b = encodePickle(value);
    const plain = decodePickle(b, { plainConstructors: true, allowGlobal: isPlainConstructorGlobal });
    assert.deepEqual(toView(plain), toView(value));
    const symbolic = toView(decodePickle(b)) as View[];
    assert.deepEqual(symbolic[2], {
      $object: { op: 'REDUCE', callable: { $global: ['builtins', 'bytearray'] }, args: { $tuple: [] } },
    });
  });

  test('a small value is a single part', () => {
    assert.equal(encodePickleParts(new Uint8Array(1000)).length, 1);
  });

  test('output buffers are independent of each other', () => {
    const a = encodePickle('first');
    const copy = Buffer.from(a);
    encodePickle('second, longer, overwriting whatever scratch space the first used');
    assert.deepEqual(a, copy);
  });
});

describe('encodePickle refuses what it cannot write', () => {
  const unencodable = (e: unknown) => e instanceof PickleError && e.code === 'PICKLE_UNENCODABLE';
  const tooDeep = (e: unknown) => e instanceof PickleError && e.code === 'PICKLE_LIMIT';
  const cls = new PyGlobal('m', 'f');

  test('undefined and plain JS objects throw PICKLE_UNENCODABLE', () => {
    assert.throws(() => encodePickle(undefined as unknown as PyValue), unencodable);
    assert.throws(() => encodePickle([{ a: 1 } as unknown as PyValue]), unencodable);
    assert.throws(() => encodePickle(new Map() as unknown as PyValue), unencodable);
  });

  test('a tuple that contains itself directly (impossible in Python) throws instead of overflowing', () => {
    const t = new PyTuple([]);
    t.items.push(t);
    assert.throws(() => encodePickle(t), tooDeep);
  });

  test('values as deep as the decoder allows encode, and 2000 containers deep is the limit', () => {
    // Decoder depth counts every container: an object and its args tuple are two levels.
    const wrapList = (v: PyValue): PyValue => [v];
    const wrapObject = (v: PyValue): PyValue => new PyObject('REDUCE', cls, new PyTuple([v]));
    for (const [wrap, levels] of [
      [wrapList, 999],
      [wrapObject, 499],
    ] as const) {
      let v: PyValue = [];
      for (let i = 0; i < levels; i++) v = wrap(v);
      assertViewsEqual(decodedView(encodePickle(v)), toView(v));
    }
    let deep: PyValue = [];
    for (let i = 1; i < 2000; i++) deep = [deep];
    encodePickle(deep);
    assert.throws(() => encodePickle([deep]), tooDeep);
  });

  test('an INST object with a non-ASCII class name throws', () => {
    const o = new PyObject('INST', new PyGlobal('módule', 'X'), new PyTuple([]));
    assert.throws(() => encodePickle(o), unencodable);
  });

  test('a code point beyond U+10FFFF throws', () => {
    assert.throws(() => encodePickle(new PyCodepointStr([0x110000])), unencodable);
  });

  test('the encoder is usable again after a failure', () => {
    assert.throws(() => encodePickle([1n, undefined as unknown as PyValue]), unencodable);
    assert.deepEqual(decodePickle(encodePickle(['ok', 'ok'])), ['ok', 'ok']);
  });
});
