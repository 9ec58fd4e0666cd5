/**
 * `iterable_items_added_at_indexes` / `iterable_items_removed_at_indexes` (deepdiff
 * `_do_ignore_order`). Only deltas made with `ignore_order=True` have them, never the add-on's
 * (DELTA-SEMANTICS.md §2); kept for fidelity (syn-0025..syn-0029).
 */
import {
  pyFloatRepr,
  PyDict,
  PySet,
  PyTuple,
  UnhashableError,
  hashKey,
  pyEquals,
  type PyValue,
} from '../pickle/index.js';
import type { ApplyContext } from './apply-context.js';
import { toDeltaPath } from './decode-delta.js';
import { PyExc, getItem, pyLen, pyTruthy } from './py-ops.js';
import { displayStr, pyStr } from './py-repr.js';
import type { DeltaEntry } from './types.js';

/** A DeepHash-like text for unhashable values (AnySet): types count, list order and repeats do not. */
function deepHashText(v: PyValue): string {
  if (v === null) return 'NoneType';
  switch (typeof v) {
    case 'boolean':
      return `bool:${v}`;
    case 'bigint':
      return `int:${v}`;
    case 'number':
      return `float:${pyFloatRepr(v)}`;
    case 'string':
      return `str:${v}`;
  }
  if (Array.isArray(v) || v instanceof PyTuple || v instanceof PySet) {
    const items = Array.isArray(v) ? v : v instanceof PyTuple ? v.items : [...v.values()];
    const parts = [...new Set(items.map(deepHashText))].sort();
    return `${Array.isArray(v) ? 'list' : v instanceof PyTuple ? 'tuple' : 'set'}:[${parts.join(',')}]`;
  }
  if (v instanceof PyDict) {
    const parts = [...v.entries()].map(([k, x]) => `${deepHashText(k)}:${deepHashText(x)}`).sort();
    return `dict:{${parts.join(',')}}`;
  }
  if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('hex')}`;
  return `obj:${String(v)}`;
}

/** deepdiff's `AnySet`: hashable items by Python equality, unhashable ones by DeepHash. */
class AnySet {
  private readonly hashable = new PySet(false);
  private readonly hashes = new Set<string>();
  constructor(items: Iterable<PyValue>) {
    for (const x of items) {
      try {
        hashKey(x);
        this.hashable.add(x);
      } catch (e) {
        if (!(e instanceof UnhashableError)) throw e;
        this.hashes.add(deepHashText(x));
      }
    }
  }
  has(x: PyValue): boolean {
    try {
      hashKey(x);
    } catch (e) {
      if (!(e instanceof UnhashableError)) throw e;
      return this.hashes.has(deepHashText(x));
    }
    return this.hashable.has(x);
  }
}

function copyIndexDict(v: PyValue | undefined): PyDict {
  if (v === undefined) return new PyDict();
  if (!(v instanceof PyDict)) throw new PyExc('AttributeError', "object has no attribute 'values'");
  return PyDict.from(v.entries());
}

/** `dict.pop(key)` on an index dict. */
function pop(d: PyDict, key: PyValue): PyValue {
  const v = d.get(key) as PyValue;
  d.delete(key);
  return v;
}

export function applyIgnoreOrder(
  ctx: ApplyContext,
  added: readonly DeltaEntry[],
  removed: readonly DeltaEntry[],
): void {
  const fixed = PyDict.from(added.map((e) => [e.path.raw, e.payload] as [PyValue, PyValue]));
  const remove = PyDict.from(removed.map((e) => [e.path.raw, e.payload] as [PyValue, PyValue]));
  // `SetOrdered(fixed.keys()) | SetOrdered(remove.keys())`.
  const paths = new PySet(false, [...fixed.keys(), ...remove.keys()]);
  for (const path of paths.values()) {
    const text = pyStr(path);
    // `"{}[0]".format(path)`: the container path plus a dummy index, so details() stops at the container.
    const probe = toDeltaPath(`${displayStr(text)}[0]`);
    const d = ctx.details(probe);
    if (d === null) continue;
    const obj = d.obj as PyValue;
    const fixedPer = copyIndexDict(fixed.get(path));
    const removePer = copyIndexDict(remove.get(path));
    const fixedValues = new AnySet(fixedPer.values());
    const newObj: PyValue[] = [];
    let thereAreOld = pyTruthy(obj);
    let oldIndex = -1;
    let maxLen: number | undefined;
    const nextOld = (): { value: PyValue } | null => {
      if (maxLen === undefined) maxLen = pyLen(obj) - 1;
      while (oldIndex < maxLen) {
        oldIndex++;
        const cur = getItem(obj, BigInt(oldIndex));
        if (fixedValues.has(cur)) continue;
        const idx = BigInt(oldIndex);
        if (removePer.has(idx)) {
          const expected = pop(removePer, idx);
          if (pyEquals(cur, expected)) continue;
          ctx.log(`Failed to remove index[${oldIndex}] on ${String(path)}. It was expected to be ${String(expected)}`);
        }
        return { value: cur };
      }
      return null;
    };
    while (thereAreOld || fixedPer.size > 0) {
      const at = BigInt(newObj.length);
      if (fixedPer.has(at)) newObj.push(ctx.value(pop(fixedPer, at)));
      else if (thereAreOld) {
        const n = nextOld();
        if (n === null) thereAreOld = false;
        else newObj.push(n.value);
      } else {
        ctx.log('Delta added to an incompatible object. Unable to add the following items at the specific indexes.');
        const first = fixedPer.keys().next().value as PyValue;
        newObj.push(ctx.value(pop(fixedPer, first)));
      }
    }
    const result: PyValue = obj instanceof PyTuple ? new PyTuple(newObj) : newObj;
    if (d.parent !== null && d.parentElem !== null) ctx.simpleSet(d.parent, probe, d.parentElem, result);
  }
}
