import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { applyDelta, applyDeltaBytes, deltaFromValue, DeltaError, type Delta } from '../../src/delta/index.js';
import { materializeDelta } from '../../src/delta/materialize.js';
import { encodePickle, type PyDict, type PyValue, fromView, toView, type View } from '../../src/pickle/index.js';
import { assertViewsEqual } from '../helpers/views.js';

/** A delta given as the view of its report dict. */
function deltaOf(view: View): Delta {
  return deltaFromValue(materializeDelta(fromView(view)));
}

function apply(base: View, delta: View): { value: View; problems: string[] } {
  const r = applyDelta(fromView(base), deltaOf(delta));
  return { value: toView(r.value), problems: r.problems };
}

function assertView(actual: View, expected: View): void {
  assertViewsEqual(actual, expected);
}

function failsWith(base: View, delta: View, pyType: string): void {
  assert.throws(
    () => applyDelta(fromView(base), deltaOf(delta)),
    (e) => e instanceof DeltaError && e.code === 'DELTA_APPLY_FAILED' && e.pyType === pyType,
  );
}

describe('applyDelta has the API contract the server relies on', () => {
  test('the input value is never modified and the same Delta can be applied again', () => {
    const base = fromView({ a: [1, 2], b: { c: 1 } });
    const delta = deltaOf({
      values_changed: { "root['b']['c']": { new_value: [9] } },
      iterable_item_added: { "root['a'][2]": 3 },
    });
    const first = applyDelta(base, delta);
    assertView(toView(base), { a: [1, 2], b: { c: 1 } });
    // Mutating the first result must not leak into the Delta or a second application.
    (((first.value as PyDict).get('b') as PyDict).get('c') as PyValue[]).push(0n);
    const second = applyDelta(base, delta);
    assertView(toView(second.value), { a: [1, 2, 3], b: { c: [9] } });
  });

  test('a list reachable through two keys stays one list, and a change shows through both (tgt-1016)', () => {
    const shared: View = { $shared: 0, value: [1, 2] };
    const r = apply({ a: shared, b: { $ref: 0 } }, { values_changed: { "root['a'][0]": { new_value: 5 } } });
    assertView(r.value, { a: { $shared: 0, value: [5, 2] }, b: { $ref: 0 } });
  });

  test('a cycle in the input survives the copy', () => {
    const r = apply(
      { $shared: 0, value: { self: { $ref: 0 }, n: 1 } },
      { values_changed: { "root['n']": { new_value: 2 } } },
    );
    assertView(r.value, { $shared: 0, value: { self: { $ref: 0 }, n: 2 } });
  });

  test('a value shared inside the delta is shared in the result, as the unpickled objects are in Python', () => {
    const r = apply(
      {},
      { dictionary_item_added: { "root['x']": { $shared: 0, value: [1] }, "root['y']": { $ref: 0 } } },
    );
    assertView(r.value, { x: { $shared: 0, value: [1] }, y: { $ref: 0 } });
  });

  test('each skipped operation is one problem and the rest still applies', () => {
    const r = apply(
      { a: 1 },
      {
        values_changed: { "root['missing']['x']": { new_value: 1 }, "root['a']": { new_value: 2 } },
        dictionary_item_removed: { "root['gone']": 1 },
      },
    );
    assertView(r.value, { a: 2 });
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0], /Unable to get the item at root\['missing'\]\['x'\]/);
  });

  test('consumeInput applies in place, without the copy', () => {
    const base = fromView({ a: [1] });
    const r = applyDelta(base, deltaOf({ iterable_item_added: { "root['a'][1]": 2 } }), { consumeInput: true });
    assert.equal(r.value, base);
    assertView(toView(base), { a: [1, 2] });
  });

  test('opcodes that would rebuild a list past maxRebuiltItems are refused', () => {
    const equal: View = {
      $object: {
        op: 'NEWOBJ',
        callable: { $global: ['deepdiff.helper', 'Opcode'] },
        args: { $tuple: ['equal', 0, 3, 0, 3] },
      },
    };
    const delta = deltaOf({ _iterable_opcodes: { root: [equal, equal, equal, equal] } });
    assert.throws(
      () => applyDelta(fromView([1, 2, 3]), delta, { limits: { maxRebuiltItems: 10 } }),
      (e) => e instanceof DeltaError && e.code === 'DELTA_LIMIT',
    );
    assertView(toView(applyDelta(fromView([1, 2, 3]), delta).value), [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
  });

  test('applyDeltaBytes decodes and applies in one call', () => {
    const bytes = encodePickle(fromView({ dictionary_item_added: { "root['k']": 'v' } }));
    const r = applyDeltaBytes(fromView({}), bytes);
    assertView(toView(r.value), { k: 'v' });
  });
});

describe('applyDelta fails as a whole where Python raises (DELTA-SEMANTICS.md §8)', () => {
  test('inserting into the middle of a tuple raises AttributeError (tgt-0776)', () => {
    failsWith({ t: { $tuple: [1, 2, 3] } }, { iterable_item_added: { "root['t'][0]": 0 } }, 'AttributeError');
  });

  test('adds under an int key and a str key of one dict raise TypeError (tgt-0996)', () => {
    failsWith(
      {
        a: {
          $dict: [
            [1, []],
            ['k', []],
          ],
        },
      },
      { iterable_item_added: { "root['a'][1][0]": 1, "root['a']['k'][0]": 2 } },
      'TypeError',
    );
  });

  test('at the root the path types differ first, so the fallback sort survives (tgt-0997)', () => {
    const r = apply(
      {
        $dict: [
          [1, []],
          ['k', []],
        ],
      },
      { iterable_item_added: { 'root[1][0]': 1, "root['k'][0]": 2 } },
    );
    assertView(r.value, {
      $dict: [
        [1, [1]],
        ['k', [2]],
      ],
    });
  });

  test('two None paths cannot be sorted, one can (tgt-0731)', () => {
    failsWith(
      {},
      {
        iterable_item_removed: {
          $dict: [
            [null, 1],
            ["root['x']", 2],
          ],
        },
      },
      'TypeError',
    );
    const r = apply({}, { iterable_item_removed: { $dict: [[null, 1]] } });
    assert.equal(r.problems.length, 1);
  });

  test('a change inside a tuple nested in a tuple ends in RuntimeError (tgt-0050)', () => {
    failsWith(
      { t: { $tuple: [{ $tuple: [1, 2] }] } },
      { values_changed: { "root['t'][0][1]": { new_value: 3 } } },
      'RuntimeError',
    );
  });

  test('set updates on a missing path raise AttributeError (drift-0020)', () => {
    failsWith({ a: 1 }, { set_item_added: { "root['s']": { $set: [1] } } }, 'AttributeError');
  });

  test('removing the root itself leaves no root to return', () => {
    failsWith([1], { dictionary_item_removed: { root: [1] } }, 'AttributeError');
  });

  test('a type change of the root that cannot convert raises instead of logging', () => {
    failsWith(
      'abc',
      {
        type_changes: {
          root: { old_type: { $global: ['builtins', 'str'] }, new_type: { $global: ['builtins', 'int'] } },
        },
      },
      'TypeError',
    );
  });

  test('a report that is not a dict raises when its phase runs', () => {
    failsWith({}, { values_changed: [1] }, 'AttributeError');
  });

  test('numpy deltas with item changes are unsupported', () => {
    assert.throws(
      () =>
        applyDelta(fromView([1]), deltaOf({ _numpy_paths: { root: 'int64' }, iterable_item_added: { 'root[1]': 2 } })),
      (e) => e instanceof DeltaError && e.code === 'DELTA_UNSUPPORTED',
    );
  });
});

describe('applyDelta follows deepdiff on the quirks the fixtures pin down', () => {
  test('a tuple with opcodes replaces its parent with the original tuple (tgt-0792)', () => {
    const opcode = (args: View[]): View => ({
      $object: { op: 'NEWOBJ', callable: { $global: ['deepdiff.helper', 'Opcode'] }, args: { $tuple: args } },
    });
    const r = apply(
      { x: 0, a: { t: { $tuple: [1, 2, 3, 4, 5] } } },
      {
        _iterable_opcodes: {
          "root['a']['t']": [opcode(['delete', 0, 2, 0, 0, null, []]), opcode(['equal', 2, 5, 0, 3])],
        },
      },
    );
    assertView(r.value, { x: 0, a: { $tuple: [1, 2, 3, 4, 5] } });
  });

  test('removal looks for the nearest equal item when the index holds something else', () => {
    const r = apply({ l: [1, 2, 3, 2] }, { iterable_item_removed: { "root['l'][0]": 2 } });
    assertView(r.value, { l: [1, 3, 2] });
  });

  test('a None key is never removed (tgt-0497)', () => {
    const r = apply({ $dict: [[null, 1]] }, { dictionary_item_removed: { 'root[None]': 1 } });
    assertView(r.value, { $dict: [[null, 1]] });
    assert.deepEqual(r.problems, []);
  });

  test('dictionary additions keep delta order and overwrite in place', () => {
    const r = apply({ a: 1, b: 2 }, { dictionary_item_added: { "root['z']": 0, "root['a']": 9, "root['c']": 3 } });
    assert.deepEqual(Object.keys(r.value as object), ['a', 'b', 'z', 'c']);
    assertView(r.value, { a: 9, b: 2, z: 0, c: 3 });
  });

  test('keys compare with Python equality: 1, 1.0 and True are one key', () => {
    const r = apply(
      { $dict: [[1, 'a']] },
      { values_changed: { 'root[1.0]': { new_value: 'b' }, 'root[True]': { new_value: 'c' } } },
    );
    assertView(r.value, { $dict: [[1, 'c']] });
  });
});
