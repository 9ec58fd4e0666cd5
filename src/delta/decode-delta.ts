/**
 * `Delta(bytes)`: a delta pickle to a typed `Delta` (DELTA-SEMANTICS.md §2). The pickle is decoded
 * with deepdiff's allow-list (a global outside it rejects the whole delta: tgt-1021), the
 * inert records are resolved as deepdiff's unpickler would (materialize.ts), and every report
 * path is tokenized once here so that application never parses.
 */
import {
  decodePickle,
  PickleError,
  type PickleLimits,
  type PyObject,
  PyDict,
  PyTuple,
  UnhashableError,
  type PyValue,
} from '../pickle/index.js';
import { SAFE_TO_IMPORT, isSafeToImport } from './allow-list.js';
import { DeltaError, deltaError } from './errors.js';
import { isOpcodeObject, materializeDelta, toDeltaOpcode } from './materialize.js';
import { parsePathCached } from './path.js';
import { PyExc, pyTruthy } from './py-ops.js';
import { FLAG_KEYS, REPORT_KEYS } from './types.js';
import type { Delta, DeltaEntry, DeltaOpcode, DeltaPath, DeltaReport, ReportKey } from './types.js';

export interface DecodeDeltaOptions {
  /** Bounds for the pickle decoder (pickle/limits.ts). */
  limits?: Partial<PickleLimits>;
  /**
   * Refuse top-level keys deepdiff does not know with `DELTA_UNKNOWN_KEY`. Off by default, as
   * deepdiff ignores them (syn-0024); the server's Commit reader (strict.ts) turns it on, since a
   * refused Commit reaches no client and so cannot put one out of step.
   */
  rejectUnknownKeys?: boolean;
  /**
   * How far a memo index may skip past the next free slot (`PICKLE_MEMO_SPARSE` beyond). deepdiff
   * accepts any index, so the default is unbounded; the strict Commit reader bounds it, because
   * the server relays delta bytes verbatim and each client's unpickler allocates in proportion to
   * the index.
   */
  maxMemoSkip?: number;
}

const REPORT_KEY_SET: ReadonlySet<string> = new Set(REPORT_KEYS);
const FLAG_KEY_SET: ReadonlySet<string> = new Set(FLAG_KEYS);
/** `_do_ignore_order` calls `.keys()` on these even when they are absent-ish, so any non-dict raises. */
const ALWAYS_DICT: ReadonlySet<string> = new Set([
  'iterable_items_added_at_indexes',
  'iterable_items_removed_at_indexes',
]);

/** Tokenizes one report path; a parser exception is kept for the applier to act on. */
export function toDeltaPath(raw: PyValue): DeltaPath {
  try {
    return { raw, elements: parsePathCached(raw), error: null };
  } catch (e) {
    if (e instanceof PyExc) return { raw, elements: null, error: e };
    throw e;
  }
}

/** A `_iterable_opcodes` payload as opcode records, or null when it is not a list/tuple of them. */
function toOpcodes(payload: PyValue): DeltaOpcode[] | null {
  const items = Array.isArray(payload) ? payload : payload instanceof PyTuple ? payload.items : null;
  if (items === null || !items.every(isOpcodeObject)) return null;
  return items.map((o) => toDeltaOpcode(o as PyObject));
}

function toReport(key: ReportKey, value: PyValue): DeltaReport {
  if (!(value instanceof PyDict)) {
    if (!ALWAYS_DICT.has(key) && !pyTruthy(value)) return { kind: 'falsy' };
    return { kind: 'malformed', typeName: value === null ? 'NoneType' : typeof value };
  }
  const entries: DeltaEntry[] = [];
  for (const [rawPath, payload] of value.entries()) {
    const path = toDeltaPath(rawPath);
    entries.push(key === '_iterable_opcodes' ? { path, payload, opcodes: toOpcodes(payload) } : { path, payload });
  }
  return { kind: 'entries', entries };
}

/**
 * Builds a `Delta` from an already unpickled and materialized delta dict (`Delta(diff=dict)`).
 * Throws `DELTA_REJECTED` when it is not a dict, as `Delta()` would.
 */
export function deltaFromValue(value: PyValue, options?: DecodeDeltaOptions): Delta {
  if (!(value instanceof PyDict)) {
    throw deltaError('DELTA_REJECTED', 'a delta pickle must hold a dict', 'AttributeError');
  }
  const reports = new Map<ReportKey, DeltaReport>();
  const unknownKeys: PyValue[] = [];
  let numpyPaths: PyValue = null;
  let compareFuncWasUsed = false;
  for (const [key, v] of value.entries()) {
    if (typeof key === 'string' && REPORT_KEY_SET.has(key))
      reports.set(key as ReportKey, toReport(key as ReportKey, v));
    else if (key === '_numpy_paths') numpyPaths = pyTruthy(v) ? v : null;
    else if (key === '_iterable_compare_func_was_used') compareFuncWasUsed = pyTruthy(v);
    else if (!(typeof key === 'string' && FLAG_KEY_SET.has(key))) unknownKeys.push(key);
  }
  if (unknownKeys.length > 0 && options?.rejectUnknownKeys === true) {
    throw deltaError('DELTA_UNKNOWN_KEY', `unknown report keys: ${unknownKeys.map(String).join(', ')}`);
  }
  return { reports, numpyPaths, compareFuncWasUsed, unknownKeys };
}

/**
 * `Delta(bytes)` with the reference server's defaults. Throws `DeltaError`: `DELTA_REJECTED`
 * wherever Python's constructor raises (malformed or empty pickle, a global outside the
 * allow-list, a failing constructor call, not a dict), `DELTA_UNSUPPORTED` for allow-listed
 * objects the value model cannot hold, `DELTA_UNKNOWN_KEY` only with `rejectUnknownKeys`.
 */
export function decodeDelta(bytes: Uint8Array, options?: DecodeDeltaOptions): Delta {
  if (bytes.length === 0) {
    throw deltaError('DELTA_REJECTED', 'Please either pass the content or the file_obj to pickle_load.', 'ValueError');
  }
  let raw: PyValue;
  let refused = '';
  const allowGlobal = (module: string, name: string): boolean => {
    if (isSafeToImport(module, name)) return true;
    refused = `${module}.${name}`;
    return false;
  };
  try {
    raw = decodePickle(bytes, {
      limits: options?.limits,
      allowGlobal,
      plainConstructors: true,
      maxMemoSkip: options?.maxMemoSkip,
    });
  } catch (e) {
    if (!(e instanceof PickleError || e instanceof RangeError)) throw e;
    let pyType = 'UnpicklingError';
    // A listed name split at the wrong dot passes deepdiff's check and fails its getattr.
    if (e instanceof PickleError && e.code === 'PICKLE_FORBIDDEN')
      pyType = SAFE_TO_IMPORT.has(refused) ? 'AttributeError' : 'ForbiddenModule';
    throw deltaError('DELTA_REJECTED', e.message, pyType, e);
  }
  try {
    return deltaFromValue(materializeDelta(raw), options);
  } catch (e) {
    if (e instanceof DeltaError) throw e;
    // What the input can cause; anything else is a bug and must not pass for a verdict.
    if (e instanceof PyExc) throw deltaError('DELTA_REJECTED', e.message, e.pyType, e);
    if (e instanceof UnhashableError) throw deltaError('DELTA_REJECTED', e.message, 'TypeError', e);
    if (e instanceof RangeError) throw deltaError('DELTA_LIMIT', e.message, 'RecursionError', e);
    throw e;
  }
}
