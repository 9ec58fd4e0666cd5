/**
 * Python's `json` module, as the add-on uses it for chat and tasks (REPLICATION-PROTOCOL.md §7.2,
 * §7.3): `json.loads` with its default (C scanner) rules, and `json.dumps` with its default
 * output — separators `', '` and `': '`, `ensure_ascii=True`, `allow_nan=True`. The text we hand
 * back to the stock add-on must be what CPython would have written (checked against CPython in
 * test/session/py-json.test.ts).
 *
 * Values use the pickle value model: JSON ints are Python ints (`bigint`) and JSON floats are
 * `number`s (`1` and `1.0` stay different, as `json.loads` keeps them), objects are `PyDict`s.
 */
import { pyFloatRepr, PyCodepointStr, PyDict, PyTuple, type PyValue } from '../pickle/index.js';
import { sessionError } from './errors.js';

export interface PyJsonLimits {
  /** Nesting of arrays and objects. CPython stops near its recursion limit (~1000); chat needs 3. */
  maxDepth: number;
  /** Digits of one integer literal: CPython's `int()` refuses more than 4300 (`sys.int_info`). */
  maxIntDigits: number;
}

export const DEFAULT_PY_JSON_LIMITS: Readonly<PyJsonLimits> = Object.freeze({ maxDepth: 64, maxIntDigits: 4300 });

// ------------------------------------------------------------------------------------------ dumps

/** Printable ASCII except `"` and `\`: written as is (Python's `ESCAPE_ASCII` = `([\\"]|[^\ -~])`). */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

const SHORT_ESCAPES: Record<number, string> = {
  0x22: '\\"',
  0x5c: '\\\\',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
};

/** `py_encode_basestring_ascii`: every UTF-16 code unit outside printable ASCII as `\uXXXX` (lowercase hex). */
function quote(s: string): string {
  if (PLAIN.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const short = SHORT_ESCAPES[c];
    if (short !== undefined) out += short;
    else if (c >= 0x20 && c <= 0x7e) out += s[i];
    else out += '\\u' + c.toString(16).padStart(4, '0');
  }
  return out + '"';
}

/** A str held as code points: astral ones become surrogate pairs, exactly as `ensure_ascii` writes them. */
function codepointText(v: PyCodepointStr): string {
  let s = '';
  for (const cp of v.codepoints) {
    if (cp < 0x10000) s += String.fromCharCode(cp);
    else s += String.fromCharCode(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
  }
  return s;
}

/** `float.__repr__` with json's names for the non-finite values. */
function floatText(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return pyFloatRepr(x);
}

/** A dict key as json.dumps converts it (str, float, True/False/None, int; anything else is a TypeError). */
function keyText(k: PyValue): string {
  if (typeof k === 'string') return quote(k);
  if (k instanceof PyCodepointStr) return quote(codepointText(k));
  if (typeof k === 'number') return quote(floatText(k));
  if (k === true) return '"true"';
  if (k === false) return '"false"';
  if (k === null) return '"null"';
  if (typeof k === 'bigint') return quote(k.toString());
  throw sessionError('SESSION_JSON_TYPE', 'keys must be str, int, float, bool or None');
}

function dumpValue(v: PyValue, depth: number, maxDepth: number): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return quote(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      return floatText(v);
  }
  if (v instanceof PyCodepointStr) return quote(codepointText(v));
  if (depth >= maxDepth) throw sessionError('SESSION_JSON_LIMIT', `nested deeper than ${maxDepth}`);
  if (Array.isArray(v) || v instanceof PyTuple) {
    const items = Array.isArray(v) ? v : v.items;
    if (items.length === 0) return '[]';
    return '[' + items.map((item) => dumpValue(item, depth + 1, maxDepth)).join(', ') + ']';
  }
  if (v instanceof PyDict) {
    if (v.size === 0) return '{}';
    const parts: string[] = [];
    for (const [k, item] of v.entries()) parts.push(`${keyText(k)}: ${dumpValue(item, depth + 1, maxDepth)}`);
    return '{' + parts.join(', ') + '}';
  }
  throw sessionError('SESSION_JSON_TYPE', 'value is not JSON serializable');
}

/**
 * `json.dumps(v)` with Python's defaults. Throws `SessionError` `SESSION_JSON_TYPE` for values
 * Python would refuse with `TypeError` (bytes, sets, opaque objects, tuple keys) and
 * `SESSION_JSON_LIMIT` past `maxDepth` (Python would raise `RecursionError` further on).
 */
export function pyJsonDumps(v: PyValue, limits: Partial<PyJsonLimits> = {}): string {
  return dumpValue(v, 0, limits.maxDepth ?? DEFAULT_PY_JSON_LIMITS.maxDepth);
}

// ------------------------------------------------------------------------------------------ loads

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
const WS = /[ \t\n\r]*/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

class Scanner {
  pos = 0;
  constructor(
    readonly text: string,
    readonly limits: PyJsonLimits,
  ) {}

  fail(what: string): never {
    throw sessionError('SESSION_JSON_SYNTAX', `${what} at char ${this.pos}`);
  }

  skipWs(): void {
    WS.lastIndex = this.pos;
    WS.exec(this.text);
    this.pos = WS.lastIndex;
  }

  literal(word: string, value: PyValue): PyValue {
    if (!this.text.startsWith(word, this.pos)) this.fail('Expecting value');
    this.pos += word.length;
    return value;
  }

  value(depth: number): PyValue {
    const c = this.text[this.pos];
    switch (c) {
      case '"':
        return this.string();
      case '{':
        return this.object(depth + 1);
      case '[':
        return this.array(depth + 1);
      case 'n':
        return this.literal('null', null);
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'N':
        return this.literal('NaN', NaN);
      case 'I':
        return this.literal('Infinity', Infinity);
    }
    if (c === '-' && this.text.startsWith('-Infinity', this.pos)) {
      this.pos += 9;
      return -Infinity;
    }
    return this.number();
  }

  number(): PyValue {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (m === null) this.fail('Expecting value');
    this.pos = NUMBER.lastIndex;
    if (m[1] === undefined && m[2] === undefined) {
      const digits = m[0].length - (m[0].startsWith('-') ? 1 : 0);
      if (digits > this.limits.maxIntDigits) {
        throw sessionError('SESSION_JSON_LIMIT', `an int of ${digits} digits exceeds ${this.limits.maxIntDigits}`);
      }
      return BigInt(m[0]);
    }
    // Both Python's float() and Number() round correctly, and overflow to infinity alike.
    return Number(m[0]);
  }

  string(): string {
    this.pos += 1;
    let out = '';
    for (;;) {
      let end = this.pos;
      for (let c = this.text.charCodeAt(end); c >= 0x20 && c !== 0x22 && c !== 0x5c;) {
        c = this.text.charCodeAt(++end);
      }
      out += this.text.slice(this.pos, end);
      this.pos = end;
      const c = this.text[this.pos];
      if (c === '"') {
        this.pos += 1;
        return out;
      }
      if (c === undefined) this.fail('Unterminated string');
      if (c !== '\\') this.fail('Invalid control character');
      const e = this.text[this.pos + 1];
      if (e === 'u') {
        const hex = this.text.slice(this.pos + 2, this.pos + 6);
        if (!HEX4.test(hex)) this.fail('Invalid \\uXXXX escape');
        // Escaped surrogate pairs need no joining: UTF-16 code units concatenate into the same str.
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += 6;
        continue;
      }
      const simple = e === undefined ? undefined : SIMPLE_ESCAPES[e];
      if (simple === undefined) this.fail('Invalid \\escape');
      out += simple;
      this.pos += 2;
    }
  }

  array(depth: number): PyValue[] {
    this.checkDepth(depth);
    this.pos += 1;
    const items: PyValue[] = [];
    this.skipWs();
    if (this.text[this.pos] === ']') {
      this.pos += 1;
      return items;
    }
    for (;;) {
      this.skipWs();
      items.push(this.value(depth));
      this.skipWs();
      const c = this.text[this.pos];
      this.pos += 1;
      if (c === ']') return items;
      if (c !== ',') this.fail("Expecting ',' delimiter");
    }
  }

  object(depth: number): PyDict {
    this.checkDepth(depth);
    this.pos += 1;
    // Python builds a dict: a repeated key keeps its first position and takes the last value.
    const d = new PyDict();
    this.skipWs();
    if (this.text[this.pos] === '}') {
      this.pos += 1;
      return d;
    }
    for (;;) {
      this.skipWs();
      if (this.text[this.pos] !== '"') this.fail('Expecting property name enclosed in double quotes');
      const key = this.string();
      this.skipWs();
      if (this.text[this.pos] !== ':') this.fail("Expecting ':' delimiter");
      this.pos += 1;
      this.skipWs();
      d.set(key, this.value(depth));
      this.skipWs();
      const c = this.text[this.pos];
      this.pos += 1;
      if (c === '}') return d;
      if (c !== ',') this.fail("Expecting ',' delimiter");
    }
  }

  checkDepth(depth: number): void {
    if (depth > this.limits.maxDepth) {
      throw sessionError('SESSION_JSON_LIMIT', `nested deeper than ${this.limits.maxDepth}`);
    }
  }
}

/**
 * `json.loads(text)` with Python's defaults (strict control characters, `NaN` / `Infinity`
 * accepted, a leading BOM refused). Throws `SessionError`: `SESSION_JSON_SYNTAX` where Python
 * raises `JSONDecodeError`, `SESSION_JSON_LIMIT` past the bounds. Never anything else.
 *
 * One known difference: an escaped high surrogate followed by an unescaped low one is a pair of
 * code points in Python but joins into one character here (JS strings are UTF-16).
 */
export function pyJsonLoads(text: string, limits: Partial<PyJsonLimits> = {}): PyValue {
  const s = new Scanner(text, { ...DEFAULT_PY_JSON_LIMITS, ...limits });
  if (text.charCodeAt(0) === 0xfeff) s.fail('Unexpected UTF-8 BOM');
  s.skipWs();
  const value = s.value(0);
  s.skipWs();
  if (s.pos !== text.length) s.fail('Extra data');
  return value;
}
