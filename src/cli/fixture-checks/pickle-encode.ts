/**
 * pickle/encode.jsonl lines (`view` + `python_pickle_b64`): our protocol-4 encoder writes each
 * value so that CPython reads it back to the same view. The check has two halves: `prepareEncodeCase`
 * encodes (pure), and the caller batches the results through `pyref.py --check` (strict mode)
 * and hands each answer to `judgeEncodeCase`.
 */
import { decodePickle, encodePickle, fromView, toView, viewsEqual, type View } from '../../pickle/index.js';
import { check, fail, recordId, runCase, type CaseResult, type FixtureRecord } from './result.js';

/** One line for `pyref.py --check`. */
export interface PyrefCheckItem {
  readonly id: string;
  readonly pickle_b64: string;
  readonly view: unknown;
}

/** One answer line of `pyref.py --check`. */
export interface PyrefAnswer {
  readonly ok: boolean;
  readonly match?: boolean;
  readonly error?: string;
}

/**
 * Encodes the record's value and checks our own decoder reads it back. Returns the item to send
 * to CPython, or a failed verdict when encoding already failed.
 */
export function prepareEncodeCase(record: FixtureRecord, fallbackId: string): PyrefCheckItem | CaseResult {
  const id = recordId(record, fallbackId);
  let item: PyrefCheckItem | undefined;
  const local = runCase(id, () => {
    const encoded = encodePickle(fromView(record.view as View));
    check(viewsEqual(toView(decodePickle(encoded)), record.view as View), 'our decoder reads our encoding differently');
    item = { id, pickle_b64: encoded.toString('base64'), view: record.view };
  });
  return item ?? local;
}

/** The verdict for a prepared case from CPython's answer (undefined: CPython never answered). */
export function judgeEncodeCase(item: PyrefCheckItem, answer: PyrefAnswer | undefined): CaseResult {
  return runCase(item.id, () => {
    if (answer === undefined) fail('no answer from pyref.py');
    check(answer.ok, `CPython refused the encoding: ${answer.error ?? '?'}`);
    check(answer.match === true, 'CPython reads the encoding to a different view');
  });
}
