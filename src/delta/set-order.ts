/**
 * CPython's iteration order of a set, for conversions that expose it (`list(s)`, `str(s)`,
 * DELTA-SEMANTICS.md §7: "a set gives Python's set iteration order").
 *
 * `PySet` keeps insertion order. CPython iterates its hash table in slot order instead, which for
 * numbers is fixed by their hashes (small ints come out ascending). When every element has a
 * hash that does not depend on the process (ints, floats, bools, tuples of those) this replays
 * the insertions into a model of `Objects/setobject.c` (linear probing, perturbation, resize at
 * 3/5 fill) and returns the slot order. str, bytes and None hashes are randomised or address
 * based in CPython, so no fixture can depend on their order; those sets keep insertion order.
 */
import { type PySet, PyTuple, type PyValue } from '../pickle/index.js';

const MASK64 = (1n << 64n) - 1n;
const MODULUS = (1n << 61n) - 1n;
const LINEAR_PROBES = 9;
const PERTURB_SHIFT = 5n;
const XXPRIME_1 = 11400714785074694791n;
const XXPRIME_2 = 14029467366897019727n;
const XXPRIME_5 = 2870177450012600261n;

function hashInt(n: bigint): bigint {
  const m = (n < 0n ? -n : n) % MODULUS;
  const h = n < 0n ? -m : m;
  return h === -1n ? -2n : h;
}

/** `_Py_HashDouble` for a finite non-integral double. */
function hashFraction(v: number): bigint {
  let sign = 1n;
  if (v < 0) {
    sign = -1n;
    v = -v;
  }
  // frexp: v = m * 2**e with 0.5 <= m < 1.
  let e = Math.floor(Math.log2(v)) + 1;
  let m = v / 2 ** e;
  while (m >= 1) {
    m /= 2;
    e++;
  }
  while (m < 0.5) {
    m *= 2;
    e--;
  }
  let x = 0n;
  while (m !== 0) {
    x = ((x << 28n) & MODULUS) | (x >> (61n - 28n));
    m *= 268435456.0;
    e -= 28;
    const y = Math.floor(m);
    m -= y;
    x += BigInt(y);
    if (x >= MODULUS) x -= MODULUS;
  }
  const shift = BigInt(e >= 0 ? e % 61 : 60 - ((-1 - e) % 61));
  x = ((x << shift) & MODULUS) | (x >> (61n - shift));
  x *= sign;
  return x === -1n ? -2n : x;
}

/** CPython's `hash(v)` as a signed 64-bit value, or undefined when it is not reproducible. */
export function pyHash(v: PyValue): bigint | undefined {
  switch (typeof v) {
    case 'boolean':
      return v ? 1n : 0n;
    case 'bigint':
      return hashInt(v);
    case 'number':
      if (Number.isNaN(v)) return undefined;
      if (v === Infinity) return 314159n;
      if (v === -Infinity) return -314159n;
      if (Number.isInteger(v)) return hashInt(BigInt(v));
      return hashFraction(v);
  }
  if (v instanceof PyTuple) {
    let acc = XXPRIME_5;
    for (const item of v.items) {
      const lane = pyHash(item);
      if (lane === undefined) return undefined;
      acc = (acc + (lane & MASK64) * XXPRIME_2) & MASK64;
      acc = ((acc << 31n) | (acc >> 33n)) & MASK64;
      acc = (acc * XXPRIME_1) & MASK64;
    }
    acc = (acc + (BigInt(v.items.length) ^ (XXPRIME_5 ^ 3527539n))) & MASK64;
    if (acc === MASK64) return 1546275796n;
    return acc >= 1n << 63n ? acc - (1n << 64n) : acc;
  }
  return undefined;
}

interface Slot {
  readonly item: PyValue;
  readonly hash: bigint;
}

/** Finds a free slot the way `set_insert_clean` / `set_add_entry` probe an all-active table. */
function probe(table: (Slot | undefined)[], mask: number, hash: bigint): number {
  const umask = BigInt(mask);
  let perturb = hash & MASK64;
  let i = Number(perturb & umask);
  for (;;) {
    if (table[i] === undefined) return i;
    if (i + LINEAR_PROBES <= mask) {
      for (let j = 1; j <= LINEAR_PROBES; j++) if (table[i + j] === undefined) return i + j;
    }
    perturb >>= PERTURB_SHIFT;
    i = Number((BigInt(i) * 5n + 1n + perturb) & umask);
  }
}

/** The elements of `s` in the order CPython would iterate them (see module comment). */
export function pySetOrder(s: PySet): PyValue[] {
  const items = [...s.values()];
  if (items.length < 2) return items;
  const hashes: bigint[] = [];
  for (const it of items) {
    const h = pyHash(it);
    if (h === undefined) return items;
    hashes.push(h);
  }
  let mask = 7;
  let table: (Slot | undefined)[] = new Array(8);
  let used = 0;
  for (let k = 0; k < items.length; k++) {
    table[probe(table, mask, hashes[k])] = { item: items[k], hash: hashes[k] };
    used++;
    if (used * 5 >= mask * 3) {
      const minUsed = used > 50000 ? used * 2 : used * 4;
      let size = 8;
      while (size <= minUsed) size *= 2;
      const old = table;
      table = new Array(size);
      mask = size - 1;
      for (const slot of old) if (slot !== undefined) table[probe(table, mask, slot.hash)] = slot;
    }
  }
  const out: PyValue[] = [];
  for (const slot of table) if (slot !== undefined) out.push(slot.item);
  return out;
}
