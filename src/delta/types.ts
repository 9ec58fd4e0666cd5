/**
 * A decoded deepdiff delta: the report dict of `Delta(bytes).diff`, with every path already
 * tokenized so application never re-parses (DELTA-SEMANTICS.md §2, §3). Values stay Python
 * values; application copies them before they enter the result, so one `Delta` may be applied
 * any number of times.
 */
import type { PyValue } from '../pickle/index.js';
import type { PyExc } from './py-ops.js';
import type { PathElement } from './path.js';

/** Report keys the applier acts on (deepdiff 8.1.1 `Delta.__add__`). */
export const REPORT_KEYS = [
  'values_changed',
  'type_changes',
  'dictionary_item_added',
  'dictionary_item_removed',
  'iterable_item_added',
  'iterable_item_removed',
  'iterable_item_moved',
  '_iterable_opcodes',
  'set_item_added',
  'set_item_removed',
  'iterable_items_added_at_indexes',
  'iterable_items_removed_at_indexes',
  'attribute_added',
  'attribute_removed',
] as const;

export type ReportKey = (typeof REPORT_KEYS)[number];

/** Top-level keys that are flags, not reports. */
export const FLAG_KEYS = ['_numpy_paths', '_iterable_compare_func_was_used'] as const;

/** A report path with its elements, or the exception deepdiff's parser raises for it. */
export interface DeltaPath {
  /** The key as found in the report dict: a str, or `None` for keys DeepDiff cannot write. */
  readonly raw: PyValue;
  /** `ROOT_ELEMENT` first; null when parsing raises. */
  readonly elements: readonly PathElement[] | null;
  readonly error: PyExc | null;
}

/** One `_iterable_opcodes` record (`deepdiff.helper.Opcode`, a 7-field named tuple). */
export interface DeltaOpcode {
  readonly tag: PyValue;
  readonly t1FromIndex: PyValue;
  readonly t1ToIndex: PyValue;
  readonly t2FromIndex: PyValue;
  readonly t2ToIndex: PyValue;
  readonly oldValues: PyValue;
  readonly newValues: PyValue;
}

/** One `path: payload` entry of a report. */
export interface DeltaEntry {
  readonly path: DeltaPath;
  /** The payload exactly as pickled (a dict for changes, the value for adds/removes, ...). */
  readonly payload: PyValue;
  /**
   * For `_iterable_opcodes`: the payload read as a sequence of opcode records, or null when it
   * is something else (application then fails the way Python does).
   */
  readonly opcodes?: readonly DeltaOpcode[] | null;
}

/**
 * How a report key's value looked: a dict (its entries), a falsy non-dict (`None`, `[]`: the
 * applier's `if items:` skips it), or a truthy non-dict (Python raises when it gets there).
 */
export type DeltaReport =
  | { readonly kind: 'entries'; readonly entries: readonly DeltaEntry[] }
  | { readonly kind: 'falsy' }
  | { readonly kind: 'malformed'; readonly typeName: string };

export interface Delta {
  readonly reports: ReadonlyMap<ReportKey, DeltaReport>;
  /** `_numpy_paths` when truthy (numpy deltas are not supported: applying one fails). */
  readonly numpyPaths: PyValue;
  /** Truthiness of `_iterable_compare_func_was_used`: disables the nearest-index search on removal. */
  readonly compareFuncWasUsed: boolean;
  /** Top-level keys deepdiff does not know; Python ignores them (syn-0024). */
  readonly unknownKeys: readonly PyValue[];
}
