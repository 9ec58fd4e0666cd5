import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { applyDelta, applyDeltaStrict, decodeDelta, DeltaError, strictPathProblem } from '../../src/delta/index.js';
import { STRICT_MAX_MEMO_SKIP } from '../../src/delta/strict.js';
import { toDeltaPath } from '../../src/delta/decode-delta.js';
import {
  decodePickle,
  encodePickle,
  PyCodepointStr,
  PyDict,
  PyTuple,
  type PyValue,
  toView,
} from '../../src/pickle/index.js';
import { assertViewsEqual } from '../helpers/views.js';
import { loadJsonl } from '../helpers/fixtures.js';

function dict(entries: [PyValue, PyValue][]): PyDict {
  const d = new PyDict();
  for (const [k, v] of entries) d.set(k, v);
  return d;
}

function problemOf(raw: PyValue): string | undefined {
  return strictPathProblem(toDeltaPath(raw));
}

describe('strict delta paths', () => {
  test('plain subscript paths as deepdiff writes them are accepted', () => {
    for (const p of [
      'root',
      "root['name']",
      'root[0]',
      "root['a'][3]['b c']",
      'root["it\'s"]',
      'root[None]',
      'root[1.5]',
      "root[('a', 1)]",
      "root['a.b']",
      "root['_private_but_one_underscore']",
    ]) {
      assert.equal(problemOf(p), undefined, p);
    }
  });

  test('attribute steps, dropped __ tokens, __ keys and foreign prefixes are refused', () => {
    for (const p of [
      'root.name',
      "root['a'].b",
      'root.__class__',
      "root['a'].__dict__",
      "root['__globals__']",
      'root[\'a\']["__init__"]',
      "xxxx['name']",
      "ROOT['name']",
    ]) {
      assert.notEqual(problemOf(p), undefined, p);
    }
  });

  test('a str with code points JS cannot merge is checked the same way', () => {
    const cps = (text: string): number[] => [...text].map((c) => c.codePointAt(0) as number);
    // root['<U+D83D><U+DE00>'] with the surrogates as two code points, as Python can hold them.
    const ok = new PyCodepointStr([...cps("root['"), 0xd83d, 0xde00, ...cps("']")]);
    assert.equal(problemOf(ok), undefined);
    assert.notEqual(problemOf(new PyCodepointStr([...cps("root['__"), 0xd83d, 0xde00, ...cps("']")])), undefined);
    assert.notEqual(problemOf(new PyCodepointStr([...cps('root.'), 0xd83d, 0xde00])), undefined);
  });

  test('tuple-form paths and non-str paths are refused', () => {
    const tuplePath = new PyTuple([new PyTuple(['root', 'GETATTR']), new PyTuple(['name', 'GET'])]);
    assert.match(problemOf(tuplePath) as string, /tuple/);
    assert.notEqual(problemOf(null), undefined);
    assert.notEqual(problemOf(3n), undefined);
  });

  test('a report with one refused path refuses the whole delta and leaves the input alone', () => {
    const base = dict([
      ['a', 1n],
      ['b', 2n],
    ]);
    const bytes = encodePickle(
      dict([
        [
          'values_changed',
          dict([
            ["root['a']", dict([['new_value', 10n]])],
            ['root.b', dict([['new_value', 20n]])],
          ]),
        ],
      ]),
    );
    assert.throws(
      () => applyDeltaStrict(base, bytes),
      (e: unknown) => e instanceof DeltaError && e.code === 'DELTA_PATH_REFUSED',
    );
    assert.equal(base.get('a'), 1n);
  });
});

describe('the strict reader accepts what the add-on sends', () => {
  // Every realistic case (add-on-shaped node data, edits made by DeepDiff itself) applies cleanly in
  // deepdiff; the strict reader must accept all of them with deepdiff's result.
  const cases = loadJsonl('delta/realistic.jsonl') as {
    id: string;
    outcome: string;
    log: string[];
    base_pickle_b64: string;
    delta_pickle_b64: string;
  }[];
  test(`all ${cases.length} realistic deltas are accepted with the faithful result`, () => {
    let checked = 0;
    for (const c of cases) {
      if (c.outcome !== 'ok' || c.log.length > 0) continue;
      const base = decodePickle(Buffer.from(c.base_pickle_b64, 'base64'));
      const bytes = new Uint8Array(Buffer.from(c.delta_pickle_b64, 'base64'));
      const faithful = applyDelta(base, decodeDelta(bytes)).value;
      const strict = applyDeltaStrict(base, bytes).value;
      assertViewsEqual(toView(strict), toView(faithful), c.id);
      checked++;
    }
    assert.ok(checked > 1000, `only ${checked} cases checked`);
  });
});

describe('whatever the strict reader accepts, deepdiff 8.1.1 applied whole to the same result', () => {
  for (const file of ['targeted', 'drift', 'synthetic', 'random', 'random_drift']) {
    test(`delta/${file}.jsonl`, () => {
      const lines = loadJsonl(`delta/${file}.jsonl`) as {
        id: string;
        outcome: string;
        log: string[];
        base_pickle_b64: string;
        delta_pickle_b64: string;
        expected_pickle_b64?: string;
      }[];
      let accepted = 0;
      for (const c of lines) {
        const base = decodePickle(Buffer.from(c.base_pickle_b64, 'base64'));
        let result: PyValue;
        try {
          result = applyDeltaStrict(base, new Uint8Array(Buffer.from(c.delta_pickle_b64, 'base64'))).value;
        } catch (e) {
          assert.ok(e instanceof DeltaError, `${c.id}: ${String(e)}`);
          continue;
        }
        accepted++;
        assert.equal(c.outcome, 'ok', c.id);
        assert.deepEqual(c.log, [], c.id);
        const expected = decodePickle(Buffer.from(c.expected_pickle_b64 as string, 'base64'));
        assertViewsEqual(toView(result), toView(expected), c.id);
      }
      assert.ok(accepted > 0);
    });
  }
});

describe('strict delta memo', () => {
  // {'values_changed': {"root['a']": {'new_value': 2}}} with the inner dict stored by a
  // LONG_BINPUT at `index`: CPython's unpickler (deepdiff's too) grows its memo to about twice the
  // index, so a relayed delta naming 2^28 would cost every client gigabytes.
  function deltaWithPut(index: number): Uint8Array {
    const str = (s: string): number[] => [0x8c, s.length, ...Buffer.from(s, 'latin1')];
    const put = [0x72, index & 0xff, (index >>> 8) & 0xff, (index >>> 16) & 0xff, (index >>> 24) & 0xff];
    return new Uint8Array([
      0x80,
      0x04,
      0x7d,
      ...str('values_changed'),
      0x7d,
      ...str("root['a']"),
      0x7d,
      ...put,
      ...str('new_value'),
      0x4b,
      0x02,
      0x73,
      0x73,
      0x73,
      0x2e,
    ]);
  }
  const base = (): PyDict => dict([['a', 1n]]);

  test('a dense memo index, or one that skips a few entries, is applied by the strict reader', () => {
    for (const index of [0, 1, STRICT_MAX_MEMO_SKIP]) {
      assertViewsEqual(
        toView(applyDeltaStrict(base(), deltaWithPut(index)).value),
        toView(dict([['a', 2n]])),
        `index ${index}`,
      );
    }
  });

  test('a memo index that skips entries is refused by the strict reader only', () => {
    for (const index of [2 ** 28, 0xffffffff, STRICT_MAX_MEMO_SKIP + 1]) {
      const bytes = deltaWithPut(index);
      const faithful = applyDelta(base(), decodeDelta(bytes)).value;
      assertViewsEqual(toView(faithful), toView(dict([['a', 2n]])), `deepdiff applies index ${index}`);
      assert.throws(
        () => applyDeltaStrict(base(), bytes),
        (e: unknown) => e instanceof DeltaError && /memo index/.test(e.message),
        `index ${index}`,
      );
    }
  });
});
