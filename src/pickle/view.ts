/**
 * The JSON view of a Python value (shared/fixtures/README.md, "JSON view convention"): JSON that
 * keeps Python's type distinctions. Fixtures state expected values as views, tests compare
 * values through them, and the CLI prints them. `viewsEqual` has the semantics of the
 * reference checker's `views_equal`: exact types, floats by bit pattern with every NaN equal,
 * dict order significant, set order not, `$shared`/`$ref` compared by order of appearance.
 */
import { pyFloatRepr } from './float-repr.js';
import {
  PyByteArray,
  PyCodepointStr,
  PyDict,
  PyGlobal,
  PyObject,
  PyPersId,
  PySet,
  PyTuple,
  pyInt,
  type PyObjectOp,
  type PyValue,
} from './value.js';

/** A JSON value. */
export type View = null | boolean | number | string | View[] | { [key: string]: View };

export class ViewError extends Error {
  readonly code = 'VIEW_ERROR';
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;
/** Views are for tests and tools; this stops a memo bomb from being expanded into a tree. */
const MAX_VIEW_NODES = 5_000_000;

function isMutable(v: PyValue): v is PyValue[] | PyDict | PySet | PyByteArray | PyObject {
  return (
    Array.isArray(v) ||
    v instanceof PyDict ||
    (v instanceof PySet && !v.frozen) ||
    v instanceof PyByteArray ||
    v instanceof PyObject
  );
}

function floatView(x: number): View {
  if (Number.isFinite(x) && !Number.isInteger(x)) return x;
  if (Number.isNaN(x)) return { $float: 'NaN' };
  if (!Number.isFinite(x)) return { $float: x > 0 ? 'Infinity' : '-Infinity' };
  return { $float: pyFloatRepr(x) };
}

function intView(n: bigint): View {
  return n <= MAX_SAFE && n >= -MAX_SAFE ? Number(n) : { $int: n.toString() };
}

function bytesB64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

/** Python's `json.dumps(v, ensure_ascii=True, separators=(',', ':'))`, used to order set items. */
export function canonText(v: View): string {
  return JSON.stringify(v).replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

function isPlainKey(k: PyValue): k is string {
  return typeof k === 'string' && !k.startsWith('$') && !ARRAY_INDEX.test(k);
}

function objectChildren(o: PyObject): PyValue[] {
  const out: PyValue[] = [o.callable, o.args];
  if (o.kwargs !== undefined) out.push(o.kwargs);
  out.push(...o.state, ...o.listitems);
  for (const [k, v] of o.dictitems) out.push(k, v);
  out.push(...o.setitems);
  return out;
}

function children(v: PyValue): Iterable<PyValue> {
  if (Array.isArray(v)) return v;
  if (v instanceof PyTuple) return v.items;
  if (v instanceof PyDict) return [...v.entries()].flat();
  if (v instanceof PySet) return v.values();
  if (v instanceof PyObject) return objectChildren(v);
  if (v instanceof PyPersId) return [v.pid];
  return [];
}

/** The JSON view of a value. Throws ViewError for values too large to show. */
export function toView(value: PyValue): View {
  const counts = new Map<object, number>();
  let budget = MAX_VIEW_NODES;
  const spend = () => {
    if (--budget < 0) throw new ViewError('value too large for a view');
  };
  // Iterative count pass: a deep list must not overflow the JS stack here.
  const todo: PyValue[] = [value];
  while (todo.length > 0) {
    const o = todo.pop() as PyValue;
    spend();
    if (isMutable(o)) {
      const c = counts.get(o);
      counts.set(o, (c ?? 0) + 1);
      if (c !== undefined) continue;
    }
    for (const child of children(o)) todo.push(child);
  }
  const assigned = new Map<object, number>();
  budget = MAX_VIEW_NODES;

  const emit = (o: PyValue): View => {
    spend();
    if (isMutable(o) && (counts.get(o) ?? 0) > 1) {
      const n = assigned.get(o);
      if (n !== undefined) return { $ref: n };
      const id = assigned.size;
      assigned.set(o, id);
      return { $shared: id, value: inner(o) };
    }
    return inner(o);
  };

  const inner = (o: PyValue): View => {
    if (o === null || typeof o === 'boolean') return o;
    if (typeof o === 'bigint') return intView(o);
    if (typeof o === 'number') return floatView(o);
    if (typeof o === 'string') return o;
    if (o instanceof PyCodepointStr) return { $codepoints: [...o.codepoints] };
    if (o instanceof Uint8Array) return { $bytes_b64: bytesB64(o) };
    if (o instanceof PyByteArray) return { $bytearray_b64: bytesB64(o.data) };
    if (Array.isArray(o)) return o.map(emit);
    if (o instanceof PyTuple) return { $tuple: o.items.map(emit) };
    if (o instanceof PySet) {
      const items = [...o.values()].map(emit);
      const keyed = items
        .map((v) => [canonText(v), v] as const)
        .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      return { [o.frozen ? '$frozenset' : '$set']: keyed.map((x) => x[1]) };
    }
    if (o instanceof PyDict) {
      const keys = [...o.keys()];
      if (keys.every(isPlainKey)) {
        const out: { [key: string]: View } = {};
        // defineProperty: a plain assignment of '__proto__' would set the prototype (tgt-0618).
        for (const [k, v] of o.entries()) {
          Object.defineProperty(out, k as string, {
            value: emit(v),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        return out;
      }
      return { $dict: [...o.entries()].map(([k, v]) => [emit(k), emit(v)]) };
    }
    if (o instanceof PyGlobal) return { $global: [o.module, o.name] };
    if (o instanceof PyPersId) return { $persid: emit(o.pid) };
    if (o instanceof PyObject) {
      const rec: { [key: string]: View } = { op: o.op, callable: emit(o.callable), args: emit(o.args) };
      if (o.kwargs !== undefined) rec.kwargs = emit(o.kwargs);
      if (o.state.length > 0) rec.state = o.state.map(emit);
      if (o.listitems.length > 0) rec.listitems = o.listitems.map(emit);
      if (o.dictitems.length > 0) rec.dictitems = o.dictitems.map(([k, v]) => [emit(k), emit(v)]);
      if (o.setitems.length > 0) rec.setitems = o.setitems.map(emit);
      return { $object: rec };
    }
    throw new ViewError(`no view for ${String(o)}`);
  };
  return emit(value);
}

function floatFromText(s: string): number {
  switch (s.toLowerCase()) {
    case 'nan':
    case '-nan':
      return NaN;
    case 'infinity':
    case 'inf':
      return Infinity;
    case '-infinity':
    case '-inf':
      return -Infinity;
  }
  return Number(s);
}

function b64(s: string): Uint8Array {
  const b = Buffer.from(s, 'base64');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function asViewObject(v: View): { [key: string]: View } | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : null;
}

/** Builds the Python value a view describes (`$shared`/`$ref` become real shared objects, cycles included). */
export function fromView(view: View): PyValue {
  const shared = new Map<number, PyValue>();

  const build = (v: View): PyValue => {
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
    if (typeof v === 'number') return Number.isInteger(v) ? pyInt(v) : v;
    if (Array.isArray(v)) return fillList([], v);
    const keys = Object.keys(v);
    if (keys.length === 2 && '$shared' in v && 'value' in v) {
      return buildShared(v.$shared as number, v.value);
    }
    if (keys.length === 1 && keys[0].startsWith('$')) {
      const x = v[keys[0]];
      switch (keys[0]) {
        case '$int':
          return BigInt(x as string);
        case '$float':
          return floatFromText(x as string);
        case '$codepoints':
          return codepointsToStr(x as number[]);
        case '$bytes_b64':
          return b64(x as string);
        case '$bytearray_b64':
          return new PyByteArray(b64(x as string));
        case '$tuple':
          return new PyTuple((x as View[]).map(build));
        case '$set':
          return fillSet(new PySet(false), x as View[]);
        case '$frozenset':
          return fillSet(new PySet(true), x as View[]);
        case '$dict':
          return fillDict(new PyDict(), x as View[]);
        case '$global': {
          if (typeof x === 'string') {
            // The captures spell a global as "module.name".
            const i = x.lastIndexOf('.');
            return new PyGlobal(x.slice(0, i), x.slice(i + 1));
          }
          const [m, n] = x as string[];
          return new PyGlobal(m, n);
        }
        case '$persid':
          return new PyPersId(build(x));
        case '$ref': {
          const r = shared.get(x as number);
          if (r === undefined) throw new ViewError(`$ref ${String(x)} before its $shared`);
          return r;
        }
        case '$object':
          return fillObject(null, x);
      }
    }
    const d = new PyDict();
    for (const k of keys) {
      if (k.startsWith('$')) throw new ViewError(`unexpected key ${k} in a plain dict view`);
      d.setStr(k, build(v[k]));
    }
    return d;
  };

  const fillList = (out: PyValue[], items: View[]): PyValue[] => {
    for (const it of items) out.push(build(it));
    return out;
  };
  const fillSet = (out: PySet, items: View[]): PySet => {
    for (const it of items) out.add(build(it));
    return out;
  };
  const fillDict = (out: PyDict, pairs: View[]): PyDict => {
    for (const p of pairs) {
      const [k, val] = p as View[];
      out.set(build(k), build(val));
    }
    return out;
  };
  const fillObject = (id: number | null, x: View): PyObject => {
    const rec = asViewObject(x);
    if (rec === null) throw new ViewError('bad $object');
    // Callable and args first (they cannot refer to the object itself), then register, then the rest.
    const o = new PyObject(rec.op as PyObjectOp, build(rec.callable), build(rec.args));
    if (id !== null) shared.set(id, o);
    if ('kwargs' in rec) o.kwargs = build(rec.kwargs);
    if (Array.isArray(rec.state)) o.state = rec.state.map(build);
    if (Array.isArray(rec.listitems)) o.listitems = rec.listitems.map(build);
    if (Array.isArray(rec.dictitems))
      o.dictitems = rec.dictitems.map((p) => [build((p as View[])[0]), build((p as View[])[1])]);
    if (Array.isArray(rec.setitems)) o.setitems = rec.setitems.map(build);
    return o;
  };

  const buildShared = (id: number, inner: View): PyValue => {
    // Register the empty container before filling it, so a cycle can refer back to it.
    if (Array.isArray(inner)) {
      const out: PyValue[] = [];
      shared.set(id, out);
      return fillList(out, inner);
    }
    const o = asViewObject(inner);
    if (o !== null) {
      const k = Object.keys(o);
      if (k.length === 1 && (k[0] === '$set' || k[0] === '$dict' || k[0] === '$object' || k[0] === '$bytearray_b64')) {
        if (k[0] === '$object') return fillObject(id, o.$object);
        if (k[0] === '$bytearray_b64') {
          const ba = new PyByteArray(b64(o.$bytearray_b64 as string));
          shared.set(id, ba);
          return ba;
        }
        if (k[0] === '$set') {
          const s = new PySet(false);
          shared.set(id, s);
          return fillSet(s, o.$set as View[]);
        }
        const d = new PyDict();
        shared.set(id, d);
        return fillDict(d, o.$dict as View[]);
      }
      if (!k.some((x) => x.startsWith('$'))) {
        const d = new PyDict();
        shared.set(id, d);
        for (const key of k) d.setStr(key, build(o[key]));
        return d;
      }
    }
    const v = build(inner);
    shared.set(id, v);
    return v;
  };

  return build(view);
}

function codepointsToStr(cps: number[]): PyValue {
  for (let i = 0; i + 1 < cps.length; i++) {
    if (cps[i] >= 0xd800 && cps[i] <= 0xdbff && cps[i + 1] >= 0xdc00 && cps[i + 1] <= 0xdfff)
      return new PyCodepointStr(cps);
  }
  return String.fromCodePoint(...cps);
}

/** A comparable text for a view, with `views_equal` semantics (see the module comment). */
function canonical(view: View): string {
  const ids = new Map<number, number>();
  const fbits = (x: number): string => (Number.isNaN(x) ? 'f:nan' : Object.is(x, -0) ? 'f:-0' : `f:${x}`);

  const c = (v: View): string => {
    if (v === null) return 'N';
    if (typeof v === 'boolean') return v ? 'T' : 'F';
    if (typeof v === 'number') return Number.isInteger(v) ? `i:${v}` : fbits(v);
    if (typeof v === 'string') return `s:${JSON.stringify(v)}`;
    if (Array.isArray(v)) return `L[${v.map(c).join(',')}]`;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const x = v[keys[0]];
      switch (keys[0]) {
        case '$int':
          return `i:${BigInt(x as string).toString()}`;
        case '$codepoints':
          return `s:${JSON.stringify(String.fromCodePoint(...(x as number[])))}`;
        case '$float':
          return fbits(floatFromText(x as string));
        case '$bytes_b64':
          return `b:${Buffer.from(x as string, 'base64').toString('hex')}`;
        case '$bytearray_b64':
          return `B:${Buffer.from(x as string, 'base64').toString('hex')}`;
        case '$tuple':
          return `T[${(x as View[]).map(c).join(',')}]`;
        case '$set':
        case '$frozenset':
          return `${keys[0]}{${(x as View[]).map(c).sort().join(',')}}`;
        case '$dict':
          return `D{${(x as View[]).map((p) => `${c((p as View[])[0])}:${c((p as View[])[1])}`).join(',')}}`;
        case '$global':
          return typeof x === 'string' ? `G:${x}` : `G:${(x as string[]).join('.')}`;
        case '$persid':
          return `P(${c(x)})`;
        case '$ref': {
          const n = ids.get(x as number);
          return `R${n === undefined ? '?' + String(x) : n}`;
        }
        case '$object': {
          const rec = asViewObject(x) ?? {};
          const parts = [`op=${String(rec.op)}`];
          for (const name of ['callable', 'args', 'kwargs']) if (name in rec) parts.push(`${name}=${c(rec[name])}`);
          for (const name of ['state', 'listitems', 'setitems'])
            if (name in rec) parts.push(`${name}=[${(rec[name] as View[]).map(c).join(',')}]`);
          if ('dictitems' in rec)
            parts.push(
              `dictitems=[${(rec.dictitems as View[]).map((p) => `${c((p as View[])[0])}:${c((p as View[])[1])}`).join(',')}]`,
            );
          return `O(${parts.join(';')})`;
        }
      }
    }
    if (keys.length === 2 && '$shared' in v && 'value' in v) {
      const n = ids.size;
      ids.set(v.$shared as number, n);
      return `S${n}(${c(v.value)})`;
    }
    for (const k of keys) if (k.startsWith('$')) throw new ViewError(`unexpected key ${k} in a plain dict view`);
    return `D{${keys.map((k) => `s:${JSON.stringify(k)}:${c(v[k])}`).join(',')}}`;
  };
  return c(view);
}

/** Whether two views describe equal values (reference checker's `views_equal`). */
export function viewsEqual(a: View, b: View): boolean {
  return canonical(a) === canonical(b);
}
