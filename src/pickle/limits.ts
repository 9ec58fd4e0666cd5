/**
 * Bounds of one `decodePickle` call (STYLE.md §6: every size is a named bound, checked before
 * anything is allocated). Exceeding any of them throws `PickleError` with code `PICKLE_LIMIT`.
 *
 * Declared lengths (BINUNICODE8, BINBYTES8, FRAME, ...) need no field of their own: each is
 * compared with the bytes actually left in the input before anything is sliced, so they are
 * bounded by `maxBytes`.
 */
export interface PickleLimits {
  /**
   * Input size in bytes. Defends against a caller handing over an unbounded buffer: decode time
   * and the number of values are both linear in it.
   */
  maxBytes: number;
  /**
   * Nesting depth of the decoded value (an empty container is 1, a list holding it 2, ...;
   * cycles do not count). Defends the recursive consumers (view, encoder, delta apply) against
   * stack exhaustion: CPython accepts 100,000 nested lists, we refuse past this
   * (malformed.jsonl bad-01429..bad-01435: 200 must pass, 2,000 must fail). At least 1.
   */
  maxDepth: number;
  /**
   * Opcodes executed. Each pushes at most one value, so this bounds the number of decoded
   * values and the memory behind them: one byte of input (`}`) allocates a whole dict.
   */
  maxItems: number;
  /**
   * Distinct memo indices. The memo is a map, so a sparse index such as 2^31 costs one entry
   * (bad-01427), but PUT loops could still fill it without bound.
   */
  maxMemo: number;
  /**
   * Values visited while hashing one tuple/frozenset used as a dict key or set element. A
   * memo-shared tuple doubled 30 times is 2^30 leaves when hashed (bad-01437 made into a key);
   * this refuses it instead of expanding it.
   */
  maxKeyNodes: number;
  /**
   * Decimal digits of a protocol 0 INT/LONG text. Same default and purpose as CPython's
   * `sys.int_info.default_max_str_digits`: decimal to binary conversion is quadratic.
   */
  maxIntDigits: number;
  /** Bytes of one LONG1/LONG4 integer. Defends against huge bigints (V8 caps them at 2^30 bits anyway). */
  maxLongBytes: number;
}

/** Defaults sized for node data and commands; snapshot loading may pass larger `maxItems` / `maxBytes`. */
export const DEFAULT_PICKLE_LIMITS: Readonly<PickleLimits> = Object.freeze({
  maxBytes: 1024 * 1024 * 1024,
  maxDepth: 1000,
  maxItems: 10_000_000,
  maxMemo: 10_000_000,
  maxKeyNodes: 10_000,
  maxIntDigits: 4300,
  maxLongBytes: 1024 * 1024,
});
