/**
 * `decodePickle`: pickle protocols 0-5 to the Python value model, never executing anything.
 *
 * This file is the hot loop: the opcodes that make up node data (ints, floats, short strings,
 * bytes, empty containers, MARK/APPENDS/SETITEMS, memo) are handled inline on local copies of
 * the cursor and stack pointer; every other opcode goes through `runColdOp` (cold-ops.ts).
 * Case labels are numeric literals (opcodes.ts names them) so V8 compiles a jump table.
 *
 * Guarantees for any input: the result, or a `PickleError` with a stable code; every declared
 * length is checked against the bytes left before anything is sliced; bytes values are
 * zero-copy views of `bytes`; nesting, item count, memo size and key size are bounded by
 * `PickleLimits`; a container referenced twice is the same JS object twice.
 */
import { runColdOp } from './cold-ops.js';
import { PickleError, pickleError } from './errors.js';
import { readLong } from './long.js';
import { appendScalarRun, countScalarRun, newList, scalarRunEnd } from './scalar-run.js';
import { Machine, type DecodeOptions } from './machine.js';
import { checkDepth, isContainer } from './nesting.js';
import { decodeUtf8 } from './utf8.js';
import { PyDict, PySet, PyTuple, UnhashableError, pyInt, type PyValue } from './value.js';

export type { DecodeOptions } from './machine.js';

/**
 * Decodes one pickle. Bytes after STOP are ignored and the top of the stack is returned even
 * if values or MARKs are left below it, as CPython's `pickle.loads` does (plain-1521..1523).
 * Throws `PickleError` (never anything else): PICKLE_TRUNCATED, PICKLE_BAD_OPCODE,
 * PICKLE_MALFORMED, PICKLE_MEMO, PICKLE_PROTOCOL, PICKLE_LIMIT, PICKLE_FORBIDDEN.
 */
export function decodePickle(bytes: Uint8Array, options?: DecodeOptions): PyValue {
  let m: Machine | undefined;
  try {
    m = new Machine(bytes, options);
    return run(m);
  } catch (e) {
    throw asPickleError(e, m?.pos);
  }
}

function asPickleError(e: unknown, at: number | undefined): PickleError {
  if (e instanceof PickleError) return e;
  if (e instanceof UnhashableError) return pickleError('PICKLE_MALFORMED', e.message, at);
  // RangeError: a BigInt or array beyond V8's size limits, or stack exhaustion in a hash.
  if (e instanceof RangeError) return pickleError('PICKLE_LIMIT', e.message, at);
  return pickleError('PICKLE_MALFORMED', e instanceof Error ? e.message : String(e), at);
}

function run(m: Machine): PyValue {
  const b = m.bytes;
  // Bytes values are views built directly on the ArrayBuffer: `subarray` on a Node Buffer goes
  // through Symbol.species and costs several times more.
  const buffer = b.buffer;
  const byteOffset = b.byteOffset;
  const dv = m.data;
  const end = m.end;
  const stack = m.stack;
  const heights = m.heights;
  const marks = m.marks;
  const memo = m.memo;
  const maxDepth = m.limits.maxDepth;
  const maxMemo = m.limits.maxMemo;
  let budget = m.limits.maxItems;
  let pos = 0;
  let sp = 0;
  let fence = 0;
  let n = 0;
  let h = 0;
  let mark = 0;
  let target: PyValue;

  for (;;) {
    if (pos >= end) {
      m.pos = pos;
      throw pickleError('PICKLE_TRUNCATED', 'ran out of input before STOP', pos);
    }
    if (--budget < 0) {
      throw pickleError('PICKLE_LIMIT', `more than ${m.limits.maxItems} opcodes`, pos);
    }
    const op = b[pos++];
    switch (op) {
      case 0x4b: // BININT1
        if (pos >= end) return truncated(m, pos);
        stack[sp++] = pyInt(b[pos++]);
        break;
      case 0x4d: // BININT2
        if (pos + 2 > end) return truncated(m, pos);
        stack[sp++] = pyInt(b[pos] | (b[pos + 1] << 8));
        pos += 2;
        break;
      case 0x4a: // BININT
        if (pos + 4 > end) return truncated(m, pos);
        stack[sp++] = pyInt(b[pos] | (b[pos + 1] << 8) | (b[pos + 2] << 16) | (b[pos + 3] << 24));
        pos += 4;
        break;
      case 0x47: // BINFLOAT
        if (pos + 8 > end) return truncated(m, pos);
        stack[sp++] = dv.getFloat64(pos, false);
        pos += 8;
        break;
      case 0x4e: // NONE
        stack[sp++] = null;
        break;
      case 0x88: // NEWTRUE
        stack[sp++] = true;
        break;
      case 0x89: // NEWFALSE
        stack[sp++] = false;
        break;
      case 0x8a: // LONG1
        if (pos >= end) return truncated(m, pos);
        n = b[pos];
        if (pos + 1 + n > end) return truncated(m, pos);
        stack[sp++] = readLong(b, dv, pos + 1, n);
        pos += 1 + n;
        break;
      case 0x8c: {
        // SHORT_BINUNICODE
        if (pos >= end) return truncated(m, pos);
        n = b[pos];
        if (pos + 1 + n > end) return truncated(m, pos);
        const s = decodeUtf8(b, pos + 1, pos + 1 + n, m);
        heights[sp] = 0;
        stack[sp++] = s;
        pos += 1 + n;
        break;
      }
      case 0x58: {
        // BINUNICODE
        if (pos + 4 > end) return truncated(m, pos);
        n = (b[pos] | (b[pos + 1] << 8) | (b[pos + 2] << 16) | (b[pos + 3] << 24)) >>> 0;
        pos += 4;
        if (n > end - pos) return truncated(m, pos);
        const s = decodeUtf8(b, pos, pos + n, m);
        heights[sp] = 0;
        stack[sp++] = s;
        pos += n;
        break;
      }
      case 0x43: // SHORT_BINBYTES
        if (pos >= end) return truncated(m, pos);
        n = b[pos++];
        if (n > end - pos) return truncated(m, pos);
        heights[sp] = 0;
        stack[sp++] = new Uint8Array(buffer, byteOffset + pos, n);
        pos += n;
        break;
      case 0x42: // BINBYTES
        if (pos + 4 > end) return truncated(m, pos);
        n = (b[pos] | (b[pos + 1] << 8) | (b[pos + 2] << 16) | (b[pos + 3] << 24)) >>> 0;
        pos += 4;
        if (n > end - pos) return truncated(m, pos);
        heights[sp] = 0;
        stack[sp++] = new Uint8Array(buffer, byteOffset + pos, n);
        pos += n;
        break;
      case 0x5d: // EMPTY_LIST
        if (--m.containerBudget < 0) return tooMany(m, pos);
        heights[sp] = 1;
        stack[sp++] = newList();
        break;
      case 0x7d: // EMPTY_DICT
        if (--m.containerBudget < 0) return tooMany(m, pos);
        heights[sp] = 1;
        stack[sp++] = new PyDict();
        break;
      case 0x29: // EMPTY_TUPLE
        if (--m.containerBudget < 0) return tooMany(m, pos);
        heights[sp] = 1;
        stack[sp++] = new PyTuple([]);
        break;
      case 0x8f: // EMPTY_SET
        if (--m.containerBudget < 0) return tooMany(m, pos);
        heights[sp] = 1;
        stack[sp++] = new PySet(false);
        break;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: {
        // TUPLE3
        n = op - 0x84;
        if (sp - n < fence) return underflow(m, op, pos, sp, fence);
        if (--m.containerBudget < 0) return tooMany(m, pos);
        const items = stack.slice(sp - n, sp);
        h = maxHeight(stack, heights, sp - n, sp) + 1;
        sp -= n;
        if (h > maxDepth) return tooDeep(m, pos);
        heights[sp] = h;
        stack[sp++] = new PyTuple(items);
        break;
      }
      case 0x28: // MARK
        if (pos < end && sp > fence && Array.isArray(stack[sp - 1])) {
          // MARK, numbers, APPENDS onto a list (a float or int list batch): straight into the list.
          const q = scalarRunEnd(b, pos, end);
          if (q > pos && q < end && b[q] === 0x65) {
            budget -= countScalarRun(b, pos, q) + 1;
            if (budget < 0) throw pickleError('PICKLE_LIMIT', `more than ${m.limits.maxItems} opcodes`, pos);
            appendScalarRun(b, dv, pos, q, stack[sp - 1] as PyValue[]);
            pos = q + 1;
            break;
          }
        }
        marks.push(sp);
        fence = sp;
        break;
      case 0x74: {
        // TUPLE
        if (marks.length === 0) return noMark(m, op, pos);
        if (--m.containerBudget < 0) return tooMany(m, pos);
        mark = marks.pop() as number;
        fence = marks.length > 0 ? marks[marks.length - 1] : 0;
        const items = stack.slice(mark, sp);
        h = maxHeight(stack, heights, mark, sp) + 1;
        sp = mark;
        if (h > maxDepth) return tooDeep(m, pos);
        heights[sp] = h;
        stack[sp++] = new PyTuple(items);
        break;
      }
      case 0x61: // APPEND
      case 0x73: // SETITEM
      case 0x65: // APPENDS
      case 0x75: // SETITEMS
      case 0x90: // ADDITEMS
        if (op === 0x61) mark = sp - 1;
        else if (op === 0x73) mark = sp - 2;
        else {
          if (marks.length === 0) return noMark(m, op, pos);
          mark = marks.pop() as number;
          fence = marks.length > 0 ? marks[marks.length - 1] : 0;
        }
        // CPython do_append / do_setitems / load_additems: the target sits above the fence.
        if (mark <= fence) return underflow(m, op, pos, sp, fence);
        if (sp === mark) break;
        target = stack[mark - 1];
        h = maxHeight(stack, heights, mark, sp) + 1;
        if (op === 0x61 || op === 0x65) {
          if (!Array.isArray(target)) {
            sync(m, pos, sp, fence);
            runColdOp(m, op, mark);
            sp = m.sp;
            break;
          }
          for (let i = mark; i < sp; i++) target.push(stack[i]);
        } else if (op === 0x73 || op === 0x75) {
          if ((sp - mark) & 1) {
            m.pos = pos;
            m.fail('PICKLE_MALFORMED', 'odd number of items for SETITEMS', pos - 1);
          }
          if (!(target instanceof PyDict)) {
            sync(m, pos, sp, fence);
            runColdOp(m, op, mark);
            sp = m.sp;
            break;
          }
          for (let i = mark; i < sp; i += 2) {
            const k = stack[i];
            if (typeof k === 'string') target.setStr(k, stack[i + 1]);
            else {
              m.guardKey(k);
              target.set(k, stack[i + 1]);
            }
          }
        } else {
          if (!(target instanceof PySet) || target.frozen) {
            sync(m, pos, sp, fence);
            runColdOp(m, op, mark);
            sp = m.sp;
            break;
          }
          for (let i = mark; i < sp; i++) {
            const k = stack[i];
            if (typeof k === 'object') m.guardKey(k);
            target.add(k);
          }
        }
        sp = mark;
        if (h > heights[mark - 1]) {
          if (h > maxDepth) return tooDeep(m, pos);
          heights[mark - 1] = h;
        }
        break;
      case 0x91: {
        // FROZENSET
        if (marks.length === 0) return noMark(m, op, pos);
        mark = marks.pop() as number;
        fence = marks.length > 0 ? marks[marks.length - 1] : 0;
        if (--m.containerBudget < 0) return tooMany(m, pos);
        const set = new PySet(true);
        for (let i = mark; i < sp; i++) {
          const k = stack[i];
          if (typeof k === 'object') m.guardKey(k);
          set.add(k);
        }
        h = maxHeight(stack, heights, mark, sp) + 1;
        sp = mark;
        if (h > maxDepth) return tooDeep(m, pos);
        heights[sp] = h;
        stack[sp++] = set;
        break;
      }
      case 0x94: // MEMOIZE
        if (sp <= fence) return underflow(m, op, pos, sp, fence);
        if (m.sparse === null) {
          if (memo.length >= maxMemo) return memoFull(m, pos);
          memo.push(stack[sp - 1]);
        } else {
          m.pos = pos;
          m.memoPut(m.memoCount(), stack[sp - 1]);
        }
        break;
      case 0x71: // BINPUT
        if (pos >= end) return truncated(m, pos);
        if (sp <= fence) return underflow(m, op, pos, sp, fence);
        m.pos = pos;
        m.memoPut(b[pos++], stack[sp - 1]);
        break;
      case 0x72: // LONG_BINPUT
        if (pos + 4 > end) return truncated(m, pos);
        if (sp <= fence) return underflow(m, op, pos, sp, fence);
        m.pos = pos;
        m.memoPut((b[pos] | (b[pos + 1] << 8) | (b[pos + 2] << 16) | (b[pos + 3] << 24)) >>> 0, stack[sp - 1]);
        pos += 4;
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        let idx: number;
        if (op === 0x68) {
          if (pos >= end) return truncated(m, pos);
          idx = b[pos++];
        } else {
          if (pos + 4 > end) return truncated(m, pos);
          idx = (b[pos] | (b[pos + 1] << 8) | (b[pos + 2] << 16) | (b[pos + 3] << 24)) >>> 0;
          pos += 4;
        }
        let v: PyValue | undefined = idx < memo.length ? memo[idx] : undefined;
        if (v === undefined) {
          m.pos = pos;
          v = m.memoGet(idx);
        }
        if (typeof v === 'object' && v !== null) {
          if (isContainer(v)) {
            m.shared = true;
            heights[sp] = 1;
          } else heights[sp] = 0;
        }
        stack[sp++] = v;
        break;
      }
      case 0x95: {
        // FRAME: the length must be present; frame boundaries themselves are not enforced (C unpickler).
        if (pos + 8 > end) return truncated(m, pos);
        const hi = dv.getUint32(pos + 4, true);
        const len = hi * 0x100000000 + dv.getUint32(pos, true);
        pos += 8;
        if (hi >= 0x200000 || len > end - pos) return truncated(m, pos);
        break;
      }
      case 0x80: // PROTO
        if (pos >= end) return truncated(m, pos);
        m.proto = b[pos++];
        if (m.proto > 5) {
          m.pos = pos;
          m.fail('PICKLE_PROTOCOL', `unsupported pickle protocol: ${m.proto}`, pos - 2);
        }
        break;
      case 0x2e: {
        // STOP
        if (sp <= fence) return underflow(m, op, pos, sp, fence);
        const result = stack[sp - 1];
        m.pos = pos;
        if (m.shared) checkDepth(result, maxDepth);
        return result;
      }
      default:
        sync(m, pos, sp, fence);
        runColdOp(m, op, 0);
        pos = m.pos;
        sp = m.sp;
        fence = m.fence;
    }
  }
}

function sync(m: Machine, pos: number, sp: number, fence: number): void {
  m.pos = pos;
  m.sp = sp;
  m.fence = fence;
}

/** Highest height of the containers in stack slots [from, to). */
function maxHeight(stack: PyValue[], heights: number[], from: number, to: number): number {
  let h = 0;
  for (let i = from; i < to; i++) {
    const v = stack[i];
    if (typeof v === 'object' && v !== null && heights[i] > h) h = heights[i];
  }
  return h;
}

function truncated(m: Machine, pos: number): never {
  m.pos = pos;
  return m.truncated();
}

function underflow(m: Machine, op: number, pos: number, sp: number, fence: number): never {
  sync(m, pos, sp, fence);
  return m.underflow(op);
}

function noMark(m: Machine, op: number, pos: number): never {
  m.pos = pos;
  m.popMark(op);
  throw new Error('unreachable');
}

function tooDeep(m: Machine, pos: number): never {
  m.pos = pos;
  return m.tooDeep();
}

function tooMany(m: Machine, pos: number): never {
  m.pos = pos;
  m.containerBudget = 0;
  m.countContainer();
  throw new Error('unreachable');
}

function memoFull(m: Machine, pos: number): never {
  m.pos = pos;
  return m.memoFull();
}
