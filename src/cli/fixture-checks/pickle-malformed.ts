/**
 * pickle/malformed.jsonl lines (`pickle_b64` + `expect`): broken and hostile pickles fail with a
 * `PickleError` — never another exception, a hang or a huge allocation — and the few valid ones
 * decode (shared/fixtures/README.md "pickle/malformed.jsonl").
 */
import { decodePickle, PickleError, type PyValue, toView, viewsEqual, type View } from '../../pickle/index.js';
import { bytesField, check, fail, recordId, runCase, type CaseResult, type FixtureRecord } from './result.js';

/** The code each generated family must fail with; other lines only need some PickleError. */
const CODE_BY_KIND: Readonly<Record<string, string>> = {
  truncated: 'PICKLE_TRUNCATED',
  bad_opcode: 'PICKLE_BAD_OPCODE',
  limits: 'PICKLE_LIMIT',
};

export function checkMalformedPickle(record: FixtureRecord, fallbackId: string): CaseResult {
  return runCase(recordId(record, fallbackId), () => {
    const expect = record.expect ?? (record.error === true ? 'error' : 'ok');
    let value: PyValue | undefined;
    let error: unknown;
    try {
      value = decodePickle(bytesField(record, 'pickle_b64'));
    } catch (err) {
      error = err;
    }
    if (error !== undefined) {
      check(error instanceof PickleError, `threw ${String(error)}, not a PickleError`);
      check(expect !== 'ok', `must decode, got ${error.code}`);
      const want = typeof record.kind === 'string' ? CODE_BY_KIND[record.kind] : undefined;
      check(expect !== 'error' || want === undefined || error.code === want, `got ${error.code}, expected ${want}`);
      return;
    }
    if (expect === 'error') fail('must be refused, but decoded');
    if (record.value === undefined) return;
    let view: View;
    try {
      view = toView(value as PyValue);
    } catch {
      return; // too large for a view (a memo bomb kept shared): the decode itself succeeded
    }
    check(viewsEqual(view, record.value as View), 'decoded value differs from the fixture');
  });
}
