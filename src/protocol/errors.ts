/** Every way a replication message can be refused. Tests assert on these codes, never on message text. */
export type ProtocolErrorCode =
  | 'PROTOCOL_FRAME_COUNT' // fewer frames than the type needs, or more than `maxFrames`
  | 'PROTOCOL_FRAME_SIZE' // a frame is larger than its configured bound
  | 'PROTOCOL_TYPE' // frame 0 is not a pickle of an int 1–14
  | 'PROTOCOL_UTF8' // an id / owner frame is not valid UTF-8 (or a string to encode is not)
  | 'PROTOCOL_PICKLE' // a pickled frame does not decode, or holds a global / persistent id / object
  | 'PROTOCOL_SHAPE'; // a decoded value has the wrong Python type for its place (deps not a list, chunk not bytes, ...)

/**
 * A hostile or malformed message. `net/` catches it per message so one bad frame never ends a
 * receive loop (STYLE.md §5; capture 11_command_thread_crash shows what happens otherwise).
 */
export class ProtocolError extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    /** Index of the offending frame, when one frame is to blame. */
    readonly frame?: number,
    options?: { cause?: unknown },
  ) {
    super(frame === undefined ? message : `${message} (frame ${frame})`, options);
    this.name = 'ProtocolError';
  }
}

/** The one place protocol errors are built (ws `createError` style). */
export function protocolError(
  code: ProtocolErrorCode,
  message: string,
  frame?: number,
  cause?: unknown,
): ProtocolError {
  return new ProtocolError(code, message, frame, cause === undefined ? undefined : { cause });
}
