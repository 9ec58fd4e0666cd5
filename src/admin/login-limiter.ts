/**
 * Login attempts per client address: a fixed one-minute window per address, so password guessing
 * from one machine is slowed to HTTP_LOGIN_ATTEMPTS tries a minute. The table is bounded: when it
 * is full, expired windows are swept, and if every entry is live the oldest goes (an attacker with
 * many addresses then only resets its own windows early; each address is still limited).
 */
export interface LoginLimiterOptions {
  /** Attempts allowed per address and window (HTTP_LOGIN_ATTEMPTS). */
  attempts: number;
  windowMs?: number;
  /** Addresses remembered at most. */
  maxAddresses?: number;
}

interface Window {
  startMs: number;
  count: number;
}

export const LOGIN_WINDOW_MS = 60_000;
const MAX_ADDRESSES = 10_000;

export class LoginLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly windowMs: number;
  private readonly maxAddresses: number;

  constructor(private readonly opts: LoginLimiterOptions) {
    this.windowMs = opts.windowMs ?? LOGIN_WINDOW_MS;
    this.maxAddresses = opts.maxAddresses ?? MAX_ADDRESSES;
  }

  /** Counts an attempt; returns 0 when allowed, else the seconds until the address may try again. */
  take(address: string, nowMs: number): number {
    let w = this.windows.get(address);
    if (w === undefined || nowMs - w.startMs >= this.windowMs) {
      if (w === undefined && this.windows.size >= this.maxAddresses) this.sweep(nowMs);
      w = { startMs: nowMs, count: 0 };
      this.windows.delete(address);
      this.windows.set(address, w);
    }
    if (w.count >= this.opts.attempts) return Math.max(1, Math.ceil((w.startMs + this.windowMs - nowMs) / 1000));
    w.count++;
    return 0;
  }

  private sweep(nowMs: number): void {
    for (const [a, w] of this.windows) if (nowMs - w.startMs >= this.windowMs) this.windows.delete(a);
    if (this.windows.size >= this.maxAddresses) {
      const oldest = this.windows.keys().next();
      if (oldest.done !== true) this.windows.delete(oldest.value);
    }
  }
}
