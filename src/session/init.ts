/**
 * Initialising the session (ServerSnapshot, §4.3): INIT → ACCEPTED | REJECTED, n × SET, DONE when
 * the last listed node arrived, the catalog to the clients waiting in the lobby, ACTIVE; then END
 * from the initialiser sets its status. Only logged-in clients get here (session.ts).
 *
 * Where the reference crashes or gets stuck, we answer or log (§9 items 4, 8, 12):
 * - INIT while SRV_SYNC **or ACTIVE** → REJECTED (ACTIVE killed its command thread:
 *   crash server_snapshot_INIT_when_ACTIVE); an INIT whose NODES is not a non-empty list of str
 *   (or exceeds `maxNodes`) → REJECTED too (an empty one would never complete).
 * - SET / END only from the initialiser, SET only of a listed id not received yet: anything else
 *   is logged and ignored (crash server_snapshot_SET_before_INIT, _SET_unlisted_node, _END_unauthenticated).
 * - A listed node whose chunks or data are refused (node-validation.ts) counts as received but is
 *   not stored, so the init still completes; the refusal is logged.
 * - An owner in a SET that is neither COMMON nor a logged-in user becomes COMMON: such a lock
 *   could never be released.
 * - END before every listed node arrived completes the init with what was received.
 * - The initialiser leaving mid-init aborts it: its nodes are discarded and the server WAITs again.
 *
 * Each stored node is journaled as it arrives, the completion as `init-done`, an abort as the
 * deletion of the nodes it stored (mutation.ts).
 */
import { PyDict, type PyValue } from '../pickle/index.js';
import {
  OWNER_COMMON,
  SERVER_SNAPSHOT_ACCEPTED,
  SERVER_SNAPSHOT_DONE,
  SERVER_SNAPSHOT_END,
  SERVER_SNAPSHOT_INIT,
  SERVER_SNAPSHOT_REJECTED,
  SERVER_SNAPSHOT_SET,
  SNAPSHOT_KEY_DATA,
  SNAPSHOT_KEY_NODES,
  SNAPSHOT_KEY_STATE,
  STATE_ACTIVE,
  type Node,
  type ServerSnapshot,
  nodeFromChunks,
  encodeServerSnapshotReply,
} from '../protocol/index.js';
import { broadcastUserList, type ClientRecord } from './clients.js';
import { reject, type InitProgress, type SessionContext } from './context.js';
import type { ClientId } from './events.js';
import { logInitAborted, logInitDone, logInitStarted } from './log-messages.js';
import { acceptMutation } from './mutation.js';
import { hasRoomForNode, validateNodeData } from './node-validation.js';
import { sendCatalog } from './snapshot.js';

export function handleServerSnapshot(ctx: SessionContext, from: ClientId, msg: ServerSnapshot): void {
  const record = ctx.clients.get(from) as ClientRecord;
  const data = msg.data instanceof PyDict ? msg.data : undefined;
  const state = data?.get(SNAPSHOT_KEY_STATE);
  if (data === undefined)
    reject(ctx, 'malformed', from, `ServerSnapshot from ${record.id} ignored: data is not a dict`);
  else if (state === SERVER_SNAPSHOT_INIT) startInit(ctx, record, data);
  else if (state === SERVER_SNAPSHOT_SET) receiveNode(ctx, record, data.get(SNAPSHOT_KEY_DATA));
  else if (state === SERVER_SNAPSHOT_END) endInit(ctx, record);
  else reject(ctx, 'malformed', from, `ServerSnapshot from ${record.id} ignored: unknown STATE`);
}

/** The NODES list of an INIT as distinct ids, or a reason to refuse it. */
function listedIds(ctx: SessionContext, nodes: PyValue | undefined): Set<string> | string {
  if (!Array.isArray(nodes) || nodes.length === 0) return 'NODES is not a non-empty list';
  const ids = new Set<string>();
  for (const id of nodes) {
    if (typeof id !== 'string') return 'NODES holds a non-str id';
    ids.add(id);
  }
  if (ctx.store.size + ids.size > ctx.limits.maxNodes) return `more than ${ctx.limits.maxNodes} nodes`;
  return ids;
}

function startInit(ctx: SessionContext, record: ClientRecord, data: PyDict): void {
  const from = record.clientId;
  const ids = ctx.phase === 'WAITING' ? listedIds(ctx, data.get(SNAPSHOT_KEY_NODES)) : `the session is ${ctx.phase}`;
  if (typeof ids === 'string') {
    reject(ctx, 'init', from, `Init from ${record.id} rejected: ${ids}`, 'info');
    ctx.out.send('command', [from], encodeServerSnapshotReply(SERVER_SNAPSHOT_REJECTED));
    return;
  }
  ctx.init = { initiator: from, username: record.id, remaining: ids, expected: ids.size, stored: new Set() };
  ctx.phase = 'SRV_SYNC';
  ctx.pendingEnd = from;
  ctx.out.send('command', [from], encodeServerSnapshotReply(SERVER_SNAPSHOT_ACCEPTED));
  ctx.out.log('info', logInitStarted(record.id, ids.size));
}

/** The Node inside a SET, or a reason to skip it. */
function nodeOf(ctx: SessionContext, chunks: PyValue | undefined): Node | string {
  try {
    return nodeFromChunks(chunks ?? null, ctx.payloadLimits);
  } catch (err) {
    return `node chunks refused: ${(err as Error).message}`;
  }
}

function receiveNode(ctx: SessionContext, record: ClientRecord, chunks: PyValue | undefined): void {
  const from = record.clientId;
  const init = ctx.init;
  if (init === null || init.initiator !== from) {
    reject(ctx, 'init', from, `ServerSnapshot SET from ${record.id} ignored: not initialising`);
    return;
  }
  const node = nodeOf(ctx, chunks);
  if (typeof node === 'string') {
    // Without a readable id the node cannot be counted; the initialiser's END will complete the init.
    reject(ctx, 'init', from, `ServerSnapshot SET from ${record.id} ignored: ${node}`);
    return;
  }
  if (!init.remaining.delete(node.uuid)) {
    reject(ctx, 'init', from, `ServerSnapshot SET from ${record.id} ignored: node ${node.uuid} not expected`);
    return;
  }
  storeInitNode(ctx, init, node);
  if (init.remaining.size === 0) completeInit(ctx);
}

function storeInitNode(ctx: SessionContext, init: InitProgress, node: Node): void {
  const check = validateNodeData(ctx, node.dataBytes);
  const isNew = !ctx.store.has(node.uuid);
  const fits = !isNew || hasRoomForNode(ctx);
  if (!check.ok || !fits) {
    const why = check.ok ? 'the store is full' : check.reason;
    reject(ctx, 'init', init.initiator, `Init node ${node.uuid} from ${init.username} skipped: ${why}`);
    return;
  }
  const owner =
    node.owner === OWNER_COMMON || ctx.clients.byUsername(node.owner) !== undefined ? node.owner : OWNER_COMMON;
  const raw = node.raw as readonly Uint8Array[];
  acceptMutation(ctx, {
    type: 'node',
    uuid: node.uuid,
    owner,
    deps: node.deps,
    depsBytes: raw[3],
    dataBytes: node.dataBytes,
  });
  if (isNew) init.stored.add(node.uuid);
}

/** DONE to the initialiser, the catalog to everyone else (all in the lobby), then ACTIVE (§4.3 step 4). */
function completeInit(ctx: SessionContext): void {
  const init = ctx.init as InitProgress;
  ctx.init = null;
  acceptMutation(ctx, { type: 'init-done' });
  ctx.out.send('command', [init.initiator], encodeServerSnapshotReply(SERVER_SNAPSHOT_DONE));
  sendCatalog(ctx, ctx.clients.others(init.initiator));
  ctx.out.log('info', logInitDone(init.username, ctx.store.size));
}

function endInit(ctx: SessionContext, record: ClientRecord): void {
  const from = record.clientId;
  if (ctx.pendingEnd !== from) {
    reject(ctx, 'init', from, `ServerSnapshot END from ${record.id} ignored: not initialising`);
    return;
  }
  if (ctx.init !== null) {
    reject(ctx, 'init', from, `Init by ${record.id} ended with ${ctx.init.remaining.size} listed node(s) missing`);
    completeInit(ctx);
  }
  ctx.pendingEnd = null;
  record.status = STATE_ACTIVE;
  broadcastUserList(ctx);
}

/** The initialiser left mid-init (leave.ts): discard what it stored and wait for a new init. */
export function abortInit(ctx: SessionContext): void {
  const init = ctx.init;
  if (init === null) return;
  ctx.init = null;
  ctx.phase = 'WAITING';
  if (init.stored.size > 0) acceptMutation(ctx, { type: 'delete', uuids: [...init.stored] });
  ctx.out.log('warn', logInitAborted(init.username, init.expected - init.remaining.size, init.expected));
}
