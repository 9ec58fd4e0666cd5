import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { NONE_TYPE } from '../../src/delta/convert.js';
import { DeltaError, decodeDelta, type Delta, type DeltaEntry, type ReportKey } from '../../src/delta/index.js';
import { encodePickle, PyDict, PySet, fromView, toView, type View } from '../../src/pickle/index.js';

/** The pickle of a delta written as a view (`$global`, `$persid`, `$object` for what deepdiff pickles). */
function bytesOf(view: View): Uint8Array {
  return encodePickle(fromView(view));
}

function entries(delta: Delta, key: ReportKey): readonly DeltaEntry[] {
  const r = delta.reports.get(key);
  assert.ok(r !== undefined && r.kind === 'entries', `${key} should be a dict report`);
  return r.entries;
}

function rejects(view: View | Uint8Array, code: string, pyType?: string): void {
  const bytes = view instanceof Uint8Array ? view : bytesOf(view);
  assert.throws(
    () => decodeDelta(bytes),
    (e) => e instanceof DeltaError && e.code === code && (pyType === undefined || e.pyType === pyType),
  );
}

const opcode = (args: View[]): View => ({
  $object: { op: 'NEWOBJ', callable: { $global: ['deepdiff.helper', 'Opcode'] }, args: { $tuple: args } },
});

describe('decodeDelta reads delta pickles as deepdiff 8.1.1 Delta(bytes) does (DELTA-SEMANTICS.md §2)', () => {
  test('a real client delta decodes with its paths already tokenized (tgt-0001)', () => {
    const b = Buffer.from(
      'gASVNQAAAAAAAAB9lIwOdmFsdWVzX2NoYW5nZWSUfZSMCXJvb3RbJ3YnXZR9lIwJbmV3X3ZhbHVllEsCc3NzLg==',
      'base64',
    );
    const [e] = entries(decodeDelta(b), 'values_changed');
    assert.equal(e.path.raw, "root['v']");
    assert.deepEqual(
      e.path.elements?.map((x) => x.key),
      ['root', 'v'],
    );
    assert.deepEqual(toView(e.payload), { new_value: 2 });
  });

  test('a global outside the allow-list rejects the whole delta (tgt-1021: bytearray)', () => {
    rejects(
      { values_changed: { "root['a']": { new_value: { $global: ['builtins', 'bytearray'] } } } },
      'DELTA_REJECTED',
      'ForbiddenModule',
    );
    rejects({ x: { $global: ['os', 'system'] } }, 'DELTA_REJECTED', 'ForbiddenModule');
    rejects({ x: { $global: ['datetime', 'date'] } }, 'DELTA_REJECTED', 'ForbiddenModule');
  });

  test("the persistent id '<<NoneType>>' is NoneType, any other one is None, builtins.None is None", () => {
    const d = decodeDelta(
      bytesOf({
        type_changes: {
          "root['a']": {
            old_type: { $persid: '<<NoneType>>' },
            new_type: { $global: ['builtins', 'int'] },
            new_value: { $persid: 'something else' },
            other: { $global: ['builtins', 'None'] },
          },
        },
      }),
    );
    const payload = entries(d, 'type_changes')[0].payload;
    assert.ok(payload instanceof PyDict);
    assert.equal(payload.get('old_type'), NONE_TYPE);
    assert.deepEqual(toView(payload), {
      old_type: { $global: ['builtins', 'NoneType'] },
      new_type: { $global: ['builtins', 'int'] },
      new_value: null,
      other: null,
    });
  });

  test('Opcode records become typed opcodes; missing fields default to None', () => {
    const d = decodeDelta(
      bytesOf({
        _iterable_opcodes: {
          "root['a']": [opcode(['replace', 0, 1, 0, 2, null, ['x', 'y']]), opcode(['equal', 1, 3, 2, 4])],
        },
      }),
    );
    const [e] = entries(d, '_iterable_opcodes');
    assert.equal(e.opcodes?.length, 2);
    assert.equal(e.opcodes?.[0].tag, 'replace');
    assert.deepEqual(toView(e.opcodes?.[0].newValues ?? null), ['x', 'y']);
    assert.equal(e.opcodes?.[1].newValues, null);
  });

  test('an Opcode that Opcode.__new__ would refuse rejects the delta', () => {
    rejects({ _iterable_opcodes: { root: [opcode(['equal', 0, 1])] } }, 'DELTA_REJECTED', 'TypeError');
    rejects({ _iterable_opcodes: { root: [opcode(['equal', 0, 1, 0, 1, null, null, 'extra'])] } }, 'DELTA_REJECTED');
  });

  test('allow-listed builtins called through REDUCE give their values', () => {
    const d = decodeDelta(
      bytesOf({
        values_changed: {
          root: {
            new_value: {
              $object: { op: 'REDUCE', callable: { $global: ['builtins', 'frozenset'] }, args: { $tuple: [[1, 2]] } },
            },
          },
        },
      }),
    );
    const payload = entries(d, 'values_changed')[0].payload;
    assert.deepEqual(toView(payload), { new_value: { $frozenset: [1, 2] } });
    assert.ok(payload instanceof PyDict && payload.get('new_value') instanceof PySet);
  });

  test('allow-listed objects the value model cannot hold are unsupported', () => {
    rejects(
      { x: { $object: { op: 'REDUCE', callable: { $global: ['decimal', 'Decimal'] }, args: { $tuple: ['1.5'] } } } },
      'DELTA_UNSUPPORTED',
    );
  });

  test('what Delta() itself refuses is rejected: empty, malformed, not a dict', () => {
    rejects(new Uint8Array(0), 'DELTA_REJECTED', 'ValueError');
    rejects(new Uint8Array([0x80, 0x04, 0x95]), 'DELTA_REJECTED');
    rejects([1, 2], 'DELTA_REJECTED', 'AttributeError');
  });

  test('unknown report keys are kept aside and ignored, as deepdiff ignores them (syn-0024)', () => {
    const view = { unknown_report_key: { "root['a']": 2 }, values_changed: {} };
    const d = decodeDelta(bytesOf(view));
    assert.deepEqual(d.unknownKeys, ['unknown_report_key']);
    assert.throws(
      () => decodeDelta(bytesOf(view), { rejectUnknownKeys: true }),
      (e) => e instanceof DeltaError && e.code === 'DELTA_UNKNOWN_KEY',
    );
  });

  test('a None path (a key DeepDiff cannot write) is kept with the parser error (tgt-0731)', () => {
    const d = decodeDelta(bytesOf({ dictionary_item_added: { $dict: [[null, 1]] } }));
    const [e] = entries(d, 'dictionary_item_added');
    assert.equal(e.path.elements, null);
    assert.equal(e.path.error?.pyType, 'TypeError');
  });

  test('report values that are not dicts are classified for the applier', () => {
    const d = decodeDelta(bytesOf({ values_changed: null, type_changes: [1] }));
    assert.deepEqual(d.reports.get('values_changed'), { kind: 'falsy' });
    assert.equal(d.reports.get('type_changes')?.kind, 'malformed');
  });

  test('the compare-func flag is read by truthiness', () => {
    assert.equal(decodeDelta(bytesOf({ _iterable_compare_func_was_used: true })).compareFuncWasUsed, true);
    assert.equal(decodeDelta(bytesOf({ _iterable_compare_func_was_used: 0 })).compareFuncWasUsed, false);
  });
});
