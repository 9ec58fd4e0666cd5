/**
 * Adds, removes, list rebuilds and set updates: deepdiff's `_do_item_added`,
 * `_do_item_removed`, `_find_closest_iterable_element_for_index`, `_do_iterable_opcodes` and
 * `_do_set_or_frozenset_item` (DELTA-SEMANTICS.md §5, §6).
 */
import { PyByteArray, PyDict, PySet, PyTuple, pyEquals, pyTypeName, type PyValue } from '../pickle/index.js';
import { DELTA_SELF, NOT_FOUND, isLookupError, type ApplyContext, type Node } from './apply-context.js';
import { deltaError } from './errors.js';
import { isOpcodeObject, toDeltaOpcode } from './materialize.js';
import { ROOT_ELEMENT, type PathElement } from './path.js';
import { PyExc, asIndex, byteValue, pyIterate, pyLess, rethrowUnhashable, sliceItems, typeError } from './py-ops.js';
import { sortEntries } from './sort.js';
import type { DeltaEntry, DeltaOpcode } from './types.js';

/** `list.insert(i, None)`, or the exception `obj.insert` raises for anything but a list. */
function insertPlaceholder(obj: Node, key: PyValue): void {
  if (!Array.isArray(obj)) {
    if (obj instanceof PyByteArray) throw typeError("'NoneType' object cannot be interpreted as an integer");
    const name = obj === DELTA_SELF ? 'Delta' : pyTypeName(obj as PyValue);
    throw new PyExc('AttributeError', `'${name}' object has no attribute 'insert'`);
  }
  const i = asIndex(key);
  if (i === undefined) throw typeError(`'${pyTypeName(key)}' object cannot be interpreted as an integer`);
  const n = BigInt(obj.length);
  let at = i < 0n ? i + n : i;
  if (at < 0n) at = 0n;
  if (at > n) at = n;
  obj.splice(Number(at), 0, null);
}

/** `_do_item_added`: `sort` orders by path (not for dict additions); `insert` makes room in lists. */
export function applyItemsAdded(
  ctx: ApplyContext,
  entries: readonly DeltaEntry[],
  sort: boolean,
  insert: boolean,
): void {
  const items = sort ? sortEntries(entries, false) : entries;
  for (const e of items) {
    const d = ctx.details(e.path);
    if (d === null) continue;
    // `if insert and elem < len(obj): obj.insert(elem, None)`: both operands can raise (tgt-0776, drift-0013).
    if (insert && pyLess(d.elem.key, BigInt(ctx.len(d.obj)))) insertPlaceholder(d.obj, d.elem.key);
    ctx.setNewValue(d, e.path, ctx.value(e.payload));
  }
}

/** Distance `abs(index - elem)`; a non-number index raises TypeError (rnd-00264). */
function distance(index: number, key: PyValue): number {
  if (typeof key === 'bigint') return Math.abs(index - Number(key));
  if (typeof key === 'boolean') return Math.abs(index - (key ? 1 : 0));
  if (typeof key === 'number') return Math.abs(index - key);
  throw typeError(`unsupported operand type(s) for -: 'int' and '${pyTypeName(key)}'`);
}

/** `_find_closest_iterable_element_for_index`: nearest equal item, ties to the lower index. */
function findClosest(list: PyValue[], key: PyValue, expected: PyValue): bigint | null {
  let closest: number | null = null;
  let best = Infinity;
  for (let i = 0; i < list.length; i++) {
    const dist = distance(i, key);
    if (dist > best) break;
    if (dist < best && pyEquals(list[i], expected)) {
      closest = i;
      best = dist;
    }
  }
  return closest === null ? null : BigInt(closest);
}

/** `_do_item_removed`: highest paths first; list items are checked against the old value. */
export function applyItemsRemoved(ctx: ApplyContext, entries: readonly DeltaEntry[]): void {
  for (const e of sortEntries(entries, true)) {
    const d = ctx.details(e.path);
    if (d === null) continue;
    const expected = e.payload;
    let key: PyValue = d.elem.key;
    let current: Node | typeof NOT_FOUND = NOT_FOUND;
    let look: boolean;
    try {
      current = ctx.getElem(d.obj, d.elem);
      look = !pyEquals(current as PyValue, expected);
    } catch (err) {
      if (!(err instanceof PyExc) || !isLookupError(err)) throw err;
      look = true;
    }
    if (look && Array.isArray(d.obj) && !ctx.compareFuncWasUsed) {
      const found = findClosest(d.obj, key, expected);
      key = found;
      if (found !== null) current = expected;
    }
    // `if current_old_value is not_found or elem is None: continue`: a None key is never removed (tgt-0497).
    if (current === NOT_FOUND || key === null) continue;
    const target: PathElement = key === d.elem.key ? d.elem : { key, attr: d.elem.attr };
    ctx.delElemOf(d, e.path, target);
  }
}

/** `obj[:] = items`. */
function replaceContents(obj: PyValue, items: PyValue[]): void {
  if (Array.isArray(obj)) {
    obj.length = 0;
    for (const x of items) obj.push(x);
    return;
  }
  if (obj instanceof PyByteArray) {
    obj.data = Uint8Array.from(items, byteValue);
    return;
  }
  if (obj instanceof PyDict) throw typeError("unhashable type: 'slice'");
  throw typeError(`'${pyTypeName(obj)}' object does not support item assignment`);
}

function opcodesOf(e: DeltaEntry): readonly DeltaOpcode[] {
  if (e.opcodes !== undefined && e.opcodes !== null) return e.opcodes;
  return pyIterate(e.payload).map((o) => {
    if (!isOpcodeObject(o)) throw new PyExc('AttributeError', `'${pyTypeName(o)}' object has no attribute 'tag'`);
    return toDeltaOpcode(o);
  });
}

/**
 * `_do_iterable_opcodes`: rebuilds each list from its opcodes and replaces its contents in
 * place. For a tuple the rebuilt contents are dropped and the original tuple is written over
 * the tuple's parent (tgt-0792, tgt-0993, rnd-00264); a tuple at the root stays (tgt-0963).
 */
export function applyOpcodes(ctx: ApplyContext, entries: readonly DeltaEntry[]): void {
  for (const e of entries) {
    const d = ctx.details(e.path);
    if (d === null) continue;
    let parent = d.parent;
    let parentElem = d.parentElem;
    if (parent === null) {
      parent = DELTA_SELF;
      parentElem = ROOT_ELEMENT;
      ctx.getElem(DELTA_SELF, ROOT_ELEMENT);
    }
    const target = ctx.nested(d.elements, d.elements.length) as PyValue;
    const isTuple = target instanceof PyTuple;
    const transformed: PyValue[] = [];
    for (const op of opcodesOf(e)) {
      if (op.tag === 'replace' || op.tag === 'insert') {
        for (const x of pyIterate(op.newValues)) transformed.push(ctx.value(x));
      } else if (op.tag === 'equal') {
        for (const x of sliceItems(target, op.t1FromIndex, op.t1ToIndex)) transformed.push(x);
      }
      if (transformed.length > ctx.limits.maxRebuiltItems) {
        throw deltaError('DELTA_LIMIT', `opcodes rebuild more than ${ctx.limits.maxRebuiltItems} items`);
      }
    }
    if (isTuple) ctx.simpleSet(parent, e.path, parentElem as PathElement, target);
    else replaceContents(target, transformed);
  }
}

/** `_do_set_or_frozenset_item`: `parent[key] = obj.union(items)` (or `.difference`). */
export function applySetItems(ctx: ApplyContext, entries: readonly DeltaEntry[], func: 'union' | 'difference'): void {
  for (const e of entries) {
    const elements = e.path.elements;
    if (elements === null) throw e.path.error ?? typeError('unparseable path');
    const parent = ctx.nested(elements, elements.length - 1);
    const elem = elements[elements.length - 1];
    const obj = ctx.getOrLog(parent, e.path, elem);
    if (!(obj instanceof PySet)) {
      const name = obj === NOT_FOUND ? '_NotFound' : ctx.typeName(obj);
      throw new PyExc('AttributeError', `'${name}' object has no attribute '${func}'`);
    }
    const items = pyIterate(e.payload);
    let result: PySet;
    try {
      if (func === 'union') {
        result = new PySet(obj.frozen, obj.values());
        for (const x of items) result.add(ctx.value(x));
      } else {
        const drop = new PySet(false, items);
        result = new PySet(obj.frozen);
        for (const x of obj.values()) if (!drop.has(x)) result.add(x);
      }
    } catch (err) {
      rethrowUnhashable(err);
    }
    ctx.simpleSet(parent, e.path, elem, result);
  }
}
