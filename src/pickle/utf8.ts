/**
 * Text decoding for the pickle reader: UTF-8 with Python's `surrogatepass` error handler (what
 * CPython's BINUNICODE* opcodes use), plus the fast paths for short and ASCII strings.
 */
import { pickleError } from './errors.js';
import { PyCodepointStr } from './value.js';

// ignoreBOM: a leading U+FEFF is part of a Python str, not a marker to strip.
const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strings up to this many bytes are built in JS; longer ones go through native decoders. */
const SHORT_STRING_BYTES = 24;

/**
 * Recently decoded short ASCII strings by a hash of their bytes. Dict keys repeat across the
 * nodes of a scene (`name`, `location`, ...); reusing one string saves the allocation and lets
 * Map lookups use its cached hash. Bounded: 4096 strings of at most 24 characters.
 */
const CACHE_MASK = 4095;
const asciiCache: (string | undefined)[] = new Array<string | undefined>(CACHE_MASK + 1).fill(undefined);

/**
 * The str a BINUNICODE payload `bytes[start, end)` encodes: standard UTF-8, except that an
 * encoded surrogate (`ED A0 80` ...) decodes to that lone surrogate, as Python's
 * `surrogatepass` does (DELTA-SEMANTICS.md §10; plain-1546). A high surrogate directly followed
 * by a low one gives a `PyCodepointStr`, since a JS string would merge the two.
 * Throws PICKLE_MALFORMED for anything else that is not UTF-8 (overlong, > U+10FFFF, cut
 * short: bad-01405..bad-01408).
 */
export function decodeUtf8(
  bytes: Uint8Array,
  start: number,
  end: number,
  source: { readonly text: Buffer },
): string | PyCodepointStr {
  const n = end - start;
  if (n <= SHORT_STRING_BYTES) {
    // Hash and ASCII check in one pass; a hit reuses the string (and V8's cached hash of it).
    let h = n;
    let i = start;
    for (; i < end; i++) {
      const c = bytes[i];
      if (c >= 0x80) break;
      h = (Math.imul(h, 31) + c) | 0;
    }
    if (i === end) {
      const slot = (h ^ (h >>> 11)) & CACHE_MASK;
      const hit = asciiCache[slot];
      if (hit !== undefined && hit.length === n) {
        let k = 0;
        while (k < n && hit.charCodeAt(k) === bytes[start + k]) k++;
        if (k === n) return hit;
      }
      const s = shortAscii(bytes, start, n);
      asciiCache[slot] = s;
      return s;
    }
  }
  if (n > SHORT_STRING_BYTES && isAscii(bytes, start, end)) return source.text.toString('latin1', start, end);
  try {
    return fatalDecoder.decode(bytes.subarray(start, end));
  } catch {
    // Encoded surrogates are invalid for TextDecoder; take the slow, exact path.
    return decodeSurrogatepass(bytes, start, end);
  }
}

function isAscii(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] >= 0x80) return false;
  return true;
}

const fcc = String.fromCharCode;

/** A short ASCII string without a native call (the common dict key). */
function shortAscii(b: Uint8Array, s: number, n: number): string {
  switch (n) {
    case 0:
      return '';
    case 1:
      return fcc(b[s]);
    case 2:
      return fcc(b[s], b[s + 1]);
    case 3:
      return fcc(b[s], b[s + 1], b[s + 2]);
    case 4:
      return fcc(b[s], b[s + 1], b[s + 2], b[s + 3]);
    case 5:
      return fcc(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4]);
    case 6:
      return fcc(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5]);
    case 7:
      return fcc(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5], b[s + 6]);
    case 8:
      return fcc(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5], b[s + 6], b[s + 7]);
  }
  // No `subarray` here: on a Node Buffer it goes through Symbol.species and cost ~8 µs a string.
  let out = fcc(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5], b[s + 6], b[s + 7]);
  for (let i = s + 8; i < s + n; i++) out += fcc(b[i]);
  return out;
}

function invalid(at: number): never {
  throw pickleError('PICKLE_MALFORMED', 'invalid UTF-8 in a BINUNICODE string', at);
}

/** Code points of `bytes[start, end)` under UTF-8 + surrogatepass, or a throw at the first bad byte. */
export function utf8Codepoints(bytes: Uint8Array, start: number, end: number): number[] {
  const out: number[] = [];
  let i = start;
  while (i < end) {
    const b0 = bytes[i];
    if (b0 < 0x80) {
      out.push(b0);
      i++;
      continue;
    }
    let need: number;
    let cp: number;
    let min: number;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      need = 1;
      cp = b0 & 0x1f;
      min = 0x80;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      cp = b0 & 0x0f;
      min = 0x800;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      cp = b0 & 0x07;
      min = 0x10000;
    } else {
      invalid(i);
    }
    if (i + need >= end) invalid(i);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if ((c & 0xc0) !== 0x80) invalid(i);
      cp = (cp << 6) | (c & 0x3f);
    }
    // Surrogates (U+D800..U+DFFF) are exactly what surrogatepass lets through.
    if (cp < min || cp > 0x10ffff) invalid(i);
    out.push(cp);
    i += need + 1;
  }
  return out;
}

function decodeSurrogatepass(bytes: Uint8Array, start: number, end: number): string | PyCodepointStr {
  return codepointsToValue(utf8Codepoints(bytes, start, end));
}

/** A str from code points: `PyCodepointStr` iff a high surrogate is directly followed by a low one. */
export function codepointsToValue(cps: number[]): string | PyCodepointStr {
  for (let i = 0; i + 1 < cps.length; i++) {
    if (cps[i] >= 0xd800 && cps[i] <= 0xdbff && cps[i + 1] >= 0xdc00 && cps[i + 1] <= 0xdfff) {
      return new PyCodepointStr(cps);
    }
  }
  let s = '';
  for (let i = 0; i < cps.length; i += 4096) s += String.fromCodePoint(...cps.slice(i, i + 4096));
  return s;
}
