/**
 * The outgoing side of one ROUTER socket: every message leaves in order per client, nothing is
 * silently lost, and what waits for a slow client is bounded (bounded per-client send queues;
 * STYLE.md §7, zeromq.js `examples/queue/queue.ts`).
 *
 * A send either hands the message to the client's connection at once or answers at once with
 * - `full`: the connection's write buffer is past its high-water mark (it reads slower than we
 *   write), or
 * - `unreachable`: no connection with that identity (not connected yet, or reconnecting).
 * Either way the message and everything after it for that client wait in the client's own queue;
 * other clients are not held up. A `full` client is retried when its connection says it has room
 * again (`whenWritable`: no polling, so any number of stalled readers costs no CPU); an
 * `unreachable` one (or `full` on a socket that cannot tell) with a short backoff. When a client's queue passes its
 * bound the client is dropped (`onOverflow`) — never fed a stream with a hole in it. Replies to
 * identities that have not logged in are best effort: one attempt, never queued.
 *
 * A single drain loop sends in submit order; `submit` only appends to a FIFO, so the session's
 * effects keep their order. A socket that answers with a promise (a zeromq.js ROUTER, which allows
 * one pending send) is awaited one message at a time.
 */
import type { Channel, ClientId } from '../session/index.js';
import { errnoCode } from './errors.js';
import { Fifo } from './fifo.js';

/** Bounds of the queue one client may have waiting on one socket. */
export interface SendQueueLimits {
  /** Messages waiting for one client on one socket before it is dropped as too slow. */
  maxMessages: number;
  /**
   * Bytes waiting for one client on one socket before it is dropped. A single message larger than
   * this is still accepted into an empty queue (a big node must be deliverable at all).
   */
  maxBytes: number;
}

/** Defaults: far more than a client that keeps up ever needs (libzmq's own pipe holds 1000 more). */
export const DEFAULT_SEND_QUEUE_LIMITS: Readonly<SendQueueLimits> = Object.freeze({
  maxMessages: 10_000,
  maxBytes: 256 * 1024 * 1024,
});

/** Why a client's messages are waiting. */
export type BlockReason = 'full' | 'unreachable';

/** A socket's immediate answer to a send. */
export type SendResult = 'sent' | BlockReason;

/** What the queue looked like when a client was dropped. */
export interface OverflowInfo {
  readonly client: ClientId;
  readonly channel: Channel;
  readonly messages: number;
  readonly bytes: number;
  readonly reason: BlockReason;
  /** How long (ms) the client had not accepted a message on this socket. */
  readonly blockedMs: number;
}

export interface ChannelSenderOptions {
  channel: Channel;
  /**
   * Hands one multipart message (identity first) to the socket. Either answers at once (our
   * ZMTP router: `sent`, `full`, `unreachable`) or returns a promise that rejects with an errno
   * `code` (`EAGAIN` = full, `EHOSTUNREACH` = unreachable, anything else = failed).
   */
  send: (parts: Uint8Array[], client: ClientId) => SendResult | Promise<void>;
  /**
   * Called when the drain loop reaches a `forget` or `closeAfter` of a client, i.e. after every
   * message submitted for it before had its attempt: the socket side closes its connection, after
   * flushing what was written, or at once (`cut`) when the client was dropped (it does not read).
   */
  disconnect?: (client: ClientId, cut: boolean) => void;
  /**
   * After `full`: arranges for `wake` to be called once when the client's connection has room again
   * (or is gone), and returns true; false when it cannot (then the client is retried on a timer).
   * `wake` may come from inside a socket callback; the sender only schedules its drain loop then.
   */
  whenWritable?: (client: ClientId, wake: () => void) => boolean;
  limits: SendQueueLimits;
  /** Called once when a client's queue overflows; the client's queue is already discarded. */
  onOverflow: (info: OverflowInfo) => void;
  /** Called when a send fails for another reason than the two above; the client is dropped too. */
  onSendError: (client: ClientId, channel: Channel, err: unknown) => void;
  /** Monotonic milliseconds. */
  now: () => number;
}

/** Counters for metrics and tests. */
export interface ChannelSenderStats {
  readonly sent: number;
  readonly queuedMessages: number;
  readonly queuedBytes: number;
  readonly blockedClients: number;
  readonly droppedClients: number;
  /** Best-effort messages (to identities not logged in) discarded instead of queued. */
  readonly bestEffortDiscarded: number;
  /** Sends tried again for blocked clients (woken or timed); stays still while every reader is stalled. */
  readonly retries: number;
}

interface Item {
  readonly client: ClientId;
  /**
   * `null` marks a `forget` (`parts` empty) or a `closeAfter` (`parts` is `CLOSE_MARK`): when the
   * drain loop reaches it, the client's state is released or its connection closed.
   */
  readonly identity: Buffer | null;
  /** Sent once if the socket takes it at once; never queued, retried or remembered. */
  readonly bestEffort: boolean;
  /** The message with slot 0 reserved for the identity; may be shared by every recipient of a fan-out. */
  readonly parts: Uint8Array[];
  readonly bytes: number;
  /** The socket's answer to a send already made by `submit`'s fast path, for the drain loop to await. */
  pending?: Promise<void>;
}

interface Blocked {
  readonly items: Fifo<Item>;
  bytes: number;
  reason: BlockReason;
  since: number;
  attempts: number;
  /** When its timer retry is due; `Infinity` while it waits for `whenWritable` to wake it. */
  nextRetryAt: number;
}

/** Retry delays: 1 ms doubling to 100 ms; reset as soon as a message gets through. */
const RETRY_BASE_MS = 1;
const RETRY_MAX_MS = 100;
/** Synchronous sends in a row before the drain loop lets I/O callbacks run (receive loops, timers). */
const YIELD_EVERY = 512;
/** Dropped clients remembered until the session forgets them (bounded in case it never does). */
const MAX_DROPPED_REMEMBERED = 4096;

const NO_IDENTITY = Buffer.alloc(0);
const CLOSE_MARK: Uint8Array[] = [];
const FORGET_MARK: Uint8Array[] = [];

/** `[slot for the identity, ...frames]`, the shape `submit` takes. */
export function messageParts(frames: readonly Uint8Array[]): Uint8Array[] {
  return [NO_IDENTITY, ...frames];
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class ChannelSender {
  private readonly main = new Fifo<Item>();
  private readonly blocked = new Map<ClientId, Blocked>();
  private readonly dropped = new Set<ClientId>();
  private draining = false;
  private retryDue = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private sentCount = 0;
  private droppedCount = 0;
  private queuedMessages = 0;
  private queuedBytes = 0;
  private bestEffortDiscarded = 0;
  private retries = 0;
  private wakeScheduled = false;
  /** The socket answered a send with a promise once: no fast path (see `sendNow`). */
  private asyncSocket = false;

  constructor(private readonly opts: ChannelSenderOptions) {}

  /**
   * Queues one message for a client; it goes out after everything submitted before it. `parts` is
   * the message with slot 0 reserved: the identity is written there right before each send, so one
   * array serves every recipient of a fan-out (zeromq.js reads it synchronously when `sendTimeout`
   * is 0; see `messageParts`). `bytes` is the size of the frames, computed once per fan-out.
   * Ignored once closed or while the client is dropped. A `bestEffort` message (a reply to an
   * identity that has not logged in) is sent if the socket takes it at once and otherwise
   * discarded: a stranger who left must leave nothing behind that is retried or remembered.
   */
  submit(client: ClientId, identity: Buffer, parts: Uint8Array[], bytes: number, bestEffort = false): void {
    if (this.closed || this.dropped.has(client)) return;
    // Nothing is waiting before it and the client is not blocked: the send is attempted right here,
    // with no queue entry and no drain pass (the common case, once per recipient of a fan-out).
    if (!this.asyncSocket && !this.draining && this.main.length === 0 && !this.blocked.has(client)) {
      this.sendNow(client, identity, parts, bytes, bestEffort);
      return;
    }
    this.main.push({ client, identity, parts, bytes, bestEffort });
    if (!this.draining) void this.drain();
  }

  /** `submit`'s fast path: what the drain loop does for one message, without the loop. */
  private sendNow(client: ClientId, identity: Buffer, parts: Uint8Array[], bytes: number, bestEffort: boolean): void {
    parts[0] = identity;
    let result: SendResult | 'failed' | Promise<void>;
    try {
      result = this.opts.send(parts, client);
    } catch (err) {
      result = this.sendFailed(client, err);
    }
    if (typeof result !== 'string') {
      // A socket that answers with a promise allows one pending send: from now on every message
      // takes the drain loop, which awaits this one first.
      this.asyncSocket = true;
      this.main.push({ client, identity, parts, bytes, bestEffort, pending: result });
      if (!this.draining) void this.drain();
      return;
    }
    if (result === 'sent') this.sentCount++;
    else if (result === 'failed') return;
    else if (bestEffort) this.bestEffortDiscarded++;
    else this.block({ client, identity, parts, bytes, bestEffort }, result);
  }

  /** After what was submitted for the client so far has had its attempt, `disconnect` it. */
  closeAfter(client: ClientId): void {
    if (this.closed) return;
    this.main.push({ client, identity: null, parts: CLOSE_MARK, bytes: 0, bestEffort: false });
    if (!this.draining) void this.drain();
  }

  /**
   * The client is gone for the session: after what was submitted for it so far has had its one
   * attempt, its queue and dropped mark are released.
   */
  forget(client: ClientId): void {
    if (this.closed) return;
    this.main.push({ client, identity: null, parts: FORGET_MARK, bytes: 0, bestEffort: false });
    if (!this.draining) void this.drain();
  }

  /** Discards everything waiting for the client now; further submits are ignored until `forget`. */
  drop(client: ClientId): void {
    this.release(client);
    if (this.dropped.size >= MAX_DROPPED_REMEMBERED) {
      const oldest = this.dropped.values().next();
      if (oldest.done !== true) this.dropped.delete(oldest.value);
    }
    this.dropped.add(client);
  }

  /** Messages and bytes waiting in this client's queue (0 when it keeps up). */
  queued(client: ClientId): { messages: number; bytes: number } {
    const b = this.blocked.get(client);
    return b === undefined ? { messages: 0, bytes: 0 } : { messages: b.items.length, bytes: b.bytes };
  }

  stats(): ChannelSenderStats {
    return {
      sent: this.sentCount,
      queuedMessages: this.queuedMessages,
      queuedBytes: this.queuedBytes,
      blockedClients: this.blocked.size,
      droppedClients: this.droppedCount,
      bestEffortDiscarded: this.bestEffortDiscarded,
      retries: this.retries,
    };
  }

  /** Stops sending and frees every queue. Idempotent. */
  close(): void {
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.main.clear();
    this.blocked.clear();
    this.dropped.clear();
    this.queuedMessages = 0;
    this.queuedBytes = 0;
  }

  private release(client: ClientId): void {
    const b = this.blocked.get(client);
    if (b === undefined) return;
    this.queuedMessages -= b.items.length;
    this.queuedBytes -= b.bytes;
    this.blocked.delete(client);
  }

  private async drain(): Promise<void> {
    if (this.draining || this.closed) return;
    this.draining = true;
    try {
      let ops = 0;
      while (!this.closed) {
        if (this.retryDue) {
          this.retryDue = false;
          await this.retryBlocked();
        }
        const item = this.main.shift();
        if (item === undefined) break;
        if (item.identity === null) {
          const cut = this.dropped.has(item.client);
          if (item.parts === FORGET_MARK) {
            this.release(item.client);
            this.dropped.delete(item.client);
          }
          this.opts.disconnect?.(item.client, cut);
          continue;
        }
        if (this.dropped.has(item.client)) continue;
        const waiting = this.blocked.get(item.client);
        if (waiting !== undefined) {
          if (item.bestEffort) this.bestEffortDiscarded++;
          else this.append(waiting, item);
          continue;
        }
        const attempt = this.trySend(item);
        const outcome = typeof attempt === 'string' ? attempt : await attempt;
        if (outcome !== 'sent' && outcome !== 'failed') {
          if (item.bestEffort) this.bestEffortDiscarded++;
          else this.block(item, outcome);
        }
        if (++ops >= YIELD_EVERY) {
          ops = 0;
          await yieldToLoop();
        }
      }
    } finally {
      this.draining = false;
    }
    // Work that arrived during the loop's last await.
    if (!this.closed && (this.retryDue || this.main.length > 0)) void this.drain();
  }

  /** Synchronous when the socket answers at once (no microtask per message on the hot path). */
  private trySend(item: Item): SendResult | 'failed' | Promise<SendResult | 'failed'> {
    let result: SendResult | Promise<void>;
    if (item.pending !== undefined) {
      // Answered once: a retry of this item sends it again.
      result = item.pending;
      item.pending = undefined;
    } else {
      item.parts[0] = item.identity as Buffer;
      try {
        result = this.opts.send(item.parts, item.client);
      } catch (err) {
        return this.sendFailed(item.client, err);
      }
    }
    if (typeof result === 'string') {
      if (result === 'sent') this.sentCount++;
      return result;
    }
    return result.then(
      () => {
        this.sentCount++;
        return 'sent' as const;
      },
      (err: unknown) => this.sendFailed(item.client, err),
    );
  }

  private sendFailed(client: ClientId, err: unknown): SendResult | 'failed' {
    const code = errnoCode(err);
    if (code === 'EAGAIN') return 'full';
    if (code === 'EHOSTUNREACH') return 'unreachable';
    if (this.closed) return 'failed';
    this.drop(client);
    this.droppedCount++;
    this.opts.onSendError(client, this.opts.channel, err);
    return 'failed';
  }

  private block(item: Item, reason: BlockReason): void {
    const now = this.opts.now();
    const b: Blocked = { items: new Fifo(), bytes: 0, reason, since: now, attempts: 0, nextRetryAt: now };
    this.blocked.set(item.client, b);
    this.append(b, item);
    if (this.blocked.get(item.client) === b) this.waitOrRetry(item.client, b);
  }

  private append(b: Blocked, item: Item): void {
    const lim = this.opts.limits;
    const tooMany = b.items.length + 1 > lim.maxMessages;
    const tooBig = b.items.length > 0 && b.bytes + item.bytes > lim.maxBytes;
    if (tooMany || tooBig) {
      const info: OverflowInfo = {
        client: item.client,
        channel: this.opts.channel,
        messages: b.items.length,
        bytes: b.bytes,
        reason: b.reason,
        blockedMs: Math.round(this.opts.now() - b.since),
      };
      this.drop(item.client);
      this.droppedCount++;
      this.opts.onOverflow(info);
      return;
    }
    b.items.push(item);
    b.bytes += item.bytes;
    this.queuedMessages++;
    this.queuedBytes += item.bytes;
  }

  /** A `full` client waits to be woken by its connection; otherwise (or if it cannot) a timer. */
  private waitOrRetry(client: ClientId, b: Blocked): void {
    const wait = this.opts.whenWritable;
    if (b.reason === 'full' && wait !== undefined && wait(client, () => this.woken(client, b))) {
      b.nextRetryAt = Infinity;
      return;
    }
    this.scheduleRetry(b);
  }

  private woken(client: ClientId, b: Blocked): void {
    if (this.closed || this.blocked.get(client) !== b) return;
    b.nextRetryAt = -Infinity;
    this.retryDue = true;
    // Never send from inside the socket callback that woke us; one drain pass serves every wake-up.
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      if (!this.draining) void this.drain();
    });
  }

  private scheduleRetry(b: Blocked): void {
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** b.attempts);
    b.nextRetryAt = this.opts.now() + delay;
    this.armTimer();
  }

  private armTimer(): void {
    if (this.closed || this.blocked.size === 0) return;
    let next = Infinity;
    for (const b of this.blocked.values()) next = Math.min(next, b.nextRetryAt);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    // Every blocked client waits to be woken: no timer (setTimeout(Infinity) would fire every 1 ms).
    if (next === Infinity) return;
    const delay = Math.max(0, next - this.opts.now());
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.retryDue = true;
      if (!this.draining) void this.drain();
    }, delay);
    // Sockets keep a running server alive; a pending retry alone must not keep a process alive.
    this.retryTimer.unref();
  }

  /** One pass over the clients whose retry time has come, each sent as far as it goes. */
  private async retryBlocked(): Promise<void> {
    const now = this.opts.now();
    for (const [client, b] of [...this.blocked]) {
      if (b.nextRetryAt > now) continue;
      let progressed = false;
      while (!this.closed && this.blocked.get(client) === b) {
        const item = b.items.peek();
        if (item === undefined) break;
        this.retries++;
        const outcome = await this.trySend(item);
        if (outcome === 'failed' || this.blocked.get(client) !== b) break;
        if (outcome !== 'sent') {
          b.reason = outcome;
          break;
        }
        b.items.shift();
        b.bytes -= item.bytes;
        this.queuedMessages--;
        this.queuedBytes -= item.bytes;
        progressed = true;
      }
      if (this.blocked.get(client) !== b) continue;
      if (b.items.length === 0) {
        this.blocked.delete(client);
        continue;
      }
      if (progressed) {
        b.attempts = 0;
        b.since = this.opts.now();
      } else {
        b.attempts = Math.min(b.attempts + 1, 16);
      }
      this.waitOrRetry(client, b);
    }
    this.armTimer();
  }
}
