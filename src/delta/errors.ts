/**
 * Every way a delta can fail as a whole. Tests assert on `code`, never on message text.
 *
 * The reference server treats all of these alike (DELTA-SEMANTICS.md §1): it logs
 * "Corrupted data frame received, skipping it", keeps the node unchanged and relays nothing.
 */
export type DeltaErrorCode =
  | 'DELTA_REJECTED' // `Delta(bytes)` would raise: bad pickle, forbidden global (tgt-1021), not a dict
  | 'DELTA_APPLY_FAILED' // `data + delta` would raise (tgt-0776, tgt-0050, tgt-0996, drift-0020, rnd-00264)
  | 'DELTA_UNKNOWN_KEY' // only with `rejectUnknownKeys` (strict.ts): Python itself ignores unknown report keys (syn-0024)
  | 'DELTA_UNSUPPORTED' // Python would build an object the value model cannot hold (Decimal, datetime, numpy, ...)
  | 'DELTA_LIMIT' // a conversion would allocate more than the configured bound
  | 'DELTA_PATH_REFUSED' // strict.ts: a path outside `root[...]` (attribute, tuple form, `__` name), numpy
  | 'DELTA_INCOMPLETE'; // strict.ts: deepdiff would log and skip an operation

export class DeltaError extends Error {
  constructor(
    readonly code: DeltaErrorCode,
    message: string,
    /** The Python exception type behind the failure (`AttributeError`, `ForbiddenModule`, ...), when known. */
    readonly pyType?: string,
    options?: { cause?: unknown },
  ) {
    super(pyType === undefined ? message : `${pyType}: ${message}`, options);
    this.name = 'DeltaError';
  }
}

/** The one place delta errors are built (ws `createError` style). */
export function deltaError(code: DeltaErrorCode, message: string, pyType?: string, cause?: unknown): DeltaError {
  return new DeltaError(code, message, pyType, cause === undefined ? undefined : { cause });
}
