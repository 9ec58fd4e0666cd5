/**
 * Fast paths of the decode loop that need helpers of their own: a MARK, a run of numbers and
 * APPENDS onto a list (how CPython writes every batch of a float or int list) go straight into
 * the list, and new lists are made so that V8 can keep floats unboxed.
 */
import { pyInt, type PyValue } from './value.js';

/** Argument size of the opcodes a scalar run may hold (BINFLOAT, BININT1/2, BININT, NONE, NEWTRUE/FALSE); -1 otherwise. */
const SCALAR_ARG = new Int8Array(256).fill(-1);
SCALAR_ARG[0x47] = 8;
SCALAR_ARG[0x4b] = 1;
SCALAR_ARG[0x4d] = 2;
SCALAR_ARG[0x4a] = 4;
SCALAR_ARG[0x4e] = 0;
SCALAR_ARG[0x88] = 0;
SCALAR_ARG[0x89] = 0;

/** End of the run of complete scalar opcodes starting at `pos`. */
export function scalarRunEnd(b: Uint8Array, pos: number, end: number): number {
  let q = pos;
  while (q < end) {
    const a = SCALAR_ARG[b[q]];
    if (a < 0 || q + 1 + a > end) return q;
    q += 1 + a;
  }
  return q;
}

export function countScalarRun(b: Uint8Array, pos: number, q: number): number {
  let n = 0;
  for (let p = pos; p < q; p += 1 + SCALAR_ARG[b[p]]) n++;
  return n;
}

export function appendScalarRun(b: Uint8Array, dv: DataView, pos: number, q: number, list: PyValue[]): void {
  let p = pos;
  while (p < q) {
    while (p < q && b[p] === 0x47) {
      list.push(dv.getFloat64(p + 1, false));
      p += 9;
    }
    if (p >= q) break;
    switch (b[p]) {
      case 0x47:
        list.push(dv.getFloat64(p + 1, false));
        p += 9;
        break;
      case 0x4b:
        list.push(pyInt(b[p + 1]));
        p += 2;
        break;
      case 0x4d:
        list.push(pyInt(b[p + 1] | (b[p + 2] << 8)));
        p += 3;
        break;
      case 0x4a:
        list.push(pyInt(b[p + 1] | (b[p + 2] << 8) | (b[p + 3] << 16) | (b[p + 4] << 24)));
        p += 5;
        break;
      case 0x4e:
        list.push(null);
        p += 1;
        break;
      default:
        list.push(b[p] === 0x88);
        p += 1;
    }
  }
}

const NO_ITEMS: PyValue[] = [];

/**
 * A new empty list without an allocation site: a `[]` literal here would learn "holds objects"
 * from the first dict-heavy pickle and then box every float of a later float list; a list
 * made by `slice` starts as small ints and moves to unboxed doubles when a float arrives.
 */
export function newList(): PyValue[] {
  return NO_ITEMS.slice();
}
