import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { NONE_TYPE, callType } from '../../src/delta/convert.js';
import { DeltaError } from '../../src/delta/errors.js';
import { PyExc } from '../../src/delta/py-ops.js';
import { pyRepr } from '../../src/delta/py-repr.js';
import { pySetOrder } from '../../src/delta/set-order.js';
import {
  PyByteArray,
  PyDict,
  PyGlobal,
  PySet,
  PyTuple,
  type PyValue,
  fromView,
  toView,
  type View,
} from '../../src/pickle/index.js';

const T = (name: string): PyGlobal => new PyGlobal('builtins', name);

/** `name(arg)` as a view; `arg` is given as a view too. */
function call(name: string, arg: View): View {
  return toView(callType(T(name), fromView(arg)));
}

function raises(name: string, arg: PyValue, pyType: string): void {
  assert.throws(
    () => callType(T(name), arg),
    (e) => e instanceof PyExc && e.pyType === pyType,
    `${name}(${String(arg)}) should raise ${pyType}`,
  );
}

describe('callType reproduces Python constructors for type changes without a value (DELTA-SEMANTICS.md §7)', () => {
  test('float() of ints, bools, strs and bytes', () => {
    assert.deepEqual(call('float', 3), { $float: '3.0' });
    assert.deepEqual(call('float', { $int: '9007199254740993' }), { $float: '9007199254740992.0' });
    assert.deepEqual(call('float', true), { $float: '1.0' });
    assert.deepEqual(call('float', ' 1_000 '), { $float: '1000.0' });
    assert.deepEqual(call('float', '1e3'), { $float: '1000.0' });
    assert.deepEqual(call('float', 'inf'), { $float: 'Infinity' });
    assert.deepEqual(call('float', '-Infinity'), { $float: '-Infinity' });
    assert.deepEqual(call('float', 'nan'), { $float: 'NaN' });
    assert.deepEqual(call('float', '\u0663'), { $float: '3.0' });
    assert.deepEqual(call('float', '\uff11\uff12'), { $float: '12.0' });
    assert.deepEqual(call('float', { $bytes_b64: 'NQ==' }), { $float: '5.0' });
    assert.deepEqual(call('float', '\u00a02.5\u2003'), 2.5);
  });

  test('float() refuses what Python refuses', () => {
    raises('float', 'x', 'ValueError');
    raises('float', '1__0', 'ValueError');
    raises('float', '_1', 'ValueError');
    raises('float', '1_', 'ValueError');
    raises('float', '0x10', 'ValueError');
    raises('float', null, 'TypeError');
    raises('float', 10n ** 400n, 'OverflowError');
  });

  test('int() truncates floats and parses str and bytes with Python rules', () => {
    assert.deepEqual(call('int', 2.7), 2);
    assert.deepEqual(call('int', -2.7), -2);
    assert.deepEqual(call('int', { $float: '1e+16' }), { $int: '10000000000000000' });
    assert.deepEqual(call('int', true), 1);
    assert.deepEqual(call('int', ' 7 '), 7);
    assert.deepEqual(call('int', '1_000'), 1000);
    assert.deepEqual(call('int', '+5'), 5);
    assert.deepEqual(call('int', '007'), 7);
    assert.deepEqual(call('int', '\u0663'), 3);
    assert.deepEqual(call('int', '\uff11\uff12'), 12);
    assert.deepEqual(call('int', { $bytes_b64: 'NQ==' }), 5);
  });

  test('int() refuses what Python refuses', () => {
    raises('int', 'abc', 'ValueError');
    raises('int', '1.5', 'ValueError');
    raises('int', '0x10', 'ValueError');
    raises('int', '\x1c5', 'ValueError');
    raises('int', NaN, 'ValueError');
    raises('int', Infinity, 'OverflowError');
    raises('int', '1'.repeat(4301), 'ValueError');
    raises('int', [], 'TypeError');
  });

  test('str() gives Python reprs', () => {
    assert.equal(call('str', 5), '5');
    assert.equal(call('str', { $int: '1180591620717411303424' }), '1180591620717411303424');
    assert.equal(call('str', { $float: '1.0' }), '1.0');
    assert.equal(call('str', { $float: '1e+16' }), '1e+16');
    assert.equal(call('str', 1e-5), '1e-05');
    assert.equal(call('str', { $float: '-0.0' }), '-0.0');
    assert.equal(call('str', { $float: 'Infinity' }), 'inf');
    assert.equal(call('str', true), 'True');
    assert.equal(call('str', null), 'None');
    assert.equal(call('str', { $bytes_b64: 'YWI=' }), "b'ab'");
    assert.equal(call('str', [1, 'a']), "[1, 'a']");
    assert.equal(call('str', { $tuple: [1] }), '(1,)');
    assert.equal(call('str', { a: 1 }), "{'a': 1}");
    assert.equal(call('str', { $set: [] }), 'set()');
    assert.equal(call('str', { $frozenset: [2, 1] }), 'frozenset({1, 2})');
    raises('str', 10n ** 4300n, 'ValueError');
  });

  test('repr escapes like CPython', () => {
    assert.equal(pyRepr("it's"), '"it\'s"');
    assert.equal(pyRepr('a\'b"c'), "'a\\'b\"c'");
    assert.equal(pyRepr('tab\t\x00\x7f\u00e9\u200b'), "'tab\\t\\x00\\x7f\u00e9\\u200b'");
    assert.equal(pyRepr('\ud800'), "'\\ud800'");
    assert.equal(pyRepr(new Uint8Array([0x27, 0x5c, 0x0a, 0xff, 0x41])), 'b"\'\\\\\\n\\xffA"');
    assert.equal(pyRepr(new PyByteArray(new Uint8Array([1]))), "bytearray(b'\\x01')");
    assert.equal(pyRepr(T('int')), "<class 'int'>");
    const cyclic: PyValue[] = [];
    cyclic.push(cyclic);
    assert.equal(pyRepr(cyclic), '[[...]]');
  });

  test('bool() is truthiness', () => {
    assert.equal(call('bool', null), false);
    assert.equal(call('bool', 'False'), true);
    assert.equal(call('bool', { $float: '0.0' }), false);
    assert.equal(call('bool', { $float: 'NaN' }), true);
    assert.equal(call('bool', []), false);
    assert.equal(call('bool', { $dict: [] }), false);
    assert.equal(call('bool', { $tuple: [0] }), true);
  });

  test('bytes() of counts and int iterables', () => {
    assert.deepEqual(call('bytes', 3), { $bytes_b64: 'AAAA' });
    assert.deepEqual(call('bytes', true), { $bytes_b64: 'AA==' });
    assert.deepEqual(call('bytes', [97, 98]), { $bytes_b64: 'YWI=' });
    assert.deepEqual(call('bytes', { $set: [1, 2, 3] }), { $bytes_b64: 'AQID' });
    raises('bytes', 'ab', 'TypeError');
    raises('bytes', 1.5, 'TypeError');
    raises('bytes', [256n], 'ValueError');
    raises('bytes', -1n, 'ValueError');
  });

  test('bytes() of a huge count is refused before allocating', () => {
    assert.throws(
      () => callType(T('bytes'), 10n ** 12n),
      (e) => e instanceof DeltaError && e.code === 'DELTA_LIMIT',
    );
  });

  test('list, tuple, set and frozenset iterate like Python', () => {
    assert.deepEqual(call('list', 'ab'), ['a', 'b']);
    assert.deepEqual(call('list', '\u{1F600}x'), ['\u{1F600}', 'x']);
    assert.deepEqual(call('list', { $bytes_b64: 'YWI=' }), [97, 98]);
    assert.deepEqual(call('list', { b: 1, a: 2 }), ['b', 'a']);
    assert.deepEqual(call('tuple', [1, 2]), { $tuple: [1, 2] });
    assert.deepEqual(call('set', [1, 1, 2]), { $set: [1, 2] });
    assert.deepEqual(call('frozenset', 'aa'), { $frozenset: ['a'] });
    raises('list', 5n, 'TypeError');
    raises('set', [[1n]], 'TypeError');
  });

  test('a set of small ints iterates in ascending order, as CPython does', () => {
    assert.deepEqual(call('list', { $set: [3, 1, 2] }), [1, 2, 3]);
    // Orders checked against CPython 3.11 (`s = set(); s.add(x) ...; list(s)`).
    assert.deepEqual(pySetOrder(new PySet(false, [9n, 8n, 100n, 0n])), [8n, 9n, 100n, 0n]);
    const mixed = new PySet(false, [1.5, -2n, 7n, 33n, 2n ** 70n, -1n, new PyTuple([1n, 2n]), true]);
    assert.deepEqual(toView(pySetOrder(mixed)), [
      { $int: '1180591620717411303424' },
      1.5,
      33,
      { $tuple: [1, 2] },
      true,
      7,
      -1,
      -2,
    ]);
  });

  test('dict() of pairs', () => {
    assert.deepEqual(call('dict', [{ $tuple: [1, 2] }]), { $dict: [[1, 2]] });
    assert.deepEqual(call('dict', [[1, 2]]), { $dict: [[1, 2]] });
    assert.deepEqual(call('dict', ['ab']), { a: 'b' });
    assert.deepEqual(call('dict', ''), {});
    assert.deepEqual(call('dict', { $tuple: [] }), {});
    raises('dict', 'ab', 'ValueError');
    raises('dict', 5n, 'TypeError');
    raises('dict', [5n], 'TypeError');
  });

  test('NoneType, non-callables and allow-listed non-types fail like Python', () => {
    assert.throws(
      () => callType(NONE_TYPE, 1n),
      (e) => e instanceof PyExc && e.pyType === 'TypeError',
    );
    assert.throws(
      () => callType(5n, 1n),
      (e) => e instanceof PyExc && e.pyType === 'TypeError',
    );
    assert.throws(
      () => callType(new PyGlobal('collections', 'namedtuple'), 'x'),
      (e) => e instanceof PyExc && e.pyType === 'TypeError',
    );
    assert.equal(callType(T('bin'), 5n), '0b101');
  });

  test('objects the value model cannot hold are unsupported, not guessed', () => {
    assert.throws(
      () => callType(new PyGlobal('decimal', 'Decimal'), '1.5'),
      (e) => e instanceof DeltaError && e.code === 'DELTA_UNSUPPORTED',
    );
  });

  test('conversions keep containers distinct from their input', () => {
    const d = PyDict.from([['a', 1n]]);
    const copy = callType(T('dict'), d);
    assert.notEqual(copy, d);
    const t = new PyTuple([1n]);
    assert.equal(callType(T('tuple'), t), t);
  });
});
