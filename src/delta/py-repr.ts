/**
 * Python's `repr()` and `str()` for the value model, as `str(x)` conversions in type changes need
 * them (DELTA-SEMANTICS.md §7: `str(b'ab') == "b'ab'"`, `str((1,)) == '(1,)'`,
 * `str(frozenset({1, 2})) == 'frozenset({1, 2})'`) and as deepdiff's log lines print values.
 */
import {
  pyFloatRepr,
  PyByteArray,
  PyCodepointStr,
  PyDict,
  PyGlobal,
  PyObject,
  PyPersId,
  PyTuple,
  type PyValue,
} from '../pickle/index.js';
import { PyExc } from './py-ops.js';
import { codepointsOf, isPyStr, type PyStr } from './py-str.js';
import { pySetOrder } from './set-order.js';

/** CPython's default `sys.get_int_max_str_digits()`: longer decimal conversions raise ValueError. */
export const MAX_INT_STR_DIGITS = 4300;

/** Thrown for values whose Python repr we cannot reproduce (objects the model keeps inert). */
export class UnreprError extends Error {
  readonly code = 'UNREPR';
}

/** `str(n)` for an int, with Python 3.11's digit limit. */
export function intToDecimal(n: bigint): string {
  const s = n.toString();
  const digits = n < 0n ? s.length - 1 : s.length;
  if (digits > MAX_INT_STR_DIGITS) {
    throw new PyExc(
      'ValueError',
      `Exceeds the limit (${MAX_INT_STR_DIGITS} digits) for integer string conversion; use sys.set_int_max_str_digits() to increase the limit`,
    );
  }
  return s;
}

const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** `repr(s)` for a str: CPython's quote choice and escapes (`unicode_repr`). */
export function reprStr(s: PyStr): string {
  const cps = typeof s === 'string' && /^[\x20-\x7e]*$/.test(s) ? null : codepointsOf(s);
  const text = typeof s === 'string' ? s : '';
  const has = (c: string): boolean => (cps === null ? text.includes(c) : cps.includes(c.charCodeAt(0)));
  const quote = has("'") && !has('"') ? '"' : "'";
  if (cps === null && !text.includes('\\') && !text.includes(quote)) return quote + text + quote;
  let out = quote;
  const list = cps ?? codepointsOf(s);
  for (const c of list) {
    if (c === quote.charCodeAt(0) || c === 0x5c) out += '\\' + String.fromCharCode(c);
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + hex(c, 2);
    else if (c < 0x7f) out += String.fromCharCode(c);
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\u' + hex(c, 4);
    else if (!NOT_PRINTABLE.test(String.fromCodePoint(c))) out += String.fromCodePoint(c);
    else if (c <= 0xff) out += '\\x' + hex(c, 2);
    else if (c <= 0xffff) out += '\\u' + hex(c, 4);
    else out += '\\U' + hex(c, 8);
  }
  return out + quote;
}

/** `repr(b)` for bytes (without the `bytearray(...)` wrapper). */
export function reprBytes(b: Uint8Array): string {
  let hasSingle = false;
  let hasDouble = false;
  for (const c of b) {
    if (c === 0x27) hasSingle = true;
    else if (c === 0x22) hasDouble = true;
  }
  const q = hasSingle && !hasDouble ? 0x22 : 0x27;
  let out = 'b' + String.fromCharCode(q);
  for (const c of b) {
    if (c === q || c === 0x5c) out += '\\' + String.fromCharCode(c);
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c < 0x20 || c >= 0x7f) out += '\\x' + hex(c, 2);
    else out += String.fromCharCode(c);
  }
  return out + String.fromCharCode(q);
}

const FUNCTIONS = new Set(['builtins.bin']);

function reprGlobal(g: PyGlobal): string {
  const mod = g.module === '__builtin__' ? 'builtins' : g.module;
  if (FUNCTIONS.has(`${mod}.${g.name}`)) return `<built-in function ${g.name}>`;
  if (mod === 'collections' && g.name === 'namedtuple') throw new UnreprError('function repr has an address');
  return mod === 'builtins' ? `<class '${g.name}'>` : `<class '${mod}.${g.name}'>`;
}

/** `repr(v)`. Container recursion prints `[...]`, `{...}`, `set(...)` as CPython's `Py_ReprEnter` does. */
export function pyRepr(v: PyValue): string {
  const active = new Set<object>();
  const r = (x: PyValue): string => {
    if (x === null) return 'None';
    switch (typeof x) {
      case 'boolean':
        return x ? 'True' : 'False';
      case 'bigint':
        return intToDecimal(x);
      case 'number':
        return pyFloatRepr(x);
      case 'string':
        return reprStr(x);
    }
    if (x instanceof PyCodepointStr) return reprStr(x);
    if (x instanceof Uint8Array) return reprBytes(x);
    if (x instanceof PyByteArray) return `bytearray(${reprBytes(x.data)})`;
    if (x instanceof PyTuple) {
      if (x.items.length === 1) return `(${r(x.items[0])},)`;
      return `(${x.items.map(r).join(', ')})`;
    }
    if (x instanceof PyGlobal) return reprGlobal(x);
    if (x instanceof PyObject || x instanceof PyPersId) throw new UnreprError('no repr for an inert object');
    if (active.has(x)) {
      if (Array.isArray(x)) return '[...]';
      if (x instanceof PyDict) return '{...}';
      return `${x.frozen ? 'frozenset' : 'set'}(...)`;
    }
    active.add(x);
    try {
      if (Array.isArray(x)) return `[${x.map(r).join(', ')}]`;
      if (x instanceof PyDict) {
        const parts: string[] = [];
        for (const [k, val] of x) parts.push(`${r(k)}: ${r(val)}`);
        return `{${parts.join(', ')}}`;
      }
      const name = x.frozen ? 'frozenset' : 'set';
      if (x.size === 0) return `${name}()`;
      const body = `{${pySetOrder(x).map(r).join(', ')}}`;
      return x.frozen ? `frozenset(${body})` : body;
    } finally {
      active.delete(x);
    }
  };
  return r(v);
}

/** `str(v)`: the str itself for a str, else `repr(v)` (bytes too: CPython without `-b`). */
export function pyStr(v: PyValue): PyStr {
  if (isPyStr(v)) return v;
  const text = pyRepr(v);
  return text;
}

/** A JS string for log lines (split surrogate pairs merge, which only affects the message). */
export function displayStr(v: PyValue): string {
  try {
    const s = pyStr(v);
    return typeof s === 'string' ? s : String.fromCodePoint(...s.codepoints);
  } catch {
    return '<unprintable>';
  }
}
