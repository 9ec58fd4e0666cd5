import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { LogLimiter } from '../../src/net/log-limiter.js';

describe('LogLimiter', () => {
  test('a key passes its burst within a window and is suppressed after it', () => {
    const lim = new LogLimiter({ burst: 3, windowMs: 1000 });
    const allowed = [0, 1, 2, 3, 4].map((t) => lim.check('k', t).allow);
    assert.deepEqual(allowed, [true, true, true, false, false]);
  });

  test('the next window reports how many lines were suppressed in the previous one', () => {
    const lim = new LogLimiter({ burst: 1, windowMs: 1000 });
    lim.check('k', 0);
    lim.check('k', 10);
    lim.check('k', 20);
    const d = lim.check('k', 1000);
    assert.equal(d.allow, true);
    assert.equal(d.suppressedBefore, 2);
    assert.equal(lim.check('k', 1001).allow, false);
  });

  test('keys are limited independently', () => {
    const lim = new LogLimiter({ burst: 1, windowMs: 1000 });
    assert.equal(lim.check('a', 0).allow, true);
    assert.equal(lim.check('b', 0).allow, true);
    assert.equal(lim.check('a', 1).allow, false);
  });

  test('the number of remembered keys stays bounded under a flood of distinct keys', () => {
    const lim = new LogLimiter({ burst: 1, windowMs: 1_000_000, maxKeys: 16 });
    for (let i = 0; i < 1000; i++) lim.check(`key${i}`, i);
    assert.ok(lim.size <= 16);
  });
});
