/**
 * Python str as code points. A Python str is a JS `string` unless it holds a high surrogate
 * followed by a low one as two code points, which only `PyCodepointStr` can keep apart
 * (value.ts). Indexing, length and iteration here count code points, as Python does.
 */
import { PyCodepointStr, type PyValue } from '../pickle/index.js';

export type PyStr = string | PyCodepointStr;

export function isPyStr(v: PyValue): v is PyStr {
  return typeof v === 'string' || v instanceof PyCodepointStr;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** Whether a JS string needs code point handling (it has astral characters or lone surrogates). */
export function hasSurrogates(s: string): boolean {
  return SURROGATE.test(s);
}

/** The code points of a Python str. */
export function codepointsOf(v: PyStr): number[] {
  if (typeof v !== 'string') return [...v.codepoints];
  const out: number[] = [];
  for (const ch of v) out.push(ch.codePointAt(0) as number);
  return out;
}

/** The Python str made of `cps`: a JS string, or a PyCodepointStr when a split surrogate pair must survive. */
export function strFromCodepoints(cps: readonly number[]): PyStr {
  for (let i = 0; i + 1 < cps.length; i++) {
    if (cps[i] >= 0xd800 && cps[i] <= 0xdbff && cps[i + 1] >= 0xdc00 && cps[i + 1] <= 0xdfff) {
      return new PyCodepointStr([...cps]);
    }
  }
  let s = '';
  for (let i = 0; i < cps.length; i += 4096) s += String.fromCodePoint(...cps.slice(i, i + 4096));
  return s;
}

/** `len(s)`. */
export function pyStrLength(v: PyStr): number {
  if (typeof v !== 'string') return v.codepoints.length;
  if (!hasSurrogates(v)) return v.length;
  let n = 0;
  for (const _ of v) n++;
  return n;
}

/** The one-character strs of `s`, in order (`list(s)`). */
export function pyStrChars(v: PyStr): string[] {
  if (typeof v !== 'string') return v.codepoints.map((c) => String.fromCodePoint(c));
  return hasSurrogates(v) ? [...v] : v.split('');
}

/** Python's code point order (JS `<` compares UTF-16 units, which differs above U+FFFF). */
export function compareStr(a: PyStr, b: PyStr): number {
  if (typeof a === 'string' && typeof b === 'string' && !hasSurrogates(a) && !hasSurrogates(b)) {
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const x = codepointsOf(a);
  const y = codepointsOf(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return x.length - y.length;
}
