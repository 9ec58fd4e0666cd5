/**
 * The encoder's str memo: memo slots of strs by value, kept across `encodePickle` calls.
 *
 * Equal strs share one slot, as CPython's output does for interned identifiers (dict keys). The
 * same keys recur in every node, so keeping the Map between calls means an entry is usually
 * overwritten rather than added, and no call pays for growing a fresh Map: a per-call Map cost
 * a third of the encoding time on the delta/realistic bases. An entry holds `base + slot`, where
 * `base` numbers the calls' memos one after another; an entry below the current call's base was
 * written by an earlier call and is ignored.
 */

/** Longer strs are never looked up or kept (CPython would share them only by identity anyway). */
export const MAX_SHARED_STR = 256;
/** Bounds what the memo keeps alive: at most this many strs of at most MAX_SHARED_STR units. */
const MAX_ENTRIES = 65536;
/** Keeps `base + slot` a small integer (a V8 Smi). */
const MAX_BASE = 2 ** 29;

const slots = new Map<string, number>();
let nextBase = 0;

/** Starts a call; returns its base. Calls do not nest (encoding never calls out). */
export function beginStrMemo(): number {
  if (slots.size > MAX_ENTRIES || nextBase > MAX_BASE) {
    slots.clear();
    nextBase = 0;
  }
  return nextBase;
}

/** Ends the call that got `base`, which used `memoSize` slots. */
export function endStrMemo(base: number, memoSize: number): void {
  nextBase = base + memoSize;
}

/** The slot `s` got earlier in this call, or -1. */
export function findStr(s: string, base: number): number {
  const tagged = slots.get(s);
  return tagged !== undefined && tagged >= base ? tagged - base : -1;
}

export function rememberStr(s: string, base: number, slot: number): void {
  slots.set(s, base + slot);
}
