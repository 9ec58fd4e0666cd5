/**
 * The order deepdiff applies adds and removes in (DELTA-SEMANTICS.md §4): `sorted()` of the
 * report entries by their path elements, falling back to `cmp_to_key(_sort_comparison)` when
 * Python cannot compare two paths, a fallback that itself raises TypeError as soon as it meets
 * two elements of the same type (the `type(l_elem) in None` bug; tgt-0996, tgt-0496).
 *
 * Which pairs get compared decides whether Python raises and, with the inconsistent fallback,
 * the resulting order. So for fewer than 64 items (CPython's minrun, one run) this replays
 * CPython's `list.sort` exactly: `count_run`, then binary insertion sort. Longer lists use a
 * stable merge sort, which gives the same order whenever every pair is comparable.
 */
import { pyTypeName, type PyValue } from '../pickle/index.js';
import { parsePathCached } from './path.js';
import { PyExc, compareSequences } from './py-ops.js';
import { pyStr } from './py-repr.js';
import { compareStr } from './py-str.js';
import type { DeltaEntry } from './types.js';

type Less<T> = (a: T, b: T) => boolean;

/** CPython `count_run`: length of the ascending (or strictly descending, reversed) run at the start. */
function countRun<T>(a: T[], lo: number, hi: number, lt: Less<T>): number {
  if (lo + 1 === hi) return 1;
  let n = 2;
  if (lt(a[lo + 1], a[lo])) {
    for (let i = lo + 2; i < hi && lt(a[i], a[i - 1]); i++) n++;
    a.splice(lo, n, ...a.slice(lo, lo + n).reverse());
  } else {
    for (let i = lo + 2; i < hi && !lt(a[i], a[i - 1]); i++) n++;
  }
  return n;
}

/** CPython `binarysort`: inserts a[start..hi) into the sorted a[lo..start). */
function binarySort<T>(a: T[], lo: number, hi: number, start: number, lt: Less<T>): void {
  for (; start < hi; start++) {
    const pivot = a[start];
    let l = lo;
    let r = start;
    do {
      const p = l + ((r - l) >> 1);
      if (lt(pivot, a[p])) r = p;
      else l = p + 1;
    } while (l < r);
    for (let p = start; p > l; p--) a[p] = a[p - 1];
    a[l] = pivot;
  }
}

function mergeSort<T>(a: T[], lt: Less<T>): T[] {
  if (a.length <= 1) return a;
  const mid = a.length >> 1;
  const left = mergeSort(a.slice(0, mid), lt);
  const right = mergeSort(a.slice(mid), lt);
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length && j < right.length) out.push(lt(right[j], left[i]) ? right[j++] : left[i++]);
  while (i < left.length) out.push(left[i++]);
  while (j < right.length) out.push(right[j++]);
  return out;
}

/** `sorted(items, reverse=reverse)` with `lt` as `<` (which may throw). */
export function pySorted<T>(items: readonly T[], lt: Less<T>, reverse: boolean): T[] {
  let a = items.slice();
  if (reverse) a.reverse();
  if (a.length < 64) {
    if (a.length > 1) {
      const n = countRun(a, 0, a.length, lt);
      binarySort(a, 0, a.length, n, lt);
    }
  } else {
    a = mergeSort(a, lt);
  }
  if (reverse) a.reverse();
  return a;
}

/** `_sort_key_for_item_added`: the element keys, `'root'` included. Throws when the path does not parse. */
function sortKey(entry: DeltaEntry): PyValue[] {
  if (entry.path.elements === null) throw entry.path.error ?? new PyExc('TypeError', 'unparseable path');
  return entry.path.elements.map((e) => e.key);
}

/** deepdiff `Delta._sort_comparison`, bug included. */
function sortComparison(left: DeltaEntry, right: DeltaEntry): number {
  // Re-parsed without the root element (`root_element=None`); raises again for a None path.
  let l = parsePathCached(left.path.raw)
    .slice(1)
    .map((e) => e.key);
  let r = parsePathCached(right.path.raw)
    .slice(1)
    .map((e) => e.key);
  try {
    if (compareSequences(l, r, '<') < 0) return -1;
    if (compareSequences(l, r, '>') > 0) return 1;
    return 0;
  } catch (e) {
    if (!(e instanceof PyExc) || e.pyType !== 'TypeError') throw e;
  }
  if (l.length > r.length) l = l.slice(0, r.length);
  else if (r.length > l.length) r = r.slice(0, l.length);
  for (let i = 0; i < l.length; i++) {
    // `type(l_elem) != type(r_elem) or type(l_elem) in None`: the second operand raises.
    if (pyTypeName(l[i]) === pyTypeName(r[i])) {
      throw new PyExc('TypeError', "argument of type 'NoneType' is not iterable");
    }
    const c = compareStr(pyStr(l[i]), pyStr(r[i]));
    if (c !== 0) return c < 0 ? -1 : 1;
  }
  return 0;
}

/**
 * The entries of an `iterable_item_added` / `dictionary_item_removed` / ... report in the order
 * deepdiff applies them. Throws `PyExc` TypeError where Python's sort raises.
 */
export function sortEntries(entries: readonly DeltaEntry[], reverse: boolean): DeltaEntry[] {
  if (entries.length < 2 && entries.every((e) => e.path.elements !== null)) return entries.slice();
  let keys: Map<DeltaEntry, PyValue[]> | null = new Map();
  try {
    for (const e of entries) keys.set(e, sortKey(e));
  } catch (e) {
    if (!(e instanceof PyExc) || e.pyType !== 'TypeError') throw e;
    keys = null;
  }
  if (keys !== null) {
    const k = keys;
    try {
      return pySorted(
        entries,
        (a, b) => compareSequences(k.get(a) as PyValue[], k.get(b) as PyValue[], '<') < 0,
        reverse,
      );
    } catch (e) {
      if (!(e instanceof PyExc) || e.pyType !== 'TypeError') throw e;
    }
  }
  return pySorted(entries, (a, b) => sortComparison(a, b) < 0, reverse);
}
