/**
 * Python's `copy.deepcopy` for the value model: a container reached twice is copied once and
 * reached twice in the copy, cycles included (DELTA-SEMANTICS.md §9, tgt-1016). Immutable leaves
 * (str, bytes, numbers, frozensets, class references) are shared, not copied: nothing can
 * change them, so sharing is unobservable and keeps large `bytes` zero-copy.
 */
import { PyByteArray, PyDict, PyObject, PySet, PyTuple, type PyValue } from '../pickle/index.js';

/** Originals to their copies; pass the same memo to copy several values as one object graph. */
export type CopyMemo = Map<object, PyValue>;

function copyDict(d: PyDict, memo: CopyMemo): PyDict {
  const out = new PyDict();
  memo.set(d, out);
  for (const [k, v] of d.entries()) {
    // Keys are hashable, hence immutable all the way down: shared as they are.
    if (typeof k === 'string') out.setStr(k, deepCopy(v, memo));
    else out.set(k, deepCopy(v, memo));
  }
  return out;
}

function copyObject(o: PyObject, memo: CopyMemo): PyObject {
  const out = new PyObject(o.op, o.callable, o.args, o.kwargs);
  memo.set(o, out);
  out.args = deepCopy(o.args, memo);
  if (o.kwargs !== undefined) out.kwargs = deepCopy(o.kwargs, memo);
  out.state = o.state.map((s) => deepCopy(s, memo));
  out.listitems = o.listitems.map((s) => deepCopy(s, memo));
  out.dictitems = o.dictitems.map(([k, v]) => [k, deepCopy(v, memo)]);
  out.setitems = o.setitems.slice();
  return out;
}

/** A deep copy of `v` that shares what is shared in `v` (and what `memo` already copied). */
export function deepCopy(v: PyValue, memo: CopyMemo = new Map()): PyValue {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  const seen = memo.get(v);
  if (seen !== undefined) return seen;
  if (Array.isArray(v)) {
    const out: PyValue[] = new Array(v.length);
    memo.set(v, out);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      out[i] = x === null || typeof x !== 'object' || x instanceof Uint8Array ? x : deepCopy(x, memo);
    }
    return out;
  }
  if (v instanceof PyDict) return copyDict(v, memo);
  if (v instanceof PyTuple) {
    const items: PyValue[] = [];
    const out = new PyTuple(items);
    memo.set(v, out);
    for (const x of v.items) items.push(deepCopy(x, memo));
    return out;
  }
  if (v instanceof PySet) {
    if (v.frozen) return v;
    const out = new PySet(false, v.values());
    memo.set(v, out);
    return out;
  }
  if (v instanceof PyByteArray) {
    const out = new PyByteArray(v.data.slice());
    memo.set(v, out);
    return out;
  }
  if (v instanceof PyObject) return copyObject(v, memo);
  // PyCodepointStr, PyGlobal, PyPersId: immutable.
  return v;
}
