/**
 * How the encoder writes the opcode that creates a `PyObject`: the same opcode the decoder read
 * it from, so the object's symbolic view (fixtures/README.md, `$object`) survives a round trip.
 * INST and OBJ are protocol 0/1 opcodes, but every unpickler reads them in a protocol 4 stream.
 */
import { pickleError } from './errors.js';
import { INST, MARK, NEWOBJ, NEWOBJ_EX, OBJ, REDUCE } from './opcodes.js';
import type { PickleWriter } from './pickle-writer.js';
import { PyGlobal, PyTuple, type PyObject, type PyValue } from './value.js';

/** The part of the encoder this needs: its output and its way to write any value. */
export interface ValueSaver {
  readonly w: PickleWriter;
  save(v: PyValue): void;
}

/**
 * Writes what leaves the new object on the stack (memo, items and states are the caller's).
 * Throws PICKLE_UNENCODABLE for an INST without a global and a tuple of arguments, or a name
 * that is not ASCII (unpicklers read INST names as ASCII lines), and for OBJ without a tuple.
 */
export function writeObjectCall(e: ValueSaver, o: PyObject): void {
  const w = e.w;
  switch (o.op) {
    case 'REDUCE':
      e.save(o.callable);
      e.save(o.args);
      w.byte(REDUCE);
      return;
    case 'NEWOBJ':
      e.save(o.callable);
      e.save(o.args);
      w.byte(NEWOBJ);
      return;
    case 'NEWOBJ_EX':
      e.save(o.callable);
      e.save(o.args);
      e.save(o.kwargs === undefined ? null : o.kwargs);
      w.byte(NEWOBJ_EX);
      return;
    case 'INST': {
      const g = o.callable;
      if (!(g instanceof PyGlobal) || !(o.args instanceof PyTuple)) {
        throw pickleError('PICKLE_UNENCODABLE', 'INST needs a global and a tuple of arguments');
      }
      w.byte(MARK);
      for (const a of o.args.items) e.save(a);
      w.byte(INST);
      w.asciiLine(g.module);
      w.asciiLine(g.name);
      return;
    }
    case 'OBJ':
      if (!(o.args instanceof PyTuple)) throw pickleError('PICKLE_UNENCODABLE', 'OBJ needs a tuple of arguments');
      w.byte(MARK);
      e.save(o.callable);
      for (const a of o.args.items) e.save(a);
      w.byte(OBJ);
      return;
    default:
      throw pickleError('PICKLE_UNENCODABLE', `unknown object op ${String(o.op)}`);
  }
}
