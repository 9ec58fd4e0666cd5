import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { assertViewsEqual } from './views.js';

describe('assertViewsEqual', () => {
  it('passes equal views, set order aside', () => {
    assertViewsEqual({ a: 1, b: [2, { $set: [1, 2] }] }, { a: 1, b: [2, { $set: [2, 1] }] });
  });

  it('fails when only the key order of a dict differs', () => {
    assert.throws(() => assertViewsEqual({ a: 1, b: 2 }, { b: 2, a: 1 }), assert.AssertionError);
    assert.throws(
      () =>
        assertViewsEqual(
          {
            x: {
              $dict: [
                [1, 2],
                [3, 4],
              ],
            },
          },
          {
            x: {
              $dict: [
                [3, 4],
                [1, 2],
              ],
            },
          },
        ),
      assert.AssertionError,
    );
  });

  it('fails on a type difference that deepEqual would let through', () => {
    assert.throws(() => assertViewsEqual([1], { $tuple: [1] }), assert.AssertionError);
    assert.throws(() => assertViewsEqual(1, { $float: '1.0' }), assert.AssertionError);
  });

  it('shows the views as indented JSON and the caller message', () => {
    assert.throws(
      () => assertViewsEqual({ a: 1, b: 2 }, { b: 2, a: 1 }, 'case 7'),
      (e: unknown) => {
        assert.ok(e instanceof assert.AssertionError);
        assert.match(e.message, /^case 7: views differ/);
        assert.equal(e.actual, '{\n  "a": 1,\n  "b": 2\n}');
        assert.equal(e.expected, '{\n  "b": 2,\n  "a": 1\n}');
        return true;
      },
    );
  });
});
