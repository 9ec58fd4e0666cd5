/**
 * `data + Delta(bytes)` for a stored node (§5.2): the one computation behind a live Commit and its
 * journal replay, so both give the same bytes (delta application and the pickle encoder are
 * deterministic).
 */
import { applyDelta } from '../delta/apply.js';
import { decodeDelta } from '../delta/decode-delta.js';
import { encodePickle } from '../pickle/encode.js';
import { PyDict } from '../pickle/value.js';
import { findNonPlain } from '../protocol/plain-pickle.js';
import type { SessionContext } from './context.js';
import type { StoredNode } from './node-store.js';
import { checkNodeData } from './node-validation.js';

/** The node's new data bytes, or a reason to refuse the Commit. Never throws. */
export function applyCommit(ctx: SessionContext, node: StoredNode, deltaBytes: Uint8Array): Uint8Array | string {
  try {
    const base = checkNodeData(ctx, node.dataBytes);
    if (!base.ok) return `stored data unreadable (${base.reason})`;
    // The allow-list of deepdiff's unpickler is enforced by decodeDelta (delta/allow-list.ts).
    const delta = decodeDelta(deltaBytes, { limits: ctx.limits.pickle });
    if (delta.unknownKeys.length > 0) {
      // deepdiff skips report keys it does not know, so we do too (clients patch their copies
      // the same way); but a client sending them is worth knowing about.
      ctx.out.log(
        'warn',
        `Commit for ${node.uuid}: unknown delta report keys ignored, as deepdiff does: ${delta.unknownKeys.map(String).join(', ').slice(0, 200)}`,
        'delta-unknown-keys',
      );
    }
    // The base was decoded just for this application, so the applier may work on it in place.
    const result = applyDelta(base.value, delta, { consumeInput: true });
    if (!(result.value instanceof PyDict)) return 'the delta does not leave a dict';
    const bad = findNonPlain(result.value);
    if (bad !== undefined) return `the result holds ${bad}`;
    if (result.problems.length > 0) {
      ctx.out.log('debug', `Commit for ${node.uuid}: ${result.problems.length} delta operation(s) skipped`);
    }
    const bytes = encodePickle(result.value);
    if (bytes.length > ctx.limits.maxPayloadFrameBytes)
      return `the result exceeds ${ctx.limits.maxPayloadFrameBytes} bytes`;
    return bytes;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return `the delta does not apply (${typeof code === 'string' ? code + ': ' : ''}${(err as Error).message})`;
  }
}
