/**
 * `new_type(old_value)` for `type_changes` entries that carry no `new_value`
 * (DELTA-SEMANTICS.md §7). DeepDiff omits the value exactly when Python's constructor turns the
 * old value into the new one, so the applier must reproduce CPython's constructor semantics on
 * the current value. A failure raises `PyExc`; the applier logs it ("Unable to do the type
 * change") and skips the entry, as deepdiff does.
 */
import { PyByteArray, PyDict, PyGlobal, PySet, PyTuple, pyTypeName, type PyValue } from '../pickle/index.js';
import type { DeltaError } from './errors.js';
import { deltaError } from './errors.js';
import { floatFromBytes, floatFromInt, floatFromStr, intFromBytes, intFromFloat, intFromStr } from './py-numbers.js';
import { PyExc, asIndex, byteValue, pyIterate, pyTruthy, rethrowUnhashable, typeError } from './py-ops.js';
import { pyStr, UnreprError } from './py-repr.js';
import { isPyStr } from './py-str.js';

/** `type(None)`: deepdiff pickles it as the persistent id `'<<NoneType>>'` (DELTA-SEMANTICS.md §2). */
export const NONE_TYPE = new PyGlobal('builtins', 'NoneType');

/**
 * Bounds on what applying a delta may allocate beyond the size of its inputs. Python has none and
 * would try (and the reference server die or raise MemoryError); exceeding one is `DELTA_LIMIT`.
 */
export interface ConvertLimits {
  /** Largest `bytes(n)` a type change may build from an int (`bytes(10**12)`). Default 64 MiB. */
  maxBytesFromInt: number;
  /**
   * Longest list `_iterable_opcodes` may rebuild. Defends against amplification: every `equal`
   * opcode copies a slice of the current list, so K opcodes over an N-item list give K*N items
   * from a delta of K records. Default 10 million.
   */
  maxRebuiltItems: number;
}

export const DEFAULT_CONVERT_LIMITS: Readonly<ConvertLimits> = Object.freeze({
  maxBytesFromInt: 64 * 1024 * 1024,
  maxRebuiltItems: 10_000_000,
});

function toInt(v: PyValue): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'number') return intFromFloat(v);
  if (isPyStr(v)) return intFromStr(v);
  if (v instanceof Uint8Array) return intFromBytes(v);
  if (v instanceof PyByteArray) return intFromBytes(v.data);
  throw typeError(`int() argument must be a string, a bytes-like object or a real number, not '${pyTypeName(v)}'`);
}

function toFloat(v: PyValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return floatFromInt(v);
  if (isPyStr(v)) return floatFromStr(v);
  if (v instanceof Uint8Array) return floatFromBytes(v);
  if (v instanceof PyByteArray) return floatFromBytes(v.data);
  throw typeError(`float() argument must be a string or a real number, not '${pyTypeName(v)}'`);
}

function toBytes(v: PyValue, limits: ConvertLimits): Uint8Array {
  const n = typeof v === 'bigint' || typeof v === 'boolean' ? asIndex(v) : undefined;
  if (n !== undefined) {
    if (n < 0n) throw new PyExc('ValueError', 'negative count');
    if (n > BigInt(limits.maxBytesFromInt)) {
      throw deltaError('DELTA_LIMIT', `bytes(${n}) exceeds maxBytesFromInt ${limits.maxBytesFromInt}`);
    }
    return new Uint8Array(Number(n));
  }
  if (v instanceof Uint8Array) return v;
  if (v instanceof PyByteArray) return v.data.slice();
  if (isPyStr(v)) throw typeError('string argument without an encoding');
  if (v === null || typeof v === 'number' || v instanceof PyGlobal) {
    throw typeError(`cannot convert '${pyTypeName(v)}' object to bytes`);
  }
  const items = pyIterate(v);
  const out = new Uint8Array(items.length);
  for (let i = 0; i < items.length; i++) {
    try {
      out[i] = byteValue(items[i]);
    } catch (e) {
      if (e instanceof PyExc && e.pyType === 'ValueError')
        throw new PyExc('ValueError', 'bytes must be in range(0, 256)');
      throw e;
    }
  }
  return out;
}

function toSet(v: PyValue, frozen: boolean): PySet {
  const out = new PySet(frozen);
  try {
    for (const item of pyIterate(v)) out.add(item);
  } catch (e) {
    rethrowUnhashable(e);
  }
  return out;
}

function toDict(v: PyValue): PyDict {
  if (v instanceof PyDict) return PyDict.from(v.entries());
  const out = new PyDict();
  const items = pyIterate(v);
  for (let i = 0; i < items.length; i++) {
    let pair: PyValue[];
    try {
      pair = pyIterate(items[i]);
    } catch {
      throw typeError(`cannot convert dictionary update sequence element #${i} to a sequence`);
    }
    if (pair.length !== 2) {
      throw new PyExc(
        'ValueError',
        `dictionary update sequence element #${i} has length ${pair.length}; 2 is required`,
      );
    }
    try {
      out.set(pair[0], pair[1]);
    } catch (e) {
      rethrowUnhashable(e);
    }
  }
  return out;
}

function toBin(v: PyValue): string {
  const n = asIndex(v);
  if (n === undefined) throw typeError(`'${pyTypeName(v)}' object cannot be interpreted as an integer`);
  return n < 0n ? `-0b${(-n).toString(2)}` : `0b${n.toString(2)}`;
}

function toStr(v: PyValue): PyValue {
  try {
    return pyStr(v);
  } catch (e) {
    if (e instanceof UnreprError) throw unsupported('str() of an object the value model keeps inert');
    throw e;
  }
}

function unsupported(what: string): DeltaError {
  return deltaError('DELTA_UNSUPPORTED', what);
}

type Constructor = (v: PyValue, limits: ConvertLimits) => PyValue;

const CONSTRUCTORS = new Map<string, Constructor>([
  ['builtins.int', toInt],
  ['builtins.float', toFloat],
  ['builtins.str', toStr],
  ['builtins.bool', pyTruthy],
  ['builtins.bytes', toBytes],
  ['builtins.list', (v) => pyIterate(v)],
  ['builtins.tuple', (v) => (v instanceof PyTuple ? v : new PyTuple(pyIterate(v)))],
  ['builtins.set', (v) => toSet(v, false)],
  ['builtins.frozenset', (v) => (v instanceof PySet && v.frozen ? v : toSet(v, true))],
  ['builtins.dict', toDict],
  ['builtins.bin', toBin],
]);

/** Allow-listed callables that raise TypeError when called with one positional argument. */
const FAILS_WITH_ONE_ARG = new Map<string, string>([
  ['builtins.NoneType', 'NoneType takes no arguments'],
  ['collections.namedtuple', "namedtuple() missing 1 required positional argument: 'field_names'"],
  ['re.Pattern', "cannot create 're.Pattern' instances"],
  ['deepdiff.helper.Opcode', 'Opcode.__new__() missing 4 required positional arguments'],
]);

function nameOf(g: PyGlobal): string {
  return `${g.module === '__builtin__' ? 'builtins' : g.module}.${g.name}`;
}

/**
 * `callable(arg)` for a type reference taken from a delta (`new_type`). Throws `PyExc` where
 * Python raises, `DeltaError` (`DELTA_UNSUPPORTED`) where Python would build an object the value
 * model cannot hold (a Decimal, a datetime, a range, ...), `DELTA_LIMIT` past `limits`.
 */
export function callType(callable: PyValue, arg: PyValue, limits: ConvertLimits = DEFAULT_CONVERT_LIMITS): PyValue {
  if (!(callable instanceof PyGlobal)) throw typeError(`'${pyTypeName(callable)}' object is not callable`);
  const name = nameOf(callable);
  const make = CONSTRUCTORS.get(name);
  if (make !== undefined) return make(arg, limits);
  const failure = FAILS_WITH_ONE_ARG.get(name);
  if (failure !== undefined) throw typeError(failure);
  throw unsupported(`calling ${name} builds an object the value model cannot hold`);
}

/** `callable()` with no argument, for a `REDUCE` with empty args inside a delta pickle. */
export function callTypeNoArgs(callable: PyGlobal): PyValue {
  switch (nameOf(callable)) {
    case 'builtins.int':
      return 0n;
    case 'builtins.float':
      return 0;
    case 'builtins.str':
      return '';
    case 'builtins.bool':
      return false;
    case 'builtins.bytes':
      return new Uint8Array(0);
    case 'builtins.list':
      return [];
    case 'builtins.tuple':
      return new PyTuple([]);
    case 'builtins.set':
      return new PySet(false);
    case 'builtins.frozenset':
      return new PySet(true);
    case 'builtins.dict':
      return new PyDict();
  }
  throw unsupported(`calling ${nameOf(callable)}() is not modelled`);
}
