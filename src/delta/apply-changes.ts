/**
 * `values_changed`, `type_changes` and the final tuple post-processing: deepdiff's
 * `_do_values_or_type_changed` (DELTA-SEMANTICS.md §5, §6, §7).
 */
import { PyDict, PyGlobal, type PyValue } from '../pickle/index.js';
import { callType } from './convert.js';
import { DELTA_SELF, NOT_FOUND, type ApplyContext, type PathRef } from './apply-context.js';
import type { PathElement } from './path.js';
import { PyExc, getItem, typeError } from './py-ops.js';
import { displayStr, pyStr, UnreprError } from './py-repr.js';
import type { DeltaEntry } from './types.js';

const TUPLE_TYPE = new PyGlobal('builtins', 'tuple');

/** A change payload: the pickled dict, or the post-processing `{'old_type': list, 'new_type': tuple}`. */
type Payload = PyValue | typeof TO_TUPLE;
const TO_TUPLE: unique symbol = Symbol('list to tuple');

/** `value.get(name, not_found)` on a payload dict; a payload that is not a dict raises AttributeError. */
function payloadGet(payload: PyValue, name: string): PyValue | undefined {
  if (!(payload instanceof PyDict)) {
    throw new PyExc(
      'AttributeError',
      `'${payload === null ? 'NoneType' : typeof payload}' object has no attribute 'get'`,
    );
  }
  return payload.get(name);
}

function changeOne(ctx: ApplyContext, path: PathRef, payload: Payload, isTypeChange: boolean): void {
  const d = ctx.details(path);
  if (d === null) return;
  if (payload !== TO_TUPLE) payloadGet(payload, 'old_value');
  const current = ctx.getOrLog(d.obj, path, d.elem);
  if (current === NOT_FOUND) return;
  let newValue: PyValue;
  const stored = payload === TO_TUPLE ? undefined : payloadGet(payload, 'new_value');
  if (isTypeChange && stored === undefined) {
    try {
      const newType = payload === TO_TUPLE ? TUPLE_TYPE : payloadGet(payload, 'new_type');
      if (newType === undefined) throw new PyExc('KeyError', "'new_type'");
      newValue = callType(newType, current as PyValue, ctx.limits);
    } catch (e) {
      if (!(e instanceof PyExc)) throw e;
      // TYPE_CHANGE_FAIL_MSG.format(obj[elem], ...): `obj[elem]` itself raises when obj is the Delta.
      if (d.obj === DELTA_SELF) throw typeError("'Delta' object is not subscriptable");
      let shown: string;
      try {
        shown = displayStr(pyStr(getItem(d.obj as PyValue, d.elem.key)));
      } catch (err) {
        if (err instanceof UnreprError) shown = '<object>';
        else throw err;
      }
      ctx.log(`Unable to do the type change for ${shown} from to type ${describeType(payload)} due to ${e.message}`);
      return;
    }
  } else {
    if (stored === undefined) throw new PyExc('KeyError', "'new_value'");
    newValue = ctx.value(stored);
  }
  ctx.setNewValue(d, path, newValue);
}

function describeType(payload: Payload): string {
  if (payload === TO_TUPLE) return "<class 'tuple'>";
  const t = (payload as PyDict).get('new_type');
  if (t === undefined) return 'unknown';
  try {
    return displayStr(pyStr(t));
  } catch {
    return 'unknown';
  }
}

/** `_do_values_changed` / `_do_type_changes`: every entry in the delta's order. */
export function applyChanges(ctx: ApplyContext, entries: readonly DeltaEntry[], isTypeChange: boolean): void {
  for (const e of entries) changeOne(ctx, e.path, e.payload, isTypeChange);
}

/**
 * `_do_post_process`: every tuple turned into a list goes back to a tuple. Iterates the very map
 * that coercions add to, so a tuple nested in a tuple raises CPython's RuntimeError
 * (tgt-0050, tgt-0056).
 */
export function postProcess(ctx: ApplyContext): void {
  if (ctx.post.size === 0) return;
  const size = ctx.post.size;
  const it = ctx.post.values();
  for (;;) {
    if (ctx.post.size !== size) throw new PyExc('RuntimeError', 'dictionary changed size during iteration');
    const next = it.next();
    if (next.done === true) return;
    changeOne(ctx, next.value as readonly PathElement[], TO_TUPLE, true);
  }
}
