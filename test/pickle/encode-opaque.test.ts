import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { decodePickle } from '../../src/pickle/decode.js';
import { encodePickle } from '../../src/pickle/encode.js';
import { PyDict, PyGlobal, PyObject, PyPersId, PySet, PyTuple, pyInt, type PyValue } from '../../src/pickle/value.js';
import { toView, type View } from '../../src/pickle/view.js';
import { loadJsonl } from '../helpers/fixtures.js';
import { pyrefById, runPyref, type PyrefLine, type PyrefRun } from '../helpers/python.js';
import { assertViewsEqual } from '../helpers/views.js';

interface OpaqueLine {
  id: string;
  desc: string;
  pickle_b64: string;
  symbolic: View;
}

const lines = loadJsonl('pickle/opaque.jsonl') as OpaqueLine[];

function cls(name: string): PyGlobal {
  return new PyGlobal('mu_fixture', name);
}

function dict(entries: [string, PyValue][]): PyDict {
  const d = new PyDict();
  for (const [k, v] of entries) d.setStr(k, v);
  return d;
}

/** Objects that opaque.jsonl does not hold, built by hand; their symbolic view is `toView` of them. */
function handBuilt(): { id: string; desc: string; value: PyValue }[] {
  // The object is reachable from its own arguments: CPython's save_reduce builds it twice and
  // keeps the inner one (POP + GET); identity must survive.
  const looped = new PyObject('REDUCE', cls('Node'), new PyTuple([]));
  const children: PyValue[] = [looped];
  looped.args = new PyTuple([children]);
  looped.state.push(dict([['name', 'root']]));

  // A frozenset that an object inside it refers back to through its state.
  const holder = new PyObject('NEWOBJ', cls('Holder'), new PyTuple([]));
  const frozen = new PySet(true, [holder, 'tag']);
  holder.state.push(dict([['owner', frozen]]));

  const many = new PyObject('REDUCE', new PyGlobal('collections', 'OrderedDict'), new PyTuple([]));
  many.listitems = Array.from({ length: 2500 }, (_, i) => pyInt(i));
  many.dictitems = Array.from({ length: 1500 }, (_, i): [PyValue, PyValue] => [`k${i}`, i / 2]);
  many.setitems = ['a', pyInt(2), null];
  many.state = [dict([['first', true]]), new PyTuple([null, dict([['slot', pyInt(1)]])])];

  return [
    { id: 'hand-args-cycle', desc: 'an object reached again through its own arguments', value: [looped, 'after'] },
    {
      id: 'hand-frozenset-cycle',
      desc: 'a frozenset reached again through the state of an item',
      value: [frozen, 'after'],
    },
    {
      id: 'hand-inst',
      desc: 'an INST object keeps its opcode',
      value: new PyObject('INST', new PyGlobal('os', 'system'), new PyTuple(['echo never'])),
    },
    {
      id: 'hand-obj',
      desc: 'an OBJ object keeps its opcode',
      value: new PyObject('OBJ', cls('Point'), new PyTuple([pyInt(1), 2.5])),
    },
    {
      id: 'hand-newobj-ex',
      desc: 'NEWOBJ_EX with keyword arguments',
      value: new PyObject('NEWOBJ_EX', cls('KwNew'), new PyTuple([pyInt(5)]), dict([['b', pyInt(6)]])),
    },
    {
      id: 'hand-items',
      desc: 'list, dict and set items in batches and two BUILD states',
      value: many,
    },
    {
      id: 'hand-persid',
      desc: 'persistent ids, one shared by reference',
      value: [new PyPersId('<<NoneType>>'), new PyPersId(new PyTuple(['x', pyInt(1)]))],
    },
    { id: 'hand-global-twice', desc: 'the same global object twice', value: [cls('Point'), cls('Point')] },
  ];
}

describe('opaque.jsonl: decoded objects re-encode to the same symbolic structure', () => {
  const encoded = new Map<string, Buffer | Error>();
  const extras = handBuilt();
  let run: PyrefRun;
  let checked: Map<unknown, PyrefLine>;

  before(() => {
    const input: object[] = [];
    for (const line of lines) {
      try {
        const b = encodePickle(decodePickle(Buffer.from(line.pickle_b64, 'base64')));
        encoded.set(line.id, b);
        input.push({ id: line.id, pickle_b64: b.toString('base64'), view: line.symbolic });
      } catch (e) {
        encoded.set(line.id, e as Error);
      }
    }
    for (const c of extras) {
      const b = encodePickle(c.value);
      encoded.set(c.id, b);
      input.push({ id: c.id, pickle_b64: b.toString('base64'), view: toView(c.value) });
    }
    // One python3 for the whole file; symbolic mode imports and calls nothing.
    run = runPyref(['--mode', 'symbolic', '--check'], input);
    checked = pyrefById(run);
  });

  function check(id: string, want: View): void {
    const b = encoded.get(id);
    if (b instanceof Error) throw b;
    assert.ok(b !== undefined);
    const back = toView(decodePickle(b));
    assertViewsEqual(back, want);
    const py = checked.get(id);
    assert.ok(py?.ok, `pyref could not decode it: ${py?.error}`);
    assert.equal(py.match, true, 'pyref decoded a different structure');
  }

  for (const line of lines) {
    test(`${line.id}: ${line.desc}`, () => check(line.id, line.symbolic));
  }

  for (const c of extras) {
    test(`${c.id}: ${c.desc}`, () => check(c.id, toView(c.value)));
  }

  test('pyref checked every case in one run and all passed', () => {
    assert.equal(run.lines.length, lines.length + extras.length);
    assert.equal(run.failed, 0, run.stderr);
    assert.equal(run.status, 0);
  });
});
