/**
 * The server's own reading of a Commit delta: stricter than deepdiff, never looser. Clients apply
 * the relayed bytes with deepdiff 8.1.1, which follows tuple-form paths into attributes
 * (CVE-2025-58367: `(('__init__','GETATTR'),('__globals__','GETATTR'),…)` reaches module
 * globals), logs and skips operations it cannot apply, and ignores report keys it does not know.
 * So a delta is accepted only when every one of its operations means, for the server, exactly
 * what it will mean for every client:
 *
 * - report keys are the ones deepdiff 8.1.1 defines;
 * - every path is a str in the form the add-on's deepdiff writes, `root` then `[key]`
 *   subscripts: no attribute step (`root.attr`), no tuple or list path, no key starting with `__`,
 *   no token deepdiff's scanner would silently drop (`root['a'].__class__` reads as `root['a']`);
 * - the same for the `new_path` of a payload (`iterable_item_moved` applies it);
 * - no numpy handling (`_numpy_paths`), which the clients would run and the server cannot;
 * - application logs and skips nothing: one skipped operation refuses the whole delta.
 */
import { type PickleLimits, PyCodepointStr, PyDict, PyTuple, type PyValue } from '../pickle/index.js';
import { applyDelta, type ApplyResult } from './apply.js';
import { decodeDelta, toDeltaPath } from './decode-delta.js';
import { deltaError } from './errors.js';
import { codepointsOf } from './py-str.js';
import { droppedPrivateToken } from './path.js';
import type { ConvertLimits } from './convert.js';
import type { Delta, DeltaPath } from './types.js';

export interface StrictDeltaOptions {
  /** Bounds for the pickle decoder (pickle/limits.ts). */
  pickleLimits?: Partial<PickleLimits>;
  /** Bounds on what application may allocate (convert.ts). */
  convertLimits?: Partial<ConvertLimits>;
  /** Hand `value` over to be changed in place (apply.ts `consumeInput`). */
  consumeInput?: boolean;
}

const ROOT = [0x72, 0x6f, 0x6f, 0x74]; // 'root'

function startsWithRoot(raw: string | PyCodepointStr): boolean {
  if (typeof raw === 'string') return raw.startsWith('root');
  const cps = codepointsOf(raw);
  return ROOT.every((c, i) => cps[i] === c);
}

function isPrivateKey(key: PyValue): boolean {
  if (typeof key === 'string') return key.startsWith('__');
  if (key instanceof PyCodepointStr) {
    const cps = codepointsOf(key);
    return cps[0] === 0x5f && cps[1] === 0x5f;
  }
  return false;
}

/** Why a path is refused, or undefined when it is a plain `root[...]` path. */
export function strictPathProblem(path: DeltaPath): string | undefined {
  const raw = path.raw;
  if (typeof raw !== 'string' && !(raw instanceof PyCodepointStr)) {
    return Array.isArray(raw) || raw instanceof PyTuple ? 'a tuple-form path' : 'a path that is not a str';
  }
  if (path.elements === null) return 'a path deepdiff cannot parse';
  if (!startsWithRoot(raw)) return 'a path that does not start with root';
  if (droppedPrivateToken(path.elements)) return 'a path with a __ name';
  for (let i = 1; i < path.elements.length; i++) {
    const e = path.elements[i];
    if (e.attr) return 'an attribute path';
    if (isPrivateKey(e.key)) return 'a path with a __ key';
  }
  return undefined;
}

function describe(raw: PyValue): string {
  const text = typeof raw === 'string' ? raw : raw instanceof PyCodepointStr ? '<str>' : String(raw);
  return JSON.stringify(text.slice(0, 80));
}

/** Throws `DELTA_PATH_REFUSED` for the first path (or payload `new_path`) outside the plain form. */
export function checkStrictPaths(delta: Delta): void {
  for (const [key, report] of delta.reports) {
    if (report.kind !== 'entries') continue;
    for (const entry of report.entries) {
      const problem = strictPathProblem(entry.path);
      if (problem !== undefined) {
        throw deltaError('DELTA_PATH_REFUSED', `${key}: ${problem} (${describe(entry.path.raw)})`);
      }
      if (entry.payload instanceof PyDict && entry.payload.has('new_path')) {
        const newPath = toDeltaPath(entry.payload.get('new_path') as PyValue);
        const bad = strictPathProblem(newPath);
        if (bad !== undefined) throw deltaError('DELTA_PATH_REFUSED', `${key} new_path: ${bad}`);
      }
    }
  }
  if (delta.numpyPaths !== null) throw deltaError('DELTA_PATH_REFUSED', '_numpy_paths is not supported');
}

/**
 * `value + Delta(bytes)` under the rules above. Throws `DeltaError` for every refusal (the
 * deepdiff-faithful codes of decodeDelta/applyDelta, `DELTA_UNKNOWN_KEY`, `DELTA_PATH_REFUSED`,
 * `DELTA_INCOMPLETE`); anything else it throws is a bug.
 */
/** Memo entries a relayed delta's PUT may skip: a client then allocates at most ~4 KB more. */
export const STRICT_MAX_MEMO_SKIP = 256;

export function applyDeltaStrict(value: PyValue, bytes: Uint8Array, options?: StrictDeltaOptions): ApplyResult {
  const delta = decodeDelta(bytes, {
    limits: options?.pickleLimits,
    rejectUnknownKeys: true,
    // Clients unpickle the delta bytes we relay: a far memo index would make each of them
    // allocate in proportion to the index, not to the message (protocol 4, which the add-on
    // writes, never skips; hand-written protocol 0 pickles may, a little).
    maxMemoSkip: STRICT_MAX_MEMO_SKIP,
  });
  checkStrictPaths(delta);
  const result = applyDelta(value, delta, { limits: options?.convertLimits, consumeInput: options?.consumeInput });
  if (result.problems.length > 0) {
    const first = result.problems[0].slice(0, 200);
    throw deltaError('DELTA_INCOMPLETE', `${result.problems.length} operation(s) would be skipped: ${first}`);
  }
  return result;
}
