import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ChurnTidy } from '../../src/net/churn-tidy.js';

function tidy(minReleased = 1000, quietMs = 2000): { tidy: ChurnTidy; calls: () => number } {
  let calls = 0;
  const t = new ChurnTidy({ minReleased, quietMs, collect: () => calls++ });
  return { tidy: t, calls: () => calls };
}

test('collects once a burst of released connections has been quiet for quietMs', () => {
  const { tidy: t, calls } = tidy();
  assert.equal(t.observe(500, 0), false);
  assert.equal(t.observe(1200, 100), false, 'still releasing');
  assert.equal(t.observe(1200, 2099), false, 'quiet for 1,999 ms only');
  assert.equal(t.observe(1200, 2100), true);
  assert.equal(calls(), 1);
  assert.equal(t.started, 1);
});

test('collects at most once per burst, and again after the next burst', () => {
  const { tidy: t, calls } = tidy();
  t.observe(1000, 0);
  assert.equal(t.observe(1000, 5000), true);
  for (let now = 5100; now < 60_000; now += 100) assert.equal(t.observe(1000, now), false);
  // A few connections later is not a burst.
  t.observe(1500, 60_000);
  assert.equal(t.observe(1500, 70_000), false);
  t.observe(2000, 70_100);
  assert.equal(t.observe(2000, 72_100), true);
  assert.equal(calls(), 2);
});

test('a steady trickle below the burst size never collects', () => {
  const { tidy: t, calls } = tidy();
  for (let i = 0; i < 999; i++) t.observe(i, i * 10_000);
  assert.equal(t.observe(999, 100_000_000), false);
  assert.equal(calls(), 0);
});

test('without a collector it does nothing and reports nothing started', () => {
  const t = new ChurnTidy({ minReleased: 1, quietMs: 0, collect: null });
  t.observe(5, 0);
  assert.equal(t.observe(5, 1), false);
  assert.equal(t.started, 0);
});
