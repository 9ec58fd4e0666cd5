/**
 * A bare ZmtpRouter on 127.0.0.1 for transport tests, and the same surface over a zeromq.js
 * (libzmq) ROUTER, so one scenario can run against both and the outcomes be compared.
 */
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';

import { Router } from 'zeromq';

import { type FrameBudget } from '../../src/net/zmtp/frames.js';
import { ConnectionGate, type GateLimits } from '../../src/net/zmtp/gate.js';
import { ZmtpRouter, type SendOutcome, type ZmtpRouterOptions } from '../../src/net/zmtp/router.js';

export const OPEN_BUDGET: FrameBudget = { maxFrames: 64, maxFrameBytes: 2 ** 31, maxMessageBytes: 2 ** 33 };

export const OPEN_GATE: GateLimits = {
  maxConnections: 100_000,
  maxConnectionsPerAddress: 100_000,
  newConnectionsPerAddressPerSecond: 1_000_000,
};

/** What a scenario needs of a ROUTER. */
export interface RouterUnderTest {
  readonly endpoint: string;
  /** The next message (identity first), or null when none arrives within `ms`. */
  next(ms?: number): Promise<Buffer[] | null>;
  send(parts: Buffer[]): Promise<SendOutcome>;
  close(): Promise<void>;
}

class Inbox {
  private readonly queue: Buffer[][] = [];
  private waiter: ((m: Buffer[] | null) => void) | undefined;

  push(m: Buffer[]): void {
    if (this.waiter !== undefined) {
      const w = this.waiter;
      this.waiter = undefined;
      w(m);
    } else this.queue.push(m);
  }

  next(ms: number): Promise<Buffer[] | null> {
    const m = this.queue.shift();
    if (m !== undefined) return Promise.resolve(m);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(null);
      }, ms);
      this.waiter = (msg) => {
        clearTimeout(timer);
        resolve(msg);
      };
    });
  }
}

export interface OurRouter extends RouterUnderTest {
  readonly router: ZmtpRouter;
  readonly port: number;
  readonly logs: string[];
}

/** Our ROUTER on an ephemeral port of 127.0.0.1, with `opts` overriding permissive defaults. */
export async function startOurRouter(
  opts: Partial<ZmtpRouterOptions> = {},
  gate: GateLimits = OPEN_GATE,
): Promise<OurRouter> {
  const inbox = new Inbox();
  const logs: string[] = [];
  const router = new ZmtpRouter({
    name: 'test port',
    routingId: Buffer.alloc(0),
    gate: new ConnectionGate(gate, () => performance.now()),
    maxCommandBytes: 4096,
    sendHighWaterMark: 1000,
    sendHighWaterBytes: 8 * 1024 * 1024,
    keepAliveMs: 0,
    handshakeTimeoutMs: 10_000,
    preLoginTimeoutMs: 60_000,
    budget: () => OPEN_BUDGET,
    isLoggedIn: () => true,
    onMessage: (id, frames) => inbox.push([Buffer.from(id, 'hex'), ...frames]),
    log: (level, message) => logs.push(`${level} ${message}`),
    label: (id) => `client ${id}`,
    ...opts,
  });
  await router.listen('127.0.0.1', 0);
  const port = router.port;
  return {
    router,
    port,
    logs,
    endpoint: `tcp://127.0.0.1:${port}`,
    next: (ms = 5000) => inbox.next(ms),
    send: (parts) => Promise.resolve(router.send(parts)),
    close: () => router.close(),
  };
}

/** libzmq's ROUTER (zeromq.js) as the server sets it up today: mandatory, no send wait, handover off. */
export async function startLibzmqRouter(): Promise<RouterUnderTest> {
  const router = new Router({ mandatory: true, sendTimeout: 0, linger: 0, handover: false });
  await router.bind('tcp://127.0.0.1:*');
  const inbox = new Inbox();
  void (async () => {
    try {
      for await (const msg of router) inbox.push(msg);
    } catch {
      // closed
    }
  })();
  return {
    endpoint: router.lastEndpoint as string,
    next: (ms = 5000) => inbox.next(ms),
    send: async (parts) => {
      try {
        await router.send(parts);
        return 'sent';
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'EHOSTUNREACH') return 'unreachable';
        if (code === 'EAGAIN') return 'full';
        throw err;
      }
    },
    close: async () => router.close(),
  };
}

/** A raw TCP connection to a router, for hand-made ZMTP bytes. */
export class RawPeer {
  private buf = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | undefined;

  private constructor(readonly socket: Socket) {
    socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number): Promise<RawPeer> {
    const s = createConnection({ host: '127.0.0.1', port });
    await once(s, 'connect');
    return new RawPeer(s);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Exactly `n` bytes; rejects if the connection closes first. */
  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.ended) throw new Error(`closed after ${this.buf.length} of ${n} bytes`);
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Resolves when the other side has closed the connection; what it sent before stays readable. */
  async closed(): Promise<void> {
    while (!this.ended) await new Promise<void>((resolve) => (this.wake = resolve));
  }

  get isClosed(): boolean {
    return this.ended;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
