/**
 * `data + Delta(bytes)` for a stored node (§5.2): the one computation behind a live Commit and its
 * journal replay, so both give the same bytes and refuse the same deltas (delta application and
 * the pickle encoder are deterministic).
 *
 * The delta is read by the strict rules of delta/strict.ts: every client applies the relayed
 * bytes with deepdiff 8.1.1, which would follow paths the server cannot (tuple-form and attribute
 * paths reach Python attributes: CVE-2025-58367), skip operations the server skipped, or ignore
 * keys the server did not read. A Commit is accepted only if the server parsed, validated and
 * applied every operation in it; anything else is refused as a whole.
 */
import { applyDeltaStrict, DeltaError } from '../delta/index.js';
import { encodePickle, PickleError, PyDict } from '../pickle/index.js';
import { ProtocolError, findNonPlain } from '../protocol/index.js';
import type { SessionContext } from './context.js';
import type { StoredNode } from './node-store.js';
import { checkNodeData } from './node-validation.js';

/**
 * The node's new data bytes, or a reason to refuse the Commit. A refusal is a value; only a bug
 * (an error that is not the codecs' verdict on the input) is thrown, so that it surfaces instead
 * of passing for a verdict on the delta.
 */
export function applyCommit(
  ctx: SessionContext,
  node: StoredNode,
  deltaBytes: Uint8Array,
  /**
   * Refuse a node over `maxCommitNodeContainers` (a live Commit). A journal record is replayed
   * without that bound: the Commit was accepted and relayed when it came, and a limit lowered
   * since must not lose it.
   */
  boundNodeSize = true,
): Uint8Array | string {
  try {
    const limit = ctx.limits.maxCommitNodeContainers;
    const base = checkNodeData(ctx, node.dataBytes, boundNodeSize ? limit : undefined);
    if (!base.ok) {
      // The node was accepted when stored: the only new refusal here is its size.
      if (base.reason.includes('PICKLE_LIMIT') && base.reason.includes('containers')) {
        return `the node holds more than ${limit} containers (MAX_COMMIT_NODE_CONTAINERS): applying a Commit re-encodes the whole node; send it as a Node instead`;
      }
      return `stored data unreadable (${base.reason})`;
    }
    // The base was decoded just for this application, so the applier may work on it in place.
    const result = applyDeltaStrict(base.value, deltaBytes, { pickleLimits: ctx.limits.pickle, consumeInput: true });
    if (!(result.value instanceof PyDict)) return 'the delta does not leave a dict';
    const bad = findNonPlain(result.value);
    if (bad !== undefined) return `the result holds ${bad}`;
    const bytes = encodePickle(result.value);
    if (bytes.length > ctx.limits.maxPayloadFrameBytes)
      return `the result exceeds ${ctx.limits.maxPayloadFrameBytes} bytes`;
    return bytes;
  } catch (err) {
    if (!(err instanceof DeltaError || err instanceof PickleError || err instanceof ProtocolError)) throw err;
    return `${err.code}: ${err.message.slice(0, 300)}`;
  }
}
