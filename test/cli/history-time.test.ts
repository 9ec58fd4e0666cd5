/** The moments the history tools accept, and the errors for everything else. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { formatMoment, parseMoment } from '../../src/cli/history-time.js';

const NOW = Date.UTC(2025, 0, 12, 14, 30, 25, 500);

describe('parseMoment', () => {
  test('now and relative times count back from now', () => {
    assert.equal(parseMoment('now', NOW), NOW);
    assert.equal(parseMoment('-90s', NOW), NOW - 90_000);
    assert.equal(parseMoment('-15m', NOW), NOW - 15 * 60_000);
    assert.equal(parseMoment('-2h', NOW), NOW - 2 * 3_600_000);
    assert.equal(parseMoment('-3d', NOW), NOW - 3 * 86_400_000);
    assert.equal(parseMoment('-1w', NOW), NOW - 604_800_000);
  });

  test('ISO 8601 with Z or an offset is that instant; without one it is local time', () => {
    assert.equal(parseMoment('2025-01-12T14:30:25Z', NOW), Date.UTC(2025, 0, 12, 14, 30, 25));
    assert.equal(parseMoment('2025-01-12T14:30:25.123Z', NOW), Date.UTC(2025, 0, 12, 14, 30, 25, 123));
    assert.equal(parseMoment('2025-01-12T15:30:25+01:00', NOW), Date.UTC(2025, 0, 12, 14, 30, 25));
    assert.equal(parseMoment('2025-01-12T09:30-0500', NOW), Date.UTC(2025, 0, 12, 14, 30));
    assert.equal(parseMoment('2025-01-12 14:30:25', NOW), new Date(2025, 0, 12, 14, 30, 25).getTime());
    assert.equal(parseMoment('2025-01-12', NOW), new Date(2025, 0, 12).getTime());
    // What the tools print reads back as the same instant.
    const printed = formatMoment(NOW);
    assert.equal(parseMoment(printed, NOW), NOW);
  });

  test('anything else is refused with the accepted forms, never guessed', () => {
    for (const bad of [
      'yesterday',
      '15m',
      '-15 m',
      '+15m',
      '2025-13-01',
      '2025-02-30',
      '2025-01-12T25:00',
      '12/01/2025',
      '',
    ]) {
      const r = parseMoment(bad, NOW);
      assert.equal(typeof r, 'string', bad);
    }
    assert.match(parseMoment('yesterday', NOW) as string, /is not a time: use ISO 8601 .* 'now', or relative/);
    assert.match(parseMoment('2025-02-30', NOW) as string, /is not a valid date/);
  });
});
