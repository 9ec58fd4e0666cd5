/**
 * Rate limiting of log lines that share a `key` (STYLE.md §10: warnings about a client are
 * rate-limited, as redis does for its write errors). A hostile client sending a flood of bad frames
 * must not be able to fill the disk through our log.
 */

export interface LogLimiterOptions {
  /** Lines per key allowed in one window before further lines are suppressed. */
  burst: number;
  /** Length of a window, in ms. */
  windowMs: number;
  /** Keys remembered at once; beyond this the oldest are forgotten (bounds memory per hostile key). */
  maxKeys: number;
}

export const DEFAULT_LOG_LIMITER_OPTIONS: Readonly<LogLimiterOptions> = Object.freeze({
  burst: 5,
  windowMs: 10_000,
  maxKeys: 1024,
});

interface Window {
  startedAt: number;
  count: number;
  suppressed: number;
}

/** What to do with one line. */
export interface LimitDecision {
  /** Write the line. */
  readonly allow: boolean;
  /** Lines of this key suppressed in the previous window, to report before this one (0 if none). */
  readonly suppressedBefore: number;
}

const ALLOW: LimitDecision = Object.freeze({ allow: true, suppressedBefore: 0 });
const DENY: LimitDecision = Object.freeze({ allow: false, suppressedBefore: 0 });

/** Per-key fixed-window limiter. Time is passed in, so it is testable without waiting. */
export class LogLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly opts: LogLimiterOptions;

  constructor(options: Partial<LogLimiterOptions> = {}) {
    this.opts = { ...DEFAULT_LOG_LIMITER_OPTIONS, ...options };
  }

  /** Decides whether a line of `key` at time `now` (ms) is written. */
  check(key: string, now: number): LimitDecision {
    let w = this.windows.get(key);
    if (w === undefined) {
      this.evictIfFull(now);
      this.windows.set(key, { startedAt: now, count: 1, suppressed: 0 });
      return ALLOW;
    }
    if (now - w.startedAt >= this.opts.windowMs) {
      const suppressedBefore = w.suppressed;
      // Re-insert so the Map's insertion order stays "least recently started first" for eviction.
      this.windows.delete(key);
      w = { startedAt: now, count: 1, suppressed: 0 };
      this.windows.set(key, w);
      return suppressedBefore === 0 ? ALLOW : { allow: true, suppressedBefore };
    }
    if (w.count < this.opts.burst) {
      w.count++;
      return ALLOW;
    }
    w.suppressed++;
    return DENY;
  }

  /** Keys currently remembered. */
  get size(): number {
    return this.windows.size;
  }

  private evictIfFull(now: number): void {
    if (this.windows.size < this.opts.maxKeys) return;
    for (const [k, w] of this.windows) {
      if (now - w.startedAt >= this.opts.windowMs) this.windows.delete(k);
    }
    // Still full: drop the oldest window (first in insertion order); its suppressed count is lost.
    if (this.windows.size >= this.opts.maxKeys) {
      const oldest = this.windows.keys().next();
      if (oldest.done !== true) this.windows.delete(oldest.value);
    }
  }
}
