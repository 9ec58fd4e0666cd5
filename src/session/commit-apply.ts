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
import { type DecodedNodes, type KeptNode, MAX_PENDING, type PendingCommit } from './decoded-nodes.js';
import { checkNodeData, validateNodeData } from './node-validation.js';

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

/**
 * A replayed Commit (journal record) on a node kept decoded (decoded-nodes.ts): the same checks
 * as `applyCommit` on the input — the strict delta, a dict of plain values as the result — but
 * the node is encoded only when `settleNode` runs. Returns a refusal as `applyCommit` does, or
 * undefined when applied (the dependency list is replaced then, as for any accepted Commit).
 */
export function applyReplayedCommit(
  ctx: SessionContext,
  node: StoredNode,
  m: PendingCommit,
  kept: DecodedNodes,
): string | undefined {
  let entry = kept.get(node.uuid, node.dataBytes);
  if (entry === undefined) {
    // Replay is not bound by maxCommitNodeContainers (see `applyCommit`).
    const base = checkNodeData(ctx, node.dataBytes);
    if (!base.ok) return `stored data unreadable (${base.reason})`;
    entry = {
      uuid: node.uuid,
      base: node.dataBytes,
      baseDeps: node.deps,
      baseDepsBytes: node.depsBytes,
      value: base.value,
      pending: [],
    };
    kept.add(entry);
  }
  let refusal: string;
  try {
    const result = applyDeltaStrict(entry.value, m.deltaBytes, {
      pickleLimits: ctx.limits.pickle,
      consumeInput: true,
    });
    if (!(result.value instanceof PyDict)) refusal = 'the delta does not leave a dict';
    else {
      const bad = findNonPlain(result.value);
      if (bad === undefined) {
        entry.value = result.value;
        entry.pending.push(m);
        node.deps = m.deps;
        node.depsBytes = m.depsBytes;
        if (entry.pending.length >= MAX_PENDING) {
          kept.drop(entry);
          settleNode(ctx, entry);
        }
        return undefined;
      }
      refusal = `the result holds ${bad}`;
    }
  } catch (err) {
    if (!(err instanceof DeltaError || err instanceof PickleError || err instanceof ProtocolError)) throw err;
    refusal = `${err.code}: ${err.message.slice(0, 300)}`;
  }
  // The value may be half changed: bring the node to its state before this Commit one Commit at
  // a time, and refuse this one as `applyCommit` does (which should give the same verdict).
  kept.drop(entry);
  settleNode(ctx, entry, true);
  const exact = applyCommit(ctx, node, m.deltaBytes, false);
  if (typeof exact === 'string') return exact;
  node.dataBytes = exact;
  node.deps = m.deps;
  node.depsBytes = m.depsBytes;
  ctx.out.log('warn', `Replayed Commit for ${node.uuid} applied on a second try (first: ${refusal})`);
  return undefined;
}

/**
 * Encodes a kept node into the store: its data becomes the value's bytes if they pass what the
 * next Commit would check on them (the scan by the receiving client's rules) and the size bound
 * on every Commit's result. Otherwise — or with `oneByOne` — its pending Commits are applied
 * again from its last bytes through `applyCommit`, exactly as a replay without kept values does:
 * a refused one is logged as any replayed record that does not apply, leaves data and
 * dependencies as they were, and is not counted as a change.
 */
export function settleNode(ctx: SessionContext, kept: KeptNode, oneByOne = false): void {
  const node = ctx.store.get(kept.uuid);
  // Replaced by a Node or deleted since: what the kept value would have become is gone too.
  if (node === undefined || node.dataBytes !== kept.base) return;
  if (!oneByOne) {
    const bytes = encodePickle(kept.value);
    if (bytes.length <= ctx.limits.maxPayloadFrameBytes && validateNodeData(ctx, bytes).ok) {
      node.dataBytes = bytes;
      return;
    }
  }
  node.deps = kept.baseDeps;
  node.depsBytes = kept.baseDepsBytes;
  for (const m of kept.pending) {
    const result = applyCommit(ctx, node, m.deltaBytes, false);
    if (typeof result === 'string') {
      ctx.changeCounter -= 1;
      ctx.out.log('error', `Journal record not applied: commit for ${node.uuid}: ${result}`);
      continue;
    }
    node.dataBytes = result;
    node.deps = m.deps;
    node.depsBytes = m.depsBytes;
  }
}
