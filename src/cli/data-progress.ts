/**
 * Progress of the data tools' long steps (a tool working through a multi-GB file must not look hung), on
 * stderr so stdout stays the tool's result. Quiet for steps that finish within the first
 * interval (a small session prints nothing); after that one line per interval (1 s), and a
 * closing line, so an operator verifying a 1 GB snapshot sees it move.
 */
import type { StoreFileHandle, StoreFs } from '../store/index.js';
import { formatBytes } from './data-command.js';

export type ProgressUnit = 'bytes' | 'records';

export interface ProgressOptions {
  now?: () => number;
  /** Minimum time between lines, and before the first (default 1000 ms). */
  intervalMs?: number;
}

export class Progress {
  private readonly now: () => number;
  private readonly intervalMs: number;
  private last: number;
  private printed = false;
  private done = 0;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly label: string,
    private readonly unit: ProgressUnit,
    /** Null when the total is not known (a gzip stream being written). */
    private readonly total: number | null,
    options: ProgressOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.intervalMs = options.intervalMs ?? 1000;
    this.last = this.now();
  }

  /** Adds `n` units done; prints a line when an interval has passed since the last one. */
  add(n: number): void {
    this.set(this.done + n);
  }

  set(done: number): void {
    this.done = done;
    const t = this.now();
    if (t - this.last < this.intervalMs) return;
    this.last = t;
    this.printed = true;
    this.out.write(`${this.label}: ${this.describe()}\n`);
  }

  /** Prints the closing line, if any line was printed. */
  finish(): void {
    if (this.printed) this.out.write(`${this.label}: done (${this.amount(this.done)})\n`);
  }

  private describe(): string {
    if (this.total === null || this.total <= 0) return this.amount(this.done);
    const pct = Math.min(100, Math.floor((this.done * 100) / this.total));
    if (this.unit === 'records') return `${pct}% (${this.done} of ${this.total} records)`;
    return `${pct}% (${formatBytes(this.done)} of ${formatBytes(this.total)})`;
  }

  private amount(n: number): string {
    return this.unit === 'bytes' ? formatBytes(n) : `${n} records`;
  }
}

/** `base` whose file handles report every byte read to `progress` (the store's readers take an `fs`). */
export function progressFs(base: StoreFs, progress: Progress): StoreFs {
  const wrap = (h: StoreFileHandle): StoreFileHandle => ({
    fd: h.fd,
    write: (b, o, l, p) => h.write(b, o, l, p),
    read: async (b, o, l, p) => {
      const n = await h.read(b, o, l, p);
      progress.add(n);
      return n;
    },
    stat: () => h.stat(),
    sync: () => h.sync(),
    datasync: () => h.datasync(),
    truncate: (len) => h.truncate(len),
    close: () => h.close(),
  });
  return { ...base, open: async (path, flags, mode) => wrap(await base.open(path, flags, mode)) };
}

/** Passes `source` through, reporting the bytes that go by. */
export async function* countBytes(source: AsyncIterable<Uint8Array>, progress: Progress): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    progress.add(chunk.length);
    yield chunk;
  }
}
