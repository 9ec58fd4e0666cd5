/**
 * Locks (Right, §4.7), Delete (§4.6) and the one rule that decides who may change a node.
 *
 * Permission policy (a deviation, so that a lock protects an artist's work; docs/compatibility.md;
 * the reference checks nothing:
 * capture 09, `mallory` overwrote and re-owned alice's locked cube):
 *
 * - Node, Commit and Delete of an existing node: only its owner, or anyone when it is COMMON — the
 *   add-on's own client-side rule (`have_right_to_modify`). A new node: any logged-in client.
 * - Right: the same rule per listed node, and **admins may re-own any node**. That is the only
 *   admin override: it lets an admin free (or take) a lock held by someone who walked away. Admins
 *   may not push data to or delete a node another user holds; they take the lock first. The Right
 *   is echoed to everyone, so the former holder's client stops pushing instead of racing with the
 *   admin's edits. (Kick, the other admin power, is in leave.ts.)
 * - A Right's new owner (and a new node's owner) must be COMMON or a logged-in username: a lock
 *   held by a name nobody uses could never be released (the leave procedure frees only the locks
 *   of users who leave).
 *
 * A Right listing nodes the sender may not re-own is applied to the others; the echo then lists
 * only those (re-encoded); ids of nodes that do not exist are echoed as the reference does. A
 * refused Delete is neither applied nor echoed. Every refusal is logged with a rate-limit key.
 */
import { PyDict } from '../pickle/index.js';
import {
  OWNER_COMMON,
  RIGHT_KEY_OWNER,
  RIGHT_KEY_UUID,
  type Delete,
  type Right,
  encodeRight,
} from '../protocol/index.js';
import type { ClientRecord } from './clients.js';
import { reject, relayFrames, type SessionContext } from './context.js';
import type { ClientId } from './events.js';
import { acceptMutation } from './mutation.js';
import type { StoredNode } from './node-store.js';

/** Whether `record` may change the data of, delete, or (non-admin) re-own `node`. */
export function mayModify(record: ClientRecord, node: StoredNode): boolean {
  return node.owner === record.id || node.owner === OWNER_COMMON;
}

/** Whether `owner` is an owner a node may be given: COMMON or a logged-in username. */
export function isAssignableOwner(ctx: SessionContext, owner: string): boolean {
  return owner === OWNER_COMMON || ctx.clients.byUsername(owner) !== undefined;
}

export function handleRight(ctx: SessionContext, from: ClientId, msg: Right): void {
  const record = ctx.clients.get(from) as ClientRecord;
  const data = msg.data instanceof PyDict ? msg.data : undefined;
  const ids = data?.get(RIGHT_KEY_UUID);
  const owner = data?.get(RIGHT_KEY_OWNER);
  if (!Array.isArray(ids) || !ids.every((id): id is string => typeof id === 'string') || typeof owner !== 'string') {
    reject(ctx, 'malformed', from, `Right from ${record.id} ignored: expected {'uuid': [str], 'owner': str}`);
    return;
  }
  if (!isAssignableOwner(ctx, owner)) {
    reject(
      ctx,
      'right',
      from,
      `Right from ${record.id} refused: ${JSON.stringify(owner.slice(0, 64))} is not COMMON or a logged-in user`,
    );
    return;
  }
  const allowed: string[] = [];
  const echoed: string[] = [];
  const refused: string[] = [];
  for (const id of ids) {
    const node = ctx.store.get(id);
    if (node === undefined) echoed.push(id);
    else if (record.admin || mayModify(record, node)) {
      allowed.push(id);
      echoed.push(id);
    } else refused.push(id);
  }
  if (refused.length > 0) {
    reject(
      ctx,
      'right',
      from,
      `Right from ${record.id} refused for ${refused.length} node(s) locked by others: ${refused.join(', ')}`,
    );
    if (allowed.length === 0) return;
  }
  if (allowed.length > 0) acceptMutation(ctx, { type: 'owner', uuids: allowed, owner });
  const frames = refused.length === 0 ? relayFrames(msg) : encodeRight(msg.owner, echoed, owner);
  ctx.out.send('command', ctx.clients.ids(), frames);
}

export function handleDelete(ctx: SessionContext, from: ClientId, msg: Delete): void {
  const record = ctx.clients.get(from) as ClientRecord;
  if (typeof msg.data !== 'string') {
    // The reference logs an AssertionError for `None` (crash vector delete_none) and sends nothing.
    reject(ctx, 'malformed', from, `Delete from ${record.id} ignored: data is not a node id str`);
    return;
  }
  const node = ctx.store.get(msg.data);
  if (node !== undefined) {
    if (!mayModify(record, node)) {
      reject(ctx, 'delete', from, `Delete of ${msg.data} from ${record.id} refused: locked by ${node.owner}`);
      return;
    }
    acceptMutation(ctx, { type: 'delete', uuids: [msg.data] });
  }
  // Echoed to everyone including the sender, even for an unknown id (§4.6; the add-on deletes on the echo).
  ctx.out.send('command', ctx.clients.ids(), relayFrames(msg));
}
