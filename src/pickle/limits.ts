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
   * Containers built (each dict, list, tuple, set, frozenset, and each inert object the decoder
   * records), at most. One byte of input (`}`) makes a whole dict — about 290 bytes and 1 µs in
   * the decoder, 64 bytes in CPython — so the opcode bound alone let a 9.9 MB message of empty
   * dicts cost 3.6 GB. The opcode scanner (scan.ts) applies the same budget to what a client
   * would build. See `containerBudget` for the budget of one pickle.
   */
  maxContainers: number;
  /**
   * Bytes of pickle per container beyond the first `CONTAINER_FLOOR`: a pickle of n bytes may
   * build `max(CONTAINER_FLOOR, n / containerBytes)` containers (capped by `maxContainers`), so
   * what it costs grows with its size, not with how densely it packs empty containers. Real
   * add-on pickles spend 19 (a tuple of two floats) to 70 bytes per container.
   */
  containerBytes: number;
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
  maxContainers: 1_000_000,
  containerBytes: 8,
  maxMemo: 10_000_000,
  maxKeyNodes: 10_000,
  maxIntDigits: 4300,
  maxLongBytes: 1024 * 1024,
});

/**
 * The limits in force for a caller's partial limits: the defaults, overridden by the fields that
 * are numbers (an explicit `undefined` keeps the default). Merged once per limits object: callers
 * pass the same configured object for every message, and merging it per decode or scan was a
 * measurable cost of the relay. Limits objects are configuration, not changed once passed.
 */
const resolved = new WeakMap<Partial<PickleLimits>, Readonly<PickleLimits>>();
export function resolvePickleLimits(partial: Partial<PickleLimits> | undefined): Readonly<PickleLimits> {
  if (partial === undefined) return DEFAULT_PICKLE_LIMITS;
  let lim = resolved.get(partial);
  if (lim === undefined) {
    const out = { ...DEFAULT_PICKLE_LIMITS };
    for (const key of Object.keys(out) as (keyof PickleLimits)[]) {
      const v = partial[key];
      if (typeof v === 'number') out[key] = v;
    }
    lim = out;
    resolved.set(partial, lim);
  }
  return lim;
}

/** Containers any pickle may build whatever its size (see `containerBytes`). */
export const CONTAINER_FLOOR = 65_536;

/** Containers a pickle of `length` bytes may build under `limits`. */
export function containerBudget(limits: Readonly<PickleLimits>, length: number): number {
  const bytesPer = Math.max(1, limits.containerBytes);
  return Math.min(limits.maxContainers, Math.max(CONTAINER_FLOOR, Math.floor(length / bytesPer)));
}

/**
 * Values hashing dict keys and set elements may visit in one pickle, all keys together. CPython
 * re-hashes a tuple key whole every time (no cache) and so does our decoder's `hashKey`: a
 * memo-shared tuple of `maxKeyNodes` values used as a million keys would be 10^10 steps. Real
 * pickles hash str keys (1 each); a million leaves room for any real tuple-keyed dict.
 */
export const MAX_HASHED_VALUES = 1_000_000;
