/**
 * The globals CPython itself writes for plain values at protocols 0-3 (DELTA-SEMANTICS.md §10):
 * `_codecs.encode(str, 'latin1')` for bytes, `bytes()`, and `bytearray`, `set`, `frozenset`
 * called through REDUCE, under both `builtins` and the Python 2 name `__builtin__`.
 *
 * This is `pyview.py --mode plain`: the same list and the same argument checks, applied to
 * inert data, never by calling anything. A call that does not have exactly one of the checked
 * shapes is left as it was (an inert `PyObject`).
 */
import { pickleError } from './errors.js';
import { PyByteArray, PyGlobal, PySet, PyTuple, UnhashableError, type PyValue } from './value.js';

type Maker = (args: PyValue[], guard: (v: PyValue) => void) => PyValue | undefined;

const LATIN1_NAMES = new Set(['latin1', 'latin-1', 'iso-8859-1', 'iso8859-1']);

function latin1Bytes(s: PyValue): Uint8Array | undefined {
  if (typeof s !== 'string') return undefined;
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) return undefined;
    out[i] = c;
  }
  return out;
}

/** `bytes(list_of_ints)`: every item an int (or bool) in 0..255. */
function bytesFromList(items: PyValue[]): Uint8Array | undefined {
  const out = new Uint8Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const x = items[i];
    const n = typeof x === 'bigint' ? x : typeof x === 'boolean' ? (x ? 1n : 0n) : -1n;
    if (n < 0n || n > 255n) return undefined;
    out[i] = Number(n);
  }
  return out;
}

function bytesArg(x: PyValue): Uint8Array | undefined {
  if (x instanceof Uint8Array) return x;
  if (Array.isArray(x)) return bytesFromList(x);
  return undefined;
}

const encode: Maker = (args) => {
  if (args.length !== 2 || typeof args[1] !== 'string' || !LATIN1_NAMES.has(args[1])) return undefined;
  return latin1Bytes(args[0]);
};

const bytes: Maker = (args) => {
  if (args.length === 0) return new Uint8Array(0);
  return args.length === 1 ? bytesArg(args[0]) : undefined;
};

const bytearray: Maker = (args) => {
  if (args.length === 0) return new PyByteArray(new Uint8Array(0));
  let data: Uint8Array | undefined;
  if (args.length === 1) data = bytesArg(args[0]);
  else if (args.length === 2 && typeof args[1] === 'string' && LATIN1_NAMES.has(args[1])) data = latin1Bytes(args[0]);
  // A bytearray is mutable: never share the input frame's memory.
  return data === undefined ? undefined : new PyByteArray(data.slice());
};

function setMaker(frozen: boolean): Maker {
  return (args, guard) => {
    if (args.length === 0) return new PySet(frozen);
    if (args.length !== 1) return undefined;
    const src = args[0];
    const items = Array.isArray(src) ? src : src instanceof PyTuple ? src.items : undefined;
    if (items === undefined) return undefined;
    const out = new PySet(frozen);
    for (const x of items) {
      guard(x);
      out.add(x);
    }
    return out;
  };
}

const MAKERS = new Map<string, Maker>([
  ['_codecs encode', encode],
  ['builtins bytes', bytes],
  ['__builtin__ bytes', bytes],
  ['builtins bytearray', bytearray],
  ['__builtin__ bytearray', bytearray],
  ['builtins set', setMaker(false)],
  ['__builtin__ set', setMaker(false)],
  ['builtins frozenset', setMaker(true)],
  ['__builtin__ frozenset', setMaker(true)],
]);

/** Whether `module.name` is one of the plain-value constructors (for an `allowGlobal` list). */
export function isPlainConstructorGlobal(module: string, name: string): boolean {
  return MAKERS.has(`${module} ${name}`);
}

/**
 * The plain value of `callable(*args)` when it is one of the constructors called with checked
 * arguments, else undefined. `guard` runs before each set element is hashed (size bound).
 * Throws PICKLE_MALFORMED where Python's own call would raise on a matching shape
 * (`set([[1]])`: unhashable).
 */
export function resolvePlainConstructor(
  callable: PyValue,
  args: PyValue,
  guard: (v: PyValue) => void,
): PyValue | undefined {
  if (!(callable instanceof PyGlobal) || !(args instanceof PyTuple)) return undefined;
  const make = MAKERS.get(`${callable.module} ${callable.name}`);
  if (make === undefined) return undefined;
  try {
    return make(args.items, guard);
  } catch (e) {
    if (e instanceof UnhashableError) throw pickleError('PICKLE_MALFORMED', e.message);
    throw e;
  }
}
