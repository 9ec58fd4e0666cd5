/**
 * The text arguments of protocol 0 opcodes (INT, LONG, FLOAT, STRING, UNICODE, GET/PUT), read
 * exactly as CPython's C unpickler reads them (Modules/_pickle.c `load_int`, `load_long`,
 * `load_float`, `load_string`, `load_unicode`), not as the pure-Python `pickle.py` does: the
 * plain.jsonl `legacy_or_odd` lines record where the two differ, and `pickle.loads` is the C one.
 *
 * Each function gets the line without its `\n`. CPython copies the line with its `\n` into a
 * NUL-terminated buffer, so an embedded NUL ends the text early; that is reproduced here.
 */
import { pickleError } from './errors.js';
import { codepointsToValue } from './utf8.js';
import type { PyCodepointStr } from './value.js';

function bad(what: string, at: number): never {
  throw pickleError('PICKLE_MALFORMED', `bad ${what} text`, at);
}

/** The line as a JS string (one char per byte) followed by the `\n` CPython keeps. */
function lineText(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i += 4096) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(end, i + 4096)) as unknown as number[]);
  }
  return s + '\n';
}

/** C strings stop at NUL. */
function cString(text: string): string {
  const z = text.indexOf('\0');
  return z < 0 ? text : text.slice(0, z);
}

const PY_SPACE = /^[ \t\n\r\v\f]*/;
const PY_TRAILING_SPACE = /[ \t\n\r\v\f]*$/;
const BASE0_HEX = /^0[xX](?:_?[0-9a-fA-F])+$/;
const BASE0_OCT = /^0[oO](?:_?[0-7])+$/;
const BASE0_BIN = /^0[bB](?:_?[01])+$/;
const BASE0_DEC = /^(?:[1-9](?:_?[0-9])*|0(?:_?0)*)$/;
const BASE10 = /^[0-9](?:_?[0-9])*$/;

/**
 * CPython's `PyLong_FromString(text, NULL, base)` for base 0 or 10: surrounding whitespace,
 * a sign, underscores between digits, and for base 0 the `0x`/`0o`/`0b` prefixes (a decimal
 * with a leading zero is refused). Returns null where CPython raises ValueError. Decimal text
 * longer than `maxDigits` throws PICKLE_LIMIT, as CPython's int_max_str_digits does.
 */
export function pyLongFromString(text: string, base: 0 | 10, maxDigits: number, at: number): bigint | null {
  let s = cString(text);
  s = s.slice(PY_SPACE.exec(s)![0].length);
  s = s.slice(0, s.length - PY_TRAILING_SPACE.exec(s)![0].length);
  let neg = false;
  if (s[0] === '+' || s[0] === '-') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  let digits: string;
  let prefix = '';
  if (base === 10) {
    if (!BASE10.test(s)) return null;
    digits = s;
  } else if (BASE0_HEX.test(s)) {
    prefix = '0x';
    digits = s.slice(2);
  } else if (BASE0_OCT.test(s)) {
    prefix = '0o';
    digits = s.slice(2);
  } else if (BASE0_BIN.test(s)) {
    prefix = '0b';
    digits = s.slice(2);
  } else if (BASE0_DEC.test(s)) {
    digits = s;
  } else {
    return null;
  }
  digits = digits.replace(/_/g, '');
  if (prefix === '' && digits.length > maxDigits) {
    throw pickleError('PICKLE_LIMIT', `integer text has more than ${maxDigits} digits`, at);
  }
  const v = BigInt(prefix + digits);
  return neg ? -v : v;
}

const C_SPACE = /^[ \t\n\r\v\f]*/;
const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);

/** glibc `strtol(text, &end, 0)`: the value and the index `end` points at (0 when nothing was read). */
function cStrtol(text: string): { value: bigint; end: number; overflow: boolean } {
  let i = C_SPACE.exec(text)![0].length;
  let neg = false;
  if (text[i] === '+' || text[i] === '-') {
    neg = text[i] === '-';
    i++;
  }
  let re = /^[0-9]+/;
  let radix = '';
  if (text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X') && /[0-9a-fA-F]/.test(text[i + 2] ?? '')) {
    i += 2;
    re = /^[0-9a-fA-F]+/;
    radix = '0x';
  } else if (text[i] === '0') {
    re = /^[0-7]+/;
    radix = '0o';
  }
  const m = re.exec(text.slice(i));
  if (m === null) return { value: 0n, end: 0, overflow: false };
  let value = BigInt(radix + m[0]);
  if (neg) value = -value;
  return { value, end: i + m[0].length, overflow: value > LONG_MAX || value < LONG_MIN };
}

/**
 * INT (`I...\n`): `strtol` with base 0, so `I010` is octal 8 and `I0x10` is 16 (plain-1506,
 * plain-1507); a two-character text reading 0 or 1 is a bool (`I01`, `I00`); anything strtol
 * cannot take whole falls back to Python's int() (bad-01411: beyond 64 bits).
 */
export function parseIntLine(bytes: Uint8Array, start: number, end: number, maxDigits: number): bigint | boolean {
  const text = lineText(bytes, start, end);
  const r = cStrtol(text);
  const stop = text[r.end];
  if (r.overflow || (stop !== '\n' && stop !== '\0')) {
    const v = pyLongFromString(text, 0, maxDigits, start);
    if (v === null) bad('INT', start);
    return v;
  }
  if (end - start === 2 && (r.value === 0n || r.value === 1n)) return r.value === 1n;
  return r.value;
}

/** LONG (`L...L\n`): Python's int() with base 0 after dropping one trailing `L` (plain-1513..1515). */
export function parseLongLine(bytes: Uint8Array, start: number, end: number, maxDigits: number): bigint {
  let text = lineText(bytes, start, end);
  if (end > start && bytes[end - 1] === 0x4c /* L */) text = text.slice(0, end - start - 1);
  const v = pyLongFromString(text, 0, maxDigits, start);
  if (v === null) bad('LONG', start);
  return v;
}

/** GET / PUT index: Python's int() with base 10. */
export function parseMemoIndexLine(bytes: Uint8Array, start: number, end: number): bigint {
  const v = pyLongFromString(lineText(bytes, start, end), 10, 4300, start);
  if (v === null) bad('memo index', start);
  return v;
}

const FLOAT_TEXT = /^[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)$/i;

/**
 * FLOAT (`F...\n`): `PyOS_string_to_double`: no surrounding whitespace, no underscores (bad-01413),
 * inf/infinity/nan in any case, and a finite text that overflows is an error (OverflowError).
 */
export function parseFloatLine(bytes: Uint8Array, start: number, end: number): number {
  const text = cString(lineText(bytes, start, end).slice(0, -1));
  if (!FLOAT_TEXT.test(text)) bad('FLOAT', start);
  const lower = text.toLowerCase().replace(/^[+-]/, '');
  const neg = text[0] === '-';
  if (lower === 'nan') return NaN;
  if (lower === 'inf' || lower === 'infinity') return neg ? -Infinity : Infinity;
  const v = Number(text);
  if (!Number.isFinite(v)) throw pickleError('PICKLE_MALFORMED', 'FLOAT text overflows a double', start);
  return v;
}

const SIMPLE_ESCAPES: Record<string, number> = {
  '\\': 0x5c,
  "'": 0x27,
  '"': 0x22,
  b: 0x08,
  f: 0x0c,
  t: 0x09,
  n: 0x0a,
  r: 0x0d,
  v: 0x0b,
  a: 0x07,
};

/**
 * STRING (`S'...'\n`, a Python 2 str): outer quotes required, bytes-literal escapes
 * (`PyBytes_DecodeEscape`, unknown escapes kept as written), then ASCII, the unpickler's
 * default encoding (plain-1501..1503, bad-01415..bad-01417).
 */
export function parseStringLine(bytes: Uint8Array, start: number, end: number): string {
  const n = end - start;
  const q = bytes[start];
  if (n < 2 || bytes[end - 1] !== q || (q !== 0x27 && q !== 0x22)) {
    throw pickleError('PICKLE_MALFORMED', 'the STRING opcode argument must be quoted', start);
  }
  const out: number[] = [];
  const hex = (c: number): number =>
    c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 87 : c >= 0x41 && c <= 0x46 ? c - 55 : 16;
  let i = start + 1;
  const stop = end - 1;
  while (i < stop) {
    const c = bytes[i++];
    if (c !== 0x5c) {
      out.push(c);
      continue;
    }
    if (i === stop) bad('STRING (trailing backslash)', i);
    const e = bytes[i++];
    const simple = SIMPLE_ESCAPES[String.fromCharCode(e)];
    if (simple !== undefined) {
      out.push(simple);
    } else if (e >= 0x30 && e <= 0x37) {
      let v = e - 0x30;
      for (let k = 0; k < 2 && i < stop && bytes[i] >= 0x30 && bytes[i] <= 0x37; k++) v = (v << 3) + bytes[i++] - 0x30;
      out.push(v & 0xff);
    } else if (e === 0x78 /* x */) {
      if (i + 1 >= stop) bad('STRING (\\x escape)', i);
      const d1 = hex(bytes[i]);
      const d2 = hex(bytes[i + 1]);
      if (d1 > 15 || d2 > 15) bad('STRING (\\x escape)', i);
      out.push((d1 << 4) | d2);
      i += 2;
    } else {
      out.push(0x5c);
      i--;
    }
  }
  for (const b of out) if (b >= 0x80) throw pickleError('PICKLE_MALFORMED', 'STRING is not ASCII', start);
  let s = '';
  for (let k = 0; k < out.length; k += 4096) s += String.fromCharCode(...out.slice(k, k + 4096));
  return s;
}

/**
 * UNICODE (`V...\n`): raw-unicode-escape. Bytes are latin-1 code points; only `\uXXXX` and
 * `\UXXXXXXXX` are escapes (any other backslash is literal, a trailing one too); escaped
 * surrogates stay separate code points (plain-1519, plain-1520, bad-01418).
 */
export function parseUnicodeLine(bytes: Uint8Array, start: number, end: number): string | PyCodepointStr {
  const cps: number[] = [];
  let i = start;
  while (i < end) {
    const c = bytes[i++];
    if (c !== 0x5c || i === end) {
      cps.push(c);
      continue;
    }
    const e = bytes[i++];
    const count = e === 0x75 /* u */ ? 4 : e === 0x55 /* U */ ? 8 : 0;
    if (count === 0) {
      cps.push(0x5c, e);
      continue;
    }
    let cp = 0;
    for (let k = 0; k < count; k++) {
      const h = i < end ? bytes[i] : -1;
      const d =
        h >= 0x30 && h <= 0x39 ? h - 0x30 : h >= 0x61 && h <= 0x66 ? h - 87 : h >= 0x41 && h <= 0x46 ? h - 55 : -1;
      if (d < 0) bad('UNICODE (truncated escape)', i);
      cp = cp * 16 + d;
      i++;
    }
    if (cp > 0x10ffff) bad('UNICODE (escape out of range)', i);
    cps.push(cp);
  }
  return codepointsToValue(cps);
}

/** GLOBAL module/name lines: strict UTF-8 (no surrogates). */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function utf8LineText(bytes: Uint8Array, start: number, end: number): string {
  try {
    return strictUtf8.decode(bytes.subarray(start, end));
  } catch {
    bad('GLOBAL name (not UTF-8)', start);
  }
}

/** INST names and PERSID ids: ASCII only, as CPython decodes them. */
export function asciiLineText(bytes: Uint8Array, start: number, end: number, what: string): string {
  for (let i = start; i < end; i++) if (bytes[i] >= 0x80) bad(`${what} (not ASCII)`, i);
  return lineText(bytes, start, end).slice(0, -1);
}
