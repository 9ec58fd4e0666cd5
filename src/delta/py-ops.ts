/**
 * Python's item protocol on the value model: `obj[key]`, `obj[key] = v`, `del obj[key]`,
 * `len(obj)`, `<`, truthiness, slicing and iteration, each raising the exception type CPython
 * raises. deepdiff's applier decides between "log and skip" and "the whole delta fails" by
 * exception type (DELTA-SEMANTICS.md §8), so the type is what matters, not the message.
 */
import {
  PyByteArray,
  PyCodepointStr,
  PyDict,
  PySet,
  PyTuple,
  UnhashableError,
  pyEquals,
  pyTypeName,
  type PyValue,
} from '../pickle/index.js';
import { compareStr, isPyStr, pyStrChars, pyStrLength } from './py-str.js';
import { pySetOrder } from './set-order.js';

export type PyExcType =
  | 'KeyError'
  | 'IndexError'
  | 'TypeError'
  | 'AttributeError'
  | 'ValueError'
  | 'RuntimeError'
  | 'OverflowError'
  | 'MemoryError';

/**
 * A Python exception raised inside the emulated applier. Some are part of normal control flow
 * (a missing key is logged and skipped), so no stack trace is captured: that is most of the
 * cost of a JS exception.
 */
export class PyExc extends Error {
  constructor(
    readonly pyType: PyExcType,
    message: string,
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = pyType;
  }
}

export function typeError(message: string): PyExc {
  return new PyExc('TypeError', message);
}

/** `hashKey` failures surface as Python's `TypeError: unhashable type`. */
export function rethrowUnhashable(e: unknown): never {
  if (e instanceof UnhashableError) throw typeError(e.message);
  throw e;
}

function dictLookup(d: PyDict, key: PyValue): PyValue | undefined {
  try {
    return d.get(key);
  } catch (e) {
    return rethrowUnhashable(e);
  }
}

/** The integer value of an index argument (`__index__`: int or bool), or undefined. */
export function asIndex(key: PyValue): bigint | undefined {
  if (typeof key === 'bigint') return key;
  if (typeof key === 'boolean') return key ? 1n : 0n;
  return undefined;
}

/** Normalises `key` as a sequence index of a sequence of `length`; throws like CPython. */
function seqIndex(length: number, key: PyValue, typeName: string, assignment: boolean): number {
  const i = asIndex(key);
  if (i === undefined) {
    if (typeName === 'str') throw typeError(`string indices must be integers, not '${pyTypeName(key)}'`);
    throw typeError(`${typeName} indices must be integers or slices, not ${pyTypeName(key)}`);
  }
  const n = i < 0n ? i + BigInt(length) : i;
  if (n < 0n || n >= BigInt(length)) {
    throw new PyExc('IndexError', `${typeName} ${assignment ? 'assignment ' : ''}index out of range`);
  }
  return Number(n);
}

/** `obj[key]`. */
export function getItem(obj: PyValue, key: PyValue): PyValue {
  if (obj instanceof PyDict) {
    const v = dictLookup(obj, key);
    if (v === undefined) throw new PyExc('KeyError', 'missing key');
    return v;
  }
  if (Array.isArray(obj)) return obj[seqIndex(obj.length, key, 'list', false)];
  if (obj instanceof PyTuple) return obj.items[seqIndex(obj.items.length, key, 'tuple', false)];
  if (typeof obj === 'string' || obj instanceof PyCodepointStr) {
    const chars = pyStrChars(obj);
    return chars[seqIndex(chars.length, key, 'str', false)];
  }
  if (obj instanceof Uint8Array) return BigInt(obj[seqIndex(obj.length, key, 'index', false)]);
  if (obj instanceof PyByteArray) return BigInt(obj.data[seqIndex(obj.data.length, key, 'bytearray', false)]);
  throw typeError(`'${pyTypeName(obj)}' object is not subscriptable`);
}

/** `obj[key] = value`. */
export function setItem(obj: PyValue, key: PyValue, value: PyValue): void {
  if (obj instanceof PyDict) {
    try {
      obj.set(key, value);
    } catch (e) {
      rethrowUnhashable(e);
    }
    return;
  }
  if (Array.isArray(obj)) {
    obj[seqIndex(obj.length, key, 'list', true)] = value;
    return;
  }
  if (obj instanceof PyByteArray) {
    const i = seqIndex(obj.data.length, key, 'bytearray', false);
    obj.data[i] = byteValue(value);
    return;
  }
  throw typeError(`'${pyTypeName(obj)}' object does not support item assignment`);
}

/** An int in 0..255 for a bytearray slot: TypeError for non-ints, ValueError (not caught by deepdiff) out of range. */
export function byteValue(value: PyValue): number {
  const n = asIndex(value);
  if (n === undefined) throw typeError(`'${pyTypeName(value)}' object cannot be interpreted as an integer`);
  if (n < 0n || n > 255n) throw new PyExc('ValueError', 'byte must be in range(0, 256)');
  return Number(n);
}

/** `del obj[key]`. */
export function delItem(obj: PyValue, key: PyValue): void {
  if (obj instanceof PyDict) {
    let removed: boolean;
    try {
      removed = obj.delete(key);
    } catch (e) {
      return rethrowUnhashable(e);
    }
    if (!removed) throw new PyExc('KeyError', 'missing key');
    return;
  }
  if (Array.isArray(obj)) {
    obj.splice(seqIndex(obj.length, key, 'list', true), 1);
    return;
  }
  if (obj instanceof PyByteArray) {
    const i = seqIndex(obj.data.length, key, 'bytearray', true);
    const next = new Uint8Array(obj.data.length - 1);
    next.set(obj.data.subarray(0, i));
    next.set(obj.data.subarray(i + 1), i);
    obj.data = next;
    return;
  }
  throw typeError(`'${pyTypeName(obj)}' object doesn't support item deletion`);
}

/** `len(obj)`. */
export function pyLen(obj: PyValue): number {
  if (Array.isArray(obj)) return obj.length;
  if (obj instanceof PyDict || obj instanceof PySet) return obj.size;
  if (obj instanceof PyTuple) return obj.items.length;
  if (isPyStr(obj)) return pyStrLength(obj);
  if (obj instanceof Uint8Array) return obj.length;
  if (obj instanceof PyByteArray) return obj.data.length;
  throw typeError(`object of type '${pyTypeName(obj)}' has no len()`);
}

/** `bool(v)`. */
export function pyTruthy(v: PyValue): boolean {
  if (v === null) return false;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'bigint':
      return v !== 0n;
    case 'number':
      return v !== 0;
    case 'string':
      return v.length > 0;
  }
  if (v instanceof PyCodepointStr) return v.codepoints.length > 0;
  try {
    return pyLen(v) > 0;
  } catch {
    return true;
  }
}

function isNumber(v: PyValue): v is boolean | bigint | number {
  const t = typeof v;
  return t === 'boolean' || t === 'bigint' || t === 'number';
}

/** Exact order of two Python numbers (int vs float compared without rounding); NaN compares false. */
export function compareNumbers(a: boolean | bigint | number, b: boolean | bigint | number): number {
  const x = typeof a === 'boolean' ? (a ? 1n : 0n) : a;
  const y = typeof b === 'boolean' ? (b ? 1n : 0n) : b;
  if (typeof x === 'bigint' && typeof y === 'bigint') return x < y ? -1 : x > y ? 1 : 0;
  if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : x > y ? 1 : x === y ? 0 : NaN;
  const f = (typeof x === 'number' ? x : y) as number;
  const i = (typeof x === 'bigint' ? x : y) as bigint;
  let c: number;
  if (Number.isNaN(f)) return NaN;
  if (!Number.isFinite(f)) c = f > 0 ? 1 : -1;
  else {
    const fi = BigInt(Math.trunc(f));
    c = fi > i ? 1 : fi < i ? -1 : f > Math.trunc(f) ? 1 : f < Math.trunc(f) ? -1 : 0;
  }
  return typeof x === 'number' ? c : -c;
}

function bytesOf(v: PyValue): Uint8Array | undefined {
  return v instanceof Uint8Array ? v : v instanceof PyByteArray ? v.data : undefined;
}

/** `a < b`, raising TypeError where Python cannot order the two values. */
export function pyLess(a: PyValue, b: PyValue): boolean {
  return pyCompare(a, b, '<') < 0;
}

/**
 * Three-way order for `<`/`>`: negative, zero or positive, NaN when unordered (a NaN float).
 * Throws TypeError for types Python does not order against each other.
 */
export function pyCompare(a: PyValue, b: PyValue, op: '<' | '>'): number {
  if (isNumber(a) && isNumber(b)) return compareNumbers(a, b);
  if (isPyStr(a) && isPyStr(b)) return compareStr(a, b);
  const ab = bytesOf(a);
  const bb = bytesOf(b);
  if (ab !== undefined && bb !== undefined) {
    const n = Math.min(ab.length, bb.length);
    for (let i = 0; i < n; i++) if (ab[i] !== bb[i]) return ab[i] - bb[i];
    return ab.length - bb.length;
  }
  const seqA = Array.isArray(a) ? a : a instanceof PyTuple ? a.items : undefined;
  const seqB = Array.isArray(b) ? b : b instanceof PyTuple ? b.items : undefined;
  if (seqA !== undefined && seqB !== undefined && Array.isArray(a) === Array.isArray(b)) {
    return compareSequences(seqA, seqB, op);
  }
  throw typeError(`'${op}' not supported between instances of '${pyTypeName(a)}' and '${pyTypeName(b)}'`);
}

/** List/tuple rich comparison: first unequal pair decides (identity counts as equal), then length. */
export function compareSequences(a: readonly PyValue[], b: readonly PyValue[], op: '<' | '>'): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] === b[i] || pyEquals(a[i], b[i])) continue;
    return pyCompare(a[i], b[i], op);
  }
  return a.length - b.length;
}

/** Python slice bound: None or an index; floats and others raise TypeError. */
function sliceBound(v: PyValue, length: number, dflt: number): number {
  if (v === null) return dflt;
  const i = asIndex(v);
  if (i === undefined) {
    throw typeError('slice indices must be integers or None or have an __index__ method');
  }
  let n = i < 0n ? i + BigInt(length) : i;
  if (n < 0n) n = 0n;
  if (n > BigInt(length)) n = BigInt(length);
  return Number(n);
}

/** The items of `obj[start:stop]`, as `list.extend` would see them. */
export function sliceItems(obj: PyValue, start: PyValue, stop: PyValue): PyValue[] {
  let items: readonly PyValue[];
  if (Array.isArray(obj)) items = obj;
  else if (obj instanceof PyTuple) items = obj.items;
  else if (isPyStr(obj)) items = pyStrChars(obj);
  else if (obj instanceof Uint8Array || obj instanceof PyByteArray) items = pyIterate(obj);
  else if (obj instanceof PyDict) throw typeError("unhashable type: 'slice'");
  else throw typeError(`'${pyTypeName(obj)}' object is not subscriptable`);
  const len = items.length;
  const lo = sliceBound(start, len, 0);
  const hi = sliceBound(stop, len, len);
  return hi > lo ? items.slice(lo, hi) : [];
}

/** `list(v)`: the items Python's iteration yields (a set in CPython's table order, see set-order.ts). */
export function pyIterate(v: PyValue): PyValue[] {
  if (Array.isArray(v)) return v.slice();
  if (v instanceof PyTuple) return v.items.slice();
  if (isPyStr(v)) return pyStrChars(v);
  const bytes = bytesOf(v);
  if (bytes !== undefined) {
    const out: PyValue[] = new Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) out[i] = BigInt(bytes[i]);
    return out;
  }
  if (v instanceof PyDict) return [...v.keys()];
  if (v instanceof PySet) return pySetOrder(v);
  throw typeError(`'${pyTypeName(v)}' object is not iterable`);
}
