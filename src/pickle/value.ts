/**
 * The Python value model: how decoded pickles are held in JavaScript.
 *
 * Python's distinctions survive (DESIGN.md §3, fixtures/README.md "JSON view"):
 *
 * | Python            | here                                             |
 * |-------------------|--------------------------------------------------|
 * | None              | `null`                                           |
 * | bool              | `boolean`                                        |
 * | int (any size)    | `bigint` (small values come from a shared cache) |
 * | float             | `number`                                         |
 * | str               | `string`; `PyCodepointStr` only when a str holds an adjacent high+low surrogate pair as two code points (JS would merge them) |
 * | bytes             | `Uint8Array` (usually a zero-copy view into the received frame) |
 * | bytearray         | `PyByteArray`                                    |
 * | list              | `PyValue[]`                                      |
 * | tuple             | `PyTuple`                                        |
 * | dict              | `PyDict` (insertion ordered, Python key equality) |
 * | set / frozenset   | `PySet` (`frozen` tells which)                   |
 * | class reference   | `PyGlobal` (inert: never imported)               |
 * | persistent id     | `PyPersId` (inert)                               |
 * | built object      | `PyObject` (inert: nothing is ever called)       |
 *
 * Identity matters: a container reached twice in a pickle is the same JS object twice,
 * so shared references and cycles survive decode → copy → encode.
 */

export type PyValue =
  | null
  | boolean
  | bigint
  | number
  | string
  | PyCodepointStr
  | Uint8Array
  | PyByteArray
  | PyValue[]
  | PyTuple
  | PyDict
  | PySet
  | PyGlobal
  | PyPersId
  | PyObject;

/** A Python str that JS cannot hold faithfully: it contains a high surrogate followed by a low one as two code points. */
export class PyCodepointStr {
  constructor(readonly codepoints: readonly number[]) {}
}

export class PyByteArray {
  constructor(public data: Uint8Array) {}
}

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** A class or function reference (`GLOBAL` / `STACK_GLOBAL`). Carried, never resolved. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}

/** A persistent id (`PERSID` / `BINPERSID`). Carried, never resolved. */
export class PyPersId {
  constructor(readonly pid: PyValue) {}
}

export type PyObjectOp = 'REDUCE' | 'NEWOBJ' | 'NEWOBJ_EX' | 'INST' | 'OBJ';

/**
 * An object the pickle asked to build. Nothing is called: the recipe is kept so it can be
 * re-encoded faithfully. `state` holds every BUILD applied, in order; the item lists record
 * APPEND(S) / SETITEM(S) / ADDITEMS applied to the object.
 */
export class PyObject {
  state: PyValue[] = [];
  listitems: PyValue[] = [];
  dictitems: [PyValue, PyValue][] = [];
  setitems: PyValue[] = [];
  constructor(
    readonly op: PyObjectOp,
    public callable: PyValue,
    public args: PyValue,
    public kwargs?: PyValue,
  ) {}
}

/**
 * The key under which a hashable value is stored in a JS `Map`, such that two Python values
 * that are equal (`1 == 1.0 == True`, `(1,) == (1.0,)`) get the same key.
 * str → itself; int/bool/integral float → bigint; other float → number; None → null;
 * anything composite (tuple, bytes, frozenset, …) → `COMPOSITE_PREFIX` + its canonical text;
 * opaque objects → themselves (identity).
 *
 * Composite keys are strings rather than registered symbols: `Symbol.for` entries are never
 * freed, so a client sending many distinct tuple keys would grow memory without bound. A real
 * str that happens to start with the prefix is escaped by doubling it, so the spaces never meet.
 */
export type HashKey = string | bigint | number | null | object;

/** U+FFFF is a noncharacter: real text starting with it is rare, and is escaped anyway. */
const COMPOSITE_PREFIX = '\uffff';
const COMPOSITE_CODE = 0xffff;

/** Thrown for Python's `TypeError: unhashable type`. */
export class UnhashableError extends Error {
  readonly code = 'UNHASHABLE';
  constructor(readonly typeName: string) {
    super(`unhashable type: '${typeName}'`);
  }
}

const SMALL_INT_MIN = -256;
const SMALL_INT_MAX = 4096;
const smallInts: bigint[] = [];
for (let i = SMALL_INT_MIN; i <= SMALL_INT_MAX; i++) smallInts.push(BigInt(i));

/** A Python int from a JS safe integer, reusing shared bigints for small values (they are immutable). */
export function pyInt(n: number): bigint {
  if (n >= SMALL_INT_MIN && n <= SMALL_INT_MAX && Number.isInteger(n)) return smallInts[n - SMALL_INT_MIN];
  return BigInt(n);
}

/** Python's type name of a value, as `type(v).__name__` would print it (opaque values report what they are). */
export function pyTypeName(v: PyValue): string {
  if (v === null) return 'NoneType';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'int';
    case 'number':
      return 'float';
    case 'string':
      return 'str';
  }
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyDict) return 'dict';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PySet) return v.frozen ? 'frozenset' : 'set';
  if (v instanceof PyCodepointStr) return 'str';
  if (v instanceof PyByteArray) return 'bytearray';
  if (v instanceof PyGlobal) return 'type';
  if (v instanceof PyPersId) return 'persistent_id';
  return 'object';
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

/** Canonical text of a hashable value; equal Python values give equal text. Used inside composite keys. */
function canonicalText(v: PyValue): string {
  const k = hashKey(v);
  switch (typeof k) {
    case 'string':
      // Composite keys are already canonical and start with the prefix; plain text gets a tag.
      return typeof v === 'string' ? 's' + JSON.stringify(v) : k;
    case 'bigint':
      return 'i' + k.toString();
    case 'number':
      return 'f' + (Number.isNaN(k) ? 'nan' : String(k));
    default:
      return k === null ? 'N' : 'o' + objectIdOf(k);
  }
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;
function objectIdOf(o: object): number {
  let id = objectIds.get(o);
  if (id === undefined) {
    id = nextObjectId++;
    objectIds.set(o, id);
  }
  return id;
}

/**
 * The Map key for a Python value, with Python's equality (see `HashKey`).
 * Throws `UnhashableError` for list, dict, set, bytearray — as Python would.
 */
export function hashKey(v: PyValue): HashKey {
  if (v === null) return null;
  switch (typeof v) {
    case 'string':
      return v.charCodeAt(0) === COMPOSITE_CODE ? COMPOSITE_PREFIX + v : v;
    case 'bigint':
      return v;
    case 'boolean':
      return v ? smallInts[1 - SMALL_INT_MIN] : smallInts[-SMALL_INT_MIN];
    case 'number':
      if (Number.isInteger(v)) return BigInt(v);
      return v;
  }
  if (v instanceof PyTuple) return COMPOSITE_PREFIX + 't(' + v.items.map(canonicalText).join(',') + ')';
  if (v instanceof Uint8Array) return COMPOSITE_PREFIX + 'b' + latin1(v);
  if (v instanceof PySet) {
    if (!v.frozen) throw new UnhashableError('set');
    const parts: string[] = [];
    for (const item of v.values()) parts.push(canonicalText(item));
    parts.sort();
    return COMPOSITE_PREFIX + 'F{' + parts.join(',') + '}';
  }
  if (v instanceof PyCodepointStr) return COMPOSITE_PREFIX + 'u' + v.codepoints.join(',');
  if (v instanceof PyGlobal) return COMPOSITE_PREFIX + 'g' + v.module + ' ' + v.name;
  if (Array.isArray(v)) throw new UnhashableError('list');
  if (v instanceof PyDict) throw new UnhashableError('dict');
  if (v instanceof PyByteArray) throw new UnhashableError('bytearray');
  // Opaque objects and persistent ids hash by identity, like a default Python object.
  return v;
}

/** A Python dict: insertion ordered, keys compared with Python equality. */
export class PyDict {
  /** Values by hash key, in insertion order (Map keeps a re-set key in its slot, as Python does). */
  private readonly vals = new Map<HashKey, PyValue>();
  /** The original key, only for entries whose key is not identical to its hash key (bool, float, composite). */
  private origKeys: Map<HashKey, PyValue> | null = null;

  get size(): number {
    return this.vals.size;
  }

  /** `d[k] = v`. An existing equal key keeps its slot and its original key object, as in Python. */
  set(key: PyValue, value: PyValue): void {
    const hk = hashKey(key);
    if (hk !== key && !this.vals.has(hk)) {
      (this.origKeys ??= new Map()).set(hk, key);
    }
    this.vals.set(hk, value);
  }

  /** Fast path for str keys (the common case while decoding). */
  setStr(key: string, value: PyValue): void {
    if (key.charCodeAt(0) === COMPOSITE_CODE) return this.set(key, value);
    this.vals.set(key, value);
  }

  get(key: PyValue): PyValue | undefined {
    return this.vals.get(hashKey(key));
  }

  has(key: PyValue): boolean {
    return this.vals.has(hashKey(key));
  }

  delete(key: PyValue): boolean {
    const hk = hashKey(key);
    this.origKeys?.delete(hk);
    return this.vals.delete(hk);
  }

  clear(): void {
    this.vals.clear();
    this.origKeys = null;
  }

  private keyOf(hk: HashKey): PyValue {
    if (this.origKeys !== null && this.origKeys.has(hk)) return this.origKeys.get(hk) as PyValue;
    return hk as PyValue;
  }

  keys(): IterableIterator<PyValue> {
    // Without translated keys every hash key is the key itself: the Map's own iterator is far
    // faster than a generator (the encoder walks every dict through here).
    if (this.origKeys === null) return this.vals.keys() as IterableIterator<PyValue>;
    return this.translatedKeys();
  }

  private *translatedKeys(): IterableIterator<PyValue> {
    for (const hk of this.vals.keys()) yield this.keyOf(hk);
  }

  values(): IterableIterator<PyValue> {
    return this.vals.values();
  }

  entries(): IterableIterator<[PyValue, PyValue]> {
    if (this.origKeys === null) return this.vals.entries() as IterableIterator<[PyValue, PyValue]>;
    return this.translatedEntries();
  }

  private *translatedEntries(): IterableIterator<[PyValue, PyValue]> {
    for (const [hk, v] of this.vals) yield [this.keyOf(hk), v];
  }

  [Symbol.iterator](): IterableIterator<[PyValue, PyValue]> {
    return this.entries();
  }

  /** Builds a dict from entries, in order. */
  static from(entries: Iterable<[PyValue, PyValue]>): PyDict {
    const d = new PyDict();
    for (const [k, v] of entries) d.set(k, v);
    return d;
  }
}

/** A Python set or frozenset. Iteration order is insertion order (Python's own order is not reproduced). */
export class PySet {
  private readonly items = new Map<HashKey, PyValue>();
  constructor(
    public frozen: boolean = false,
    init?: Iterable<PyValue>,
  ) {
    if (init) for (const v of init) this.add(v);
  }

  get size(): number {
    return this.items.size;
  }

  /** Adds unless an equal element is present (Python keeps the first one: `{1} | {True}` is `{1}`). */
  add(v: PyValue): void {
    const hk = hashKey(v);
    if (!this.items.has(hk)) this.items.set(hk, v);
  }

  has(v: PyValue): boolean {
    return this.items.has(hashKey(v));
  }

  delete(v: PyValue): boolean {
    return this.items.delete(hashKey(v));
  }

  values(): IterableIterator<PyValue> {
    return this.items.values();
  }

  [Symbol.iterator](): IterableIterator<PyValue> {
    return this.items.values();
  }
}

function isNumeric(v: PyValue): v is boolean | bigint | number {
  const t = typeof v;
  return t === 'boolean' || t === 'bigint' || t === 'number';
}

function numericEquals(a: boolean | bigint | number, b: boolean | bigint | number): boolean {
  const x = typeof a === 'boolean' ? (a ? 1n : 0n) : a;
  const y = typeof b === 'boolean' ? (b ? 1n : 0n) : b;
  if (typeof x === 'bigint' && typeof y === 'bigint') return x === y;
  if (typeof x === 'number' && typeof y === 'number') return x === y;
  // int vs float: exact comparison, as Python does (no rounding of big ints).
  const f = (typeof x === 'number' ? x : y) as number;
  const i = (typeof x === 'bigint' ? x : y) as bigint;
  if (!Number.isFinite(f) || !Number.isInteger(f)) return false;
  return BigInt(f) === i;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Python's `a == b` for the value model: numbers compare by value across int/float/bool,
 * NaN equals nothing (not even itself, except by identity inside containers, as CPython does),
 * tuple ≠ list, dict comparison ignores order, bytes ≠ str. Opaque values compare by identity.
 */
export function pyEquals(a: PyValue, b: PyValue): boolean {
  if (a === b) return typeof a !== 'number' || !Number.isNaN(a);
  return pyEqualsInner(a, b);
}

/** Container element comparison: CPython checks identity first (`x is y or x == y`). */
function elementEquals(a: PyValue, b: PyValue): boolean {
  return a === b || pyEqualsInner(a, b);
}

function pyEqualsInner(a: PyValue, b: PyValue): boolean {
  if (a === null || b === null) return false;
  if (isNumeric(a)) return isNumeric(b) && numericEquals(a, b);
  if (typeof a === 'string') return false; // identical strings were caught by ===
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof Uint8Array) {
    // bytes == bytearray holds in Python.
    return (
      (b instanceof Uint8Array || b instanceof PyByteArray) && bytesEqual(a, b instanceof PyByteArray ? b.data : b)
    );
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!elementEquals(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof PyTuple) {
    if (!(b instanceof PyTuple) || a.items.length !== b.items.length) return false;
    for (let i = 0; i < a.items.length; i++) if (!elementEquals(a.items[i], b.items[i])) return false;
    return true;
  }
  if (a instanceof PyDict) {
    if (!(b instanceof PyDict) || a.size !== b.size) return false;
    for (const [k, v] of a) {
      if (!b.has(k)) return false;
      if (!elementEquals(v, b.get(k) as PyValue)) return false;
    }
    return true;
  }
  if (a instanceof PySet) {
    if (!(b instanceof PySet) || a.size !== b.size) return false;
    for (const v of a) if (!b.has(v)) return false;
    return true;
  }
  if (a instanceof PyByteArray) {
    return (
      (b instanceof PyByteArray || b instanceof Uint8Array) && bytesEqual(a.data, b instanceof PyByteArray ? b.data : b)
    );
  }
  if (a instanceof PyCodepointStr) {
    return (
      b instanceof PyCodepointStr &&
      a.codepoints.length === b.codepoints.length &&
      a.codepoints.every((c, i) => c === b.codepoints[i])
    );
  }
  if (a instanceof PyGlobal) return b instanceof PyGlobal && a.module === b.module && a.name === b.name;
  return false;
}
