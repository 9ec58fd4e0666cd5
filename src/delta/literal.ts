/**
 * `ast.literal_eval` for the tokens of a delta path (DELTA-SEMANTICS.md §3 step 2), restricted
 * to what the value model holds: ints in any base with underscores, floats, signed numbers,
 * True/False/None, str/bytes literals (the tokenizer never passes a backslash here), tuples,
 * lists, dicts, sets and `set()`. Anything Python would reject with ValueError/SyntaxError
 * returns `LITERAL_FAILED`, and the caller falls back to the raw text, as deepdiff does.
 * Complex numbers and `...` also return `LITERAL_FAILED`: Python evaluates them, but no path
 * DeepDiff writes contains them and the value model has no complex type.
 */
import { PyDict, PySet, PyTuple, UnhashableError, pyInt, type PyValue } from '../pickle/index.js';
import { PyExc } from './py-ops.js';
import { MAX_INT_STR_DIGITS } from './py-repr.js';

export const LITERAL_FAILED: unique symbol = Symbol('literal_eval failed');

class Fail extends Error {}

/** Nesting bound: CPython's parser gives up ("too many nested parentheses") at 200. */
const MAX_NESTING = 200;

const NUMBER =
  /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:[0-9](?:_?[0-9])*)?\.?(?:[0-9](?:_?[0-9])*)?(?:[eE][+-]?[0-9](?:_?[0-9])*)?[jJ]?)/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const STRING_PREFIX = /^(?:[rRuU]|[bB][rR]?|[rR][bB])?$/;

class Parser {
  pos = 0;
  constructor(readonly src: string) {}

  fail(): never {
    throw new Fail();
  }

  /** Skips spaces, tabs, form feeds, comments, and newlines when inside brackets. */
  skip(inBrackets: boolean): void {
    const s = this.src;
    for (;;) {
      const c = s[this.pos];
      if (c === ' ' || c === '\t' || c === '\f') this.pos++;
      else if (c === '#') {
        while (this.pos < s.length && s[this.pos] !== '\n' && s[this.pos] !== '\r') this.pos++;
      } else if ((c === '\n' || c === '\r') && inBrackets) this.pos++;
      else return;
    }
  }

  /** A top-level expression: one value, or a tuple when commas separate several. */
  parseTop(): PyValue {
    this.skip(false);
    const first = this.parseValue(0, false);
    this.skip(false);
    let result: PyValue = first;
    if (this.src[this.pos] === ',') {
      const items = [first];
      while (this.src[this.pos] === ',') {
        this.pos++;
        this.skip(false);
        if (this.atEnd()) break;
        items.push(this.parseValue(0, false));
        this.skip(false);
      }
      result = new PyTuple(items);
    }
    // Trailing newlines (and comments on them) are allowed in eval mode.
    while (this.src[this.pos] === '\n' || this.src[this.pos] === '\r') {
      this.pos++;
      this.skip(false);
    }
    if (this.pos !== this.src.length) this.fail();
    return result;
  }

  atEnd(): boolean {
    const c = this.src[this.pos];
    return c === undefined || c === '\n' || c === '\r';
  }

  /** Whether the value just parsed is a numeric constant node (the only thing a sign may apply to). */
  bare = false;

  parseValue(depth: number, inBrackets: boolean): PyValue {
    if (depth > MAX_NESTING) this.fail();
    this.skip(inBrackets);
    const s = this.src;
    const c = s[this.pos];
    this.bare = false;
    if (c === '+' || c === '-') {
      this.pos++;
      // literal_eval allows one sign on a numeric constant only; parentheses add no node (`-(3)`).
      const v = this.parseValue(depth + 1, inBrackets);
      if (!this.bare) this.fail();
      this.bare = false;
      if (c === '+') return v;
      return typeof v === 'bigint' ? -v : -(v as number);
    }
    if (c === '(' || c === '[' || c === '{') return this.parseContainer(c, depth);
    if (c === "'" || c === '"') return this.parseString('');
    if (c !== undefined && /[0-9.]/.test(c)) return this.parseNumber();
    const m = NAME.exec(s.slice(this.pos));
    if (m !== null) {
      const name = m[0];
      const next = s[this.pos + name.length];
      if ((next === "'" || next === '"') && STRING_PREFIX.test(name)) {
        this.pos += name.length;
        return this.parseString(name);
      }
      this.pos += name.length;
      if (name === 'True') return true;
      if (name === 'False') return false;
      if (name === 'None') return null;
      if (name === 'set') {
        this.skip(inBrackets);
        if (s[this.pos] === '(') {
          this.pos++;
          this.skip(true);
          if (s[this.pos] === ')') {
            this.pos++;
            return new PySet(false);
          }
        }
      }
    }
    return this.fail();
  }

  parseNumber(): PyValue {
    const s = this.src.slice(this.pos);
    const m = NUMBER.exec(s);
    const text = m === null ? '' : m[0];
    if (text === '' || text === '.') this.fail();
    const after = s[text.length];
    if (after !== undefined && /[A-Za-z0-9_.]/.test(after)) this.fail();
    this.pos += text.length;
    if (/[jJ]$/.test(text)) this.fail(); // complex
    this.bare = true;
    const clean = text.replace(/_/g, '');
    if (/^0[xXoObB]/.test(clean)) return BigInt(clean);
    if (/[.eE]/.test(clean)) {
      if (!/[0-9]/.test(clean.split(/[eE]/)[0])) this.fail();
      return Number(clean);
    }
    // Decimal ints: no leading zeros except for zero itself ("007" is a SyntaxError).
    if (/^0+[1-9]/.test(clean)) this.fail();
    if (clean.length > MAX_INT_STR_DIGITS) this.fail();
    return clean.length < 16 ? pyInt(Number(clean)) : BigInt(clean);
  }

  parseString(prefix: string): PyValue {
    const s = this.src;
    const q = s[this.pos];
    const end = s.indexOf(q, this.pos + 1);
    if (end < 0) this.fail();
    const body = s.slice(this.pos + 1, end);
    if (/[\n\r\\\0]/.test(body)) this.fail();
    this.pos = end + 1;
    if (/b/i.test(prefix)) {
      for (let i = 0; i < body.length; i++) if (body.charCodeAt(i) > 0x7f) this.fail();
      return Uint8Array.from(body, (ch) => ch.charCodeAt(0));
    }
    return body;
  }

  parseContainer(open: string, depth: number): PyValue {
    const close = open === '(' ? ')' : open === '[' ? ']' : '}';
    this.pos++;
    const items: PyValue[] = [];
    const values: PyValue[] = [];
    let isDict: boolean | undefined;
    let sawComma = false;
    let innerBare = false;
    this.skip(true);
    while (this.src[this.pos] !== close) {
      const item = this.parseValue(depth + 1, true);
      innerBare = this.bare;
      this.skip(true);
      if (open === '{') {
        const colon = this.src[this.pos] === ':';
        if (isDict === undefined) isDict = colon;
        else if (isDict !== colon) this.fail();
        if (colon) {
          this.pos++;
          values.push(this.parseValue(depth + 1, true));
          this.skip(true);
        }
      }
      items.push(item);
      if (this.src[this.pos] === ',') {
        sawComma = true;
        this.pos++;
        this.skip(true);
      } else if (this.src[this.pos] !== close) this.fail();
    }
    this.pos++;
    this.bare = false;
    if (open === '(') {
      if (items.length === 1 && !sawComma) {
        this.bare = innerBare;
        return items[0];
      }
      return new PyTuple(items);
    }
    if (open === '[') return items;
    if (items.length === 0) return new PyDict();
    try {
      if (isDict === true) return PyDict.from(items.map((k, i) => [k, values[i]] as [PyValue, PyValue]));
      return new PySet(false, items);
    } catch (e) {
      // Not a ValueError/SyntaxError: deepdiff does not catch it, so it escapes the path parser.
      if (e instanceof UnhashableError) throw new PyExc('TypeError', e.message);
      throw e;
    }
  }
}

/**
 * `ast.literal_eval(text)`, or `LITERAL_FAILED` where Python raises ValueError/SyntaxError.
 * Throws `PyExc` TypeError for an unhashable set element or dict key (`{{}}`), which Python
 * raises past deepdiff's `except (ValueError, SyntaxError)`.
 */
export function literalEval(text: string): PyValue | typeof LITERAL_FAILED {
  // literal_eval strips leading spaces and tabs before parsing (Lib/ast.py).
  const src = text.replace(/^[ \t]+/, '');
  if (/[\uD800-\uDFFF]/.test(src.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))) return LITERAL_FAILED;
  try {
    return new Parser(src).parseTop();
  } catch (e) {
    if (e instanceof Fail) return LITERAL_FAILED;
    throw e;
  }
}
