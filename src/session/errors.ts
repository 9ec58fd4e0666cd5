/**
 * Every way the session's codecs and its startup import can fail (STYLE.md §5: one error class
 * per module, a stable `code`, built in one place). Live traffic never throws: rejections there
 * are log effects. These are thrown only for hostile or corrupt bytes handed to the codecs
 * (journal records, JSON in user metadata) and for misuse of the startup API.
 */
export type SessionErrorCode =
  | 'SESSION_JSON_SYNTAX' // text that Python's json.loads would refuse
  | 'SESSION_JSON_LIMIT' // JSON nested deeper, or an int longer, than the configured bound
  | 'SESSION_JSON_TYPE' // a value json.dumps would refuse (bytes, set, opaque object, non-scalar key)
  | 'SESSION_MUTATION_CORRUPT' // journal record bytes that are not a well-formed mutation
  | 'SESSION_NOT_EMPTY'; // importImage on a session that already has clients, nodes or users

export class SessionError extends Error {
  constructor(
    readonly code: SessionErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SessionError';
  }
}

/** The one place session errors are built (ws `createError` style). */
export function sessionError(code: SessionErrorCode, message: string, cause?: unknown): SessionError {
  return new SessionError(code, message, cause === undefined ? undefined : { cause });
}
