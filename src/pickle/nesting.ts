/**
 * Nesting bounds for decoded values: the depth check that runs after a decode whose heights
 * could not be tracked on the stack (shared containers), and the size check that runs before
 * a tuple/frozenset is hashed. Both walk iteratively and visit each shared object once, so a
 * memo bomb (malformed.jsonl bad-01436, bad-01437) costs its size in the pickle, not expanded.
 */
import { pickleError } from './errors.js';
import { PyDict, PyObject, PyPersId, PySet, PyTuple, type PyValue } from './value.js';

/** Values that contain other values. Heights: a leaf is 0, a container 1 + its highest child. */
export function isContainer(v: PyValue): boolean {
  return (
    typeof v === 'object' &&
    v !== null &&
    (Array.isArray(v) ||
      v instanceof PyDict ||
      v instanceof PyTuple ||
      v instanceof PySet ||
      v instanceof PyObject ||
      v instanceof PyPersId)
  );
}

function childrenOf(v: PyValue): PyValue[] {
  if (Array.isArray(v)) return v;
  if (v instanceof PyTuple) return v.items;
  if (v instanceof PyDict) {
    const out: PyValue[] = [];
    for (const [k, x] of v.entries()) {
      if (typeof k === 'object') out.push(k);
      out.push(x);
    }
    return out;
  }
  if (v instanceof PySet) return [...v.values()];
  if (v instanceof PyPersId) return [v.pid];
  if (v instanceof PyObject) {
    const out: PyValue[] = [v.callable, v.args];
    if (v.kwargs !== undefined) out.push(v.kwargs);
    out.push(...v.state, ...v.listitems, ...v.setitems);
    for (const [k, x] of v.dictitems) out.push(k, x);
    return out;
  }
  return [];
}

/**
 * Throws PICKLE_LIMIT when the longest chain of nested containers below `root` is longer than
 * `maxDepth`. Each container is measured once (memoized by identity); an edge back to a
 * container still being measured (a cycle) adds nothing.
 */
export function checkDepth(root: PyValue, maxDepth: number): void {
  if (!isContainer(root)) return;
  const height = new Map<object, number>(); // -1 while in progress
  const nodes: object[] = [];
  const kids: PyValue[][] = [];
  const next: number[] = [];
  const best: number[] = [];
  const enter = (o: object): void => {
    if (nodes.length >= maxDepth) throw pickleError('PICKLE_LIMIT', `nesting deeper than ${maxDepth}`);
    height.set(o, -1);
    nodes.push(o);
    kids.push(childrenOf(o as PyValue));
    next.push(0);
    best.push(0);
  };
  enter(root as object);
  while (nodes.length > 0) {
    const top = nodes.length - 1;
    const list = kids[top];
    if (next[top] < list.length) {
      const c = list[next[top]++];
      if (!isContainer(c)) continue;
      const h = height.get(c as object);
      if (h === undefined) enter(c as object);
      else if (h > best[top]) best[top] = h;
      continue;
    }
    const h = best[top] + 1;
    if (h > maxDepth) throw pickleError('PICKLE_LIMIT', `nesting deeper than ${maxDepth}`);
    height.set(nodes[top], h);
    nodes.pop();
    kids.pop();
    next.pop();
    best.pop();
    if (top > 0 && h > best[top - 1]) best[top - 1] = h;
  }
}

/**
 * Throws PICKLE_LIMIT when hashing `key` would visit more than `maxNodes` values or nest deeper
 * than `maxDepth`: `hashKey` expands tuples and frozensets recursively and without sharing.
 * Cheap for everything but tuples and frozensets, which it walks. Returns the values visited.
 */
export function checkHashable(key: PyValue, maxNodes: number, maxDepth: number): number {
  if (typeof key !== 'object' || key === null) return 0;
  if (!(key instanceof PyTuple) && !(key instanceof PySet)) return 0;
  let budget = maxNodes;
  const todo: PyValue[] = [key];
  const depth: number[] = [1];
  while (todo.length > 0) {
    const v = todo.pop() as PyValue;
    const d = depth.pop() as number;
    if (--budget < 0) throw pickleError('PICKLE_LIMIT', `hashed key has more than ${maxNodes} parts`);
    if (d > maxDepth) throw pickleError('PICKLE_LIMIT', `hashed key nests deeper than ${maxDepth}`);
    const items = v instanceof PyTuple ? v.items : v instanceof PySet ? [...v.values()] : null;
    if (items === null) continue;
    for (const x of items) {
      if (typeof x === 'object' && x !== null) {
        todo.push(x);
        depth.push(d + 1);
      } else if (--budget < 0) {
        throw pickleError('PICKLE_LIMIT', `hashed key has more than ${maxNodes} parts`);
      }
    }
  }
  return maxNodes - budget;
}
