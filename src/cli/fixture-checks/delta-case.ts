/**
 * Single delta cases (`base_pickle_b64` + `delta_pickle_b64`, shared/fixtures/README.md
 * "delta/*.jsonl: single cases"): `Delta(bytes)` then `base + delta`, with Python's outcome —
 * the expected value, `raises` (node unchanged) or `delta_rejected` — and as many reported
 * problems as deepdiff logged.
 */
import { decodePickle } from '../../pickle/index.js';
import { checkDeltaStep } from './delta-step-check.js';
import { bytesField, checkView, recordId, runCase, type CaseResult, type FixtureRecord } from './result.js';

export function checkDeltaCase(record: FixtureRecord, fallbackId: string): CaseResult {
  return runCase(recordId(record, fallbackId), () => {
    const base = decodePickle(bytesField(record, 'base_pickle_b64'));
    if (record.base !== undefined) checkView(base, record.base, 'decoded base');
    const result = checkDeltaStep(base, record, '');
    if (record.outcome === 'ok') checkView(result, record.expected, 'result');
  });
}
