/**
 * The capture samples' delta triples (`captures/samples/delta_cases.json`): for each case, the
 * base pickle, the `Delta.dumps()` bytes the add-on sent and Python's `base + Delta` result, as
 * files beside the JSON. Includes the ignore-order deltas the add-on's Scene and Collection
 * produce (REPLICATION-PROTOCOL.md §5.2), which the generated delta corpus never does.
 */
import { applyDelta, decodeDelta } from '../../delta/index.js';
import { decodePickle, toView, viewsEqual } from '../../pickle/index.js';
import { check, fail, runCase, type CaseResult, type FixtureRecord } from './result.js';

/** Whether a parsed `*.json` file is a delta-sample index (`{"cases": [{"files": {base, delta, result}}]}`). */
export function isDeltaSampleIndex(doc: unknown): doc is { cases: FixtureRecord[] } {
  if (doc === null || typeof doc !== 'object' || !Array.isArray((doc as { cases?: unknown }).cases)) return false;
  const first = (doc as { cases: unknown[] }).cases[0] as { files?: Record<string, unknown> } | undefined;
  return first?.files !== undefined && typeof first.files.base === 'string' && typeof first.files.delta === 'string';
}

/** Checks one triple; `readSibling` returns the bytes of a file named in the case's `files`. */
export function checkDeltaSample(record: FixtureRecord, readSibling: (name: string) => Uint8Array): CaseResult {
  const id = typeof record.name === 'string' ? record.name : 'unnamed case';
  return runCase(id, () => {
    const files = record.files as Record<string, string>;
    const base = decodePickle(readSibling(files.base));
    const before = toView(base);
    const { value } = applyDelta(base, decodeDelta(readSibling(files.delta)));
    check(viewsEqual(toView(base), before), 'the input value was modified');
    if (typeof files.result !== 'string') fail('the case names no result file');
    const expected = toView(decodePickle(readSibling(files.result)));
    const got = toView(value);
    check(
      viewsEqual(got, expected),
      `got ${JSON.stringify(got).slice(0, 160)}, expected ${JSON.stringify(expected).slice(0, 160)}`,
    );
  });
}
