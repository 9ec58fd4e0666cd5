/**
 * Carries out the session's effects in order, with "journal before relay" (DESIGN §4, STYLE.md §8,
 * redis `beforeSleep`): each `persist` effect goes to the persist hook before any effect after it.
 *
 * The hook appends the mutation synchronously. When it returns nothing, the change is as durable
 * as the policy makes it and the effects after it run at once (the default: no waiting, no
 * allocation). When it returns a promise (JOURNAL_FSYNC=always: "durable on disk"), every later
 * effect — of this event and of the events after it — is held, in order, until that promise
 * settles; persists of later events are still appended meanwhile, so one fsync covers many events
 * (group commit). When the hook throws or its promise rejects, the `send` effects of the same
 * event that follow it are withheld: a change that is not durable is never relayed. Other effects
 * (logs, forgets, saves) still run, in order.
 */
import type { Effect, Mutation } from '../session/index.js';

/**
 * The journal hook: append `mutation` (synchronously, before returning). Return nothing when that
 * is enough, or a promise that settles once the mutation is durable. Throw (or reject) when it
 * could not be journaled.
 */
/** `by`: the user whose message caused the change, when one did (kept in the journal for history). */
export type PersistHook = (mutation: Mutation, by?: string) => void | Promise<void>;

interface Barrier {
  settled: boolean;
  failed: boolean;
  /** Settles with the hook's promise; never rejects. */
  done: Promise<void>;
}

interface Held {
  effect: Effect;
  /** The latest barrier when the effect was held: it runs after that one settled (order). */
  wait: Barrier | null;
  /** The last persist of its own event before it: a failed one withholds a send. */
  guard: Barrier | null;
}

const FAILED: Barrier = Object.freeze({ settled: true, failed: true, done: Promise.resolve() });

export interface EffectRunnerOptions {
  /** Carries out one effect other than `persist`. */
  execute: (effect: Effect) => void;
  /** Absent: `persist` effects are ignored (a server without a journal). */
  persist?: PersistHook;
  /** Told about each persist failure (the hook's throw or rejection). */
  onPersistError?: (error: unknown) => void;
  /** Told when `execute` threw for an effect; the effects after it still run. */
  onExecuteError?: (error: unknown) => void;
}

/** Counters for metrics and tests. */
export interface EffectRunnerStats {
  /** Effects waiting for a durability barrier right now. */
  readonly held: number;
  /** `send` effects never carried out because the change they relay could not be journaled. */
  readonly withheld: number;
  /** Persist effects whose hook threw or rejected. */
  readonly persistFailures: number;
}

export class EffectRunner {
  private barrier: Barrier | null = null;
  private readonly queue: Held[] = [];
  private draining = false;
  private closed = false;
  private withheld = 0;
  private persistFailures = 0;

  constructor(private readonly opts: EffectRunnerOptions) {}

  /** Carries out (or holds) one event's effects, in order. */
  run(effects: readonly Effect[]): void {
    if (this.closed) return;
    let guard: Barrier | null = null;
    for (const effect of effects) {
      if (effect.type === 'persist') {
        if (this.opts.persist === undefined) continue;
        const b = this.persistOne(effect.mutation, effect.by);
        if (b !== null) guard = b;
        if (b !== null && !b.settled) this.barrier = b;
        continue;
      }
      const blocked = this.queue.length > 0 || (this.barrier !== null && !this.barrier.settled);
      if (blocked) {
        this.queue.push({ effect, wait: this.barrier, guard });
        void this.drain();
      } else if (effect.type === 'send' && guard?.failed === true) {
        this.withheld++;
      } else {
        this.executeOne(effect);
      }
    }
  }

  /**
   * One effect, guarded as on the held path: an effect that throws (a bug, a socket error) is
   * reported and the event's later effects still run — a `forget` or a `save` after a failed
   * `send` must not be lost with it.
   */
  private executeOne(effect: Effect): void {
    try {
      this.opts.execute(effect);
    } catch (err) {
      this.opts.onExecuteError?.(err);
    }
  }

  stats(): EffectRunnerStats {
    return { held: this.queue.length, withheld: this.withheld, persistFailures: this.persistFailures };
  }

  /** Drops everything held (the server is closing). */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  private persistOne(mutation: Mutation, by: string | undefined): Barrier | null {
    let result: void | Promise<void>;
    try {
      result = (this.opts.persist as PersistHook)(mutation, by);
    } catch (err) {
      this.failed(err);
      return FAILED;
    }
    // Anything but a promise means "appended; nothing to wait for".
    if (!(result instanceof Promise)) return null;
    const b: Barrier = { settled: false, failed: false, done: Promise.resolve() };
    b.done = result.then(
      () => {
        b.settled = true;
        if (this.barrier === b) this.barrier = null;
      },
      (err: unknown) => {
        b.settled = true;
        b.failed = true;
        if (this.barrier === b) this.barrier = null;
        this.failed(err);
      },
    );
    return b;
  }

  private failed(err: unknown): void {
    this.persistFailures++;
    this.opts.onPersistError?.(err);
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const h = this.queue[0];
        if (h.guard !== null && !h.guard.settled) await h.guard.done;
        if (h.wait !== null && !h.wait.settled) await h.wait.done;
        if (this.closed) return;
        this.queue.shift();
        if (h.effect.type === 'send' && h.guard?.failed === true) {
          this.withheld++;
          continue;
        }
        this.executeOne(h.effect);
      }
    } finally {
      this.draining = false;
    }
  }
}
