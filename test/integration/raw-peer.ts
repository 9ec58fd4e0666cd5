/**
 * A raw client identity for replay and fuzz tests: three DEALERs with one routing identity, as the
 * add-on connects (§1.2), that send frames exactly as given and keep every received message, in
 * arrival order with a sequence number, until a test takes it. Every PING is answered with PONG,
 * as the add-on's heartbeat process does (the server only pings identities that sent INIT).
 * Nothing is decoded beyond frame 0, so a test sees precisely what the server wrote.
 */
import { DealerConnection, channelEndpoints, netError } from '../../src/net/index.js';
import {
  DEFAULT_PROTOCOL_LIMITS,
  decodeHeartbeat,
  decodeTypeFrame,
  encodeHeartbeat,
} from '../../src/protocol/index.js';
import type { Channel } from '../../src/session/index.js';

/** One received message. `seq` orders messages across all peers and channels of the process. */
export interface Received {
  readonly seq: number;
  readonly channel: Channel;
  readonly frames: Buffer[];
  /** The type number of frame 0, or undefined for heartbeat frames and an undecodable frame 0. */
  readonly type: number | undefined;
}

interface Waiter {
  readonly match: (r: Received) => boolean;
  readonly resolve: (r: Received) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** Messages kept per peer; beyond this the oldest are discarded (and counted). */
const INBOX_CAPACITY = 10_000;

let nextSeq = 1;

export class RawPeer {
  readonly label: string;
  readonly identity: Buffer;
  /** PINGs received. */
  pings = 0;
  /** Messages discarded because the inbox was full. */
  discarded = 0;
  private readonly conns: Record<Channel, DealerConnection>;
  private readonly inbox: Received[] = [];
  private waiters: Waiter[] = [];
  private readonly loops: Promise<void>[] = [];
  private closedFlag = false;

  constructor(label: string, identity: Uint8Array, host: string, port: number) {
    this.label = label;
    this.identity = Buffer.from(identity);
    const endpoints = channelEndpoints(host, port);
    const open = (channel: Channel): DealerConnection =>
      new DealerConnection({ channel, endpoint: endpoints[channel], routingId: this.identity });
    this.conns = { command: open('command'), data: open('data'), heartbeat: open('heartbeat') };
    for (const channel of ['command', 'data', 'heartbeat'] as const) this.loops.push(this.receive(channel));
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Sends one multipart message as given (libzmq queues it until the connection is up). */
  send(channel: Channel, frames: readonly Uint8Array[]): Promise<void> {
    if (this.closedFlag) return Promise.reject(netError('NET_CLOSED', `peer ${this.label} is closed`));
    return this.conns[channel].send(frames);
  }

  /**
   * The oldest kept message matching `match`, or the next to arrive; removed from the inbox.
   * Rejects after `timeoutMs` naming `what`, so a missing reply fails the test instead of hanging.
   */
  take(match: (r: Received) => boolean, timeoutMs: number, what: string): Promise<Received> {
    const i = this.inbox.findIndex(match);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`${this.label}: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push({ match, resolve, reject, timer });
    });
  }

  /** Kept messages matching `match`, oldest first, without removing them. */
  pending(match: (r: Received) => boolean = () => true): Received[] {
    return this.inbox.filter(match);
  }

  /** Closes the three sockets at once (LINGER 0), as the add-on's Disconnect does; idempotent. */
  async close(): Promise<void> {
    if (!this.closedFlag) {
      this.closedFlag = true;
      for (const c of Object.values(this.conns)) c.close();
      for (const w of this.waiters) {
        clearTimeout(w.timer);
        w.reject(new Error(`${this.label}: closed while waiting`));
      }
      this.waiters = [];
    }
    await Promise.all(this.loops);
  }

  private async receive(channel: Channel): Promise<void> {
    try {
      for await (const frames of this.conns[channel].messages()) this.deliver(channel, frames);
    } catch {
      // A socket error ends this peer's reading; tests then fail on the replies they miss.
    }
  }

  private deliver(channel: Channel, frames: Buffer[]): void {
    let type: number | undefined;
    if (channel === 'heartbeat') {
      if (safeHeartbeat(frames) === 'PING') {
        this.pings++;
        void this.send('heartbeat', encodeHeartbeat('PONG')).catch(() => undefined);
      }
    } else {
      try {
        type = decodeTypeFrame(frames[0] ?? Buffer.alloc(0), DEFAULT_PROTOCOL_LIMITS);
      } catch {
        type = undefined;
      }
    }
    const r: Received = { seq: nextSeq++, channel, frames, type };
    const w = this.waiters.find((x) => x.match(r));
    if (w !== undefined) {
      this.waiters = this.waiters.filter((x) => x !== w);
      clearTimeout(w.timer);
      w.resolve(r);
      return;
    }
    this.inbox.push(r);
    if (this.inbox.length > INBOX_CAPACITY) {
      this.inbox.shift();
      this.discarded++;
    }
  }
}

function safeHeartbeat(frames: readonly Uint8Array[]): string {
  try {
    return decodeHeartbeat(frames);
  } catch {
    return 'OTHER';
  }
}
