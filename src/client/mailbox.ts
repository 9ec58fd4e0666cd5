/**
 * Selective receive for received events: `take(predicate, timeoutMs)` returns the oldest stored
 * event that matches — or the next one to arrive — and removes it. Because events are stored until
 * taken, a caller can act first and wait afterwards without missing anything (tests await events,
 * never sleep; STYLE.md §13). Bounded: past `capacity` the oldest stored events are discarded.
 */
import { netError } from '../net/index.js';

interface Waiter<T> {
  readonly predicate: (item: T) => boolean;
  readonly resolve: (item: T) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class Mailbox<T> {
  private stored: T[] = [];
  private waiters: Waiter<T>[] = [];
  private closedReason: string | undefined;
  /** Events discarded because the mailbox was full. */
  discarded = 0;

  /** `capacity` 0 stores nothing: only waiters registered before an event arrives see it. */
  constructor(private readonly capacity = 10_000) {}

  /** Offers an event to the waiters (oldest first), then stores it if none took it. */
  push(item: T): void {
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i];
      if (!w.predicate(item)) continue;
      this.waiters.splice(i, 1);
      clearTimeout(w.timer);
      w.resolve(item);
      return;
    }
    if (this.capacity === 0) return;
    if (this.stored.length >= this.capacity) {
      this.stored.shift();
      this.discarded++;
    }
    this.stored.push(item);
  }

  /**
   * The oldest stored event matching `predicate`, removed; else the next matching one to arrive.
   * Rejects with `NetError` `NET_TIMEOUT` after `timeoutMs` (naming `what`), or `NET_CLOSED` when the
   * mailbox is closed first.
   */
  take<U extends T = T>(predicate: (item: T) => boolean, timeoutMs: number, what = 'event'): Promise<U> {
    const i = this.stored.findIndex(predicate);
    if (i >= 0) return Promise.resolve(this.stored.splice(i, 1)[0] as U);
    if (this.closedReason !== undefined) {
      return Promise.reject(netError('NET_CLOSED', `closed (${this.closedReason}) while waiting for ${what}`));
    }
    return new Promise<U>((resolve, reject) => {
      const waiter: Waiter<T> = {
        predicate,
        resolve: resolve as (item: T) => void,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(netError('NET_TIMEOUT', `no ${what} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Stored events matching `predicate`, oldest first, without removing them. */
  peek(predicate: (item: T) => boolean = () => true): T[] {
    return this.stored.filter(predicate);
  }

  /** Forgets every stored event. */
  clear(): void {
    this.stored = [];
  }

  /** Rejects every waiter and every later `take` that finds nothing stored. Idempotent. */
  close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.reject(netError('NET_CLOSED', `closed (${reason})`));
    }
  }
}
