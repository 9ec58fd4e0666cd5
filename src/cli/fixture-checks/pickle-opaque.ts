/**
 * pickle/opaque.jsonl lines (`pickle_b64` + `symbolic`): objects, class references and hostile
 * globals decode to inert records and nothing is resolved (shared/fixtures/README.md).
 */
import { decodePickle, PickleError } from '../../pickle/index.js';
import { bytesField, check, checkView, recordId, runCase, type CaseResult, type FixtureRecord } from './result.js';

export function checkOpaquePickle(record: FixtureRecord, fallbackId: string): CaseResult {
  return runCase(recordId(record, fallbackId), () => {
    const data = bytesField(record, 'pickle_b64');
    const seen = new Set<string>();
    const value = decodePickle(data, {
      allowGlobal: (module, name) => {
        seen.add(`${module}.${name}`);
        return true;
      },
    });
    checkView(value, record.symbolic, 'symbolic decode');
    if (Array.isArray(record.globals)) {
      const want = [...new Set(record.globals.map(String))].sort().join(' ');
      const got = [...seen].sort().join(' ');
      check(got === want, `globals reported: ${got}, expected ${want}`);
    }
    if (record.strict_ok === false) {
      let code: string | undefined;
      try {
        decodePickle(data, { allowGlobal: () => false, allowPersistentIds: false });
      } catch (err) {
        code = err instanceof PickleError ? err.code : String(err);
      }
      check(code === 'PICKLE_FORBIDDEN', `strict decode should be PICKLE_FORBIDDEN, got ${code ?? 'a value'}`);
    }
  });
}
