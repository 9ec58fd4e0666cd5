/**
 * A client-side DEALER connection, the way the add-on connects (§1.2): one socket per channel,
 * the same routing identity on each. `client/` and tests use it so that only `net/` imports
 * zeromq.
 */
import type { Dealer } from 'zeromq';

import type { Channel } from '../session/events.js';
import { netError } from './errors.js';
import { createDealer, type DealerTuning } from './socket-options.js';

export interface DealerConnectionOptions extends DealerTuning {
  channel: Channel;
  /** `tcp://host:port` of that channel. */
  endpoint: string;
  /** The routing identity (16 random bytes for the add-on; any bytes). */
  routingId: Uint8Array;
}

export class DealerConnection {
  readonly channel: Channel;
  readonly endpoint: string;
  private readonly socket: Dealer;
  private tail: Promise<void> = Promise.resolve();
  private closedFlag = false;

  /** Creates the socket and starts connecting (libzmq connects and reconnects in the background). */
  constructor(opts: DealerConnectionOptions) {
    this.channel = opts.channel;
    this.endpoint = opts.endpoint;
    this.socket = createDealer(opts.channel, opts.routingId, opts);
    this.socket.connect(opts.endpoint);
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /**
   * Sends one multipart message. Calls are chained, so they may overlap (zeromq.js allows only one
   * pending send per socket) and leave in call order. Before the TCP connection is up libzmq
   * queues the message (ZMQ_IMMEDIATE is off), as the add-on relies on when it sends Auth at once.
   * Rejects with `NetError` `NET_CLOSED` after `close`, or with the zeromq error.
   */
  send(frames: readonly Uint8Array[]): Promise<void> {
    if (this.closedFlag) return Promise.reject(netError('NET_CLOSED', `${this.channel} connection is closed`));
    const parts = frames.map((f) => (Buffer.isBuffer(f) ? f : Buffer.from(f.buffer, f.byteOffset, f.byteLength)));
    const result = this.tail.then(() => {
      if (this.closedFlag) throw netError('NET_CLOSED', `${this.channel} connection is closed`);
      return this.socket.send(parts);
    });
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Every received message, until the connection is closed (then the iteration just ends). */
  async *messages(): AsyncGenerator<Buffer[]> {
    try {
      for await (const msg of this.socket) yield msg;
    } catch (err) {
      if (!this.closedFlag) throw err;
    }
  }

  /** Closes the socket at once (LINGER 0: unsent messages are dropped, as the add-on does). Idempotent. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.socket.close();
  }
}
