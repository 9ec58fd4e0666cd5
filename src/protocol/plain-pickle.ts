/**
 * Plain pickles: what the add-on puts in every frame but Commit deltas (§2.4: dicts, lists, str,
 * bytes, numbers, tuples, sets), judged by the rules of the client that will `pickle.loads` them
 * unrestricted. Anything else is hostile: capture 10_untrusted_pickle shows the reference
 * executing `builtins.print` from frame 0.
 *
 * Every such frame is first scanned (pickle/scan.ts), which builds nothing: globals, object
 * building, sparse memo indices (a client allocates twice the index) and more containers than
 * the budget are refused at the cost of reading the bytes once. Frames the server must read are
 * then decoded, under the same limits.
 */
import {
  decodePickle,
  type PickleLimits,
  scanPlainPickle,
  type PlainScan,
  PyDict,
  PyGlobal,
  PyObject,
  PyPersId,
  PySet,
  PyTuple,
  type PyValue,
} from '../pickle/index.js';
import { protocolError, type ProtocolErrorCode } from './errors.js';

const refuseEveryGlobal = (): boolean => false;

/**
 * Proves `frame` plain without decoding it: the frames the server relays but never reads (node
 * data). Throws `ProtocolError` with `code` (default `PROTOCOL_PICKLE`).
 */
export function scanPlainFrame(
  frame: Uint8Array,
  frameIndex: number,
  pickleLimits?: Partial<PickleLimits>,
  code: ProtocolErrorCode = 'PROTOCOL_PICKLE',
): PlainScan {
  try {
    return scanPlainPickle(frame, pickleLimits);
  } catch (err) {
    throw protocolError(code, `frame is not an acceptable pickle: ${describeError(err)}`, frameIndex, err);
  }
}

function describeError(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return `${typeof code === 'string' ? code + ' ' : ''}${err instanceof Error ? err.message : String(err)}`;
}

/**
 * Scans `frame`, unpickles it and checks that the result is a plain value. Never executes anything.
 * Any failure (malformed pickle, limit, global, persistent id, built object) becomes a
 * `ProtocolError` with `code` (default `PROTOCOL_PICKLE`), never another exception type.
 */
export function decodePlainPickle(
  frame: Uint8Array,
  frameIndex: number,
  pickleLimits?: Partial<PickleLimits>,
  code: ProtocolErrorCode = 'PROTOCOL_PICKLE',
): PyValue {
  scanPlainFrame(frame, frameIndex, pickleLimits, code);
  let value: PyValue;
  try {
    value = decodePickle(frame, { limits: pickleLimits, allowGlobal: refuseEveryGlobal, allowPersistentIds: false });
  } catch (err) {
    // Any exception, not only PickleError: a decoder bug must not escape as another type (brief).
    throw protocolError(code, `frame is not an acceptable pickle: ${describeError(err)}`, frameIndex, err);
  }
  const bad = findNonPlain(value);
  if (bad !== undefined) throw protocolError(code, `pickle holds ${bad}`, frameIndex);
  return value;
}

/**
 * The first non-plain thing inside `value` (a description), or `undefined` when it is plain.
 * Iterative and cycle-safe: shared and recursive containers are visited once.
 */
export function findNonPlain(value: PyValue): string | undefined {
  const seen = new Set<object>();
  const todo: PyValue[] = [value];
  while (todo.length > 0) {
    const v = todo.pop() as PyValue;
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) continue;
    if (v instanceof PyGlobal) return `a global (${v.module}.${v.name})`;
    if (v instanceof PyPersId) return 'a persistent id';
    if (v instanceof PyObject) return 'a built object';
    if (seen.has(v)) continue;
    seen.add(v);
    if (Array.isArray(v)) {
      for (const item of v) todo.push(item);
    } else if (v instanceof PyTuple) {
      for (const item of v.items) todo.push(item);
    } else if (v instanceof PyDict) {
      for (const [k, item] of v.entries()) todo.push(k, item);
    } else if (v instanceof PySet) {
      for (const item of v.values()) todo.push(item);
    }
  }
  return undefined;
}
