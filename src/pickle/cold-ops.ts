/**
 * The opcodes outside the hot loop: protocol 0 text forms, rarely used widths, stack
 * manipulation, globals, persistent ids and the object-building opcodes, which only record
 * what they were asked to do (`PyObject`), never call anything.
 *
 * Validation follows CPython's C unpickler where the pure-Python one is more lenient
 * (malformed.jsonl bad-01382: REDUCE of an int; bad-01383: NEWOBJ of an int; bad-01384: BUILD
 * on a list), and pyview.py's symbolic decoder for what an inert object records.
 */
import { asciiLineText, parseFloatLine, parseIntLine, parseLongLine, parseMemoIndexLine } from './text-literals.js';
import { parseStringLine, parseUnicodeLine, utf8LineText } from './text-literals.js';
import { readLong } from './long.js';
import type { Machine } from './machine.js';
import { OPCODE_NAMES } from './opcodes.js';
import { resolvePlainConstructor } from './plain-constructors.js';
import { decodeUtf8 } from './utf8.js';
import {
  PyByteArray,
  PyCodepointStr,
  PyDict,
  PyGlobal,
  PyObject,
  PyPersId,
  PySet,
  PyTuple,
  type PyObjectOp,
  type PyValue,
} from './value.js';

/** Runs one opcode on the synced machine. `mark` is the item start for the APPEND/SETITEM/ADDITEMS family. */
export function runColdOp(m: Machine, op: number, mark: number): void {
  switch (op) {
    case 0x61: // APPEND
    case 0x65: // APPENDS
      return appendToOther(m, op, mark);
    case 0x73: // SETITEM
    case 0x75: // SETITEMS
      return setItemsOnOther(m, op, mark);
    case 0x90: // ADDITEMS
      return addItemsToOther(m, op, mark);
    case 0x49: {
      // INT
      const [s, e] = m.readLine();
      if (e === s) m.truncated(); // CPython: a bare "\n" is bad_readline()
      return m.push(parseIntLine(m.bytes, s, e, m.limits.maxIntDigits), 0);
    }
    case 0x4c: {
      // LONG
      const [s, e] = m.readLine();
      if (e === s) m.truncated();
      return m.push(parseLongLine(m.bytes, s, e, m.limits.maxIntDigits), 0);
    }
    case 0x46: {
      // FLOAT
      const [s, e] = m.readLine();
      if (e === s) m.truncated();
      return m.push(parseFloatLine(m.bytes, s, e), 0);
    }
    case 0x53: {
      // STRING
      const [s, e] = m.readLine();
      return m.push(parseStringLine(m.bytes, s, e), 0);
    }
    case 0x56: {
      // UNICODE
      const [s, e] = m.readLine();
      return m.push(parseUnicodeLine(m.bytes, s, e), 0);
    }
    case 0x54: // BINSTRING (signed length)
    case 0x55: {
      // SHORT_BINSTRING: a Python 2 str, decoded as ASCII like CPython's default encoding
      const n = op === 0x55 ? m.bytes[m.take(1)] : m.takeLength(4, true);
      const at = m.take(n);
      return m.push(asciiLineText(m.bytes, at, at + n, 'BINSTRING'), 0);
    }
    case 0x8d: {
      // BINUNICODE8
      const n = m.takeLength(8, false);
      const at = m.take(n);
      return m.push(decodeUtf8(m.bytes, at, at + n, m), 0);
    }
    case 0x8e: {
      // BINBYTES8
      const n = m.takeLength(8, false);
      const at = m.take(n);
      return m.push(m.bytes.subarray(at, at + n), 0);
    }
    case 0x96: {
      // BYTEARRAY8: copied, a bytearray is mutable and must not alias the input frame
      const n = m.takeLength(8, false);
      const at = m.take(n);
      return m.push(new PyByteArray(m.bytes.slice(at, at + n)), 0);
    }
    case 0x8b: {
      // LONG4
      const n = m.takeLength(4, true);
      if (n > m.limits.maxLongBytes) m.fail('PICKLE_LIMIT', `LONG4 of ${n} bytes exceeds maxLongBytes`);
      const at = m.take(n);
      return m.push(readLong(m.bytes, m.data, at, n), 0);
    }
    case 0x97: // NEXT_BUFFER
      return m.fail('PICKLE_MALFORMED', 'NEXT_BUFFER: out-of-band buffers are not supported', m.pos - 1);
    case 0x98: {
      // READONLY_BUFFER: a no-op on bytes (plain-1528); CPython makes a memoryview of anything else
      const top = m.stack[m.topIndex(op)];
      if (!(top instanceof Uint8Array)) m.fail('PICKLE_MALFORMED', 'READONLY_BUFFER on a non-bytes value');
      return;
    }
    case 0x82: // EXT1
    case 0x83: // EXT2
    case 0x84: // EXT4
      return m.fail('PICKLE_BAD_OPCODE', `${OPCODE_NAMES.get(op)}: extension registry codes are refused`, m.pos - 1);
    case 0x30: // POP: pops the innermost MARK instead when it sits on top (CPython load_pop)
      if (m.marks.length > 0 && m.fence === m.sp) {
        m.popMark(op);
        return;
      }
      m.pop(op);
      return;
    case 0x31: // POP_MARK
      m.sp = m.popMark(op);
      return;
    case 0x32: {
      // DUP
      const i = m.topIndex(op);
      return m.pushShared(m.stack[i], m.heightAt(i));
    }
    case 0x6c: {
      // LIST
      const start = m.popMark(op);
      const items = m.stack.slice(start, m.sp);
      const h = m.maxHeight(start, m.sp) + 1;
      m.sp = start;
      return m.push(items, h);
    }
    case 0x64: {
      // DICT
      const start = m.popMark(op);
      if ((m.sp - start) & 1) m.fail('PICKLE_MALFORMED', 'odd number of items for DICT');
      const d = new PyDict();
      for (let i = start; i < m.sp; i += 2) {
        m.guardKey(m.stack[i]);
        d.set(m.stack[i], m.stack[i + 1]);
      }
      const h = m.maxHeight(start, m.sp) + 1;
      m.sp = start;
      return m.push(d, h);
    }
    case 0x67: {
      // GET
      const [s, e] = m.readLine();
      const idx = parseMemoIndexLine(m.bytes, s, e);
      if (idx < 0n || idx > 0xffffffffffffn) m.fail('PICKLE_MEMO', `memo value not found at index ${idx}`);
      const v = m.memoGet(Number(idx));
      return m.pushShared(v, isLeaf(v) ? 0 : 1);
    }
    case 0x70: {
      // PUT
      const [s, e] = m.readLine();
      const idx = parseMemoIndexLine(m.bytes, s, e);
      const top = m.stack[m.topIndex(op)];
      if (idx < 0n) m.fail('PICKLE_MALFORMED', 'negative PUT argument');
      if (idx > 0xffffffffffffn) m.fail('PICKLE_LIMIT', 'PUT index too large');
      return m.memoPut(Number(idx), top);
    }
    case 0x63: {
      // GLOBAL: names are UTF-8 lines
      const [ms, me] = m.readLine();
      const [ns, ne] = m.readLine();
      return m.push(makeGlobal(m, utf8LineText(m.bytes, ms, me), utf8LineText(m.bytes, ns, ne)), 0);
    }
    case 0x93: {
      // STACK_GLOBAL
      const name = m.pop(op);
      const module = m.pop(op);
      if (!isStr(module) || !isStr(name)) m.fail('PICKLE_MALFORMED', 'STACK_GLOBAL requires str');
      return m.push(makeGlobal(m, strText(module), strText(name)), 0);
    }
    case 0x52: {
      // REDUCE
      const h = m.maxHeight(m.sp - 2, m.sp) + 1;
      const args = m.pop(op);
      const callable = m.pop(op);
      requireCallable(m, callable, op);
      if (!(args instanceof PyTuple)) m.fail('PICKLE_MALFORMED', 'REDUCE: argument list must be a tuple');
      if (m.plainConstructors) {
        const plain = resolvePlainConstructor(callable, args, m.guardKey);
        if (plain !== undefined) return m.push(plain, isLeaf(plain) ? 0 : h);
      }
      return m.push(new PyObject('REDUCE', callable, args), h);
    }
    case 0x81: {
      // NEWOBJ
      const h = m.maxHeight(m.sp - 2, m.sp) + 1;
      const args = m.pop(op);
      const cls = m.pop(op);
      requireCallable(m, cls, op);
      if (!(args instanceof PyTuple)) m.fail('PICKLE_MALFORMED', 'NEWOBJ expected an arg tuple');
      return m.push(new PyObject('NEWOBJ', cls, args), h);
    }
    case 0x92: {
      // NEWOBJ_EX
      const h = m.maxHeight(m.sp - 3, m.sp) + 1;
      const kwargs = m.pop(op);
      const args = m.pop(op);
      const cls = m.pop(op);
      requireCallable(m, cls, op);
      if (!(args instanceof PyTuple)) m.fail('PICKLE_MALFORMED', 'NEWOBJ_EX args must be a tuple');
      if (!(kwargs instanceof PyDict)) m.fail('PICKLE_MALFORMED', 'NEWOBJ_EX kwargs must be a dict');
      return m.push(new PyObject('NEWOBJ_EX', cls, args, kwargs), h);
    }
    case 0x69: {
      // INST: (args... i module\n name\n
      const start = m.popMark(op);
      const [ms, me] = m.readLine();
      const [ns, ne] = m.readLine();
      const cls = makeGlobal(m, asciiLineText(m.bytes, ms, me, 'INST'), asciiLineText(m.bytes, ns, ne, 'INST'));
      return pushObjectFromMark(m, 'INST', cls, start, start);
    }
    case 0x6f: {
      // OBJ: (cls args... o
      const start = m.popMark(op);
      if (m.sp - start < 1) m.underflow(op);
      const cls = m.stack[start];
      requireCallable(m, cls, op);
      return pushObjectFromMark(m, 'OBJ', cls, start, start + 1);
    }
    case 0x62: {
      // BUILD
      if (m.sp - 2 < m.fence) m.underflow(op);
      const hState = m.heightAt(m.sp - 1) + 1;
      const state = m.pop(op);
      const i = m.sp - 1;
      const inst = m.stack[i];
      if (!(inst instanceof PyObject)) m.fail('PICKLE_MALFORMED', `BUILD on a ${describe(inst)}`);
      inst.state.push(state);
      return raiseHeight(m, i, hState);
    }
    case 0x50: {
      // PERSID
      const [s, e] = m.readLine();
      requirePersistentIds(m);
      return m.push(new PyPersId(asciiLineText(m.bytes, s, e, 'PERSID')), 1);
    }
    case 0x51: {
      // BINPERSID
      const i = m.topIndex(op);
      requirePersistentIds(m);
      const h = m.heightAt(i) + 1;
      const pid = m.pop(op);
      return m.push(new PyPersId(pid), h);
    }
  }
  m.fail('PICKLE_BAD_OPCODE', `invalid opcode 0x${op.toString(16).padStart(2, '0')}`, m.pos - 1);
}

function isLeaf(v: PyValue): boolean {
  return !(Array.isArray(v) || v instanceof PyDict || v instanceof PyTuple || v instanceof PySet);
}

function isStr(v: PyValue): v is string | PyCodepointStr {
  return typeof v === 'string' || v instanceof PyCodepointStr;
}

function strText(v: string | PyCodepointStr): string {
  return typeof v === 'string' ? v : String.fromCodePoint(...v.codepoints);
}

function describe(v: PyValue): string {
  return Array.isArray(v) ? 'list' : v === null ? 'None' : typeof v === 'object' ? v.constructor.name : typeof v;
}

function makeGlobal(m: Machine, module: string, name: string): PyGlobal {
  if (m.allowGlobal !== undefined && !m.allowGlobal(module, name)) {
    m.fail('PICKLE_FORBIDDEN', `global ${module}.${name} is not allowed`);
  }
  return new PyGlobal(module, name);
}

function requirePersistentIds(m: Machine): void {
  if (!m.allowPersistentIds) m.fail('PICKLE_FORBIDDEN', 'persistent ids are not allowed');
}

/** What CPython could call: a class or function reference, or something built from one. */
function requireCallable(m: Machine, v: PyValue, op: number): void {
  if (v instanceof PyGlobal || v instanceof PyObject || v instanceof PyPersId) return;
  m.fail('PICKLE_MALFORMED', `${OPCODE_NAMES.get(op)}: a ${describe(v)} is not callable`);
}

function pushObjectFromMark(m: Machine, op: PyObjectOp, cls: PyValue, start: number, argsFrom: number): void {
  const args = new PyTuple(m.stack.slice(argsFrom, m.sp));
  const h = m.maxHeight(start, m.sp) + 2;
  m.sp = start;
  m.push(new PyObject(op, cls, args), h);
}

/** Sets slot `i`'s height to at least `h`, enforcing the depth limit. */
function raiseHeight(m: Machine, i: number, h: number): void {
  if (h > m.heights[i]) {
    m.heights[i] = h;
    if (h > m.limits.maxDepth) m.tooDeep();
  }
}

function appendToOther(m: Machine, op: number, mark: number): void {
  const i = mark - 1;
  const target = m.stack[i];
  if (!(target instanceof PyObject)) m.fail('PICKLE_MALFORMED', `${OPCODE_NAMES.get(op)} on a ${describe(target)}`);
  const h = m.maxHeight(mark, m.sp) + 1;
  for (let k = mark; k < m.sp; k++) target.listitems.push(m.stack[k]);
  m.sp = mark;
  raiseHeight(m, i, h);
}

/** SETITEM(S) on a recorded object, or `list[i] = v` as CPython's PyObject_SetItem allows. */
function setItemsOnOther(m: Machine, op: number, mark: number): void {
  const i = mark - 1;
  const target = m.stack[i];
  const h = m.maxHeight(mark, m.sp) + 1;
  if (target instanceof PyObject) {
    for (let k = mark; k < m.sp; k += 2) target.dictitems.push([m.stack[k], m.stack[k + 1]]);
  } else if (Array.isArray(target)) {
    for (let k = mark; k < m.sp; k += 2) {
      const key = m.stack[k];
      let idx = typeof key === 'bigint' ? key : typeof key === 'boolean' ? BigInt(key) : null;
      if (idx === null) m.fail('PICKLE_MALFORMED', 'list indices must be integers');
      if (idx < 0n) idx += BigInt(target.length);
      if (idx < 0n || idx >= BigInt(target.length)) m.fail('PICKLE_MALFORMED', 'list assignment index out of range');
      target[Number(idx)] = m.stack[k + 1];
    }
  } else {
    m.fail('PICKLE_MALFORMED', `${OPCODE_NAMES.get(op)} on a ${describe(target)}`);
  }
  m.sp = mark;
  raiseHeight(m, i, h);
}

function addItemsToOther(m: Machine, op: number, mark: number): void {
  const i = mark - 1;
  const target = m.stack[i];
  if (!(target instanceof PyObject)) m.fail('PICKLE_MALFORMED', `${OPCODE_NAMES.get(op)} on a ${describe(target)}`);
  const h = m.maxHeight(mark, m.sp) + 1;
  for (let k = mark; k < m.sp; k++) target.setitems.push(m.stack[k]);
  m.sp = mark;
  raiseHeight(m, i, h);
}
