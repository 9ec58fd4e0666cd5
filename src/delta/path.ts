/**
 * deepdiff's `_path_to_elements`: a report path string such as `root['a'][3]` to its elements
 * (DELTA-SEMANTICS.md §3). Reproduces deepdiff's scanner, quirks included, not a Python parser:
 *
 * - the first four characters are dropped, whatever they are (`path[4:]`);
 * - a quote opens a quoted section that only the same quote closes, and closing it ends the
 *   token at once (`['it''s']` gives `it` and `s`; `root["both ' and ""]` gives `both ' and `
 *   and `"]`, tgt-0530);
 * - `[` inside a subscript is an ordinary character and does not nest: the next `]` ends it;
 * - a token with a backslash is taken verbatim minus one pair of matching outer quotes;
 *   otherwise it is `literal_eval`ed, falling back to the same verbatim rule;
 * - a raw token starting with `__` is dropped (`ignore_private_variables`).
 */
import { PyCodepointStr, pyInt, type PyValue } from '../pickle/index.js';
import { LITERAL_FAILED, literalEval } from './literal.js';
import { PyExc } from './py-ops.js';
import { codepointsOf, strFromCodepoints, type PyStr } from './py-str.js';

/** One step of a path: `obj[key]` (GET) or `getattr(obj, key)` (GETATTR). */
export interface PathElement {
  readonly key: PyValue;
  readonly attr: boolean;
}

/** The `('root', GETATTR)` element every parsed path starts with. */
export const ROOT_ELEMENT: PathElement = Object.freeze({ key: 'root', attr: true });

/** U+1D1BA U+1D165 U+1D16F: deepdiff's marker for "take this token verbatim". */
const VERBATIM_MARKER = '\u{1D1BA}\u{1D165}\u{1D16F}';

const SMALL_INT = /^-?(?:0|[1-9][0-9]{0,14})$/;

const QUOTE_1 = 0x27;
const QUOTE_2 = 0x22;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const DOT = 0x2e;

/** deepdiff `_add_to_elements`: turns one raw token into a key (or drops it). */
function toKey(raw: PyStr): PyValue | undefined {
  const cps = typeof raw === 'string' ? null : raw.codepoints;
  const length = cps === null ? (raw as string).length : cps.length;
  if (length === 0) return undefined;
  const at = (i: number): number => (cps === null ? (raw as string).charCodeAt(i) : cps[i]);
  if (at(0) === 0x5f && length > 1 && at(1) === 0x5f) return undefined;
  const first = at(0);
  const last = at(length - 1);
  const quoted = (first === QUOTE_1 || first === QUOTE_2) && first === last;
  // A token that starts and ends with the same quote holds no other such quote (the scanner closed
  // it there), so literal_eval and the verbatim fallback both give the text between the quotes.
  if (quoted) {
    if (cps === null) return (raw as string).slice(1, Math.max(1, length - 1));
    return strFromCodepoints(cps.slice(1, Math.max(1, length - 1)));
  }
  const text = typeof raw === 'string' ? raw : null;
  if (text === null || text.includes('\\') || text.includes(VERBATIM_MARKER)) return raw;
  // Fast path for the common index token; literal_eval gives the same int.
  if (SMALL_INT.test(text)) return pyInt(Number(text));
  const v = literalEval(text);
  return v === LITERAL_FAILED ? raw : v;
}

type Slice = (from: number, to: number) => PyStr;

/**
 * Scans `path` into elements, `ROOT_ELEMENT` first. Throws `PyExc` where deepdiff's parser
 * raises (a path that is not a str: `None` for unrepresentable keys, tgt-0731; an unhashable
 * literal).
 */
export function parsePath(path: PyValue): PathElement[] {
  if (typeof path === 'string') {
    return scan(
      path.length,
      (i) => path.charCodeAt(i),
      (a, b) => path.slice(a, b),
    );
  }
  if (path instanceof PyCodepointStr) {
    const cps = codepointsOf(path);
    return scan(
      cps.length,
      (i) => cps[i],
      (a, b) => strFromCodepoints(cps.slice(a, b)),
    );
  }
  const what = path === null ? "'NoneType' object is not subscriptable" : 'path is not a str';
  throw new PyExc('TypeError', what);
}

/**
 * Parsed paths from which deepdiff's scanner dropped a `__` token: `root.__class__` reads as
 * `root`, so such a path does not say what its text says (the strict reader refuses them).
 */
const DROPPED_PRIVATE = new WeakSet<readonly PathElement[]>();

/** Whether parsing dropped a raw token starting with `__` from the path these elements came from. */
export function droppedPrivateToken(elements: readonly PathElement[]): boolean {
  return DROPPED_PRIVATE.has(elements);
}

function scan(length: number, at: (i: number) => number, slice: Slice): PathElement[] {
  const elements: PathElement[] = [ROOT_ELEMENT];
  let inside: 0 | typeof OPEN | typeof DOT = 0;
  let bracketDepth = 0;
  let inQuotes = false;
  let quote = 0;
  let start = 4;
  const add = (from: number, to: number): void => {
    if (to <= from) return;
    const key = toKey(slice(from, to));
    if (key !== undefined) elements.push({ key, attr: inside === DOT });
    else DROPPED_PRIVATE.add(elements);
  };
  for (let i = 4; i < length; i++) {
    const c = at(i);
    if (c === QUOTE_1 || c === QUOTE_2) {
      if (!(inQuotes && quote !== c)) {
        inQuotes = !inQuotes;
        if (inQuotes) quote = c;
        else {
          add(start, i + 1);
          start = i + 1;
          quote = 0;
        }
      }
    } else if (inQuotes) {
      continue;
    } else if (c === OPEN) {
      if (inside === DOT) {
        add(start, i);
        inside = OPEN;
        start = i + 1;
      } else if (inside !== OPEN) {
        inside = OPEN;
        bracketDepth++;
        start = i + 1;
      }
    } else if (c === DOT) {
      if (inside === DOT) {
        add(start, i);
        start = i + 1;
      } else if (inside !== OPEN) {
        inside = DOT;
        start = i + 1;
      }
    } else if (c === CLOSE) {
      if (bracketDepth > 0) bracketDepth--;
      if (bracketDepth === 0) {
        add(start, i);
        start = i + 1;
        inside = 0;
      }
    }
  }
  add(start, length);
  return elements;
}

const CACHE_LIMIT = 4096;
const cache = new Map<string, PathElement[]>();

/**
 * `parsePath` with a bounded cache for str paths, as deepdiff's `lru_cache` on
 * `_path_to_elements`. Callers must not mutate the returned array.
 */
export function parsePathCached(path: PyValue): PathElement[] {
  if (typeof path !== 'string') return parsePath(path);
  let hit = cache.get(path);
  if (hit === undefined) {
    hit = parsePath(path);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(path, hit);
  }
  return hit;
}
