import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { decodePickle, type DecodeOptions } from '../../src/pickle/decode.js';
import { PickleError, type PickleErrorCode } from '../../src/pickle/errors.js';
import { DEFAULT_PICKLE_LIMITS } from '../../src/pickle/limits.js';
import { PyTuple, type PyDict, type PyValue } from '../../src/pickle/value.js';

function pk(parts: (string | number[])[]): Uint8Array {
  const chunks = parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p)));
  return new Uint8Array(Buffer.concat(chunks));
}

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

function throwsCode(fn: () => unknown, code: PickleErrorCode): void {
  assert.throws(fn, (e) => e instanceof PickleError && e.code === code);
}

/** A list nested `n` deep, built on the stack: EMPTY_LIST * n, then APPEND * (n - 1). */
function nestedOnStack(n: number): Uint8Array {
  return pk(['\x80\x04', ']'.repeat(n), 'a'.repeat(n - 1), '.']);
}

/** A list nested `n` deep, each level fetched back from the memo (the heights on the stack cannot see this). */
function nestedThroughMemo(n: number): Uint8Array {
  const parts: (string | number[])[] = ['\x80\x04]\x94'];
  for (let i = 1; i < n; i++) parts.push('0]\x94', [0x6a, ...u32(i - 1)], 'a');
  parts.push('.');
  return pk(parts);
}

function depthOf(v: PyValue): number {
  let d = 0;
  while (Array.isArray(v)) {
    d++;
    v = v.length > 0 ? v[0] : null;
  }
  return d;
}

describe('nesting depth is bounded by maxDepth', () => {
  test('the default limit is 1000: 1000 levels decode and 1001 are refused', () => {
    assert.equal(DEFAULT_PICKLE_LIMITS.maxDepth, 1000);
    assert.equal(depthOf(decodePickle(nestedOnStack(1000))), 1000);
    throwsCode(() => decodePickle(nestedOnStack(1001)), 'PICKLE_LIMIT');
  });

  test('a configured limit applies to lists nested on the stack', () => {
    const limits = { maxDepth: 10 };
    assert.equal(depthOf(decodePickle(nestedOnStack(10), { limits })), 10);
    throwsCode(() => decodePickle(nestedOnStack(11), { limits }), 'PICKLE_LIMIT');
  });

  test('nesting built through memo references is measured too', () => {
    const limits = { maxDepth: 50 };
    assert.equal(depthOf(decodePickle(nestedThroughMemo(50), { limits })), 50);
    throwsCode(() => decodePickle(nestedThroughMemo(51), { limits }), 'PICKLE_LIMIT');
  });

  test('tuples and dicts built from MARK count like lists', () => {
    const limits = { maxDepth: 3 };
    decodePickle(pk(['((()tt.']), { limits });
    throwsCode(() => decodePickle(pk(['(((()ttt.']), { limits }), 'PICKLE_LIMIT');
    decodePickle(pk(['(K\x00(K\x00}dd.']), { limits });
    throwsCode(() => decodePickle(pk(['(K\x00(K\x00(K\x00}ddd.']), { limits }), 'PICKLE_LIMIT');
  });

  test('a list that contains itself is not infinitely deep', () => {
    const v = decodePickle(pk(['\x80\x04]\x94h\x00a.']), { limits: { maxDepth: 2 } }) as PyValue[];
    assert.equal(v[0], v);
  });
});

describe('item, memo, size and number bounds are configurable', () => {
  const list100 = pk(['\x80\x04](', 'K\x01'.repeat(100), 'e.']);

  test('maxItems refuses a pickle with more opcodes than allowed', () => {
    assert.equal((decodePickle(list100, { limits: { maxItems: 110 } }) as PyValue[]).length, 100);
    throwsCode(() => decodePickle(list100, { limits: { maxItems: 90 } }), 'PICKLE_LIMIT');
    // The same bound holds when the items are not a numeric run.
    const strs = pk(['\x80\x04](', '\x8c\x01a'.repeat(100), 'e.']);
    throwsCode(() => decodePickle(strs, { limits: { maxItems: 90 } }), 'PICKLE_LIMIT');
  });

  test('maxMemo counts distinct memo indices, sparse ones included', () => {
    const five = pk(['\x80\x04N', '\x94'.repeat(5), '.']);
    decodePickle(five, { limits: { maxMemo: 5 } });
    throwsCode(() => decodePickle(five, { limits: { maxMemo: 4 } }), 'PICKLE_LIMIT');
    const sparse = pk(['\x80\x04N', [0x72, ...u32(1000)], [0x72, ...u32(2000)], '.']);
    throwsCode(() => decodePickle(sparse, { limits: { maxMemo: 1 } }), 'PICKLE_LIMIT');
    // Writing the same index again is not a new entry.
    decodePickle(pk(['\x80\x04Nq\x07q\x07q\x07.']), { limits: { maxMemo: 1 } });
  });

  test('a memo index of 2^31 is one map entry, not an array of that size', () => {
    const v = decodePickle(pk(['\x80\x04N', [0x72, ...u32(2 ** 31)], [0x6a, ...u32(2 ** 31)], '\x86.']));
    assert.ok(v instanceof PyTuple && v.items[0] === null && v.items[1] === null);
  });

  test('maxBytes refuses a longer input before reading it', () => {
    throwsCode(() => decodePickle(list100, { limits: { maxBytes: list100.length - 1 } }), 'PICKLE_LIMIT');
  });

  test('maxIntDigits bounds decimal INT and LONG text, not hex', () => {
    const digits = (n: number) => pk(['I', '9'.repeat(n), '\n.']);
    assert.equal(decodePickle(digits(4300)), 10n ** 4300n - 1n);
    throwsCode(() => decodePickle(digits(4301)), 'PICKLE_LIMIT');
    throwsCode(() => decodePickle(pk(['L', '1'.repeat(30), 'L\n.']), { limits: { maxIntDigits: 20 } }), 'PICKLE_LIMIT');
    assert.equal(decodePickle(pk(['L0x', 'f'.repeat(30), 'L\n.']), { limits: { maxIntDigits: 20 } }), 16n ** 30n - 1n);
  });

  test('maxLongBytes bounds LONG4', () => {
    const long4 = (n: number) => pk(['\x80\x02\x8b', u32(n), new Array<number>(n).fill(0x01), '.']);
    decodePickle(long4(64), { limits: { maxLongBytes: 64 } });
    throwsCode(() => decodePickle(long4(65), { limits: { maxLongBytes: 64 } }), 'PICKLE_LIMIT');
  });
});

describe('memo amplification stays shared', () => {
  /** `((), ())` doubled `levels` times, every level memoized and referenced twice; as a dict key if `asKey`. */
  function doublingTuples(levels: number, asKey: boolean): Uint8Array {
    const base = asKey ? 1 : 0;
    const parts: (string | number[])[] = ['\x80\x04', asKey ? '}\x94' : '', ')\x940'];
    for (let i = 0; i < levels; i++) parts.push([0x6a, ...u32(base + i), 0x6a, ...u32(base + i)], '\x86\x940');
    parts.push([0x6a, ...u32(base + levels)], asKey ? 'Ns.' : '.');
    return pk(parts);
  }

  test('tuples doubling 40 times decode at once as a shared structure', () => {
    const started = performance.now();
    const v = decodePickle(doublingTuples(40, false)) as PyTuple;
    assert.ok(performance.now() - started < 1000);
    assert.equal(v.items[0], v.items[1]);
  });

  test('hashing such a tuple as a dict key is refused instead of expanded', () => {
    const started = performance.now();
    throwsCode(() => decodePickle(doublingTuples(40, true)), 'PICKLE_LIMIT');
    assert.ok(performance.now() - started < 1000);
    // A small one is an ordinary tuple key.
    const d = decodePickle(doublingTuples(3, true)) as PyDict;
    assert.equal(d.size, 1);
  });

  test('maxKeyNodes sets how large a hashed key may be', () => {
    const opts: DecodeOptions = { limits: { maxKeyNodes: 4 } };
    throwsCode(() => decodePickle(doublingTuples(3, true), opts), 'PICKLE_LIMIT');
  });
});
