/**
 * Commit-delta refusal cases (test/fixtures/data/delta/README.md, `server` field): the server's
 * strict reader must give the case's verdict, and whatever it accepts must be what deepdiff
 * 8.1.1 applied whole (`ok`, no log) with the same plain result.
 */
import { DeltaError, applyDeltaStrict } from '../../delta/index.js';
import { decodePickle, type PyValue, toView } from '../../pickle/index.js';
import { findNonPlain } from '../../protocol/index.js';
import {
  bytesField,
  check,
  checkView,
  fail,
  recordId,
  runCase,
  type CaseResult,
  type FixtureRecord,
} from './result.js';

export function checkDeltaRefusal(record: FixtureRecord, fallbackId: string): CaseResult {
  return runCase(recordId(record, fallbackId), () => {
    const server = record.server as { verdict?: unknown; code?: unknown };
    const base = decodePickle(bytesField(record, 'base_pickle_b64'));
    const delta = bytesField(record, 'delta_pickle_b64');
    let result: PyValue;
    try {
      result = applyDeltaStrict(base, delta).value;
    } catch (e) {
      if (!(e instanceof DeltaError)) throw e;
      if (server.verdict === 'refuse')
        check(e.code === server.code, `refused with ${e.code}, expected ${String(server.code)}`);
      else check(server.verdict === 'any', `refused with ${e.code}, expected acceptance`);
      return;
    }
    if (server.verdict === 'refuse') fail(`accepted, expected a refusal with ${String(server.code)}`);
    // The Commit path also refuses a result that is not plain data.
    if (server.verdict === 'any' && findNonPlain(result) !== undefined) return;
    check(record.outcome === 'ok', `accepted, but deepdiff's outcome is ${String(record.outcome)}`);
    check(Array.isArray(record.log) && record.log.length === 0, 'accepted, but deepdiff logged a skipped operation');
    checkView(result, toView(decodePickle(bytesField(record, 'expected_pickle_b64'))), 'result');
  });
}
