/**
 * Gives back the memory a burst of short-lived connections leaves behind.
 *
 * Every connection allocates a few KB of sockets, readers and timers that usually live long enough
 * to be promoted to V8's old space. Nothing refers to them once the peer has gone, but V8 collects
 * old space only when its allocation limit is reached, so after 20,000 strangers a server that
 * otherwise idles would keep ~40 MB of garbage for as long as it runs. Once such a burst has ended
 * (many connections released, then none for a quiet period) the heap is collected and compacted
 * once.
 *
 * Collecting on demand needs node's `--expose-gc` (the flags of the `multiuser-server` command and
 * of `npm start`); without it this does nothing.
 */

export interface ChurnTidyOptions {
  /** Connections released since the last collection that make a burst. */
  minReleased: number;
  /** Milliseconds without a released connection before the burst counts as over. */
  quietMs: number;
  /** Starts a collection; `null` when the runtime offers none. */
  collect: (() => void) | null;
}

export const DEFAULT_CHURN_TIDY: Omit<ChurnTidyOptions, 'collect'> = { minReleased: 1000, quietMs: 2000 };

/** The runtime's on-demand collector: a concurrent major GC, if node was started with --expose-gc. */
export function runtimeCollector(): (() => void) | null {
  const gc = globalThis.gc;
  if (typeof gc !== 'function') return null;
  // Two full collections: the first frees the garbage, the second compacts what survived so the
  // emptied pages go back to the OS (measured: one alone left old space at its flood size). The
  // loop turns in between so the two pauses do not add up; each is a few ms for a small heap,
  // tens of ms for a large one, once per burst.
  return () => {
    gc();
    setImmediate(() => gc());
  };
}

export class ChurnTidy {
  private releasedAtLastCollect = 0;
  private lastReleased = 0;
  private lastChangeAt = 0;
  private collections = 0;

  constructor(private readonly opts: ChurnTidyOptions) {}

  /**
   * Called on every tick with the total of connections released so far; returns true when it
   * started a collection.
   */
  observe(released: number, now: number): boolean {
    if (released !== this.lastReleased) {
      this.lastReleased = released;
      this.lastChangeAt = now;
      return false;
    }
    if (released - this.releasedAtLastCollect < this.opts.minReleased) return false;
    if (now - this.lastChangeAt < this.opts.quietMs) return false;
    this.releasedAtLastCollect = released;
    if (this.opts.collect === null) return false;
    this.opts.collect();
    this.collections++;
    return true;
  }

  /** Collections started so far. */
  get started(): number {
    return this.collections;
  }
}
