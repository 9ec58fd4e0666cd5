/**
 * deepdiff 8.1.1 `Delta` for node data: decode a delta pickle (`Delta(bytes)`) and apply it
 * (`data + delta`) exactly as the reference server does (shared/fixtures/DELTA-SEMANTICS.md).
 */
import type { PyValue } from '../pickle/index.js';
import { applyDelta, type ApplyOptions, type ApplyResult } from './apply.js';
import { decodeDelta, type DecodeDeltaOptions } from './decode-delta.js';

export { applyDelta, type ApplyOptions, type ApplyResult } from './apply.js';
export { decodeDelta, deltaFromValue, type DecodeDeltaOptions } from './decode-delta.js';
export { DeltaError, type DeltaErrorCode } from './errors.js';
export { applyDeltaStrict, checkStrictPaths, strictPathProblem, type StrictDeltaOptions } from './strict.js';
export { SAFE_TO_IMPORT, isSafeToImport } from './allow-list.js';
export { parsePath, ROOT_ELEMENT, type PathElement } from './path.js';
export { callType, NONE_TYPE, DEFAULT_CONVERT_LIMITS, type ConvertLimits } from './convert.js';
export { deepCopy } from './deep-copy.js';
export type { Delta, DeltaEntry, DeltaOpcode, DeltaPath, DeltaReport, ReportKey } from './types.js';

/** `value + Delta(bytes)`: decode then apply. Throws `DeltaError` from either step. */
export function applyDeltaBytes(
  value: PyValue,
  bytes: Uint8Array,
  options?: ApplyOptions & DecodeDeltaOptions,
): ApplyResult {
  return applyDelta(value, decodeDelta(bytes, options), options);
}
