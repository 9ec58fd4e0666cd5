/**
 * Delta chains (`base_pickle_b64` + `steps`, shared/fixtures/README.md "delta/chains_*.jsonl"):
 * every step's delta applied to the previous step's result, as the replication protocol replays
 * Commits; after each step the state must equal that step's expected pickle (a failing step
 * leaves the state unchanged, as the reference server does).
 */
import { decodePickle, type PyValue, toView } from '../../pickle/index.js';
import { checkDeltaStep } from './delta-step-check.js';
import { bytesField, checkView, recordId, runCase, type CaseResult, type FixtureRecord } from './result.js';

export function checkDeltaChain(record: FixtureRecord, fallbackId: string): CaseResult {
  return runCase(recordId(record, fallbackId), () => {
    let state: PyValue = decodePickle(bytesField(record, 'base_pickle_b64'));
    if (record.base !== undefined) checkView(state, record.base, 'decoded base');
    (record.steps as FixtureRecord[]).forEach((step, i) => {
      state = checkDeltaStep(state, step, `step ${i}: `);
      checkView(state, toView(decodePickle(bytesField(step, 'expected_pickle_b64'))), `state after step ${i}`);
    });
    checkView(state, record.expected, 'final state');
  });
}
