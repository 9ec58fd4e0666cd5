/**
 * Heartbeat bookkeeping (§4.13): who is watched, when we last heard from them and last pinged
 * them. Pure data; the rules live in heartbeat.ts.
 */
import type { ClientId } from './events.js';

/** A logged-in client whose heartbeat process said INIT. */
export interface Watch {
  lastRecvMs: number;
  lastSentMs: number;
  /** The PING before the last one (undefined until the second PING). */
  prevSentMs?: number;
}

/** An identity that said INIT before its Auth was processed (capture 07, client T). */
export interface PendingWatch extends Watch {
  readonly createdMs: number;
}

export class HeartbeatTable {
  readonly watched = new Map<ClientId, Watch>();
  /** Insertion ordered: the oldest entry is evicted first when the bound is reached. */
  readonly pending = new Map<ClientId, PendingWatch>();
  /** When the last once-a-second tick ran; `undefined` before the first tick event (which runs it). */
  lastTickMs: number | undefined = undefined;

  /** Stops watching an identity, logged in or not. */
  forget(id: ClientId): void {
    this.watched.delete(id);
    this.pending.delete(id);
  }
}
