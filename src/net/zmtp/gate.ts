/**
 * Admission of new TCP connections, shared by the three ROUTERs: a bound on connections in total,
 * per remote address, and on new connections per address per second (a token bucket). Checked
 * when a connection is accepted, before a byte of it is read.
 */

export interface GateLimits {
  /** Open connections on the three ports together. */
  maxConnections: number;
  /** Open connections from one remote IP address. */
  maxConnectionsPerAddress: number;
  /** New connections one remote IP address may open per second (also the burst size). */
  newConnectionsPerAddressPerSecond: number;
}

interface AddressState {
  open: number;
  tokens: number;
  refilledAt: number;
}

/** Addresses remembered before idle ones (no connection, full bucket) are swept out. */
const SWEEP_AT = 4096;

export class ConnectionGate {
  private open = 0;
  private releasedTotal = 0;
  private readonly addresses = new Map<string, AddressState>();
  private readonly emptyWaiters = new Set<() => void>();

  constructor(
    private readonly limits: GateLimits,
    private readonly now: () => number,
  ) {}

  /** Admits a connection from `address` (counted until `release`), or says why not. */
  admit(address: string): string | null {
    if (this.open >= this.limits.maxConnections) {
      return `too many connections (MAX_CONNECTIONS ${this.limits.maxConnections})`;
    }
    const now = this.now();
    let a = this.addresses.get(address);
    if (a === undefined) {
      if (this.addresses.size >= SWEEP_AT) this.sweep(now);
      a = { open: 0, tokens: this.limits.newConnectionsPerAddressPerSecond, refilledAt: now };
      this.addresses.set(address, a);
    }
    this.refill(a, now);
    if (a.open >= this.limits.maxConnectionsPerAddress) {
      return `too many connections from this address (MAX_CONNECTIONS_PER_ADDRESS ${this.limits.maxConnectionsPerAddress})`;
    }
    if (a.tokens < 1) {
      return `too many new connections from this address (MAX_NEW_CONNECTIONS_PER_SECOND ${this.limits.newConnectionsPerAddressPerSecond})`;
    }
    a.tokens -= 1;
    a.open++;
    this.open++;
    return null;
  }

  release(address: string): void {
    this.open--;
    this.releasedTotal++;
    const a = this.addresses.get(address);
    if (a !== undefined) a.open--;
    if (this.open === 0 && this.emptyWaiters.size > 0) {
      const waiters = [...this.emptyWaiters];
      this.emptyWaiters.clear();
      for (const fn of waiters) fn();
    }
  }

  /**
   * Calls `fn` once when no connection is open: at once if none is, else when the last one is
   * released. Returns a function that cancels the call (a caller that stopped waiting).
   */
  whenEmpty(fn: () => void): () => void {
    if (this.open === 0) {
      fn();
      return () => undefined;
    }
    this.emptyWaiters.add(fn);
    return () => void this.emptyWaiters.delete(fn);
  }

  get connections(): number {
    return this.open;
  }

  /** Connections released since the gate was made. */
  get released(): number {
    return this.releasedTotal;
  }

  private refill(a: AddressState, now: number): void {
    const rate = this.limits.newConnectionsPerAddressPerSecond;
    a.tokens = Math.min(rate, a.tokens + ((now - a.refilledAt) / 1000) * rate);
    a.refilledAt = now;
  }

  private sweep(now: number): void {
    for (const [address, a] of this.addresses) {
      this.refill(a, now);
      if (a.open === 0 && a.tokens >= this.limits.newConnectionsPerAddressPerSecond) this.addresses.delete(address);
    }
  }
}
