/**
 * A client pulling the repository (Snapshot, §4.4): REQUEST_INIT → INIT with the catalog, then
 * one GET → SET per node, then DONE. Only logged-in clients get here (session.ts).
 */
import { PyDict } from '../pickle/index.js';
import {
  SNAPSHOT_DONE,
  SNAPSHOT_GET,
  SNAPSHOT_KEY_ID,
  SNAPSHOT_KEY_STATE,
  SNAPSHOT_REQUEST_INIT,
  STATE_ACTIVE,
  type Snapshot,
  encodeSnapshotInit,
  encodeSnapshotRemoved,
  encodeSnapshotSet,
} from '../protocol/index.js';
import { broadcastUserList, type ClientRecord } from './clients.js';
import { reject, type SessionContext } from './context.js';
import type { ClientId } from './events.js';
import { logSnapshotCatalog, logSnapshotDone } from './log-messages.js';

/**
 * The catalog entry sent when the store is empty. An empty CATALOG crashes the stock client (it
 * pops unconditionally: crash empty_catalog, reached by deleting every node of a running session),
 * and the reference answers RUNNING whenever it is ACTIVE. So an empty store is served as one id
 * that can never be a node (the nil UUID; uuid4 never produces it): the client GETs it, gets
 * `b'removed'` — the answer the reference itself gives for a node deleted during a join — and
 * finishes with DONE, joining an empty scene. Going back to WAITING instead would strand clients
 * that are already active, and deferring the answer would leave the joiner in the lobby.
 */
export const EMPTY_STORE_PLACEHOLDER_ID = '00000000-0000-0000-0000-000000000000';

/** The current catalog, never empty. */
function catalog(ctx: SessionContext): string[] {
  return ctx.store.size > 0 ? ctx.store.ids() : [EMPTY_STORE_PLACEHOLDER_ID];
}

/** Snapshot INIT with the catalog (store order) to each listed client. */
export function sendCatalog(ctx: SessionContext, to: readonly ClientId[]): void {
  if (to.length === 0) return;
  const ids = catalog(ctx);
  ctx.out.send('command', to, encodeSnapshotInit(ids));
  for (const id of to) {
    const record = ctx.clients.get(id);
    if (record !== undefined) ctx.out.log('info', logSnapshotCatalog(record.id, ctx.store.size));
  }
}

/**
 * Snapshot from a logged-in client. Malformed requests (no STATE, GET without a str ID — the
 * latter stopped the reference's command thread: crash snapshot_GET_without_ID) are logged and
 * ignored. A REQUEST_INIT while the session is not ACTIVE is not answered: the client waits in
 * the lobby and gets the catalog when the init completes (§4.3 step 4).
 */
export function handleSnapshot(ctx: SessionContext, from: ClientId, msg: Snapshot): void {
  const record = ctx.clients.get(from) as ClientRecord;
  const state = msg.data instanceof PyDict ? msg.data.get(SNAPSHOT_KEY_STATE) : undefined;
  switch (state) {
    case SNAPSHOT_REQUEST_INIT:
      if (ctx.phase !== 'ACTIVE') {
        reject(
          ctx,
          'snapshot',
          from,
          `Snapshot request from ${record.id} ignored: the session is not initialised`,
          'info',
        );
        return;
      }
      sendCatalog(ctx, [from]);
      return;
    case SNAPSHOT_GET: {
      const id = (msg.data as PyDict).get(SNAPSHOT_KEY_ID);
      if (typeof id !== 'string') {
        reject(ctx, 'malformed', from, `Snapshot GET from ${record.id} ignored: no 'ID' str`);
        return;
      }
      // Exactly the node asked for, in its current state; `b'removed'` when it is gone (§4.4).
      const node = ctx.store.toNode(id);
      ctx.out.send('command', [from], node === undefined ? encodeSnapshotRemoved() : encodeSnapshotSet(node));
      return;
    }
    case SNAPSHOT_DONE:
      record.status = STATE_ACTIVE;
      ctx.out.log('info', logSnapshotDone(record.id));
      broadcastUserList(ctx);
      return;
    default:
      reject(ctx, 'malformed', from, `Snapshot from ${record.id} ignored: unknown STATE`);
  }
}
