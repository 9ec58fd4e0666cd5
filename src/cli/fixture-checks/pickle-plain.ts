/**
 * pickle/plain.jsonl lines (`pickle_b64` + `value`): plain values at protocols 0–5 decode as
 * CPython's `pickle.loads` reads them (shared/fixtures/README.md "pickle/plain.jsonl").
 */
import { decodePickle, PickleError } from '../../pickle/index.js';
import { bytesField, check, checkView, recordId, runCase, type CaseResult, type FixtureRecord } from './result.js';

const STRICT = { allowGlobal: () => false, allowPersistentIds: false } as const;

export function checkPlainPickle(record: FixtureRecord, fallbackId: string): CaseResult {
  return runCase(recordId(record, fallbackId), () => {
    const data = bytesField(record, 'pickle_b64');
    // Default decode is structural: constructors written through globals stay inert records.
    checkView(decodePickle(data), record.symbolic ?? record.value, 'structural decode');
    // With the protocol 0–3 plain constructors resolved, the value pickle.loads returns.
    checkView(decodePickle(data, { plainConstructors: true }), record.value, 'plain decode');
    if (record.strict_ok === true) {
      checkView(decodePickle(data, STRICT), record.value, 'strict decode');
    } else if (record.strict_ok === false) {
      let code: string | undefined;
      try {
        decodePickle(data, STRICT);
      } catch (err) {
        code = err instanceof PickleError ? err.code : String(err);
      }
      check(code === 'PICKLE_FORBIDDEN', `strict decode should be PICKLE_FORBIDDEN, got ${code ?? 'a value'}`);
    }
  });
}
