/** Every way a pickle can be refused. Tests assert on these codes, never on message text. */
export type PickleErrorCode =
  | 'PICKLE_TRUNCATED' // input ended inside an opcode or before STOP
  | 'PICKLE_BAD_OPCODE' // a byte that is not an opcode (or one we never accept, e.g. EXT*)
  | 'PICKLE_MALFORMED' // stack underflow, missing MARK, bad text literal, invalid UTF-8, unhashable key, ...
  | 'PICKLE_MEMO' // memo index not present
  | 'PICKLE_MEMO_SPARSE' // a memo index that skips entries (scan.ts: the client would allocate twice the index)
  | 'PICKLE_PROTOCOL' // unsupported PROTO number
  | 'PICKLE_LIMIT' // a configured bound (depth, items, length) was exceeded
  | 'PICKLE_FORBIDDEN' // a global outside the allow-list of a restricted decode
  | 'PICKLE_UNENCODABLE'; // the encoder was handed something it cannot write

export class PickleError extends Error {
  constructor(
    readonly code: PickleErrorCode,
    message: string,
    /** Byte offset in the input where the problem was found, when decoding. */
    readonly offset?: number,
  ) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
    this.name = 'PickleError';
  }
}

/** The one place pickle errors are built (ws `createError` style). */
export function pickleError(code: PickleErrorCode, message: string, offset?: number): PickleError {
  return new PickleError(code, message, offset);
}
