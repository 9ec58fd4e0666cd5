import assert from 'node:assert/strict';

import { viewsEqual, type View } from '../../src/pickle/index.js';

/**
 * Asserts that two JSON views describe the same Python value, with the semantics of `viewsEqual`:
 * exact types, dict key order significant, set order not. On failure the two views are shown as
 * indented JSON, so the assertion error carries a line diff where the first difference is easy
 * to find. (`assert.deepEqual` is not a substitute: it ignores the key order of plain objects,
 * which is how a dict reads in a view.)
 */
export function assertViewsEqual(actual: View, expected: View, message?: string): void {
  if (viewsEqual(actual, expected)) return;
  const a = viewText(actual);
  const e = viewText(expected);
  const head = message === undefined ? 'views differ' : `${message}: views differ`;
  // Equal texts with unequal views cannot happen today; keep the failure readable if it ever does.
  if (a === e) assert.fail(`${head} (same JSON text, different value):\n${a}`);
  assert.equal(a, e, head);
}

/** Indented JSON of a view, with set items in one order so that a diff shows only real differences. */
function viewText(v: View): string {
  return JSON.stringify(
    v,
    (key, value: View) => {
      if ((key === '$set' || key === '$frozenset') && Array.isArray(value)) {
        return [...value].sort((x, y) => {
          const a = JSON.stringify(x);
          const b = JSON.stringify(y);
          return a < b ? -1 : a > b ? 1 : 0;
        });
      }
      return value;
    },
    2,
  );
}
