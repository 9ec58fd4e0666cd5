import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { LITERAL_FAILED, literalEval } from '../../src/delta/literal.js';
import { parsePath, type PathElement } from '../../src/delta/path.js';
import { PyExc } from '../../src/delta/py-ops.js';
import { PyCodepointStr, PyDict, PySet, PyTuple, type PyValue, toView, type View } from '../../src/pickle/index.js';

/** The elements after `root`, as views, with `.` marking GETATTR. */
function tokens(path: PyValue): (View | { attr: View })[] {
  return parsePath(path)
    .slice(1)
    .map((e: PathElement) => (e.attr ? { attr: toView(e.key) } : toView(e.key)));
}

describe('parsePath tokenizes report paths as deepdiff 8.1.1 does (DELTA-SEMANTICS.md §3)', () => {
  test('root alone has only the root element, reached by getattr on the Delta', () => {
    const els = parsePath('root');
    assert.equal(els.length, 1);
    assert.deepEqual({ ...els[0] }, { key: 'root', attr: true });
  });

  test('quoted str keys and int indices become str and int keys', () => {
    assert.deepEqual(tokens("root['name'][3]['x']"), ['name', 3, 'x']);
    assert.deepEqual(tokens('root[-1]'), [-1]);
    assert.deepEqual(tokens('root[1180591620717411303424]'), [{ $int: '1180591620717411303424' }]);
  });

  test('floats, True, False and None are evaluated as literals', () => {
    assert.deepEqual(tokens('root[1.5][True][False][None]'), [1.5, true, false, null]);
    assert.deepEqual(tokens('root[1e+16]'), [{ $float: '1e+16' }]);
    assert.deepEqual(tokens('root[-0.0]'), [{ $float: '-0.0' }]);
  });

  test('a str with a single quote is written with double quotes', () => {
    assert.deepEqual(tokens('root["it\'s"]'), ["it's"]);
    assert.deepEqual(tokens('root[\'say "hi"\']'), ['say "hi"']);
  });

  test('brackets, dots, newlines and NUL inside quotes are ordinary characters', () => {
    assert.deepEqual(tokens("root['a[0].b']"), ['a[0].b']);
    assert.deepEqual(tokens("root['line\nbreak']['tab\there']"), ['line\nbreak', 'tab\there']);
    assert.deepEqual(tokens("root['nul\u0000']"), ['nul\u0000']);
    assert.deepEqual(tokens("root['日本']"), ['日本']);
  });

  test('a closing quote ends the token at once', () => {
    assert.deepEqual(tokens("root['it''s']"), ['it', 's']);
  });

  test('a key with both quote kinds splits into two tokens (tgt-0530)', () => {
    assert.deepEqual(tokens('root["both \' and ""]'), ["both ' and ", '"]']);
  });

  test('a backslash makes the token verbatim minus one pair of outer quotes', () => {
    assert.deepEqual(tokens("root['a\\b']"), ['a\\b']);
    assert.deepEqual(tokens("root['\\n']"), ['\\n']);
    assert.deepEqual(tokens('root[a\\b]'), ['a\\b']);
  });

  test('tokens that are not literals fall back to their text', () => {
    assert.deepEqual(tokens('root[007]'), ['007']);
    assert.deepEqual(tokens('root[abc]'), ['abc']);
    assert.deepEqual(tokens('root[inf]'), ['inf']);
    assert.deepEqual(tokens("root[f'x']"), ["f'x'"]);
  });

  test('Python literal syntax beyond plain ints is honoured', () => {
    assert.deepEqual(tokens('root[1_000]'), [1000]);
    assert.deepEqual(tokens('root[0x1F]'), [31]);
    assert.deepEqual(tokens('root[+5]'), [5]);
    assert.deepEqual(tokens('root[- 5]'), [-5]);
    assert.deepEqual(tokens('root[ 7]'), [7]);
    assert.deepEqual(tokens('root[1, 2]'), [{ $tuple: [1, 2] }]);
    assert.deepEqual(tokens("root[b'ab']"), [{ $bytes_b64: 'YWI=' }]);
    assert.deepEqual(tokens("root[u'ab']"), ['ab']);
  });

  test('a bracket inside a subscript does not nest: the next ] ends it', () => {
    assert.deepEqual(tokens('root[a[b]c]'), ['a[b', 'c']);
  });

  test('attribute syntax gives GETATTR elements', () => {
    assert.deepEqual(tokens('root.a.b'), [{ attr: 'a' }, { attr: 'b' }]);
    assert.deepEqual(tokens('root.a[0]'), [{ attr: 'a' }, 0]);
  });

  test('raw tokens starting with two underscores are dropped', () => {
    assert.deepEqual(tokens('root.__dict__.x'), [{ attr: 'x' }]);
    assert.deepEqual(tokens("root['__x']"), ['__x']);
  });

  test('the first four characters are dropped whatever they are', () => {
    assert.deepEqual(tokens("xxxx['a']"), ['a']);
  });

  test('a split surrogate pair inside quotes survives as code points', () => {
    const path = new PyCodepointStr([...Array.from("root['", (c) => c.charCodeAt(0)), 0xd83d, 0xde00, 0x27, 0x5d]);
    const key = parsePath(path)[1].key;
    assert.ok(key instanceof PyCodepointStr);
    assert.deepEqual(key.codepoints, [0xd83d, 0xde00]);
  });

  test('a path that is not a str raises TypeError, as None[4:] does (tgt-0731)', () => {
    assert.throws(
      () => parsePath(null),
      (e) => e instanceof PyExc && e.pyType === 'TypeError',
    );
  });
});

describe('literalEval follows ast.literal_eval', () => {
  const cases: [string, View][] = [
    ['0', 0],
    ['00', 0],
    ['-3', -3],
    ['1.5', 1.5],
    ['5.', { $float: '5.0' }],
    ['.5', 0.5],
    ['1e3', { $float: '1000.0' }],
    ['1_0.0_1', 10.01],
    ['0b101', 5],
    ['0o17', 15],
    ['True', true],
    ['None', null],
    ['(1)', 1],
    ['-(3)', -3],
    ['(1,)', { $tuple: [1] }],
    ['()', { $tuple: [] }],
    ['[1, 2]', [1, 2]],
    ["'x'", 'x'],
    ['1 # comment', 1],
  ];
  for (const [text, view] of cases) {
    test(`${JSON.stringify(text)} evaluates`, () => {
      const v = literalEval(text);
      assert.notEqual(v, LITERAL_FAILED);
      assert.deepEqual(toView(v as PyValue), view);
    });
  }

  test('dict, set and set() literals build containers', () => {
    const d = literalEval('{1: 2}');
    assert.ok(d instanceof PyDict && d.get(1n) === 2n);
    const s = literalEval('{1, 2}');
    assert.ok(s instanceof PySet && s.size === 2);
    assert.ok(literalEval('set()') instanceof PySet);
    assert.ok(literalEval('(1, 2)') instanceof PyTuple);
  });

  for (const bad of [
    '007',
    '1__0',
    '1_',
    '--3',
    '-True',
    '-(-3)',
    '1 2',
    'abc',
    '1j',
    '...',
    '1+2',
    "'a\nb'",
    '\ud800',
    '',
  ]) {
    test(`${JSON.stringify(bad)} is not a literal`, () => {
      assert.equal(literalEval(bad), LITERAL_FAILED);
    });
  }

  test('an int past 4300 digits is refused, as CPython 3.11 refuses it', () => {
    assert.equal(literalEval('1'.repeat(4301)), LITERAL_FAILED);
    assert.notEqual(literalEval('1'.repeat(4300)), LITERAL_FAILED);
  });

  test('an unhashable set element raises TypeError past the fallback', () => {
    assert.throws(
      () => literalEval('{{}}'),
      (e) => e instanceof PyExc && e.pyType === 'TypeError',
    );
  });
});
