/**
 * Protocol 4 pickle encoder, modelled on CPython's C pickler (`pickle.dumps(v, protocol=4)`), so
 * the Python client reads what we write exactly as it reads what the reference server stored.
 *
 * The memo keeps Python's identity semantics: a list, dict, set, bytearray, tuple, frozenset,
 * bytes, global or object reached twice is written once and fetched back with BINGET/LONG_BINGET,
 * so shared references and cycles survive. Mutable containers are created empty and memoized
 * before their items are written (as CPython does), which is what makes a cycle writable.
 * Equal strs share one memo slot: CPython gets the same effect from interned identifiers (dict
 * keys), and a str's identity is invisible in Python.
 */
import { pickleError } from './errors.js';
import { writeObjectCall, type ValueSaver } from './encode-object.js';
import { PickleWriter } from './pickle-writer.js';
import { MAX_SHARED_STR, beginStrMemo, endStrMemo, findStr, rememberStr } from './str-memo.js';
import {
  ADDITEMS,
  APPEND,
  APPENDS,
  BINPERSID,
  BUILD,
  EMPTY_DICT,
  EMPTY_LIST,
  EMPTY_SET,
  EMPTY_TUPLE,
  FROZENSET,
  MARK,
  POP,
  POP_MARK,
  REDUCE,
  SETITEM,
  SETITEMS,
  STACK_GLOBAL,
  TUPLE,
  TUPLE1,
  TUPLE2,
  TUPLE3,
} from './opcodes.js';
import {
  PyByteArray,
  PyCodepointStr,
  PyDict,
  PyGlobal,
  PyObject,
  PyPersId,
  PySet,
  PyTuple,
  type PyValue,
} from './value.js';

/** CPython's `BATCHSIZE`: APPENDS / SETITEMS / ADDITEMS carry at most this many items each. */
const BATCH_SIZE = 1000;
/**
 * Nesting bound while encoding, in containers. Decoded values are at most
 * DEFAULT_PICKLE_LIMITS.maxDepth (1000) deep; this leaves room for what a delta adds, and stops a
 * hand-built cycle without a mutable container (a tuple holding itself, which Python cannot
 * create) before it exhausts the JS stack.
 */
const MAX_ENCODE_DEPTH = 2000;
const TUPLE_N = [EMPTY_TUPLE, TUPLE1, TUPLE2, TUPLE3];
const EMPTY_ARGS = new PyTuple([]);
const BYTEARRAY_GLOBAL = new PyGlobal('builtins', 'bytearray');

/**
 * Encodes a value as a protocol 4 pickle (PROTO 4, FRAME, MEMOIZE), readable by any Python ≥ 3.4.
 * Opaque values (globals, persistent ids, objects) are written back as the opcodes they were
 * read from. Throws PickleError `PICKLE_UNENCODABLE` for something that is not a PyValue, and
 * `PICKLE_LIMIT` for a value nested deeper than MAX_ENCODE_DEPTH (2000) containers.
 */
export function encodePickle(v: PyValue): Buffer {
  return new Encoder(false).run(v)[0];
}

/**
 * Like `encodePickle`, but a bytes value of 64 KiB or more (which CPython writes outside any frame)
 * becomes its own part, a view of the value's memory rather than a copy. The concatenation of the
 * parts is the pickle; send them as one multipart message or write them in order.
 */
export function encodePickleParts(v: PyValue): Buffer[] {
  return new Encoder(true).run(v);
}

/**
 * The value walker. `encodePickle` uses one for one value; `PickleStream` keeps one across
 * several writes, each its own `section` of the shared str memo (str-memo.ts), because other
 * encodings may run between a stream's writes.
 */
export class Encoder implements ValueSaver {
  readonly w: PickleWriter;
  /** Memo slot of every object already written (identity). */
  private readonly memo = new Map<object, number>();
  /** The current section's base in the str memo. */
  private slotBase = 0;
  private depth = 0;

  constructor(zeroCopy: boolean) {
    this.w = new PickleWriter(zeroCopy);
  }

  run(v: PyValue): Buffer[] {
    return this.section(() => {
      this.w.begin();
      this.save(v);
      return this.w.finish();
    });
  }

  /**
   * Runs `write` as one str-memo call: equal strs written inside it share a memo slot; a str
   * written by an earlier section is written again (never fetched from a slot another encoding
   * may have overwritten meanwhile).
   */
  section<T>(write: () => T): T {
    this.slotBase = beginStrMemo();
    try {
      return write();
    } catch (e) {
      // A stack overflow below MAX_ENCODE_DEPTH (a caller already deep in its own stack), or an
      // output beyond what a Buffer can hold.
      if (e instanceof RangeError) throw pickleError('PICKLE_LIMIT', `cannot encode: ${e.message}`);
      throw e;
    } finally {
      endStrMemo(this.slotBase, this.w.memoSize);
    }
  }

  /** The memo slot of an object this encoder has written, or undefined. */
  slotOf(v: object): number | undefined {
    return this.memo.get(v);
  }

  save(v: PyValue): void {
    const w = this.w;
    w.boundary();
    switch (typeof v) {
      case 'string':
        this.saveStr(v);
        return;
      case 'bigint':
        w.int(v);
        return;
      case 'number':
        w.float(v);
        return;
      case 'boolean':
        w.bool(v);
        return;
      case 'object':
        if (v === null) {
          w.none();
          return;
        }
        break;
      default:
        throw unencodable(v);
    }
    const slot = this.memo.get(v);
    if (slot !== undefined) {
      w.get(slot);
      return;
    }
    if (++this.depth > MAX_ENCODE_DEPTH) {
      throw pickleError('PICKLE_LIMIT', `value nested deeper than ${MAX_ENCODE_DEPTH} containers`);
    }
    if (Array.isArray(v)) this.saveList(v);
    else if (v instanceof PyDict) this.saveDict(v);
    else if (v instanceof Uint8Array) this.saveBytes(v);
    else if (v instanceof PyTuple) this.saveTuple(v);
    else if (v instanceof PySet) {
      if (v.frozen) this.saveFrozenSet(v);
      else this.saveSet(v);
    } else if (v instanceof PyObject) this.saveObject(v);
    else if (v instanceof PyGlobal) this.saveGlobal(v);
    else if (v instanceof PyCodepointStr) {
      w.codepoints(v.codepoints);
      this.memo.set(v, w.memoize());
    } else if (v instanceof PyByteArray) this.saveByteArray(v);
    else if (v instanceof PyPersId) {
      // CPython `save_pers`: the id, then BINPERSID; the result is not memoized.
      this.save(v.pid);
      w.byte(BINPERSID);
    } else throw unencodable(v);
    this.depth--;
  }

  /** Small enough to be inlined into the dict and list loops, where most strs are (dict keys). */
  private saveStr(v: string): void {
    const w = this.w;
    if (v.length > MAX_SHARED_STR) {
      w.str(v);
      w.memoize();
      return;
    }
    const slot = findStr(v, this.slotBase);
    if (slot >= 0) {
      w.get(slot);
    } else {
      w.str(v);
      rememberStr(v, this.slotBase, w.memoize());
    }
  }

  private saveBytes(v: Uint8Array): void {
    this.w.bytes(v);
    this.memo.set(v, this.w.memoize());
  }

  private saveList(v: PyValue[]): void {
    const w = this.w;
    w.byte(EMPTY_LIST);
    this.memo.set(v, w.memoize());
    this.appendItems(v);
  }

  /** CPython `batch_list_exact`: one item is a lone APPEND, otherwise MARK … APPENDS per 1000. */
  private appendItems(items: readonly PyValue[]): void {
    const w = this.w;
    const n = items.length;
    if (n === 0) return;
    if (n === 1) {
      this.save(items[0]);
      w.byte(APPEND);
      return;
    }
    for (let i = 0; i < items.length;) {
      w.byte(MARK);
      const end = Math.min(i + BATCH_SIZE, items.length);
      for (; i < end; i++) {
        const x = items[i];
        // Vectors and colours are lists of floats: skip the generic dispatch for them.
        if (typeof x === 'number') w.float(x);
        else this.save(x);
      }
      w.byte(APPENDS);
    }
  }

  private saveDict(d: PyDict): void {
    const w = this.w;
    w.byte(EMPTY_DICT);
    this.memo.set(d, w.memoize());
    const n = d.size;
    if (n === 0) return;
    if (n === 1) {
      for (const [k, v] of d) {
        this.save(k);
        this.save(v);
      }
      w.byte(SETITEM);
      return;
    }
    let inBatch = 0;
    for (const [k, v] of d) {
      if (inBatch === 0) w.byte(MARK);
      if (typeof k === 'string') this.saveStr(k);
      else this.save(k);
      this.save(v);
      if (++inBatch === BATCH_SIZE) {
        w.byte(SETITEMS);
        inBatch = 0;
      }
    }
    if (inBatch > 0) w.byte(SETITEMS);
  }

  /** Dict items recorded on an object (SETITEM(S) applied to a REDUCE result, e.g. OrderedDict). */
  private setItems(items: readonly [PyValue, PyValue][]): void {
    const w = this.w;
    for (let i = 0; i < items.length;) {
      w.byte(MARK);
      const end = Math.min(i + BATCH_SIZE, items.length);
      for (; i < end; i++) {
        this.save(items[i][0]);
        this.save(items[i][1]);
      }
      w.byte(SETITEMS);
    }
  }

  private saveSet(s: PySet): void {
    const w = this.w;
    w.byte(EMPTY_SET);
    this.memo.set(s, w.memoize());
    this.addItems(s.values());
  }

  private addItems(items: Iterable<PyValue>): void {
    const w = this.w;
    let inBatch = 0;
    for (const x of items) {
      if (inBatch === 0) w.byte(MARK);
      this.save(x);
      if (++inBatch === BATCH_SIZE) {
        w.byte(ADDITEMS);
        inBatch = 0;
      }
    }
    if (inBatch > 0) w.byte(ADDITEMS);
  }

  /**
   * CPython `save_frozenset`: MARK, items, FROZENSET. If writing the items already wrote the
   * frozenset (a cycle through a mutable item), drop what was pushed and fetch that one instead.
   */
  private saveFrozenSet(s: PySet): void {
    const w = this.w;
    w.byte(MARK);
    for (const x of s.values()) this.save(x);
    const again = this.memo.get(s);
    if (again !== undefined) {
      w.byte(POP_MARK);
      w.get(again);
      return;
    }
    w.byte(FROZENSET);
    this.memo.set(s, w.memoize());
  }

  /**
   * CPython `save_tuple`. A tuple is built after its items, so when an item leads back to the
   * tuple (t = ([t],): encode.jsonl "recursive tuple"), the inner visit writes and memoizes it
   * first; the outer visit then pops its items and fetches the inner tuple, keeping identity.
   */
  private saveTuple(t: PyTuple): void {
    const w = this.w;
    const items = t.items;
    const n = items.length;
    if (n === 0) {
      // CPython does not memoize the empty tuple (it is a singleton).
      w.byte(EMPTY_TUPLE);
      return;
    }
    if (n <= 3) {
      for (let i = 0; i < n; i++) this.save(items[i]);
      const again = this.memo.get(t);
      if (again !== undefined) {
        for (let i = 0; i < n; i++) w.byte(POP);
        w.get(again);
        return;
      }
      w.byte(TUPLE_N[n]);
    } else {
      w.byte(MARK);
      for (let i = 0; i < n; i++) this.save(items[i]);
      const again = this.memo.get(t);
      if (again !== undefined) {
        w.byte(POP_MARK);
        w.get(again);
        return;
      }
      w.byte(TUPLE);
    }
    this.memo.set(t, w.memoize());
  }

  /** CPython `save_global` at protocol 4: module and name as strs, STACK_GLOBAL. */
  private saveGlobal(g: PyGlobal): void {
    this.save(g.module);
    this.save(g.name);
    this.w.byte(STACK_GLOBAL);
    this.memo.set(g, this.w.memoize());
  }

  /** CPython below protocol 5 (`bytearray.__reduce_ex__(4)`): builtins.bytearray called on a bytes. */
  private saveByteArray(b: PyByteArray): void {
    this.save(BYTEARRAY_GLOBAL);
    this.save(b.data.length === 0 ? EMPTY_ARGS : new PyTuple([b.data]));
    this.w.byte(REDUCE);
    this.memo.set(b, this.w.memoize());
  }

  /**
   * An object recorded by the decoder, written back with the opcode that created it (so the
   * symbolic view is unchanged), then the recorded items, then one BUILD per state, in CPython
   * `save_reduce`'s order.
   */
  private saveObject(o: PyObject): void {
    const w = this.w;
    writeObjectCall(this, o);
    // The arguments reached the object itself through a mutable container: that inner visit
    // already wrote the whole object, so use it (CPython `save_reduce` does POP + GET too).
    const again = this.memo.get(o);
    if (again !== undefined) {
      w.byte(POP);
      w.get(again);
      return;
    }
    this.memo.set(o, w.memoize());
    if (o.listitems.length > 0) this.appendItems(o.listitems);
    if (o.dictitems.length > 0) this.setItems(o.dictitems);
    if (o.setitems.length > 0) this.addItems(o.setitems);
    for (const s of o.state) {
      this.save(s);
      w.byte(BUILD);
    }
  }
}

function unencodable(v: unknown): Error {
  const what = typeof v === 'object' && v !== null ? (v.constructor?.name ?? 'object') : typeof v;
  return pickleError('PICKLE_UNENCODABLE', `cannot pickle a JS ${what}`);
}
