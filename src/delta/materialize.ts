/**
 * What deepdiff's restricted unpickler makes of the inert records `decodePickle` returns for a
 * delta pickle (DELTA-SEMANTICS.md §2): `BINPERSID '<<NoneType>>'` is `type(None)`, any other
 * persistent id is `None`, the global `builtins.None` is `None`, an `Opcode` built by NEWOBJ is a
 * named tuple (kept as its record, checked the way `Opcode.__new__` checks its arguments), and
 * an allow-listed builtin type called through REDUCE/NEWOBJ is the value it returns.
 *
 * Python runs these calls while unpickling, so one that raises makes `Delta(bytes)` raise:
 * `DELTA_REJECTED`. A call Python would answer with an object the value model has no place for
 * (a Decimal, a datetime, an OrderedDict, ...) is `DELTA_UNSUPPORTED`.
 */
import { PyByteArray, PyDict, PyGlobal, PyObject, PyPersId, PySet, PyTuple, type PyValue } from '../pickle/index.js';
import { canonicalGlobalName } from './allow-list.js';
import { NONE_TYPE, callType, callTypeNoArgs } from './convert.js';
import type { DeltaError } from './errors.js';
import { deltaError } from './errors.js';
import { PyExc } from './py-ops.js';
import type { DeltaOpcode } from './types.js';

/** The fields of `deepdiff.helper.Opcode`, in order; the last two default to None. */
export const OPCODE_FIELDS = [
  'tag',
  't1_from_index',
  't1_to_index',
  't2_from_index',
  't2_to_index',
  'old_values',
  'new_values',
] as const;
const OPCODE_REQUIRED = 5;

function rejected(message: string, pyType = 'TypeError'): DeltaError {
  return deltaError('DELTA_REJECTED', message, pyType);
}

/** Whether `o` is a `deepdiff.helper.Opcode` record. */
export function isOpcodeObject(o: PyValue): o is PyObject {
  return (
    o instanceof PyObject &&
    o.callable instanceof PyGlobal &&
    o.callable.module === 'deepdiff.helper' &&
    o.callable.name === 'Opcode'
  );
}

/** `Opcode.__new__(cls, *args, **kwargs)` argument checks. */
function checkOpcode(o: PyObject): void {
  if (!(o.args instanceof PyTuple)) throw rejected('Opcode arguments are not a tuple', 'UnpicklingError');
  const given = new Set<string>(OPCODE_FIELDS.slice(0, o.args.items.length));
  if (o.args.items.length > OPCODE_FIELDS.length) throw rejected('Opcode takes at most 7 arguments');
  if (o.kwargs !== undefined && o.kwargs !== null) {
    if (!(o.kwargs instanceof PyDict)) throw rejected('Opcode keyword arguments are not a dict', 'UnpicklingError');
    for (const k of o.kwargs.keys()) {
      if (typeof k !== 'string' || !(OPCODE_FIELDS as readonly string[]).includes(k) || given.has(k)) {
        throw rejected('Opcode got an unexpected or repeated keyword argument');
      }
      given.add(k);
    }
  }
  for (const f of OPCODE_FIELDS.slice(0, OPCODE_REQUIRED))
    if (!given.has(f)) throw rejected('Opcode missing arguments');
  // BUILD on a named tuple needs `__dict__`, which it has not; APPENDS/SETITEMS/ADDITEMS need methods it has not.
  if (o.state.some((s) => s !== null)) throw rejected('Opcode has no __dict__', 'AttributeError');
  if (o.listitems.length > 0 || o.dictitems.length > 0 || o.setitems.length > 0) {
    throw rejected('Opcode cannot take items', 'AttributeError');
  }
}

/** Field `name` of an Opcode record (positional, keyword, or the None default). */
export function opcodeField(o: PyObject, index: number): PyValue {
  const args = (o.args as PyTuple).items;
  if (index < args.length) return args[index];
  if (o.kwargs instanceof PyDict) {
    const v = o.kwargs.get(OPCODE_FIELDS[index]);
    if (v !== undefined) return v;
  }
  return null;
}

/** The record view of an Opcode object. */
export function toDeltaOpcode(o: PyObject): DeltaOpcode {
  return {
    tag: opcodeField(o, 0),
    t1FromIndex: opcodeField(o, 1),
    t1ToIndex: opcodeField(o, 2),
    t2FromIndex: opcodeField(o, 3),
    t2ToIndex: opcodeField(o, 4),
    oldValues: opcodeField(o, 5),
    newValues: opcodeField(o, 6),
  };
}

const MUTABLE_RESULTS = new Set(['builtins.list', 'builtins.dict', 'builtins.set']);

/** The value of an allow-listed builtin called through REDUCE/NEWOBJ/NEWOBJ_EX. */
function callBuiltin(
  o: PyObject,
  callable: PyGlobal,
  build: (v: PyValue) => PyValue,
  register: (result: PyValue) => void,
): PyValue {
  const name = canonicalGlobalName(callable.module, callable.name);
  if (!(o.args instanceof PyTuple)) throw rejected('call arguments are not a tuple', 'UnpicklingError');
  if (o.kwargs instanceof PyDict && o.kwargs.size > 0) throw deltaError('DELTA_UNSUPPORTED', `${name} with keywords`);
  const args = o.args.items.map(build);
  let result: PyValue;
  try {
    // `list.__new__`, `dict.__new__` and `set.__new__` ignore their arguments (NEWOBJ skips __init__);
    // INST and OBJ call the class with its arguments, like REDUCE (`_pickle.c` `instantiate`).
    if ((o.op === 'NEWOBJ' || o.op === 'NEWOBJ_EX') && MUTABLE_RESULTS.has(name)) result = callTypeNoArgs(callable);
    else if (args.length === 0) result = callTypeNoArgs(callable);
    else if (args.length === 1) result = callType(callable, args[0]);
    else throw deltaError('DELTA_UNSUPPORTED', `${name} called with ${args.length} arguments`);
  } catch (e) {
    if (e instanceof PyExc) throw rejected(e.message, e.pyType);
    throw e;
  }
  // Items appended after construction may refer back to the object itself.
  register(result);
  if (o.state.some((s) => s !== null))
    throw rejected(`'${callable.name}' object has no attribute '__dict__'`, 'AttributeError');
  for (const item of o.listitems) {
    if (!Array.isArray(result)) throw rejected(`'${callable.name}' object has no attribute 'append'`, 'AttributeError');
    result.push(build(item));
  }
  for (const [k, v] of o.dictitems) {
    if (!(result instanceof PyDict)) throw rejected(`'${callable.name}' object does not support item assignment`);
    result.set(build(k), build(v));
  }
  for (const item of o.setitems) {
    if (!(result instanceof PySet) || result.frozen) {
      throw rejected(`'${callable.name}' object has no attribute 'add'`, 'AttributeError');
    }
    result.add(build(item));
  }
  return result;
}

/**
 * Resolves the inert records of a decoded delta pickle in place (containers keep their
 * identity, so memo sharing and cycles survive). Throws `DeltaError`.
 */
export function materializeDelta(root: PyValue): PyValue {
  const done = new Map<object, PyValue>();
  const build = (v: PyValue): PyValue => {
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array || v instanceof PyByteArray) return v;
    const seen = done.get(v);
    if (seen !== undefined) return seen;
    if (v instanceof PyPersId) return v.pid === '<<NoneType>>' ? NONE_TYPE : null;
    if (v instanceof PyGlobal) {
      return canonicalGlobalName(v.module, v.name) === 'builtins.None' ? null : v;
    }
    if (Array.isArray(v)) {
      done.set(v, v);
      for (let i = 0; i < v.length; i++) v[i] = build(v[i]);
      return v;
    }
    if (v instanceof PyTuple) {
      done.set(v, v);
      for (let i = 0; i < v.items.length; i++) v.items[i] = build(v.items[i]);
      return v;
    }
    if (v instanceof PyDict) {
      done.set(v, v);
      let keysChanged = false;
      for (const [k, val] of v.entries()) {
        if (build(k) !== k) keysChanged = true;
        const nv = build(val);
        // Replacing the value of an existing key keeps its slot and does not disturb iteration.
        if (nv !== val && !keysChanged) v.set(k, nv);
      }
      if (keysChanged) {
        // Memoised, so building again returns the same results.
        const next = [...v.entries()].map(([k, val]): [PyValue, PyValue] => [build(k), build(val)]);
        v.clear();
        for (const [k, val] of next) v.set(k, val);
      }
      return v;
    }
    if (v instanceof PySet) {
      done.set(v, v);
      const items = [...v.values()];
      const next = items.map(build);
      if (next.some((x, i) => x !== items[i])) {
        for (const x of items) v.delete(x);
        for (const x of next) v.add(x);
      }
      return v;
    }
    if (v instanceof PyObject) {
      const callable = build(v.callable);
      if (!(callable instanceof PyGlobal))
        throw rejected(`'${callable === null ? 'NoneType' : 'object'}' is not callable`);
      v.callable = callable;
      if (isOpcodeObject(v)) {
        done.set(v, v);
        v.args = build(v.args);
        if (v.kwargs !== undefined) v.kwargs = build(v.kwargs);
        checkOpcode(v);
        return v;
      }
      const name = canonicalGlobalName(callable.module, callable.name);
      if (
        name.startsWith('builtins.') &&
        name !== 'builtins.range' &&
        name !== 'builtins.complex' &&
        name !== 'builtins.slice'
      ) {
        return callBuiltin(v, callable, build, (result) => done.set(v, result));
      }
      throw deltaError('DELTA_UNSUPPORTED', `${name} objects are not part of the value model`);
    }
    return v;
  };
  return build(root);
}
