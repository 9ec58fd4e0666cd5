/**
 * Node and Commit on the data socket (§4.5): applied to the store, then relayed — the frames as
 * received, one effect for all recipients — to every logged-in client except the sender, whatever
 * their status. Only logged-in senders get here (session.ts). Accepted changes are journaled first
 * (mutation.ts); a Commit is journaled as its delta, replayed through the same `applyCommit`.
 *
 * Refused, logged, and neither stored nor relayed (so no client ever sees them):
 * - a Commit for an unknown node (the reference relayed it and crashed clients: crash
 *   relayed_commit_for_unknown_node) or whose delta does not decode or apply (as the reference);
 * - node data that is not a plain pickle of a dict, and a Commit whose result is not one
 *   (node-validation.ts: clients unpickle node data without restriction);
 * - changes to a node another user holds, and a new node whose owner cannot hold locks (rights.ts);
 * - a new node beyond `maxNodes`, a Commit result beyond `maxPayloadFrameBytes`.
 */
import type { Commit, Node } from '../protocol/index.js';
import type { ClientRecord } from './clients.js';
import { applyCommit } from './commit-apply.js';
import { reject, relayFrames, type SessionContext } from './context.js';
import type { ClientId } from './events.js';
import { acceptMutation } from './mutation.js';
import { hasRoomForNode, validateNodeData } from './node-validation.js';
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
    const check = validateNodeData(ctx, msg.dataBytes);
    if (!check.ok) refusal = check.reason;
  }
  if (refusal !== undefined) {
    reject(ctx, 'node', from, `Node ${msg.uuid} from ${record.id} refused: ${refusal}`);
    return;
  }
  const raw = msg.raw as readonly Uint8Array[];
  acceptMutation(ctx, {
    type: 'node',
    uuid: msg.uuid,
    owner: msg.owner,
    deps: msg.deps,
    depsBytes: raw[3],
    dataBytes: msg.dataBytes,
  });
  relay(ctx, from, msg);
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
  const raw = msg.raw as readonly Uint8Array[];
  acceptMutation(
    ctx,
    { type: 'commit', uuid: msg.nodeId, deps: msg.deps, depsBytes: raw[2], deltaBytes: msg.deltaBytes },
    { commitResult: outcome },
  );
  relay(ctx, from, msg);
}
