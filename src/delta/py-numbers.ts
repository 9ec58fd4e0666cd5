/**
 * Python's text to number parsing for `int(x)` and `float(x)` (DELTA-SEMANTICS.md §7):
 * surrounding whitespace (Unicode spaces too), Unicode decimal digits (`int('\u0663') == 3`),
 * underscores between digits (`int('1_000')`, `float(' 1_000 ')`), `inf`/`nan` spellings, and
 * the 4300-digit limit of CPython 3.11. Mirrors `_PyUnicode_TransformDecimalAndSpaceToASCII`,
 * `PyLong_FromString` and `_Py_string_to_number_with_underscores`.
 */
import { PyExc } from './py-ops.js';
import { reprBytes, reprStr, MAX_INT_STR_DIGITS } from './py-repr.js';
import { codepointsOf, type PyStr } from './py-str.js';

const UNICODE_SPACES = new Set([
  0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028,
  0x2029, 0x202f, 0x205f, 0x3000,
]);
const DECIMAL_DIGIT = /^\p{Nd}$/u;

function isNd(cp: number): boolean {
  return cp >= 0 && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) && DECIMAL_DIGIT.test(String.fromCodePoint(cp));
}

/**
 * The value of a Unicode decimal digit, or -1. Every run of `Nd` code points in Unicode starts at
 * a zero and holds whole 0..9 sequences, so the value is the distance from the run start mod 10.
 */
export function decimalValue(cp: number): number {
  if (cp >= 0x30 && cp <= 0x39) return cp - 0x30;
  if (cp < 0x80 || !isNd(cp)) return -1;
  let start = cp;
  while (isNd(start - 1)) start--;
  return (cp - start) % 10;
}

/**
 * `_PyUnicode_TransformDecimalAndSpaceToASCII`: ASCII stays, Unicode spaces become ' ', Unicode
 * digits become ASCII digits; anything else ends the text with '?' (an invalid character).
 */
function transformToAscii(cps: readonly number[]): string {
  let out = '';
  for (const c of cps) {
    if (c < 127) out += String.fromCharCode(c);
    else if (UNICODE_SPACES.has(c)) out += ' ';
    else {
      const d = decimalValue(c);
      if (d < 0) return out + '?';
      out += String.fromCharCode(0x30 + d);
    }
  }
  return out;
}

/** `Py_ISSPACE`: the C locale's whitespace (no \x1c-\x1f, unlike `str.isspace`). */
const ASCII_SPACE = /^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g;
const INT_BODY = /^[+-]?[0-9](?:_?[0-9])*$/;

function parseIntAscii(text: string): bigint | undefined {
  const t = text.replace(ASCII_SPACE, '');
  if (!INT_BODY.test(t)) return undefined;
  const digits = t.replace(/[+_-]/g, '');
  if (digits.length > MAX_INT_STR_DIGITS) {
    throw new PyExc(
      'ValueError',
      `Exceeds the limit (${MAX_INT_STR_DIGITS} digits) for integer string conversion: value has ${digits.length} digits; use sys.set_int_max_str_digits() to increase the limit`,
    );
  }
  return BigInt(t.replace(/_/g, ''));
}

/** `int(s)` for a str. */
export function intFromStr(s: PyStr): bigint {
  const n = parseIntAscii(transformToAscii(codepointsOf(s)));
  if (n === undefined) throw new PyExc('ValueError', `invalid literal for int() with base 10: ${reprStr(s)}`);
  return n;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

/** `int(b)` for bytes / bytearray (ASCII only, no Unicode digits). */
export function intFromBytes(b: Uint8Array): bigint {
  const n = b.includes(0) ? undefined : parseIntAscii(latin1(b));
  if (n === undefined) throw new PyExc('ValueError', `invalid literal for int() with base 10: ${reprBytes(b)}`);
  return n;
}

const FLOAT_BODY = /^[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)$/i;

/** `_Py_string_to_number_with_underscores`: an underscore must sit between two digits. */
function dropUnderscores(text: string): string | undefined {
  if (!text.includes('_')) return text;
  let out = '';
  let prev = '';
  for (const ch of text) {
    const isDigit = ch >= '0' && ch <= '9';
    if (ch === '_') {
      if (!(prev >= '0' && prev <= '9' && prev !== '')) return undefined;
    } else {
      out += ch;
      if (prev === '_' && !isDigit) return undefined;
    }
    prev = ch;
  }
  return prev === '_' ? undefined : out;
}

function parseFloatAscii(text: string): number | undefined {
  const clean = dropUnderscores(text);
  if (clean === undefined) return undefined;
  const t = clean.replace(ASCII_SPACE, '');
  if (!FLOAT_BODY.test(t)) return undefined;
  const lower = t.toLowerCase();
  const sign = lower.startsWith('-') ? -1 : 1;
  const body = lower.replace(/^[+-]/, '');
  if (body === 'inf' || body === 'infinity') return sign * Infinity;
  if (body === 'nan') return NaN;
  return Number(t);
}

/** `float(s)` for a str. */
export function floatFromStr(s: PyStr): number {
  const x = parseFloatAscii(transformToAscii(codepointsOf(s)));
  if (x === undefined) throw new PyExc('ValueError', `could not convert string to float: ${reprStr(s)}`);
  return x;
}

/** `float(b)` for bytes / bytearray. */
export function floatFromBytes(b: Uint8Array): number {
  const x = b.includes(0) ? undefined : parseFloatAscii(latin1(b));
  if (x === undefined) throw new PyExc('ValueError', `could not convert string to float: ${reprBytes(b)}`);
  return x;
}

/** `float(n)` for an int: correctly rounded (ties to even), OverflowError past the double range. */
export function floatFromInt(n: bigint): number {
  const x = Number(n);
  if (!Number.isFinite(x)) throw new PyExc('OverflowError', 'int too large to convert to float');
  return x;
}

/** `int(x)` for a float: truncation; NaN and infinities raise. */
export function intFromFloat(x: number): bigint {
  if (Number.isNaN(x)) throw new PyExc('ValueError', 'cannot convert float NaN to integer');
  if (!Number.isFinite(x)) throw new PyExc('OverflowError', 'cannot convert float infinity to integer');
  return BigInt(Math.trunc(x));
}
