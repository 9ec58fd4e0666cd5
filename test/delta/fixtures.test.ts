import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';

import { applyDelta, decodeDelta, DeltaError, type Delta } from '../../src/delta/index.js';
import { decodePickle, type PyValue, toView, type View } from '../../src/pickle/index.js';
import { fixturePath, loadJsonl } from '../helpers/fixtures.js';
import { assertViewsEqual } from '../helpers/views.js';

interface PyException {
  type: string;
  message: string;
}

interface SingleCase {
  id: string;
  kind: string;
  desc?: string;
  outcome: 'ok' | 'raises' | 'delta_rejected';
  base_pickle_b64: string;
  delta_pickle_b64: string;
  base: View;
  expected: View | null;
  expected_exception?: PyException;
  log: string[];
}

interface ChainStep {
  delta_pickle_b64: string;
  outcome: 'ok' | 'raises' | 'delta_rejected';
  expected_pickle_b64: string;
  log?: string[];
  expected_exception?: PyException;
}

interface Chain {
  id: string;
  base_pickle_b64: string;
  base: View;
  steps: ChainStep[];
  expected: View;
}

function bytesOf(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

function assertView(actual: View, expected: View, what: string): void {
  assertViewsEqual(actual, expected, what);
}

/** The failure the reference server sees: `Delta(bytes)` or `+` raising, as a DeltaError with the Python type. */
function assertFails(run: () => unknown, outcome: 'raises' | 'delta_rejected', exc: PyException | undefined): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof DeltaError, `expected a DeltaError, got ${String(e)}`);
    assert.equal(e.code, outcome === 'delta_rejected' ? 'DELTA_REJECTED' : 'DELTA_APPLY_FAILED');
    if (exc !== undefined) assert.equal(e.pyType, exc.type, e.message);
    return true;
  });
}

/**
 * One `node.data + Delta(bytes)` step. Returns the new state, or the unchanged state when the
 * delta fails (the reference server keeps the node). Checks the input is never modified.
 */
function step(
  base: PyValue,
  deltaB64: string,
  outcome: SingleCase['outcome'],
  log: string[] | undefined,
  exc: PyException | undefined,
): PyValue {
  const before = toView(base);
  let result: PyValue = base;
  if (outcome === 'delta_rejected') {
    assertFails(() => decodeDelta(bytesOf(deltaB64)), outcome, exc);
  } else {
    const delta: Delta = decodeDelta(bytesOf(deltaB64));
    if (outcome === 'raises') {
      assertFails(() => applyDelta(base, delta), outcome, exc);
    } else {
      const r = applyDelta(base, delta);
      result = r.value;
      if (log !== undefined) assert.equal(r.problems.length, log.length, `problems ${JSON.stringify(r.problems)}`);
    }
  }
  assertView(toView(base), before, 'the input value must not change');
  return result;
}

const SINGLE_FILES = ['targeted', 'drift', 'synthetic', 'random', 'random_drift', 'realistic'];
const CHAIN_FILES = ['chains_random', 'chains_realistic'];

test('every delta fixture file is covered by this table', () => {
  const present = readdirSync(fixturePath('delta'))
    .filter((f) => f.endsWith('.jsonl.gz'))
    .map((f) => f.replace('.jsonl.gz', ''))
    .sort();
  // refusals.jsonl has its own table (refusals.test.ts).
  assert.deepEqual(present, [...SINGLE_FILES, ...CHAIN_FILES, 'refusals'].sort());
});

for (const name of SINGLE_FILES) {
  const cases = loadJsonl(`delta/${name}.jsonl`) as SingleCase[];
  describe(`delta/${name}.jsonl: data + Delta(bytes) gives deepdiff 8.1.1's result`, () => {
    for (const c of cases) {
      test(c.id, () => {
        const base = decodePickle(bytesOf(c.base_pickle_b64));
        assertView(toView(base), c.base, 'decoded base');
        const result = step(base, c.delta_pickle_b64, c.outcome, c.log, c.expected_exception);
        if (c.outcome === 'ok') assertView(toView(result), c.expected as View, 'result');
      });
    }
  });
}

for (const name of CHAIN_FILES) {
  const chains = loadJsonl(`delta/${name}.jsonl`) as Chain[];
  describe(`delta/${name}.jsonl: successive deltas applied to our own results stay in step`, () => {
    for (const chain of chains) {
      test(chain.id, () => {
        let state = decodePickle(bytesOf(chain.base_pickle_b64));
        assertView(toView(state), chain.base, 'decoded base');
        chain.steps.forEach((s, i) => {
          state = step(state, s.delta_pickle_b64, s.outcome, s.log, s.expected_exception);
          const expected = toView(decodePickle(bytesOf(s.expected_pickle_b64)));
          assertView(toView(state), expected, `state after step ${i}`);
        });
        assertView(toView(state), chain.expected, 'final state');
      });
    }
  });
}
