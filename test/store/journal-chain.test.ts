import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { planJournalChain, type SegmentEntry } from '../../src/store/journal-chain.js';
import type { JournalFollows } from '../../src/store/journal-format.js';

function seg(id: string, follows: JournalFollows): SegmentEntry {
  return {
    name: `${id}.jnl`,
    header: { formatVersion: 1, segmentId: id, follows, createdAtMs: 0, serverVersion: '' },
  };
}
const names = (xs: SegmentEntry[]): string[] => xs.map((x) => x.name);

describe('planJournalChain', () => {
  const w = seg('W', { kind: 'snapshot', snapshotId: 'W' });
  const x = seg('X', { kind: 'segment', segmentId: 'W', bytes: 100 });
  const y = seg('Y', { kind: 'segment', segmentId: 'X', bytes: 50 });
  const z = seg('Z', { kind: 'segment', segmentId: 'Y', bytes: 70 });

  test('the chain starts at the segment named by the loaded snapshot and follows the links', () => {
    const plan = planJournalChain([w, x, y, z], 'X');
    assert.deepEqual(names(plan.chain), ['X.jnl', 'Y.jnl', 'Z.jnl']);
    assert.deepEqual(names(plan.obsolete), ['W.jnl']);
    assert.deepEqual(names(plan.foreign), []);
  });

  test('a snapshot whose save failed is covered: loading the older one replays both segments', () => {
    const plan = planJournalChain([w, x], 'W');
    assert.deepEqual(names(plan.chain), ['W.jnl', 'X.jnl']);
  });

  test('a backup restored by hand (an older snapshot id) makes every segment foreign', () => {
    const plan = planJournalChain([y, z], 'OLD');
    assert.deepEqual(names(plan.chain), []);
    assert.deepEqual(names(plan.foreign), ['Y.jnl', 'Z.jnl']);
  });

  test('with nothing loaded, only a chain from the empty session applies', () => {
    const e = seg('E', { kind: 'empty' });
    const e2 = seg('E2', { kind: 'segment', segmentId: 'E', bytes: 10 });
    const plan = planJournalChain([e, e2, x], null);
    assert.deepEqual(names(plan.chain), ['E.jnl', 'E2.jnl']);
    assert.deepEqual(names(plan.foreign), ['X.jnl']);
    assert.deepEqual(names(planJournalChain([x, y], null).foreign), ['X.jnl', 'Y.jnl']);
  });

  test('unreadable headers are foreign, and two segments following the same one end the chain', () => {
    const broken: SegmentEntry = { name: 'broken.jnl', header: null };
    const y2 = seg('Y2', { kind: 'segment', segmentId: 'X', bytes: 50 });
    const plan = planJournalChain([x, y, y2, broken], 'X');
    assert.deepEqual(names(plan.chain), ['X.jnl']);
    assert.deepEqual(names(plan.foreign), ['Y.jnl', 'Y2.jnl', 'broken.jnl']);
  });

  test('two empty-session segments are ambiguous: none is replayed', () => {
    const plan = planJournalChain([seg('E1', { kind: 'empty' }), seg('E2', { kind: 'empty' })], null);
    assert.deepEqual(names(plan.chain), []);
    assert.equal(plan.foreign.length, 2);
  });
});
