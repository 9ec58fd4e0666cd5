/**
 * A logged-in client leaving (§4.12) — by heartbeat timeout, kick, missing heartbeat or because
 * `net/` dropped it — and Kick (§4.8).
 */
import { PyDict } from '../pickle/index.js';
import { KICK_KEY_USER, OWNER_COMMON, type Kick, encodeDisconnect, encodeUnlockRight } from '../protocol/index.js';
import { ARCHIVE_USERNAME } from './archive.js';
import type { ClientRecord } from './clients.js';
import { reject, type SessionContext } from './context.js';
import type { ClientId } from './events.js';
import { abortInit } from './init.js';
import { LEAVE_REASON_KICKED, logKick, logLockRelease, logLogout, saveReasonUserDisconnect } from './log-messages.js';
import { acceptLeave, acceptMutation } from './mutation.js';

/** Who kicks when the operator uses the shell or the admin API. */
export const OPERATOR = 'operator';

/**
 * Removes a logged-in client (§4.12): its locks go back to COMMON in the store — **also when
 * nobody else is online** (the reference only updated the store inside its per-recipient loop,
 * capture 08_lock_leak) — and a Right COMMON with owner `'server'` tells the others. Then the
 * record and its heartbeat entry are dropped, an init it was running is aborted, and `net/` is
 * told to forget it. No UpdateClientsState here: the next tick carries the new list (§4.8).
 * Last, a `save` effect asks for a snapshot (reason `user_disconnect:NAME`), so that what the
 * user did is in a snapshot, not only in the journal, once they are gone. Its chat
 * and tasks stay in the archive. An identity that is not logged in only loses its pending
 * heartbeat entry.
 */
export function removeClient(ctx: SessionContext, id: ClientId, reason: string): void {
  const record = ctx.clients.get(id);
  ctx.heartbeat.forget(id);
  if (record === undefined) return;
  ctx.out.log('info', logLogout(record.id, reason));
  const owned = ctx.store.ownedBy(record.id);
  if (owned.length > 0) {
    acceptMutation(ctx, { type: 'owner', uuids: owned, owner: OWNER_COMMON });
    ctx.out.send('command', ctx.clients.others(id), encodeUnlockRight(owned));
    ctx.out.log('info', logLockRelease(record.id, owned));
  }
  ctx.clients.remove(id);
  acceptLeave(ctx, record.id);
  if (ctx.init !== null && ctx.init.initiator === id) abortInit(ctx);
  if (ctx.pendingEnd === id) ctx.pendingEnd = null;
  ctx.out.forget(id);
  ctx.out.save(saveReasonUserDisconnect(record.id));
}

/** Disconnect `{'reason': 'kicked by admin'}` to the client, then the leave procedure (§4.8). */
export function kickClient(ctx: SessionContext, target: ClientRecord, by: string): void {
  ctx.out.send('command', [target.clientId], encodeDisconnect());
  ctx.out.log('warn', logKick(target.id, by));
  removeClient(ctx, target.clientId, LEAVE_REASON_KICKED);
}

/**
 * Kick from a logged-in client. Deviations, so that no user can throw the others out (the
 * reference checks nothing, capture 09):
 * only admins may kick, never themselves (the add-on refuses that too) and never the archive entry.
 * A Kick without `user` stopped the reference's command thread (crash: kick_without_user): here it
 * is logged and ignored.
 */
export function handleKick(ctx: SessionContext, from: ClientId, msg: Kick): void {
  const sender = ctx.clients.get(from) as ClientRecord;
  if (!sender.admin) {
    reject(ctx, 'kick', from, `Kick refused: ${sender.id} is not an admin`);
    return;
  }
  const user = msg.data instanceof PyDict ? msg.data.get(KICK_KEY_USER) : undefined;
  if (typeof user !== 'string') {
    reject(ctx, 'malformed', from, `Kick from ${sender.id} ignored: no 'user' str`);
    return;
  }
  if (user === sender.id) {
    reject(ctx, 'kick', from, `Kick refused: ${sender.id} cannot kick themselves`);
    return;
  }
  kickByName(ctx, user, sender.id, from);
}

/** The operator's kick (shell `kick NAME`, admin API): no admin check, same refusals otherwise. */
/**
 * Disconnect `{'reason': reason}` to every logged-in client, then the leave procedure for each:
 * the add-on shows the reason, and the leaves (locks released) are journaled like any other.
 */
export function disconnectEveryone(ctx: SessionContext, reason: string): void {
  const all = [...ctx.clients.records()];
  for (const target of all) {
    ctx.out.send('command', [target.clientId], encodeDisconnect(reason));
    removeClient(ctx, target.clientId, reason);
  }
  if (all.length > 0) ctx.out.log('warn', `Disconnected ${all.length} user(s): ${reason}`);
}

export function handleAdminKick(ctx: SessionContext, username: string): void {
  kickByName(ctx, username, OPERATOR, undefined);
}

function kickByName(ctx: SessionContext, username: string, by: string, from: ClientId | undefined): void {
  const target = username === ARCHIVE_USERNAME ? undefined : ctx.clients.byUsername(username);
  if (target === undefined) {
    const message = `Can't kick ${JSON.stringify(username)}: user not found`;
    if (from === undefined) ctx.out.log('warn', message);
    else reject(ctx, 'kick', from, message);
    return;
  }
  kickClient(ctx, target, by);
}
