/**
 * How our client's zeromq.js DEALER sockets are configured, each option with its reason (STYLE.md
 * §7); the reference's options are in REPLICATION-PROTOCOL.md §1.4. The server's side is our own
 * ZMTP ROUTER (zmtp/router.ts, transport-limits.ts).
 */
import { Dealer } from 'zeromq';

import type { Channel } from '../session/events.js';

/** TCP keepalive as the reference sets on command and data: on, 300 s idle, 300 s interval (§1.4). */
const KEEPALIVE = { tcpKeepalive: 1, tcpKeepaliveIdle: 300, tcpKeepaliveInterval: 300 } as const;

/** The client's kernel receive buffer on the data socket, as the reference client (§1.4). */
const DATA_RECEIVE_BUFFER_BYTES = 2_000_000;

/** Options of a client DEALER. */
export interface DealerTuning {
  /** ZMQ_RCVHWM; tests set it low to make a client slow on purpose. */
  receiveHighWaterMark?: number;
  ipv6?: boolean;
}

/**
 * A client DEALER for one channel with the given routing identity (16 raw bytes for the add-on,
 * any byte may occur, §1.2), configured but not connected.
 */
export function createDealer(channel: Channel, routingId: Uint8Array, tuning: DealerTuning = {}): Dealer {
  const dealer = new Dealer({
    linger: 0,
    ipv6: tuning.ipv6 ?? false,
    ...(tuning.receiveHighWaterMark === undefined ? {} : { receiveHighWaterMark: tuning.receiveHighWaterMark }),
    ...(channel === 'heartbeat' ? {} : KEEPALIVE),
    ...(channel === 'data' ? { receiveBufferSize: DATA_RECEIVE_BUFFER_BYTES } : {}),
  });
  // zeromq.js types ZMQ_ROUTING_ID as a string but passes a Buffer through byte for byte, which is
  // the only way to set an identity that is not valid UTF-8.
  (dealer as unknown as { routingId: Uint8Array }).routingId = Buffer.from(routingId);
  return dealer;
}
