/**
 * The state of one `data + delta` and deepdiff's element-level helpers
 * (`_get_elements_and_details`, `_get_elem_and_compare_to_old_value`, `_simple_set_elem_value`,
 * `_set_new_value`, `_coerce_obj`, `_del_elem`), each with the exception handling deepdiff has:
 * which Python exceptions are logged and skipped, and which escape and fail the whole delta
 * (DELTA-SEMANTICS.md §5, §8).
 *
 * deepdiff resolves every path from the `Delta` object itself: the first element is
 * `('root', GETATTR)`, so `self` is a node here too (`DELTA_SELF`).
 */
import { PyByteArray, PyTuple, hashKey, pyTypeName, type PyValue } from '../pickle/index.js';
import { DEFAULT_CONVERT_LIMITS, type ConvertLimits } from './convert.js';
import { deepCopy, type CopyMemo } from './deep-copy.js';
import type { PathElement } from './path.js';
import { PyExc, asIndex, byteValue, delItem, getItem, pyLen, rethrowUnhashable, setItem, typeError } from './py-ops.js';
import { displayStr, pyRepr } from './py-repr.js';
import type { DeltaPath } from './types.js';

/** The `Delta` instance deepdiff resolves `root` against. */
export class DeltaSelf {
  readonly kind = 'Delta';
}
export const DELTA_SELF = new DeltaSelf();

export type Node = PyValue | DeltaSelf;

/** deepdiff's `not_found`. */
export const NOT_FOUND: unique symbol = Symbol('not_found');

/** A path as deepdiff passes it around: a report path, or an elements tuple (post-processing). */
export type PathRef = DeltaPath | readonly PathElement[];

/** What `_get_elements_and_details` returns. */
export interface Details {
  readonly elements: readonly PathElement[];
  readonly parent: Node | null;
  readonly parentElem: PathElement | null;
  readonly obj: Node;
  readonly elem: PathElement;
}

function typeNameOf(n: Node): string {
  return n instanceof DeltaSelf ? 'Delta' : pyTypeName(n);
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;

/** Text identity of a path element tuple with Python dict-key equality (`1 == 1.0 == True`). */
function elementsId(elements: readonly PathElement[]): string {
  let out = '';
  for (const e of elements) {
    let hk;
    try {
      hk = hashKey(e.key);
    } catch (err) {
      rethrowUnhashable(err);
    }
    let t: string;
    switch (typeof hk) {
      case 'string':
        t = 's' + hk;
        break;
      case 'bigint':
        t = 'i' + hk.toString();
        break;
      case 'number':
        t = 'f' + String(hk);
        break;
      default:
        if (hk === null) t = 'N';
        else {
          let id = objectIds.get(hk as object);
          if (id === undefined) objectIds.set(hk as object, (id = nextObjectId++));
          t = 'o' + id;
        }
    }
    out += (e.attr ? 'A' : 'G') + t.length + ':' + t;
  }
  return out;
}

export class ApplyContext {
  root: PyValue;
  /** `del self.__dict__['root']` happened (a removal of path `root`); reading root raises. */
  rootDeleted = false;
  readonly problems: string[] = [];
  /** `post_process_paths_to_convert`: tuples turned into lists, to turn back at the end. */
  readonly post = new Map<string, readonly PathElement[]>();
  /** One memo for every delta value copied in, so values shared inside the delta stay shared. */
  private readonly valueMemo: CopyMemo = new Map();

  constructor(
    root: PyValue,
    readonly compareFuncWasUsed: boolean,
    readonly limits: ConvertLimits = DEFAULT_CONVERT_LIMITS,
  ) {
    this.root = root;
  }

  /** A delta value as it enters the result (copied: the `Delta` stays reusable). */
  value(v: PyValue): PyValue {
    return deepCopy(v, this.valueMemo);
  }

  log(message: string): void {
    this.problems.push(message);
  }

  pathText(path: PathRef): string {
    if (Array.isArray(path)) {
      const parts = (path as readonly PathElement[]).map((e) => `(${pyRepr(e.key)}, '${e.attr ? 'GETATTR' : 'GET'}')`);
      return `(${parts.join(', ')}${parts.length === 1 ? ',' : ''})`;
    }
    return displayStr((path as DeltaPath).raw);
  }

  // ---- element access on nodes ------------------------------------------------------------

  getElem(obj: Node, e: PathElement): Node {
    if (obj instanceof DeltaSelf) {
      if (!e.attr) throw typeError("'Delta' object is not subscriptable");
      if (e.key === 'root' && !this.rootDeleted) return this.root;
      throw new PyExc('AttributeError', `'Delta' object has no attribute ${displayStr(e.key)}`);
    }
    if (e.attr) throw new PyExc('AttributeError', `'${pyTypeName(obj)}' object has no attribute ${displayStr(e.key)}`);
    return getItem(obj, e.key);
  }

  setElem(obj: Node, e: PathElement, value: PyValue): void {
    if (obj instanceof DeltaSelf) {
      if (!e.attr) throw typeError("'Delta' object does not support item assignment");
      if (e.key === 'root') {
        this.root = value;
        this.rootDeleted = false;
      }
      return;
    }
    if (e.attr)
      throw new PyExc('AttributeError', `'${pyTypeName(obj)}' object has no attribute '${displayStr(e.key)}'`);
    setItem(obj, e.key, value);
  }

  /** `del obj[key]`, or for GETATTR `del obj.__dict__[key]`. */
  delElem(obj: Node, e: PathElement): void {
    if (obj instanceof DeltaSelf) {
      if (!e.attr) throw typeError("'Delta' object doesn't support item deletion");
      if (e.key === 'root' && !this.rootDeleted) {
        this.rootDeleted = true;
        this.root = null;
        return;
      }
      throw new PyExc('KeyError', displayStr(e.key));
    }
    if (e.attr) throw new PyExc('AttributeError', `'${pyTypeName(obj)}' object has no attribute '__dict__'`);
    delItem(obj, e.key);
  }

  len(obj: Node): number {
    if (obj instanceof DeltaSelf) throw typeError("object of type 'Delta' has no len()");
    return pyLen(obj);
  }

  /** `_get_nested_obj`: no error handling, every exception escapes. */
  nested(elements: readonly PathElement[], count: number): Node {
    let obj: Node = DELTA_SELF;
    for (let i = 0; i < count; i++) obj = this.getElem(obj, elements[i]);
    return obj;
  }

  // ---- deepdiff helpers ----------------------------------------------------------------

  /** `_get_elem_and_compare_to_old_value`: NOT_FOUND (logged) for the four lookup exceptions. */
  getOrLog(obj: Node, path: PathRef, e: PathElement): Node | typeof NOT_FOUND {
    try {
      return this.getElem(obj, e);
    } catch (err) {
      if (!(err instanceof PyExc) || !isLookupError(err)) throw err;
      if (Array.isArray(path)) {
        // `'.'.join([i[0] for i in path])`: raises TypeError unless every element key is a str.
        const keys = (path as readonly PathElement[]).map((x) => x.key);
        if (!keys.every((k) => typeof k === 'string')) {
          throw typeError(
            `sequence item: expected str instance, ${pyTypeName(keys.find((k) => typeof k !== 'string') ?? null)} found`,
          );
        }
        this.log(`Unable to get the item at ${keys.join('.')}`);
      } else {
        this.log(`Unable to get the item at ${this.pathText(path)}`);
      }
      return NOT_FOUND;
    }
  }

  /** `_get_elements_and_details`: null after logging when the container cannot be reached. */
  details(path: PathRef): Details | null {
    try {
      let elements: readonly PathElement[];
      if (Array.isArray(path)) elements = path as readonly PathElement[];
      else {
        const p = path as DeltaPath;
        if (p.elements === null) throw p.error ?? typeError('unparseable path');
        elements = p.elements;
      }
      const n = elements.length;
      let parent: Node | null = null;
      let parentElem: PathElement | null = null;
      let obj: Node | typeof NOT_FOUND;
      if (n > 1) {
        parent = this.nested(elements, n - 2);
        parentElem = elements[n - 2];
        obj = this.getOrLog(parent, path, parentElem);
      } else {
        obj = DELTA_SELF;
      }
      if (obj === NOT_FOUND) return null;
      return { elements, parent, parentElem, obj, elem: elements[n - 1] };
    } catch (err) {
      if (!(err instanceof PyExc)) throw err;
      this.log(`Unable to get the item at ${this.pathText(path)}: ${err.message}`);
      return null;
    }
  }

  /** `_simple_set_elem_value`: failures are logged, except ValueError (a bytearray byte) which escapes. */
  simpleSet(obj: Node, path: PathRef, e: PathElement, value: PyValue): void {
    try {
      if (Array.isArray(obj) && !e.attr) {
        // `obj[elem] = value`, and on IndexError `if elem == len(obj): obj.append(value)`, without
        // raising: appending at the end is the common case (iterable_item_added).
        const i = asIndex(e.key);
        if (i !== undefined) {
          const n = BigInt(obj.length);
          const at = i < 0n ? i + n : i;
          if (at >= 0n && at < n) obj[Number(at)] = value;
          else if (i === n) obj.push(value);
          else
            this.log(
              `Key or index of ${displayStr(e.key)} is not found for ${this.pathText(path)} for setting operation.`,
            );
          return;
        }
      }
      try {
        this.setElem(obj, e, value);
      } catch (err) {
        if (!(err instanceof PyExc) || err.pyType !== 'IndexError' || e.attr) throw err;
        const len = this.len(obj);
        if (obj instanceof PyByteArray && Number(asIndex(e.key)) === len) {
          obj.data = concatByte(obj.data, byteValue(value));
        } else {
          this.log(
            `Key or index of ${displayStr(e.key)} is not found for ${this.pathText(path)} for setting operation.`,
          );
        }
      }
    } catch (err) {
      if (!(err instanceof PyExc) || !isLookupError(err)) throw err;
      this.log(`Failed to set ${this.pathText(path)} due to ${err.message}`);
    }
  }

  /** Records `elements[:-1]` for post-processing (`post_process_paths_to_convert[...] = ...`). */
  markTuple(elements: readonly PathElement[]): void {
    const container = elements.slice(0, -1);
    this.post.set(elementsId(container), container);
  }

  /** `_set_new_value` with `_coerce_obj`: a tuple container becomes a list stored back in its parent. */
  setNewValue(d: Details, path: PathRef, value: PyValue): void {
    let obj = d.obj;
    if (obj instanceof PyTuple) {
      this.markTuple(d.elements);
      obj = obj.items.slice();
      // `if parent:` — always true here: a parent holding the tuple is not empty, and Delta is truthy.
      if (d.parent !== null) this.simpleSet(d.parent, path, d.parentElem as PathElement, obj);
    }
    this.simpleSet(obj, path, d.elem, value);
  }

  /** `_simple_delete_elem`: KeyError/IndexError/AttributeError are logged; TypeError escapes. */
  simpleDelete(obj: Node, path: PathRef, e: PathElement): void {
    try {
      this.delElem(obj, e);
    } catch (err) {
      if (!(err instanceof PyExc) || !['KeyError', 'IndexError', 'AttributeError'].includes(err.pyType)) throw err;
      this.log(`Failed to set ${this.pathText(path)} due to ${err.message}`);
    }
  }

  /** `_del_elem`, with the tuple-to-list coercion. */
  delElemOf(d: Details, path: PathRef, e: PathElement): void {
    let obj = d.obj;
    const isNew = obj instanceof PyTuple;
    if (obj instanceof PyTuple) {
      this.markTuple(d.elements);
      obj = obj.items.slice();
    }
    this.simpleDelete(obj, path, e);
    if (isNew && d.parent !== null) this.simpleSet(d.parent, path, d.parentElem as PathElement, obj as PyValue);
  }

  typeName(n: Node): string {
    return typeNameOf(n);
  }
}

/** The exception types deepdiff's lookups and sets catch. */
export function isLookupError(e: PyExc): boolean {
  return (
    e.pyType === 'KeyError' || e.pyType === 'IndexError' || e.pyType === 'AttributeError' || e.pyType === 'TypeError'
  );
}

function concatByte(data: Uint8Array, byte: number): Uint8Array {
  const out = new Uint8Array(data.length + 1);
  out.set(data);
  out[data.length] = byte;
  return out;
}
