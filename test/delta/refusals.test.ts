import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { applyDeltaStrict, decodeDelta, DeltaError } from '../../src/delta/index.js';
import { decodePickle, toView } from '../../src/pickle/index.js';
import { assertViewsEqual } from '../helpers/views.js';
import { findNonPlain } from '../../src/protocol/index.js';
import { loadJsonl } from '../helpers/fixtures.js';

/** One line of delta/refusals.jsonl (generated with the real deepdiff 8.1.1: see its README). */
interface RefusalCase {
  id: string;
  desc: string;
  outcome: 'ok' | 'raises' | 'delta_rejected';
  base_pickle_b64: string;
  delta_pickle_b64: string;
  expected_pickle_b64?: string | null;
  expected_exception?: { type: string; message: string };
  log: string[];
  /** `any`: a sweep case; whatever the server accepts must be what deepdiff applies whole. */
  server: { verdict: 'accept' } | { verdict: 'any' } | { verdict: 'refuse'; code: string };
}

function bytesOf(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

const cases = loadJsonl('delta/refusals.jsonl') as RefusalCase[];

test('the refusal fixtures cover every refusal code of the strict reader', () => {
  const codes = new Set(cases.map((c) => (c.server.verdict === 'refuse' ? c.server.code : 'accept')));
  for (const code of [
    'accept',
    'DELTA_REJECTED',
    'DELTA_UNSUPPORTED',
    'DELTA_PATH_REFUSED',
    'DELTA_UNKNOWN_KEY',
    'DELTA_INCOMPLETE',
  ]) {
    assert.ok(codes.has(code), code);
  }
});

describe('delta/refusals.jsonl: the server accepts a Commit delta only where deepdiff 8.1.1 applies all of it', () => {
  for (const c of cases) {
    test(`${c.id}: ${c.desc}`, () => {
      const base = decodePickle(bytesOf(c.base_pickle_b64));
      const delta = bytesOf(c.delta_pickle_b64);
      if (c.server.verdict === 'refuse') {
        const code = c.server.code;
        assert.throws(
          () => applyDeltaStrict(base, delta),
          (e: unknown) => e instanceof DeltaError && e.code === code,
        );
        return;
      }
      let result;
      try {
        result = applyDeltaStrict(base, delta).value;
      } catch (e) {
        assert.ok(c.server.verdict === 'any' && e instanceof DeltaError, String(e));
        return;
      }
      // The Commit path also refuses a result that is not plain data (commit-apply.ts).
      if (c.server.verdict === 'any' && findNonPlain(result) !== undefined) return;
      assert.equal(c.outcome, 'ok');
      assert.deepEqual(c.log, []);
      assert.equal(typeof c.expected_pickle_b64, 'string');
      const expected = toView(decodePickle(bytesOf(c.expected_pickle_b64 as string)));
      assertViewsEqual(toView(result), expected);
    });

    // The constructor's verdict (`Delta(bytes)`) equals the client's, whatever the strict rules add.
    test(`${c.id}: decodeDelta refuses exactly where Delta(bytes) raises`, () => {
      const delta = bytesOf(c.delta_pickle_b64);
      if (c.outcome === 'delta_rejected') {
        assert.throws(
          () => decodeDelta(delta),
          (e: unknown) =>
            e instanceof DeltaError &&
            ((e.code === 'DELTA_REJECTED' && e.pyType === c.expected_exception?.type) ||
              // A call building an object the value model has no place for (range, complex) is
              // refused before its arguments are checked.
              e.code === 'DELTA_UNSUPPORTED'),
        );
      } else {
        try {
          decodeDelta(delta);
        } catch (e) {
          // Objects the value model cannot hold are refused by the server, never accepted.
          assert.ok(e instanceof DeltaError && e.code === 'DELTA_UNSUPPORTED', String(e));
        }
      }
    });
  }
});
