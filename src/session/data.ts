/**
 * Node and Commit on the data socket (§4.5): applied to the store, then relayed — the frames as
 * received, one effect for all recipients — to every logged-in client except the sender, whatever
 * their status. Only logged-in senders get here (session.ts).
 *
 * Refused, logged, and neither stored nor relayed (so no client ever sees them):
 * - a Commit for an unknown node (the reference relayed it and crashed clients: crash
 *   relayed_commit_for_unknown_node) or whose delta does not decode or apply (as the reference);
 * - node data that is not a plain pickle of a dict, and a Commit whose result is not one
 *   (node-validation.ts: clients unpickle node data without restriction);
 * - changes to a node another user holds, and a new node whose owner cannot hold locks (rights.ts);
 * - a new node beyond `maxNodes`, a Commit result beyond `maxPayloadFrameBytes`.
 */
import { applyDelta } from '../delta/apply.js';
import { decodeDelta } from '../delta/decode-delta.js';
import { encodePickle } from '../pickle/encode.js';
import { PyDict } from '../pickle/value.js';
import { findNonPlain } from '../protocol/plain-pickle.js';
import type { Commit, Node } from '../protocol/messages.js';
import type { ClientRecord } from './clients.js';
import { reject, relayFrames, type SessionContext } from './context.js';
import type { ClientId } from './events.js';
import { checkNodeData, hasRoomForNode } from './node-validation.js';
import type { StoredNode } from './node-store.js';
import { isAssignableOwner, mayModify } from './rights.js';

function relay(ctx: SessionContext, from: ClientId, msg: Node | Commit): void {
  ctx.out.send('data', ctx.clients.others(from), relayFrames(msg));
}

export function handleNode(ctx: SessionContext, from: ClientId, msg: Node): void {
  const record = ctx.clients.get(from) as ClientRecord;
  const existing = ctx.store.get(msg.uuid);
  let refusal: string | undefined;
  if (existing !== undefined) {
    if (!mayModify(record, existing)) refusal = `locked by ${existing.owner}`;
  } else if (!isAssignableOwner(ctx, msg.owner)) {
    refusal = `owner ${JSON.stringify(msg.owner.slice(0, 64))} is not COMMON or a logged-in user`;
  } else if (!hasRoomForNode(ctx)) {
    refusal = `the store holds the maximum of ${ctx.limits.maxNodes} nodes`;
  }
  if (refusal === undefined) {
    const check = checkNodeData(ctx, msg.dataBytes);
    if (!check.ok) refusal = check.reason;
  }
  if (refusal !== undefined) {
    reject(ctx, 'node', from, `Node ${msg.uuid} from ${record.id} refused: ${refusal}`);
    return;
  }
  const raw = msg.raw as readonly Uint8Array[];
  ctx.store.put(msg.uuid, msg.owner, msg.deps, raw[3], msg.dataBytes);
  relay(ctx, from, msg);
}

/** `data + Delta(bytes)` as new data bytes, or a reason to refuse the Commit. Never throws. */
function applyCommit(ctx: SessionContext, node: StoredNode, deltaBytes: Uint8Array): Uint8Array | string {
  try {
    const base = checkNodeData(ctx, node.dataBytes);
    if (!base.ok) return `stored data unreadable (${base.reason})`;
    // The allow-list of deepdiff's unpickler is enforced by decodeDelta (delta/allow-list.ts).
    const delta = decodeDelta(deltaBytes, { limits: ctx.limits.pickle });
    const result = applyDelta(base.value, delta);
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

export function handleCommit(ctx: SessionContext, from: ClientId, msg: Commit): void {
  const record = ctx.clients.get(from) as ClientRecord;
  const node = ctx.store.get(msg.nodeId);
  let outcome: Uint8Array | string;
  if (node === undefined) outcome = 'unknown node';
  else if (!mayModify(record, node)) outcome = `locked by ${node.owner}`;
  else outcome = applyCommit(ctx, node, msg.deltaBytes);
  if (typeof outcome === 'string') {
    reject(ctx, 'commit', from, `Commit for ${msg.nodeId} from ${record.id} refused: ${outcome}`);
    return;
  }
  const stored = node as StoredNode;
  const raw = msg.raw as readonly Uint8Array[];
  // The Commit's dependency list replaces the stored one whole; the owner is kept (§4.5).
  stored.dataBytes = outcome;
  stored.deps = msg.deps;
  stored.depsBytes = raw[2];
  relay(ctx, from, msg);
}
