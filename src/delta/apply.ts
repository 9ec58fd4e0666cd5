/**
 * `data + delta` as the reference server runs it (deepdiff 8.1.1 `Delta.__add__` with default
 * options): on a deep copy, phase by phase (DELTA-SEMANTICS.md §4), logging and skipping what
 * deepdiff logs and skips, failing as a whole where Python raises (§8).
 */
import { PyDict, type PyValue } from '../pickle/index.js';
import { applyChanges, postProcess } from './apply-changes.js';
import { ApplyContext } from './apply-context.js';
import { applyIgnoreOrder } from './apply-ignore-order.js';
import { applyItemsAdded, applyItemsRemoved, applyOpcodes, applySetItems } from './apply-items.js';
import { DEFAULT_CONVERT_LIMITS, type ConvertLimits } from './convert.js';
import { toDeltaPath } from './decode-delta.js';
import { deepCopy } from './deep-copy.js';
import { deltaError } from './errors.js';
import { PyExc, getItem, rethrowUnhashable } from './py-ops.js';
import type { Delta, DeltaEntry, ReportKey } from './types.js';

export interface ApplyOptions {
  /** Bounds on what application may allocate (convert.ts). */
  limits?: Partial<ConvertLimits>;
  /**
   * The caller hands `value` over: it is changed in place instead of deep-copied first, and must
   * not be used afterwards, not even when application throws (it may then be half-changed).
   * For a value decoded just for this application (node data is kept as pickle bytes, STYLE.md
   * §7): the bytes stay the unchanged node, so failure atomicity holds without the copy.
   * Default false: `deepcopy` first, as deepdiff does.
   */
  consumeInput?: boolean;
}

export interface ApplyResult {
  /** The new value; the input is never modified. */
  readonly value: PyValue;
  /** One line per operation deepdiff logs and skips (its `log` records); empty for a clean application. */
  readonly problems: string[];
}

/** The entries of a report for a phase; a truthy non-dict report raises as `.items()` would. */
function entriesOf(delta: Delta, key: ReportKey): readonly DeltaEntry[] {
  const r = delta.reports.get(key);
  if (r === undefined || r.kind === 'falsy') return [];
  if (r.kind === 'malformed') throw new PyExc('AttributeError', `'${r.typeName}' object has no attribute 'items'`);
  return r.entries;
}

/** `report.update(extra)` on the report dict: same path replaces in place, a new path appends. */
function mergeEntries(base: readonly DeltaEntry[], extra: [PyValue, PyValue][]): DeltaEntry[] {
  const out = base.slice();
  const index = new PyDict();
  try {
    out.forEach((e, i) => index.set(e.path.raw, BigInt(i)));
    for (const [raw, payload] of extra) {
      const at = index.get(raw);
      if (at !== undefined) out[Number(at)] = { path: out[Number(at)].path, payload };
      else {
        index.set(raw, BigInt(out.length));
        out.push({ path: toDeltaPath(raw), payload });
      }
    }
  } catch (e) {
    rethrowUnhashable(e);
  }
  return out;
}

/** `iterable_item_moved` as extra removals (`{old_path: value}`) and additions (`{new_path: value}`). */
function moves(delta: Delta): { removed: [PyValue, PyValue][]; added: [PyValue, PyValue][] } | null {
  const moved = delta.reports.get('iterable_item_moved');
  if (moved === undefined || moved.kind === 'falsy') return null;
  const entries = entriesOf(delta, 'iterable_item_moved');
  if (entries.length === 0) return null;
  const removed: [PyValue, PyValue][] = [];
  const added: [PyValue, PyValue][] = [];
  for (const e of entries) {
    removed.push([e.path.raw, getItem(e.payload, 'value')]);
    added.push([getItem(e.payload, 'new_path'), getItem(e.payload, 'value')]);
  }
  return { removed, added };
}

/** A report that, when moves are merged into it, must support `.update` (a falsy non-dict does not). */
function mergeable(delta: Delta, key: ReportKey): readonly DeltaEntry[] {
  const r = delta.reports.get(key);
  if (r !== undefined && r.kind === 'falsy') throw new PyExc('AttributeError', "object has no attribute 'update'");
  return entriesOf(delta, key);
}

function runPhases(ctx: ApplyContext, delta: Delta): void {
  if (delta.numpyPaths !== null) {
    const root = ctx.root;
    if (typeof root === 'bigint' || typeof root === 'number' || typeof root === 'boolean') {
      throw new PyExc('ValueError', 'DeltaNumpyOperatorOverrideError');
    }
    if (delta.reports.has('iterable_item_added') || delta.reports.has('iterable_item_removed')) {
      throw deltaError('DELTA_UNSUPPORTED', 'numpy deltas (_numpy_paths) are not supported');
    }
  }
  applyChanges(ctx, entriesOf(delta, 'values_changed'), false);
  applySetItems(ctx, entriesOf(delta, 'set_item_added'), 'union');
  applySetItems(ctx, entriesOf(delta, 'set_item_removed'), 'difference');
  applyChanges(ctx, entriesOf(delta, 'type_changes'), true);
  applyOpcodes(ctx, entriesOf(delta, '_iterable_opcodes'));
  const moved = moves(delta);
  const removed =
    moved === null
      ? entriesOf(delta, 'iterable_item_removed')
      : mergeEntries(mergeable(delta, 'iterable_item_removed'), moved.removed);
  applyItemsRemoved(ctx, removed);
  const added =
    moved === null
      ? entriesOf(delta, 'iterable_item_added')
      : mergeEntries(mergeable(delta, 'iterable_item_added'), moved.added);
  applyItemsAdded(ctx, added, true, true);
  const atIndexes = delta.reports.has('iterable_items_added_at_indexes');
  const rmIndexes = delta.reports.has('iterable_items_removed_at_indexes');
  if (atIndexes || rmIndexes) {
    applyIgnoreOrder(
      ctx,
      entriesOf(delta, 'iterable_items_added_at_indexes'),
      entriesOf(delta, 'iterable_items_removed_at_indexes'),
    );
  }
  applyItemsAdded(ctx, entriesOf(delta, 'dictionary_item_added'), false, false);
  applyItemsRemoved(ctx, entriesOf(delta, 'dictionary_item_removed'));
  applyItemsAdded(ctx, entriesOf(delta, 'attribute_added'), true, false);
  applyItemsRemoved(ctx, entriesOf(delta, 'attribute_removed'));
  postProcess(ctx);
  if (ctx.rootDeleted) throw new PyExc('AttributeError', "'Delta' object has no attribute 'root'");
}

/**
 * `value + delta` with the reference server's semantics. Returns a new value and the skipped
 * operations; never modifies `delta`, nor `value` unless `consumeInput` hands it over. Throws `DeltaError` `DELTA_APPLY_FAILED` where
 * Python's `+` raises (the reference server then keeps the node unchanged), and
 * `DELTA_UNSUPPORTED` / `DELTA_LIMIT` for what the value model cannot follow.
 */
export function applyDelta(value: PyValue, delta: Delta, options?: ApplyOptions): ApplyResult {
  const limits = options?.limits ? { ...DEFAULT_CONVERT_LIMITS, ...options.limits } : DEFAULT_CONVERT_LIMITS;
  const root = options?.consumeInput === true ? value : deepCopy(value);
  const ctx = new ApplyContext(root, delta.compareFuncWasUsed, limits);
  try {
    runPhases(ctx, delta);
  } catch (e) {
    if (e instanceof PyExc) throw deltaError('DELTA_APPLY_FAILED', e.message, e.pyType, e);
    if (e instanceof RangeError) throw deltaError('DELTA_LIMIT', e.message, 'RecursionError', e);
    throw e;
  }
  return { value: ctx.root, problems: ctx.problems };
}
