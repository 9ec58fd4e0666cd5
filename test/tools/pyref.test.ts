import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  encodePickle,
  PyByteArray,
  PyDict,
  PyGlobal,
  PyObject,
  PyPersId,
  PySet,
  PyTuple,
  pyInt,
  type View,
} from '../../src/pickle/index.js';
import { runPyref, type PyrefLine } from '../helpers/python.js';

function b64(b: Uint8Array): string {
  return Buffer.from(b).toString('base64');
}

/** A pickle written by hand, one char per byte. */
function raw(text: string): string {
  return Buffer.from(text, 'latin1').toString('base64');
}

function call(module: string, name: string, ...args: string[]): string {
  return b64(encodePickle(new PyObject('REDUCE', new PyGlobal(module, name), new PyTuple(args))));
}

describe('pyref.py refuses and never executes', () => {
  let dir: string;
  let marker: string;
  let hostile: string[];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pyref-'));
    marker = join(dir, 'pwned');
    const py = `open(${JSON.stringify(marker)}, "w").write("x")`;
    hostile = [
      call('posix', 'system', `touch ${marker}`),
      call('os', 'system', `touch ${marker}`),
      call('builtins', 'exec', py),
      call('builtins', 'eval', py),
      call('builtins', 'print', 'PYREF-PRINTED-THIS'),
      call('subprocess', 'Popen', 'touch', marker),
      // Protocol 0 INST: the class is named by text lines, then called on the marked arguments.
      raw(`(S'touch ${marker}'\nios\nsystem\n.`),
      // BUILD on a refused/inert object must not reach setattr or __setstate__.
      raw(`\x80\x04cbuiltins\nprint\n)\x81}S'x'\nS'PYREF-PRINTED-THIS'\nsb.`),
    ];
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const mode of ['strict', 'plain', 'symbolic']) {
    test(`--mode ${mode} runs no hostile pickle: no file is created and nothing is printed`, () => {
      const run = runPyref(['--mode', mode], hostile);
      assert.equal(run.lines.length, hostile.length);
      assert.equal(existsSync(marker), false);
      assert.ok(!run.stderr.includes('PYREF-PRINTED-THIS'));
      // Every stdout line parsed as a JSON record: a print() would have added a bare line.
      for (const line of run.lines) assert.equal(typeof line.ok, 'boolean');
      if (mode === 'symbolic') assert.ok(run.lines.every((l) => l.ok));
      else assert.ok(run.lines.every((l) => !l.ok && /refused/.test(l.error ?? '')));
    });
  }

  test('strict mode refuses globals and persistent ids even for harmless names', () => {
    const run = runPyref(
      ['--mode', 'strict'],
      [
        b64(encodePickle(new PyGlobal('builtins', 'int'))),
        b64(encodePickle(new PyPersId('id'))),
        b64(encodePickle(new PyByteArray(new Uint8Array([1])))),
      ],
    );
    assert.deepEqual(
      run.lines.map((l) => l.ok),
      [false, false, false],
    );
    assert.equal(run.status, 1);
    assert.match(run.stderr, /0 passed, 3 failed/);
  });

  test('plain mode builds bytes and bytearray through checked stand-ins, and refuses other encodings', () => {
    const shared = new PyByteArray(new Uint8Array([7]));
    const run = runPyref(
      ['--mode', 'plain'],
      [
        'gAJjX2NvZGVjcwplbmNvZGUKcQBYAgAAAGFicQFYBgAAAGxhdGluMXEChnEDUnEELg==', // pickle.dumps(b'ab', 2)
        b64(encodePickle(new PyByteArray(new Uint8Array([0, 255])))),
        b64(encodePickle(new PyByteArray(new Uint8Array(0)))),
        call('_codecs', 'encode', 'ab', 'utf-16'),
        b64(encodePickle([shared, shared])),
        call('builtins', 'set', 'not a list'),
      ],
    );
    assert.deepEqual(run.lines[0].view, { $bytes_b64: 'YWI=' });
    assert.deepEqual(run.lines[1].view, { $bytearray_b64: 'AP8=' });
    assert.deepEqual(run.lines[2].view, { $bytearray_b64: '' });
    assert.match(run.lines[3].error ?? '', /refused/);
    assert.deepEqual(run.lines[4].view, [{ $shared: 0, value: { $bytearray_b64: 'Bw==' } }, { $ref: 0 }]);
    assert.match(run.lines[5].error ?? '', /refused/);
  });

  test('bare base64 lines are numbered by line and padding may be left out', () => {
    const run = runPyref([], ['gARLKi4', '', 'not base64!']);
    assert.deepEqual(run.lines[0], { id: 1, ok: true, view: 42 });
    assert.equal(run.lines[1].id, 3);
    assert.equal(run.lines[1].ok, false);
  });
});

describe('pyref.py --check compares views like views_equal', () => {
  const d = new PyDict();
  d.setStr('a', pyInt(1));
  d.setStr('b', pyInt(2));
  const shared: never[] = [];
  const cases: { id: string; pickle: string; view: View; match: boolean }[] = [
    { id: 'nan', pickle: b64(encodePickle(NaN)), view: { $float: 'NaN' }, match: true },
    { id: 'negative-nan', pickle: 'gASVCgAAAAAAAABH//gAAAAAAAAu', view: { $float: 'NaN' }, match: true },
    { id: 'minus-zero-vs-zero', pickle: b64(encodePickle(-0)), view: { $float: '0.0' }, match: false },
    { id: 'minus-zero', pickle: b64(encodePickle(-0)), view: { $float: '-0.0' }, match: true },
    {
      id: 'set-order',
      pickle: b64(encodePickle(new PySet(false, [pyInt(1), pyInt(2), 'x']))),
      view: { $set: ['x', 2, 1] },
      match: true,
    },
    { id: 'set-vs-frozenset', pickle: b64(encodePickle(new PySet(false))), view: { $frozenset: [] }, match: false },
    { id: 'dict-order', pickle: b64(encodePickle(d)), view: { b: 2, a: 1 }, match: false },
    {
      id: 'dict-forms',
      pickle: b64(encodePickle(d)),
      view: {
        $dict: [
          ['a', 1],
          ['b', 2],
        ],
      },
      match: true,
    },
    { id: 'int-vs-float', pickle: b64(encodePickle(pyInt(1))), view: { $float: '1.0' }, match: false },
    { id: 'int-vs-bool', pickle: b64(encodePickle(pyInt(1))), view: true, match: false },
    { id: 'big-int', pickle: b64(encodePickle(2n ** 64n)), view: { $int: '18446744073709551616' }, match: true },
    {
      id: 'shared-numbering',
      pickle: b64(encodePickle([shared, shared])),
      view: [{ $shared: 7, value: [] }, { $ref: 7 }],
      match: true,
    },
    {
      id: 'unshared',
      pickle: b64(encodePickle([[], []])),
      view: [{ $shared: 0, value: [] }, { $ref: 0 }],
      match: false,
    },
    { id: 'tuple-vs-list', pickle: b64(encodePickle(new PyTuple([]))), view: [], match: false },
  ];
  let byId: Map<unknown, PyrefLine>;
  let status: number | null;

  before(() => {
    const run = runPyref(
      ['--check'],
      cases.map((c) => ({ id: c.id, pickle_b64: c.pickle, view: c.view })),
    );
    byId = new Map(run.lines.map((l) => [l.id, l]));
    status = run.status;
  });

  for (const c of cases) {
    test(`${c.id}: the pickle ${c.match ? 'matches' : 'does not match'} the view`, () => {
      const line = byId.get(c.id);
      assert.ok(line?.ok, line?.error);
      assert.equal(line.match, c.match);
    });
  }

  test('a mismatch makes the exit status 1', () => {
    assert.equal(status, 1);
  });
});
