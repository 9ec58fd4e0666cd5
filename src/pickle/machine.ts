/**
 * The state of one decode: input cursor, value stack with mark fences, memo, limits. The hot
 * opcode loop (`decode.ts`) keeps copies of the cursor and stack pointer in locals and writes
 * them back here before it calls a helper.
 *
 * Stack discipline is CPython's C unpickler's (Modules/_pickle.c `Pdata`): MARK sets a fence,
 * and nothing below the innermost fence may be popped or modified until that mark is taken,
 * which is why `K\x01(a.` is an underflow and `(N.` returns None.
 */
import { pickleError, type PickleErrorCode } from './errors.js';
import { containerBudget, MAX_HASHED_VALUES, type PickleLimits, resolvePickleLimits } from './limits.js';
import { checkHashable, isContainer } from './nesting.js';
import { OPCODE_NAMES } from './opcodes.js';
import type { PyValue } from './value.js';

/** Options of `decodePickle`. */
export interface DecodeOptions {
  /** Overrides of `DEFAULT_PICKLE_LIMITS`. */
  limits?: Partial<PickleLimits>;
  /**
   * Called for every GLOBAL / STACK_GLOBAL / INST with the names exactly as written (`__builtin__`
   * at protocols 0-2). Returning false throws PICKLE_FORBIDDEN. Default: every global is accepted
   * and becomes an inert `PyGlobal`; nothing is ever imported.
   */
  allowGlobal?: (module: string, name: string) => boolean;
  /** When false, PERSID / BINPERSID throw PICKLE_FORBIDDEN. Default true (inert `PyPersId`). */
  allowPersistentIds?: boolean;
  /**
   * Turn the protocol 0-3 plain-value constructors (`_codecs.encode(s, 'latin1')`, `bytes`,
   * `bytearray`, `set`, `frozenset`; see plain-constructors.ts) into real bytes / PyByteArray /
   * PySet values, as `pickle.loads` (and `pyview.py --mode plain`) would. Default false: they
   * stay inert `PyObject` records, the structural view (`pyview.py --mode symbolic`).
   */
  plainConstructors?: boolean;
  /**
   * How far past the next free slot a memo index may reach (PICKLE_MEMO_SPARSE beyond it).
   * CPython's unpickler grows its memo array to about twice the highest index, so a pickle we
   * relay verbatim (a Commit's delta) must not name a far index; a small skip is allowed because
   * hand-written protocol 0 pickles number their PUTs out of order. Default: unbounded (the memo
   * is a map here, so the server's own cost is bounded by `maxMemo`).
   */
  maxMemoSkip?: number;
}

export class Machine {
  readonly bytes: Uint8Array;
  readonly data: DataView;
  private textView: Buffer | undefined;
  readonly end: number;
  readonly limits: Readonly<PickleLimits>;
  readonly allowGlobal: ((module: string, name: string) => boolean) | undefined;
  readonly allowPersistentIds: boolean;
  readonly plainConstructors: boolean;
  readonly maxMemoSkip: number;

  pos = 0;
  /** Values; `stack.length` is a high-water mark, `sp` the live size. */
  readonly stack: PyValue[] = [];
  /** Nesting height of each container on the stack (leaves are never read, so never written). */
  readonly heights: number[] = [];
  sp = 0;
  /** Stack sizes at each open MARK. */
  readonly marks: number[] = [];
  /** `marks[marks.length - 1]`, or 0. */
  fence = 0;
  /** Memo slots 0..n-1 written in order (what MEMOIZE produces). */
  readonly memo: PyValue[] = [];
  /** Memo slots written out of order (a PUT at 2^31 is one entry: bad-01427). */
  sparse: Map<number, PyValue> | null = null;
  /**
   * Set once a container is pushed a second time (GET, DUP). From then on a container may be
   * changed after its height was read, so the stack heights are only a lower bound and the
   * result gets the full `checkDepth` walk.
   */
  shared = false;
  /** Containers that may still be built (`maxContainers` minus those built so far). */
  containerBudget: number;
  /** The protocol from PROTO, for error messages only: CPython reads any opcode at any protocol. */
  proto = 0;

  constructor(bytes: Uint8Array, options: DecodeOptions | undefined) {
    this.limits = resolvePickleLimits(options?.limits);
    if (bytes.length > this.limits.maxBytes) {
      throw pickleError('PICKLE_LIMIT', `pickle of ${bytes.length} bytes exceeds maxBytes ${this.limits.maxBytes}`);
    }
    this.containerBudget = containerBudget(this.limits, bytes.length);
    this.hashBudget = MAX_HASHED_VALUES;
    this.bytes = bytes;
    this.data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.end = bytes.length;
    this.allowGlobal = options?.allowGlobal;
    this.allowPersistentIds = options?.allowPersistentIds ?? true;
    this.plainConstructors = options?.plainConstructors ?? false;
    this.maxMemoSkip = options?.maxMemoSkip ?? Infinity;
  }

  /**
   * The input as a Buffer (same memory) for native latin-1 slicing of long ASCII strings. Made on
   * first use: most pickles the server decodes (small commands, dependency lists) have no such
   * string, and a Buffer view per decode was a measurable share of an init's cost.
   */
  get text(): Buffer {
    return (this.textView ??= Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength));
  }

  fail(code: PickleErrorCode, message: string, at: number = this.pos): never {
    throw pickleError(code, message, at);
  }

  truncated(): never {
    throw pickleError('PICKLE_TRUNCATED', 'pickle data was truncated', this.pos);
  }

  underflow(op: number): never {
    const why = this.marks.length > 0 && this.sp === this.fence ? 'unexpected MARK found' : 'stack underflow';
    throw pickleError('PICKLE_MALFORMED', `${OPCODE_NAMES.get(op) ?? op}: ${why}`, this.pos - 1);
  }

  /** Position of `n` argument bytes, which must all be present. */
  take(n: number): number {
    const at = this.pos;
    if (n > this.end - at) this.truncated();
    this.pos = at + n;
    return at;
  }

  /** A declared length read from 4 or 8 little-endian bytes, checked against the bytes left. */
  takeLength(width: 4 | 8, signed: boolean): number {
    const at = this.take(width);
    let n: number;
    if (width === 4) {
      n = signed ? this.data.getInt32(at, true) : this.data.getUint32(at, true);
    } else {
      const hi = this.data.getUint32(at + 4, true);
      // Any length with high bits set is beyond both the input and 2^53.
      n = hi >= 0x200000 ? Infinity : hi * 0x100000000 + this.data.getUint32(at, true);
    }
    if (n < 0) this.fail('PICKLE_MALFORMED', 'negative length', at);
    if (n > this.end - this.pos) this.truncated();
    return n;
  }

  /** The next line: [start, end) without its `\n`. A line with no `\n` is truncated input. */
  readLine(): [number, number] {
    const start = this.pos;
    const nl = this.bytes.indexOf(0x0a, start);
    if (nl < 0) this.truncated();
    this.pos = nl + 1;
    return [start, nl];
  }

  push(v: PyValue, height: number): void {
    // Only containers (and the objects that hold other values) have a height.
    if (height > 0) this.countContainer();
    this.heights[this.sp] = height;
    this.stack[this.sp++] = v;
    if (height > this.limits.maxDepth) this.tooDeep();
  }

  countContainer(): void {
    if (--this.containerBudget < 0) {
      throw pickleError('PICKLE_LIMIT', `more than ${containerBudget(this.limits, this.end)} containers`, this.pos);
    }
  }

  tooDeep(): never {
    throw pickleError('PICKLE_LIMIT', `nesting deeper than ${this.limits.maxDepth}`, this.pos);
  }

  /** Height of the stack slot `i` (0 for leaves). */
  heightAt(i: number): number {
    const v = this.stack[i];
    return typeof v === 'object' && v !== null ? (this.heights[i] ?? 0) : 0;
  }

  /** Highest height among slots [from, to). */
  maxHeight(from: number, to: number): number {
    let h = 0;
    for (let i = from; i < to; i++) {
      const v = this.stack[i];
      if (typeof v === 'object' && v !== null && this.heights[i] > h) h = this.heights[i];
    }
    return h;
  }

  pop(op: number): PyValue {
    if (this.sp <= this.fence) this.underflow(op);
    return this.stack[--this.sp];
  }

  /** Index of the top slot, which must be above the fence. */
  topIndex(op: number): number {
    if (this.sp <= this.fence) this.underflow(op);
    return this.sp - 1;
  }

  /** Closes the innermost MARK and returns its stack position (CPython `marker()`). */
  popMark(op: number): number {
    const n = this.marks.length;
    if (n === 0) this.fail('PICKLE_MALFORMED', `${OPCODE_NAMES.get(op) ?? op}: could not find MARK`, this.pos - 1);
    const mark = this.marks.pop() as number;
    this.fence = n > 1 ? this.marks[n - 2] : 0;
    return mark;
  }

  memoCount(): number {
    return this.memo.length + (this.sparse === null ? 0 : this.sparse.size);
  }

  memoGet(idx: number): PyValue {
    const v = idx < this.memo.length ? this.memo[idx] : this.sparse?.get(idx);
    if (v === undefined) this.fail('PICKLE_MEMO', `memo value not found at index ${idx}`);
    return v;
  }

  memoPut(idx: number, v: PyValue): void {
    const memo = this.memo;
    if (idx < memo.length) {
      memo[idx] = v;
      return;
    }
    const sparse = this.sparse;
    if (idx === memo.length) {
      // Slot n moves from the sparse map (if it was there) to the array.
      if (!(sparse !== null && sparse.delete(idx)) && this.memoCount() >= this.limits.maxMemo) this.memoFull();
      memo.push(v);
      return;
    }
    if (idx - memo.length > this.maxMemoSkip) {
      this.fail('PICKLE_MEMO_SPARSE', `memo index ${idx} skips too many entries (next is ${memo.length})`);
    }
    if (sparse === null || !sparse.has(idx)) {
      if (this.memoCount() >= this.limits.maxMemo) this.memoFull();
    }
    (this.sparse ??= new Map()).set(idx, v);
  }

  memoFull(): never {
    throw pickleError('PICKLE_LIMIT', `memo holds more than ${this.limits.maxMemo} entries`, this.pos);
  }

  /** Pushes a memo value; a container pushed twice switches on the full depth check. */
  pushShared(v: PyValue, height: number): void {
    if (!this.shared && isContainer(v)) this.shared = true;
    this.heights[this.sp] = height;
    this.stack[this.sp++] = v;
  }

  /**
   * Values hashing may still visit over the whole decode: one memo-shared tuple of `maxKeyNodes`
   * values used as a million keys would otherwise cost a million times its size.
   */
  hashBudget: number;

  /** Bounds what `hashKey` may expand (see `checkHashable`), per key and in total. */
  guardKey = (key: PyValue): void => {
    this.hashBudget -= checkHashable(key, this.limits.maxKeyNodes, this.limits.maxDepth);
    if (this.hashBudget < 0) {
      throw pickleError('PICKLE_LIMIT', `hashing keys would visit more than ${MAX_HASHED_VALUES} values`, this.pos);
    }
  };
}
