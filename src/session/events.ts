/**
 * The session's inputs and outputs (STYLE.md §2): `net/` turns socket traffic and timers into
 * `SessionEvent`s, hands them to `Session.handle`, and carries out the returned `Effect`s in
 * order. The session itself never touches a socket, a file or a clock.
 */
import type { Mutation } from './mutation.js';

/** A client's ZeroMQ routing identity (16 raw bytes for the add-on), as lowercase hex. */
export type ClientId = string;

/** The three server sockets (REPLICATION-PROTOCOL.md §1.1). */
export type Channel = 'command' | 'data' | 'heartbeat';

export type SessionEvent =
  /** A multipart message (routing identity removed) received on one of the three sockets. */
  | { type: 'message'; channel: Channel; from: ClientId; frames: readonly Uint8Array[]; now: number }
  /** Periodic timer, about every 100 ms: heartbeat pings, timeouts, user-list broadcasts. */
  | { type: 'tick'; now: number }
  /** `net/` had to drop a client (its send queue overflowed, or its socket failed). */
  | { type: 'dropped'; client: ClientId; reason: string; now: number }
  /** Operator action from the shell / admin API: kick a user by name. */
  | { type: 'admin-kick'; username: string; now: number }
  /** Operator action: disconnect every client, telling each why (a live restore replaces the session). */
  | { type: 'admin-disconnect-all'; reason: string; now: number };

export type EventType = SessionEvent['type'];

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type Effect =
  /** Send the same frames to each listed client on a channel. Frames are encoded once for all recipients. */
  | { type: 'send'; channel: Channel; to: readonly ClientId[]; frames: readonly Uint8Array[] }
  /** A log line; `key` groups lines for rate limiting of per-client warnings. */
  | { type: 'log'; level: LogLevel; message: string; key?: string }
  /** The client is gone for the session: `net/` forgets its queues. */
  | { type: 'forget'; client: ClientId }
  /**
   * An accepted state change to append to the journal. It precedes every effect that relays the
   * change (journal before relay, DESIGN §4): carry it out (or queue it durably) before them.
   * `by`: the logged-in user whose message caused it (history lists who changed what).
   */
  | { type: 'persist'; mutation: Mutation; by?: string }
  /** Ask for a snapshot now (coalesced by `store/`); `reason` goes in the log and the metadata file. */
  | { type: 'save'; reason: string };

export type EffectType = Effect['type'];
