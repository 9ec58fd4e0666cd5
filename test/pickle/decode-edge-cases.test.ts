import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { decodePickle } from '../../src/pickle/decode.js';
import { PickleError } from '../../src/pickle/errors.js';
import { PyTuple, type PyValue } from '../../src/pickle/value.js';
import { toView, type View } from '../../src/pickle/view.js';
import { assertViewsEqual } from '../helpers/views.js';

/**
 * Hand-written pickles and what CPython 3.11.7's C unpickler made of them (`pyview.py --mode
 * plain`, which resolves the protocol 0-3 plain constructors): the view, or 'error' where
 * `pickle.loads` raised. They pin down the C unpickler's text parsing, stack-fence and memo
 * rules beyond what the fixture files cover.
 */
const CASES: [string, string, View | 'error'][] = [
  ['BOM at the start of a BINUNICODE str is kept', '5803000000efbbbf2e', '\ufeff'],
  ['encoded high+low surrogates stay two code points', '5806000000eda0bdedb8802e', { $codepoints: [55357, 56832] }],
  ['a 4-byte UTF-8 character is one code point', '8c04f09f98802e', '\ud83d\ude00'],
  ['a lone low surrogate then a high one', '5806000000edb080eda0802e', '\udc00\ud800'],
  ['a long non-ASCII str', '5884030000' + 'e282ac'.repeat(300) + '2e', '\u20ac'.repeat(300)],
  ['a long ASCII str', '582c010000' + '616263'.repeat(100) + '2e', 'abc'.repeat(100)],
  [
    'UNICODE escapes of a surrogate pair stay two code points',
    '565c75643833645c75646530300a2e',
    { $codepoints: [55357, 56832] },
  ],
  ['UNICODE backslash before another letter is literal', '565c7834315c5c75303034310a2e', '\\x41\\\\u0041'],
  ['INT with a NUL ends at the NUL', '4935006a756e6b0a2e', 5],
  ['INT +1 with two characters is True', '492b310a2e', true],
  ['INT 1 followed by a space is the int 1', '4931200a2e', 1],
  ['INT 0b101 via int()', '4930623130310a2e', 5],
  ['INT beyond 64 bits negative', '492d393232333337323033363835343737353830390a2e', { $int: '-9223372036854775809' }],
  ['INT 0x without digits', '4930780a2e', 'error'],
  ['LONG with underscores', '4c315f3030304c0a2e', 1000],
  ['LONG 010 is refused', '4c3031300a2e', 'error'],
  ['FLOAT with a leading space is refused', '4620312e350a2e', 'error'],
  ['FLOAT overflowing is refused', '4631653939390a2e', 'error'],
  ['FLOAT underflowing is zero', '4631652d3939390a2e', { $float: '0.0' }],
  ['FLOAT INFINITY', '462d494e46494e4954590a2e', { $float: '-Infinity' }],
  ['STRING octal escape beyond 0o177 is not ASCII', '53275c373737270a2e', 'error'],
  ['STRING with a short \\x escape', '53275c7834270a2e', 'error'],
  ['STRING with an unknown escape keeps the backslash', '5327615c71270a2e', 'a\\q'],
  ['STRING with octal escapes', '53275c3130315c30270a2e', 'A\u0000'],
  ['SHORT_BINSTRING with a non-ASCII byte', '5501e92e', 'error'],
  ['BINSTRING with a negative length', '54ffffffff2e', 'error'],
  ['POP removes a MARK on top', '4b0128302e', 1],
  ['POP_MARK without a MARK', '4b012830312e', 'error'],
  ['APPENDS of nothing onto an int', '4b0128652e', 1],
  ['ADDITEMS of nothing onto a list', '5d28902e', []],
  ['APPEND below a MARK fence', '5d4b05284b00612e', 'error'],
  ['SETITEM on a list replaces an element', '5d4b05614b004b07732e', [7]],
  ['SETITEM on a list with a negative index', '5d4b05614affffffff4b07732e', [7]],
  ['SETITEM on a list out of range', '5d4b004b07732e', 'error'],
  ['ADDITEMS onto a frozenset', '80042891284b01902e', 'error'],
  ['dict keys 1, 1.0 and True are one key', '80047d284b014b01473ff00000000000004b02884b03752e', { $dict: [[1, 3]] }],
  ['a set keeps the first of equal elements', '80048f284b0188902e', { $set: [1] }],
  ['MEMOIZE after a sparse PUT uses the entry count', '80048c016171078c01629468012e', 'b'],
  ['PUT over an existing index replaces it', '80048c016171018c0162710168012e', 'b'],
  ['GET with spaces and an underscore', '4e70315f300a67203130200a2e', null],
  ['PUT with a negative index', '4e702d310a2e', 'error'],
  ['DUP of a list shares it', '5d32862e', { $tuple: [{ $shared: 0, value: [] }, { $ref: 0 }] }],
  ['LONG1 of 8 bytes', '80028a0800000000000000802e', { $int: '-9223372036854775808' }],
  ['LONG1 of 9 bytes', '80028a09ffffffffffffffff002e', { $int: '18446744073709551615' }],
  ['LONG4 of 7 bytes negative', '80028b07000000010000000000802e', { $int: '-36028797018963967' }],
  ['BININT negative', '4afeffffff2e', -2],
  ['BININT2 max', '4dffff2e', 65535],
  [
    'a float run into a list, then a non-run batch',
    '80045d28473ff00000000000004b024e888965288c0178652e',
    [{ $float: '1.0' }, 2, null, true, false, 'x'],
  ],
  ['a numeric run not followed by APPENDS', '80045d284b014b0274862e', { $tuple: [[], { $tuple: [1, 2] }] }],
  ['a numeric run onto a non-list', '80047d284b014b02752e', { $dict: [[1, 2]] }],
  ['frame boundaries are not enforced', '80049502000000000000004b019501000000000000002e', 1],
  [
    'protocol 2 bytes through _codecs.encode',
    '8002635f636f646563730a656e636f64650a71005802000000c3a9710158060000006c6174696e3171028671035271042e',
    { $bytes_b64: '6Q==' },
  ],
  [
    'bytes(list of ints) through REDUCE',
    '8002635f5f6275696c74696e5f5f0a62797465730a5d284b014bff6585522e',
    { $bytes_b64: 'Af8=' },
  ],
  [
    'bytearray of a latin-1 str',
    '8002636275696c74696e730a6279746561727261790a58010000006158070000006c6174696e2d3186522e',
    { $bytearray_b64: 'YQ==' },
  ],
  [
    'frozenset of a tuple through REDUCE',
    '8002636275696c74696e730a66726f7a656e7365740a4b014b028685522e',
    { $frozenset: [1, 2] },
  ],
  ['set of an unhashable item through REDUCE', '8002636275696c74696e730a7365740a5d5d6185522e', 'error'],
  [
    'a set through REDUCE referenced twice stays one set',
    '8002636275696c74696e730a7365740a295271006800862e',
    { $tuple: [{ $shared: 0, value: { $set: [] } }, { $ref: 0 }] },
  ],
];

describe("edge cases decode as CPython's C unpickler reads them", () => {
  for (const [desc, hex, expected] of CASES) {
    test(desc, () => {
      const data = new Uint8Array(Buffer.from(hex, 'hex'));
      if (expected === 'error') {
        assert.throws(
          () => decodePickle(data, { plainConstructors: true }),
          (e) => e instanceof PickleError,
        );
        return;
      }
      const view = toView(decodePickle(data, { plainConstructors: true }));
      assertViewsEqual(view, expected);
    });
  }
});

describe('decoded values keep identity and memory', () => {
  test('bytes values are views of the input, not copies', () => {
    const data = new Uint8Array(Buffer.from('80044301612e', 'hex'));
    const v = decodePickle(data) as Uint8Array;
    assert.equal(v.buffer, data.buffer);
    assert.equal(v.byteOffset, data.byteOffset + 4);
    assert.equal(v.length, 1);
  });

  test('a bytearray is a copy, since it may be changed in place', () => {
    const data = new Uint8Array(Buffer.from('8005960100000000000000612e', 'hex'));
    const v = decodePickle(data);
    assert.ok(typeof v === 'object' && v !== null && 'data' in v);
    assert.notEqual((v as { data: Uint8Array }).data.buffer, data.buffer);
  });

  test('a list referenced twice through the memo is one object', () => {
    // ((l, l)) where l = [1]
    const v = decodePickle(new Uint8Array(Buffer.from('80045d944b0161680086942e', 'hex')));
    assert.ok(v instanceof PyTuple);
    const [a, b] = v.items as PyValue[][];
    assert.equal(a, b);
    assert.deepEqual(a, [1n]);
  });
});
