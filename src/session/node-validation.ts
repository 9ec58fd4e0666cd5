/**
 * What node data we accept before storing or relaying it. The stock client loads node data with
 * the unrestricted `pickle.loads` (§2.4), so a node pickle naming a global would run code on every
 * client we relay it to (capture 10_untrusted_pickle shows the reference executing one). Node data
 * must therefore be a plain pickle — no global, persistent id or built object — of a dict (the
 * add-on's dumpers always produce one, §5.1). Dependency pickles are checked by the codec already.
 */
import { PyDict, type PyValue } from '../pickle/value.js';
import { decodePlainPickle } from '../protocol/plain-pickle.js';
import type { SessionContext } from './context.js';

/** The decoded node data, or a reason to refuse it. */
export type NodeDataCheck = { ok: true; value: PyDict } | { ok: false; reason: string };

/** Decodes and checks node data bytes. Never throws. */
export function checkNodeData(ctx: SessionContext, dataBytes: Uint8Array): NodeDataCheck {
  let value: PyValue;
  try {
    value = decodePlainPickle(dataBytes, 4, ctx.limits.pickle);
  } catch (err) {
    return { ok: false, reason: `node data refused: ${(err as Error).message}` };
  }
  if (!(value instanceof PyDict)) return { ok: false, reason: 'node data is not a dict' };
  return { ok: true, value };
}

/** Whether one more node fits in the store (`maxNodes`). */
export function hasRoomForNode(ctx: SessionContext): boolean {
  return ctx.store.size < ctx.limits.maxNodes;
}
