import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { pySorted } from '../../src/delta/sort.js';

/** `a < b` for `cmp_to_key(cmp)`. */
const lessOf =
  (cmp: (a: number, b: number) => number) =>
  (a: number, b: number): boolean =>
    cmp(a, b) < 0;

describe('pySorted replays CPython list.sort, so inconsistent comparisons order like Python', () => {
  // Expected orders are CPython 3.11's `sorted(items, key=cmp_to_key(cmp), reverse=...)`.
  test('a comparator that always says less reverses runs exactly as count_run does', () => {
    assert.deepEqual(
      pySorted(
        [3, 1, 2, 5, 4],
        lessOf(() => -1),
        false,
      ),
      [4, 5, 2, 1, 3],
    );
    assert.deepEqual(
      pySorted(
        [3, 1, 2, 5, 4],
        lessOf(() => -1),
        true,
      ),
      [4, 5, 2, 1, 3],
    );
  });

  test('a comparator that always says greater keeps the input order', () => {
    assert.deepEqual(
      pySorted(
        [3, 1, 2, 5, 4],
        lessOf(() => 1),
        false,
      ),
      [3, 1, 2, 5, 4],
    );
  });

  test('ties keep their order, also with reverse=True (stable both ways)', () => {
    const byMod3 = lessOf((a, b) => (a % 3) - (b % 3));
    assert.deepEqual(pySorted([5, 1, 4, 2, 3, 0], byMod3, false), [3, 0, 1, 4, 5, 2]);
    assert.deepEqual(pySorted([5, 1, 4, 2, 3, 0], byMod3, true), [5, 2, 1, 4, 3, 0]);
  });

  test('long inputs sort stably with a consistent comparator', () => {
    const items = Array.from({ length: 70 }, (_, i) => 70 - i);
    const byMod3 = lessOf((a, b) => (a % 3) - (b % 3));
    assert.deepEqual(pySorted(items, byMod3, false).slice(0, 12), [69, 66, 63, 60, 57, 54, 51, 48, 45, 42, 39, 36]);
  });

  test('a comparison that throws propagates, as a TypeError in sorted() does', () => {
    assert.throws(() =>
      pySorted(
        [1, 2],
        () => {
          throw new TypeError('boom');
        },
        false,
      ),
    );
  });
});
