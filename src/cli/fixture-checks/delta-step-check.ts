/**
 * The verdict on one delta step, shared by single cases and chains: the outcome Python had
 * (`ok`, `raises`, `delta_rejected`), the number of logged problems, and an untouched input.
 */
import { type PyValue, toView, viewsEqual } from '../../pickle/index.js';
import { applyDeltaBytes } from './delta-step.js';
import { bytesField, check, fail, str, type FixtureRecord } from './result.js';

/**
 * Applies the record's delta to `state` and checks the outcome; returns the new state (the
 * unchanged `state` when Python's `+` or `Delta()` raised, as the reference server keeps the node).
 * `where` prefixes failure messages (e.g. `step 3: `).
 */
export function checkDeltaStep(state: PyValue, record: FixtureRecord, where: string): PyValue {
  const before = toView(state);
  const outcome = str(record, 'outcome');
  const result = applyDeltaBytes(state, bytesField(record, 'delta_pickle_b64'));
  check(viewsEqual(toView(state), before), `${where}the input value was modified`);
  if (outcome === 'ok') {
    if (!result.ok) fail(`${where}Python applied it, we failed at ${result.stage}: ${result.detail}`);
    if (Array.isArray(record.log)) {
      check(
        result.problems.length === record.log.length,
        `${where}${result.problems.length} problems reported, deepdiff logged ${record.log.length}`,
      );
    }
    return result.value;
  }
  check(outcome === 'raises' || outcome === 'delta_rejected', `${where}unknown outcome ${outcome}`);
  if (result.ok) fail(`${where}Python's outcome is ${outcome}, we applied it`);
  const stage = outcome === 'raises' ? 'apply' : 'decode';
  check(result.stage === stage, `${where}failed at ${result.stage} (${result.detail}); Python failed at ${stage}`);
  return state;
}
