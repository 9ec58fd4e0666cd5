/**
 * `scanPlainPickle`: proves that a pickle is plain and cheap for the receiving client's
 * `pickle.loads` (the C unpickler, unrestricted), without building any value.
 *
 * The server relays node data and dependency lists verbatim, so it must judge them by the
 * client's rules, not by what its own decoder happens to tolerate. One pass over the opcodes
 * keeps, per stack slot and memo entry, only a kind (scalar, bytes, tuple, list, ...), a nesting
 * height and the cost of hashing it; memory is proportional to the live stack and memo, time to
 * the input, whatever the pickle would build.
 *
 * Verdicts, against CPython's C unpickler with every global refused (test/tools/pyref.py strict):
 * - accepted here => CPython loads it, to dicts/lists/tuples/sets/frozensets/str/bytes/int/
 *   float/bool/None only;
 * - refused as PICKLE_TRUNCATED, PICKLE_BAD_OPCODE, PICKLE_MALFORMED, PICKLE_MEMO (missing memo
 *   entry) or PICKLE_PROTOCOL => CPython fails too;
 * - refused as PICKLE_FORBIDDEN, PICKLE_MEMO_SPARSE or PICKLE_LIMIT => stricter than CPython on
 *   purpose, for one of
 *   the reasons listed at `ScanLimits` and in docs/security.md "Pickles relayed to clients":
 *   globals, persistent ids, object building (REDUCE, BUILD, NEWOBJ, OBJ, INST, EXT*),
 *   bytearray (protocol 5), `list[i] = v` through SETITEM(S), sparse memo indices, and the
 *   size bounds.
 */
import { isUtf8 } from 'node:buffer';
import { pickleError, PickleError } from './errors.js';
import { containerBudget, MAX_HASHED_VALUES, type PickleLimits, resolvePickleLimits } from './limits.js';
import { OPCODE_NAMES } from './opcodes.js';
import { parseFloatLine, parseIntLine, parseLongLine, parseMemoIndexLine } from './text-literals.js';
import { parseStringLine, parseUnicodeLine } from './text-literals.js';

/** What a stack slot or memo entry holds. Only the distinctions the verdict needs. */
const SCALAR = 0; // int, float, bool, None, str
const BYTES = 1;
const TUPLE = 2; // hashable tuple
const UTUPLE = 3; // tuple holding something unhashable
const FROZENSET = 4;
const LIST = 5;
const DICT = 6;
const SET = 7;

const KIND_NAMES = ['scalar', 'bytes', 'tuple', 'tuple', 'frozenset', 'list', 'dict', 'set'] as const;

/** The top-level value's type, as far as the scan can tell. */
export type ScanKind = (typeof KIND_NAMES)[number];

/** What a successful scan found. */
export interface PlainScan {
  /** The type of the value `pickle.loads` returns. */
  kind: ScanKind;
  /** Containers the client's unpickler builds (each dict, list, tuple, set, frozenset). */
  containers: number;
  /** Opcodes executed. */
  opcodes: number;
  /** Memo entries at the end; the client's memo never grows past twice this. */
  memo: number;
}

/** The bounds of a scan: the decoder's (limits.ts), so what the scan accepts the server can decode. */
export type ScanLimits = PickleLimits;

/** Slot layout: kind in bits 0-2, nesting height in bits 3-15, hashing cost in bits 16-31 (saturating). */
const HEIGHT_MAX = 0x1fff;
const KEY_NODES_MAX = 0xffff;

function pack(kind: number, height: number, keyNodes: number): number {
  return (kind | (height << 3) | (Math.min(keyNodes, KEY_NODES_MAX) << 16)) >>> 0;
}

function kindOf(slot: number): number {
  return slot & 7;
}

function heightOf(slot: number): number {
  return (slot >>> 3) & HEIGHT_MAX;
}

function keyNodesOf(slot: number): number {
  return slot >>> 16;
}

/** A scalar leaf: kind SCALAR, height 0, hashing visits 1 value. */
const SCALAR_SLOT = pack(SCALAR, 0, 1);

/** Bytes of each fixed-width scalar opcode (with its argument); 0 for every other byte. */
const SCALAR_WIDTH = new Uint8Array(256);
SCALAR_WIDTH[0x4e] = 1; // NONE
SCALAR_WIDTH[0x88] = 1; // NEWTRUE
SCALAR_WIDTH[0x89] = 1; // NEWFALSE
SCALAR_WIDTH[0x4b] = 2; // BININT1
SCALAR_WIDTH[0x4d] = 3; // BININT2
SCALAR_WIDTH[0x4a] = 5; // BININT
SCALAR_WIDTH[0x47] = 9; // BINFLOAT

/** Where the last `countScalarRun` stopped (module state: one scan runs at a time). */
let scalarRunStop = 0;

/** Fixed-width scalar opcodes from `start`: how many (their end in `scalarRunStop`). Small, so V8 optimizes it alone. */
function countScalarRun(b: Uint8Array, start: number, end: number): number {
  let q = start;
  let n = 0;
  while (q < end) {
    const w = SCALAR_WIDTH[b[q]];
    if (w === 0 || w > end - q) break;
    q += w;
    n++;
  }
  scalarRunStop = q;
  return n;
}

function hashable(kind: number): boolean {
  return kind <= TUPLE || kind === FROZENSET;
}

/**
 * Scans `bytes` as one pickle. Returns what it found, or throws `PickleError` (never another
 * exception type) — see the file comment for what each code means against CPython.
 */
export function scanPlainPickle(bytes: Uint8Array, limits?: Partial<ScanLimits>): PlainScan {
  const lim = resolvePickleLimits(limits);
  if (bytes.length > lim.maxBytes) {
    throw pickleError('PICKLE_LIMIT', `pickle of ${bytes.length} bytes exceeds maxBytes ${lim.maxBytes}`);
  }
  const s = new Scanner(bytes, lim);
  try {
    return s.run();
  } catch (e) {
    if (e instanceof PickleError) throw e;
    throw pickleError(e instanceof RangeError ? 'PICKLE_LIMIT' : 'PICKLE_MALFORMED', String(e), s.pos);
  } finally {
    s.release();
  }
}

const STACK_SLOTS = 1024;
const MEMO_SLOTS = 256;
/**
 * One stack and memo of the initial sizes, lent to each scan in turn: every message scans several
 * pickles (a Commit: its frames, the stored node, the result), and zero-filled 5 KB per scan was a
 * measurable share of the relay's CPU. The scanner only reads slots below `sp` and `memoLen`, so
 * what an earlier scan left in them does not matter. Grown arrays are not kept.
 */
let spareStack: Uint32Array | null = null;
let spareMemo: Uint32Array | null = null;

class Scanner {
  pos = 0;
  private sp = 0;
  private fence = 0;
  /**
   * Stack and memo slots, packed (see `pack`): 4 bytes a slot, so a pickle that leaves 10 M
   * values on the stack (MARK, 10 M x None, APPENDS) costs 40 MB here, as it costs 80 MB of
   * pointers in CPython.
   */
  private stack: Uint32Array;
  private memo: Uint32Array;
  private memoLen = 0;
  private readonly marks: number[] = [];
  private readonly maxKeyNodes: number;
  private readonly maxDepth: number;
  private containers = 0;
  private readonly maxContainers: number;
  private hashWork = 0;
  private readonly data: DataView;
  private readonly end: number;

  constructor(
    private readonly b: Uint8Array,
    private readonly lim: ScanLimits,
  ) {
    this.stack = spareStack ?? new Uint32Array(STACK_SLOTS);
    this.memo = spareMemo ?? new Uint32Array(MEMO_SLOTS);
    spareStack = null;
    spareMemo = null;
    this.data = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.end = b.length;
    this.maxContainers = containerBudget(lim, b.length);
    this.maxKeyNodes = Math.min(lim.maxKeyNodes, KEY_NODES_MAX - 1);
    this.maxDepth = Math.min(lim.maxDepth, HEIGHT_MAX);
  }

  /** Hands the stack and memo back for the next scan (only arrays of the initial sizes). */
  release(): void {
    if (this.stack.length === STACK_SLOTS) spareStack = this.stack;
    if (this.memo.length === MEMO_SLOTS) spareMemo = this.memo;
  }

  run(): PlainScan {
    const b = this.b;
    const end = this.end;
    let budget = this.lim.maxItems;
    let opcodes = 0;
    for (;;) {
      if (this.pos >= end) throw pickleError('PICKLE_TRUNCATED', 'ran out of input before STOP', this.pos);
      if (--budget < 0) throw pickleError('PICKLE_LIMIT', `more than ${this.lim.maxItems} opcodes`, this.pos);
      opcodes += 1;
      const op = b[this.pos++];
      switch (op) {
        case 0x4b: // BININT1
        case 0x4d: // BININT2
        case 0x4a: // BININT
        case 0x47: // BINFLOAT
        case 0x4e: // NONE
        case 0x88: // NEWTRUE
        case 0x89: {
          // NEWFALSE. A run of fixed-width scalars (a list of numbers, or a flood of None) is
          // counted in a tight loop and pushed at once: these are most of the opcodes of both.
          const start = this.pos - 1;
          const n = countScalarRun(b, start, end);
          const q = scalarRunStop;
          if (n === 0) this.truncated();
          budget -= n - 1;
          opcodes += n - 1;
          if (budget < 0) throw pickleError('PICKLE_LIMIT', `more than ${this.lim.maxItems} opcodes`, start);
          const next = q < end ? b[q] : -1;
          if ((next === 0x65 || next === 0x75) && this.marks.length > 0 && this.sp === this.fence) {
            // MARK, scalars, APPENDS/SETITEMS (a list of numbers, a dict of numbers): the run goes
            // straight into its container with no stack slot each, so a flood of one-byte scalars
            // costs a loop over its bytes, not a slot (and a page of fresh memory) per value.
            if (--budget < 0) throw pickleError('PICKLE_LIMIT', `more than ${this.lim.maxItems} opcodes`, q);
            opcodes += 1;
            this.pos = q + 1;
            this.addScalarRun(next, n);
            break;
          }
          this.pushRun(SCALAR_SLOT, n);
          this.pos = q;
          break;
        }
        case 0x8a: // LONG1
          this.skip(this.u8());
          this.push(SCALAR, 0, 1);
          break;
        case 0x8b: {
          // LONG4: CPython refuses a negative length; the bytes-to-int conversion is linear.
          const n = this.length4(true);
          if (n > this.lim.maxLongBytes) this.limit(`LONG4 of ${n} bytes exceeds maxLongBytes`);
          this.skip(n);
          this.push(SCALAR, 0, 1);
          break;
        }
        case 0x8c: // SHORT_BINUNICODE
          this.utf8(this.u8());
          break;
        case 0x58: // BINUNICODE
          this.utf8(this.length4(false));
          break;
        case 0x8d: // BINUNICODE8
          this.utf8(this.length8());
          break;
        case 0x43: // SHORT_BINBYTES
          this.skip(this.u8());
          this.push(BYTES, 0, 1);
          break;
        case 0x42: // BINBYTES
          this.skip(this.length4(false));
          this.push(BYTES, 0, 1);
          break;
        case 0x8e: // BINBYTES8
          this.skip(this.length8());
          this.push(BYTES, 0, 1);
          break;
        case 0x54: // BINSTRING: a Python 2 str, which pickle.loads decodes as ASCII by default
          this.ascii(this.length4(true));
          break;
        case 0x55: // SHORT_BINSTRING
          this.ascii(this.u8());
          break;
        case 0x49: {
          // INT (protocol 0): may be a bool (I01)
          const [s, e] = this.line(true);
          parseIntLine(b, s, e, this.lim.maxIntDigits);
          this.push(SCALAR, 0, 1);
          break;
        }
        case 0x4c: {
          // LONG (protocol 0)
          const [s, e] = this.line(true);
          parseLongLine(b, s, e, this.lim.maxIntDigits);
          this.push(SCALAR, 0, 1);
          break;
        }
        case 0x46: {
          // FLOAT (protocol 0)
          const [s, e] = this.line(true);
          parseFloatLine(b, s, e);
          this.push(SCALAR, 0, 1);
          break;
        }
        case 0x53: {
          // STRING (protocol 0): quoted, escape-decoded, then ASCII
          const [s, e] = this.line(false);
          parseStringLine(b, s, e);
          this.push(SCALAR, 0, 1);
          break;
        }
        case 0x56: {
          // UNICODE (protocol 0): raw-unicode-escape
          const [s, e] = this.line(false);
          parseUnicodeLine(b, s, e);
          this.push(SCALAR, 0, 1);
          break;
        }
        case 0x5d: // EMPTY_LIST
          this.build(LIST, 1, 1);
          break;
        case 0x7d: // EMPTY_DICT
          this.build(DICT, 1, 1);
          break;
        case 0x8f: // EMPTY_SET
          this.build(SET, 1, 1);
          break;
        case 0x29: // EMPTY_TUPLE
          this.build(TUPLE, 1, 1);
          break;
        case 0x85: // TUPLE1
        case 0x86: // TUPLE2
        case 0x87: // TUPLE3
          if (this.sp - (op - 0x84) < this.fence) this.underflow(op);
          this.tupleFrom(this.sp - (op - 0x84));
          break;
        case 0x74: // TUPLE
          this.tupleFrom(this.popMark(op));
          break;
        case 0x6c: {
          // LIST
          const mark = this.popMark(op);
          const h = this.maxHeight(mark) + 1;
          this.sp = mark;
          this.build(LIST, h, 1);
          break;
        }
        case 0x64: {
          // DICT
          const mark = this.popMark(op);
          if ((this.sp - mark) & 1) this.malformed('odd number of items for DICT');
          for (let i = mark; i < this.sp; i += 2) this.hashSlot(i);
          const h = this.maxHeight(mark) + 1;
          this.sp = mark;
          this.build(DICT, h, 1);
          break;
        }
        case 0x91: {
          // FROZENSET
          const mark = this.popMark(op);
          let nodes = 1;
          for (let i = mark; i < this.sp; i++) nodes += this.hashSlot(i);
          const h = this.maxHeight(mark) + 1;
          this.sp = mark;
          this.build(FROZENSET, h, nodes);
          break;
        }
        case 0x61: // APPEND
          this.addTo(op, this.sp - 1);
          break;
        case 0x73: // SETITEM
          this.addTo(op, this.sp - 2);
          break;
        case 0x65: // APPENDS
        case 0x75: // SETITEMS
        case 0x90: // ADDITEMS
          this.addTo(op, this.popMark(op));
          break;
        case 0x28: // MARK
          this.marks.push(this.sp);
          this.fence = this.sp;
          break;
        case 0x30: // POP: pops the innermost MARK instead when it is on top (CPython load_pop)
          if (this.marks.length > 0 && this.fence === this.sp) this.popMark(op);
          else {
            this.top(op);
            this.sp -= 1;
          }
          break;
        case 0x31: // POP_MARK
          this.sp = this.popMark(op);
          break;
        case 0x32: {
          // DUP
          const i = this.top(op);
          this.pushSlot(this.stack[i]);
          break;
        }
        case 0x94: // MEMOIZE
          this.memoPut(this.memoLen, this.top(op));
          break;
        case 0x71: {
          // BINPUT
          const idx = this.u8();
          this.memoPut(idx, this.top(op));
          break;
        }
        case 0x72: {
          // LONG_BINPUT
          const idx = this.length4(false, false);
          this.memoPut(idx, this.top(op));
          break;
        }
        case 0x70: {
          // PUT
          const [s, e] = this.line(false);
          const idx = parseMemoIndexLine(b, s, e);
          const i = this.top(op);
          if (idx < 0n) this.malformed('negative PUT argument');
          this.memoPut(idx > 0xffffffffn ? Infinity : Number(idx), i);
          break;
        }
        case 0x68: // BINGET
          this.memoGet(this.u8());
          break;
        case 0x6a: // LONG_BINGET
          this.memoGet(this.length4(false, false));
          break;
        case 0x67: {
          // GET
          const [s, e] = this.line(false);
          const idx = parseMemoIndexLine(b, s, e);
          this.memoGet(idx < 0n || idx > 0xffffffffn ? -1 : Number(idx));
          break;
        }
        case 0x95: {
          // FRAME: the length must be present; frame boundaries are not enforced (C unpickler).
          const n = this.length8();
          if (n > end - this.pos) this.truncated();
          break;
        }
        case 0x80: {
          // PROTO
          const p = this.u8();
          if (p > 5) throw pickleError('PICKLE_PROTOCOL', `unsupported pickle protocol: ${p}`, this.pos - 2);
          break;
        }
        case 0x98: {
          // READONLY_BUFFER: a no-op on bytes; CPython makes a memoryview of a bytearray, fails on the rest
          const i = this.top(op);
          if (kindOf(this.stack[i]) !== BYTES) this.malformed('READONLY_BUFFER on a non-bytes value');
          break;
        }
        case 0x97: // NEXT_BUFFER: pickle.loads is never given out-of-band buffers
          this.malformed('NEXT_BUFFER: out-of-band buffers are not supported');
          break;
        case 0x2e: {
          // STOP
          const i = this.top(op);
          return {
            kind: KIND_NAMES[kindOf(this.stack[i])],
            containers: this.containers,
            opcodes,
            memo: this.memoLen,
          };
        }
        case 0x63: // GLOBAL
        case 0x93: // STACK_GLOBAL
        case 0x52: // REDUCE
        case 0x62: // BUILD
        case 0x69: // INST
        case 0x6f: // OBJ
        case 0x81: // NEWOBJ
        case 0x92: // NEWOBJ_EX
        case 0x50: // PERSID
        case 0x51: // BINPERSID
        case 0x82: // EXT1
        case 0x83: // EXT2
        case 0x84: // EXT4
        case 0x96: // BYTEARRAY8
          throw pickleError(
            'PICKLE_FORBIDDEN',
            `${OPCODE_NAMES.get(op)} is not allowed in a plain pickle`,
            this.pos - 1,
          );
        default:
          throw pickleError('PICKLE_BAD_OPCODE', `invalid opcode 0x${op.toString(16).padStart(2, '0')}`, this.pos - 1);
      }
    }
  }

  // ---------------------------------------------------------------- input

  private truncated(): never {
    throw pickleError('PICKLE_TRUNCATED', 'pickle data was truncated', this.pos);
  }

  private malformed(message: string): never {
    throw pickleError('PICKLE_MALFORMED', message, this.pos);
  }

  private limit(message: string): never {
    throw pickleError('PICKLE_LIMIT', message, this.pos);
  }

  private skip(n: number): void {
    if (n > this.end - this.pos) this.truncated();
    this.pos += n;
  }

  private u8(): number {
    if (this.pos >= this.end) this.truncated();
    return this.b[this.pos++];
  }

  /** 4 little-endian bytes; with `checkLeft` (a length) also compared with the bytes left. */
  private length4(signed: boolean, checkLeft = true): number {
    if (this.pos + 4 > this.end) this.truncated();
    const n = signed ? this.data.getInt32(this.pos, true) : this.data.getUint32(this.pos, true);
    this.pos += 4;
    if (n < 0) this.malformed('negative length');
    if (checkLeft && n > this.end - this.pos) this.truncated();
    return n;
  }

  private length8(): number {
    if (this.pos + 8 > this.end) this.truncated();
    const hi = this.data.getUint32(this.pos + 4, true);
    const n = hi >= 0x200000 ? Infinity : hi * 0x100000000 + this.data.getUint32(this.pos, true);
    this.pos += 8;
    if (n > this.end - this.pos) this.truncated();
    return n;
  }

  /** A protocol 0 argument line [start, end) without its `\n`; `nonEmpty`: a bare `\n` is bad_readline. */
  private line(nonEmpty: boolean): [number, number] {
    const start = this.pos;
    const nl = this.b.indexOf(0x0a, start);
    if (nl < 0) this.truncated();
    this.pos = nl + 1;
    if (nonEmpty && nl === start) this.truncated();
    return [start, nl];
  }

  private utf8(n: number): void {
    const start = this.pos;
    this.skip(n);
    if (!isUtf8Surrogatepass(this.b, start, start + n)) {
      throw pickleError('PICKLE_MALFORMED', 'str is not UTF-8', start);
    }
    this.push(SCALAR, 0, 1);
  }

  private ascii(n: number): void {
    const start = this.pos;
    this.skip(n);
    for (let i = start; i < start + n; i++) {
      if (this.b[i] >= 0x80) throw pickleError('PICKLE_MALFORMED', 'BINSTRING is not ASCII', i);
    }
    this.push(SCALAR, 0, 1);
  }

  // ---------------------------------------------------------------- stack

  private push(kind: number, height: number, keyNodes: number): void {
    this.pushSlot(pack(kind, height, keyNodes));
  }

  private pushRun(slot: number, n: number): void {
    if (this.sp + n > this.stack.length) {
      let size = this.stack.length * 2;
      while (size < this.sp + n) size *= 2;
      const grown = new Uint32Array(size);
      grown.set(this.stack.subarray(0, this.sp));
      this.stack = grown;
    }
    this.stack.fill(slot, this.sp, this.sp + n);
    this.sp += n;
  }

  private pushSlot(slot: number): void {
    if (this.sp === this.stack.length) {
      const grown = new Uint32Array(this.stack.length * 2);
      grown.set(this.stack);
      this.stack = grown;
    }
    this.stack[this.sp++] = slot;
  }

  /** Pushes a new container, counted against `maxContainers` and `maxDepth`. */
  private build(kind: number, height: number, keyNodes: number): void {
    if (++this.containers > this.maxContainers) {
      this.limit(`more than ${this.maxContainers} containers`);
    }
    if (height > this.maxDepth) this.limit(`nesting deeper than ${this.maxDepth}`);
    this.push(kind, height, keyNodes);
  }

  private underflow(op: number): never {
    const why = this.marks.length > 0 && this.sp === this.fence ? 'unexpected MARK found' : 'stack underflow';
    throw pickleError('PICKLE_MALFORMED', `${OPCODE_NAMES.get(op) ?? op}: ${why}`, this.pos - 1);
  }

  /** Index of the top slot, which must be above the innermost MARK. */
  private top(op: number): number {
    if (this.sp <= this.fence) this.underflow(op);
    return this.sp - 1;
  }

  private popMark(op: number): number {
    const n = this.marks.length;
    if (n === 0) this.malformed(`${OPCODE_NAMES.get(op) ?? op}: could not find MARK`);
    const mark = this.marks.pop() as number;
    this.fence = n > 1 ? this.marks[n - 2] : 0;
    return mark;
  }

  private maxHeight(from: number): number {
    let h = 0;
    for (let i = from; i < this.sp; i++) {
      const hi = heightOf(this.stack[i]);
      if (hi > h) h = hi;
    }
    return h;
  }

  private tupleFrom(mark: number): void {
    let kind = TUPLE;
    let nodes = 1;
    for (let i = mark; i < this.sp; i++) {
      const slot = this.stack[i];
      if (!hashable(kindOf(slot))) kind = UTUPLE;
      nodes += keyNodesOf(slot);
    }
    const h = this.maxHeight(mark) + 1;
    this.sp = mark;
    this.build(kind, h, nodes);
  }

  /**
   * Checks that slot `i` can be a dict key or set element and returns what hashing it visits.
   * The decoder expands tuples and frozensets when it hashes them (nesting.ts `checkHashable`),
   * and CPython re-hashes a tuple every time (no cache), so both the size of one key and the
   * total over the pickle are bounded: a memo-shared tuple used as a million keys costs its
   * size a million times.
   */
  private hashSlot(i: number): number {
    const kind = kindOf(this.stack[i]);
    if (!hashable(kind)) this.malformed(`unhashable type: '${KIND_NAMES[kind]}'`);
    const nodes = keyNodesOf(this.stack[i]);
    if (kind === SCALAR || kind === BYTES) return 1;
    if (nodes > this.maxKeyNodes) this.limit(`hashed key has more than ${this.maxKeyNodes} parts`);
    this.hashWork += nodes;
    if (this.hashWork > MAX_HASHED_VALUES) this.limit(`hashing keys would visit more than ${MAX_HASHED_VALUES} values`);
    return nodes;
  }

  /**
   * `addTo` for APPENDS / SETITEMS right after MARK and a run of `n` fixed-width scalars that were
   * not pushed: the same checks in the same order (scalars are leaves and always hashable).
   */
  private addScalarRun(op: number, n: number): void {
    const mark = this.popMark(op);
    if (mark <= this.fence) this.underflow(op);
    const t = mark - 1;
    const slot = this.stack[t];
    const kind = kindOf(slot);
    if (op === 0x65) {
      if (kind !== LIST) this.malformed(`${OPCODE_NAMES.get(op)} on a ${KIND_NAMES[kind]}`);
    } else {
      if (n & 1) this.malformed('odd number of items for SETITEMS');
      if (kind === LIST) {
        throw pickleError('PICKLE_FORBIDDEN', `${OPCODE_NAMES.get(op)} on a list is not allowed`, this.pos - 1);
      }
      if (kind !== DICT) this.malformed(`${OPCODE_NAMES.get(op)} on a ${KIND_NAMES[kind]}`);
    }
    if (heightOf(slot) < 1) {
      if (this.maxDepth < 1) this.limit(`nesting deeper than ${this.maxDepth}`);
      this.stack[t] = pack(kind, 1, keyNodesOf(slot));
    }
  }

  /** APPEND(S) / SETITEM(S) / ADDITEMS of slots [mark, sp) onto slot mark - 1 (CPython do_append & co). */
  private addTo(op: number, mark: number): void {
    if (mark <= this.fence) this.underflow(op);
    if (this.sp === mark) return;
    const t = mark - 1;
    const kind = kindOf(this.stack[t]);
    if (op === 0x61 || op === 0x65) {
      if (kind !== LIST) this.malformed(`${OPCODE_NAMES.get(op)} on a ${KIND_NAMES[kind]}`);
    } else if (op === 0x73 || op === 0x75) {
      if ((this.sp - mark) & 1) this.malformed('odd number of items for SETITEMS');
      if (kind === LIST) {
        // CPython would run list.__setitem__; the add-on never writes this, so refuse it.
        throw pickleError('PICKLE_FORBIDDEN', `${OPCODE_NAMES.get(op)} on a list is not allowed`, this.pos - 1);
      }
      if (kind !== DICT) this.malformed(`${OPCODE_NAMES.get(op)} on a ${KIND_NAMES[kind]}`);
      for (let i = mark; i < this.sp; i += 2) this.hashSlot(i);
    } else {
      if (kind !== SET) this.malformed(`ADDITEMS on a ${KIND_NAMES[kind]}`);
      for (let i = mark; i < this.sp; i++) this.hashSlot(i);
    }
    const h = this.maxHeight(mark) + 1;
    this.sp = mark;
    const slot = this.stack[t];
    if (h > heightOf(slot)) {
      if (h > this.maxDepth) this.limit(`nesting deeper than ${this.maxDepth}`);
      this.stack[t] = pack(kindOf(slot), h, keyNodesOf(slot));
    }
  }

  // ---------------------------------------------------------------- memo

  /**
   * CPython's `_Unpickler_MemoPut` grows its memo array to twice the index it is asked to
   * store at, whatever was stored before: one LONG_BINPUT at 2^28 makes every client allocate
   * 4 GB. A pickler numbers its memo entries 0, 1, 2, ... in order, so an index may only
   * overwrite an entry or append the next one: the client's memo then stays within twice the
   * number of PUT opcodes, which the message size bounds.
   */
  private memoPut(idx: number, slot: number): void {
    const n = this.memoLen;
    if (idx > n) throw pickleError('PICKLE_MEMO_SPARSE', `memo index ${idx} skips entries (next is ${n})`, this.pos);
    if (idx === n && n >= this.lim.maxMemo) this.limit(`memo holds more than ${this.lim.maxMemo} entries`);
    if (idx === this.memo.length) {
      const grown = new Uint32Array(this.memo.length * 2);
      grown.set(this.memo);
      this.memo = grown;
    }
    this.memo[idx] = this.stack[slot];
    if (idx === n) this.memoLen = n + 1;
  }

  private memoGet(idx: number): void {
    if (idx < 0 || idx >= this.memoLen) {
      throw pickleError('PICKLE_MEMO', `memo value not found at index ${idx}`, this.pos);
    }
    this.pushSlot(this.memo[idx]);
  }
}

/**
 * Whether `b[start, end)` is what Python's UTF-8 decoder with `surrogatepass` accepts: standard
 * UTF-8 plus encoded surrogates (ED A0..BF xx). `isUtf8` is native and takes the common case.
 */
function isUtf8Surrogatepass(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end && b[i] < 0x80) i++;
  if (i === end) return true;
  if (end - i > 64 && isUtf8(b.subarray(i, end))) return true;
  while (i < end) {
    const c = b[i];
    if (c < 0x80) {
      i += 1;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0; // no overlong; ED A0..BF (surrogates) allowed by surrogatepass
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return false;
    if (i + need >= end) return false;
    const c1 = b[i + 1];
    if (c1 < lo || c1 > hi) return false;
    for (let k = 2; k <= need; k++) {
      const ck = b[i + k];
      if (ck < 0x80 || ck > 0xbf) return false;
    }
    i += need + 1;
  }
  return true;
}
