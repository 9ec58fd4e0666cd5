/**
 * The heartbeat on port P+2 (§4.13), driven by `tick` events (about every 100 ms) with the time
 * passed in. Rules, as the reference applies them:
 *
 * - `INIT` from X: (re)create X's entry with last-received = last-sent = now, send `PING` at once.
 * - any other single frame from a watched X: last-received := now (content not checked).
 * - X quiet for 1000 ms and not pinged for 1000 ms: `PING`, last-sent := now. The reference polls
 *   continuously and compares with `>`; a machine driven by discrete ticks compares with `>=` so
 *   that pings are not pushed one whole tick late.
 * - once a second: latency := |last-received − last-sent|; latency **strictly greater** than the
 *   timeout → LOST, the leave procedure runs; the others get the latency in their record; then
 *   UpdateClientsState to everyone. With `-t 3000` a silent client is lost ~3.1 s after its last
 *   PONG (capture 07_heartbeat_timeout: 3093 ms).
 *
 * Deviations from the reference, so that peers that never log in cannot hold server state:
 * - an INIT from an identity that has not logged in is kept as a *pending* entry (answered with
 *   one PING, never pinged again, never measured) for `preAuthHeartbeatMs` (default 10 s; the add-on
 *   sends its Auth first, capture 07 saw INIT 1.6 s early), at most `maxPendingHeartbeats` of them
 *   (the oldest is evicted). The Auth promotes it; the reference forgot it at its next tick.
 * - a logged-in client whose heartbeat never starts is removed `heartbeatGraceMs` after its login
 *   (default 30 s); the reference kept it forever, blocking its username.
 * - a heartbeat message of several frames is logged and ignored (it killed the reference's heartbeat
 *   thread: crash ttl_two_frames).
 */
import { CLIENT_PING_FREQUENCY_MS, decodeHeartbeat, encodeHeartbeat, type HeartbeatKind } from '../protocol/index.js';
import { broadcastUserList } from './clients.js';
import { reject, type SessionContext } from './context.js';
import type { ClientId } from './events.js';
import type { Watch } from './heartbeat-table.js';
import { removeClient } from './leave.js';
import { LEAVE_REASON_NO_HEARTBEAT, LEAVE_REASON_TIMEOUT } from './log-messages.js';

/** PING when a client has been quiet this long (and was not pinged for as long). */
export const PING_INTERVAL_MS = CLIENT_PING_FREQUENCY_MS;
/** Latency checks and the periodic UpdateClientsState run this often (§4.10: about once a second). */
export const HEARTBEAT_TICK_MS = 1000;

const PING = encodeHeartbeat('PING');

/** A message on the heartbeat socket. Never throws for a malformed message. */
export function handleHeartbeat(ctx: SessionContext, from: ClientId, frames: readonly Uint8Array[], now: number): void {
  let kind: HeartbeatKind;
  try {
    kind = decodeHeartbeat(frames);
  } catch (err) {
    reject(ctx, 'malformed', from, `Heartbeat message from identity ${from} ignored: ${(err as Error).message}`);
    return;
  }
  const hb = ctx.heartbeat;
  if (kind === 'INIT') {
    if (ctx.clients.get(from) !== undefined) {
      hb.watched.set(from, { lastRecvMs: now, lastSentMs: now });
    } else {
      hb.pending.delete(from);
      if (hb.pending.size >= ctx.limits.maxPendingHeartbeats) {
        const oldest = hb.pending.keys().next().value as ClientId;
        hb.pending.delete(oldest);
        reject(ctx, 'heartbeat-pending', from, `Pending heartbeat of identity ${oldest} evicted: too many`);
      }
      hb.pending.set(from, { createdMs: now, lastRecvMs: now, lastSentMs: now });
    }
    ctx.out.send('heartbeat', [from], PING);
    return;
  }
  const entry = hb.watched.get(from) ?? hb.pending.get(from);
  if (entry !== undefined) entry.lastRecvMs = now;
  else reject(ctx, 'unauthenticated', from, `Heartbeat from unknown identity ${from} dropped`, 'debug');
}

/** Called on login: an INIT that arrived before the Auth starts the watch now. */
export function promoteHeartbeat(ctx: SessionContext, id: ClientId): void {
  const pending = ctx.heartbeat.pending.get(id);
  if (pending === undefined) return;
  ctx.heartbeat.pending.delete(id);
  ctx.heartbeat.watched.set(id, { lastRecvMs: pending.lastRecvMs, lastSentMs: pending.lastSentMs });
}

/**
 * |last-received − last-sent| (§4.13), except that a PING sent in this very tick cannot have been
 * answered yet: for a client that answered the PING before it, the latency is measured against
 * that one. Otherwise a tick that both pings and measures (about one in eleven with 100 ms ticks)
 * showed a healthy client at ~1000 ms and timed it out when the timeout is below ~1.1 s. A client
 * that did not answer its previous PING is measured as before, so LOST comes at the same tick.
 */
function latencyOf(w: Watch, now: number): number {
  const answeredPrevious = w.prevSentMs !== undefined && w.lastRecvMs >= w.prevSentMs;
  const sent = w.lastSentMs === now && answeredPrevious ? (w.prevSentMs as number) : w.lastSentMs;
  return Math.abs(w.lastRecvMs - sent);
}

/** Pings, pending expiry, and once a second latencies, LOST clients, grace period and the user list. */
export function tickHeartbeat(ctx: SessionContext, now: number): void {
  const hb = ctx.heartbeat;
  const ping: ClientId[] = [];
  for (const [id, w] of hb.watched) {
    if (now - w.lastRecvMs >= PING_INTERVAL_MS && now - w.lastSentMs >= PING_INTERVAL_MS) {
      w.prevSentMs = w.lastSentMs;
      w.lastSentMs = now;
      ping.push(id);
    }
  }
  ctx.out.send('heartbeat', ping, PING);

  for (const [id, p] of hb.pending) {
    if (now - p.createdMs > ctx.options.preAuthHeartbeatMs) {
      hb.pending.delete(id);
      ctx.out.log('debug', `Pending heartbeat of identity ${id} expired: no login`);
    }
  }

  if (hb.lastTickMs !== undefined && now - hb.lastTickMs < HEARTBEAT_TICK_MS) return;
  hb.lastTickMs = now;

  for (const [id, w] of [...hb.watched]) {
    const latency = latencyOf(w, now);
    const record = ctx.clients.get(id);
    if (record === undefined) hb.watched.delete(id);
    else if (latency > ctx.options.timeoutMs) removeClient(ctx, id, LEAVE_REASON_TIMEOUT);
    else record.latencyMs = Math.round(latency);
  }
  for (const record of [...ctx.clients.records()]) {
    if (!hb.watched.has(record.clientId) && now - record.loginMs > ctx.options.heartbeatGraceMs) {
      removeClient(ctx, record.clientId, LEAVE_REASON_NO_HEARTBEAT);
    }
  }
  broadcastUserList(ctx);
}
