/** Progress lines of the data tools: quiet for short steps, then one line per interval, then a closing line. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';

import { Progress } from '../../src/cli/data-progress.js';

function sink(): { out: Writable; lines: () => string[] } {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { out, lines: () => text.split('\n').filter((l) => l !== '') };
}

describe('Progress', () => {
  test('prints nothing for a step that ends within the first interval', () => {
    let now = 0;
    const s = sink();
    const p = new Progress(s.out, 'Reading x', 'bytes', 1000, { now: () => now });
    for (let i = 0; i < 10; i++) {
      now += 50;
      p.add(100);
    }
    p.finish();
    assert.deepEqual(s.lines(), []);
  });

  test('prints the percentage once per interval on a long step, then a closing line', () => {
    let now = 0;
    const s = sink();
    const total = 40 * 1024 * 1024;
    const p = new Progress(s.out, 'Reading big.pkl', 'bytes', total, { now: () => now });
    for (let i = 1; i <= 40; i++) {
      now += 300;
      p.set(i * 1024 * 1024);
    }
    p.finish();
    assert.deepEqual(s.lines(), [
      'Reading big.pkl: 10% (4.0 MB of 40.0 MB)',
      'Reading big.pkl: 20% (8.0 MB of 40.0 MB)',
      'Reading big.pkl: 30% (12.0 MB of 40.0 MB)',
      'Reading big.pkl: 40% (16.0 MB of 40.0 MB)',
      'Reading big.pkl: 50% (20.0 MB of 40.0 MB)',
      'Reading big.pkl: 60% (24.0 MB of 40.0 MB)',
      'Reading big.pkl: 70% (28.0 MB of 40.0 MB)',
      'Reading big.pkl: 80% (32.0 MB of 40.0 MB)',
      'Reading big.pkl: 90% (36.0 MB of 40.0 MB)',
      'Reading big.pkl: 100% (40.0 MB of 40.0 MB)',
      'Reading big.pkl: done (40.0 MB)',
    ]);
  });

  test('counts records, and bytes without a known total', () => {
    let now = 0;
    const s = sink();
    const records = new Progress(s.out, 'Replaying the journal', 'records', 3, { now: () => now });
    now = 1500;
    records.set(2);
    const written = new Progress(s.out, 'Writing out.db', 'bytes', null, { now: () => now });
    now = 3000;
    written.add(2048);
    assert.deepEqual(s.lines(), ['Replaying the journal: 66% (2 of 3 records)', 'Writing out.db: 2.0 KB']);
  });
});
