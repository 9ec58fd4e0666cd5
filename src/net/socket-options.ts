/**
 * How our ZeroMQ sockets are configured, each option with its reason (STYLE.md §7). The
 * reference's options are in REPLICATION-PROTOCOL.md §1.4; where we differ, it is said why.
 */
import { Dealer, Router } from 'zeromq';

import type { Channel } from '../session/events.js';
import { MAX_HEARTBEAT_FRAME_BYTES } from '../protocol/heartbeat.js';

/** Tuning of the server's three ROUTER sockets. */
export interface RouterTuning {
  /**
   * ZMQ_SNDHWM: messages libzmq queues per peer before a send fails with `EAGAIN` (and ours queue
   * takes over). 1000 is libzmq's default and the reference's value.
   */
  sendHighWaterMark: number;
  /**
   * ZMQ_RCVHWM: messages libzmq buffers per peer before it stops reading that peer's TCP
   * connection — a flooding client is slowed down by TCP, not by our memory. 1000 as the reference.
   */
  receiveHighWaterMark: number;
  /**
   * ZMQ_MAXMSGSIZE on the command and data sockets: the largest frame libzmq accepts; a peer that
   * announces a bigger one is disconnected before anything is allocated (the reference sets none).
   * It is the protocol codec's largest frame bound (`maxPayloadFrameBytes`).
   */
  maxFrameBytes: number;
  /** ZMQ_IPV6: needed to bind an IPv6 address. */
  ipv6: boolean;
}

/** Server identities announced in the ZMTP handshake (§1.2); clients ignore them, kept for fidelity. */
const SERVER_ROUTING_IDS: Readonly<Record<Channel, string | null>> = {
  command: 'SERVER_COMMAND',
  data: 'SERVER_PUSH',
  heartbeat: null,
};

/** TCP keepalive as the reference sets on command and data: on, 300 s idle, 300 s interval (§1.4). */
const KEEPALIVE = { tcpKeepalive: 1, tcpKeepaliveIdle: 300, tcpKeepaliveInterval: 300 } as const;

/** The reference's kernel send buffer on the data socket (§1.4): big node pushes leave in fewer syscalls. */
const DATA_SEND_BUFFER_BYTES = 2_000_000;

/** A server ROUTER for one channel, configured but not bound. */
export function createRouter(channel: Channel, tuning: RouterTuning): Router {
  const router = new Router({
    // Fail fast instead of dropping: without ROUTER_MANDATORY libzmq silently discards a message
    // for a peer whose pipe is full or who is not connected (the reference's setting, §1.4), which
    // leaves a hole in that client's stream. With it, a send fails with EAGAIN / EHOSTUNREACH and
    // channel-sender.ts keeps the message in the client's bounded queue, in order, and retries.
    mandatory: true,
    // Never wait inside `send`: a mandatory ROUTER would otherwise block the whole socket (every
    // client) on one slow peer. The per-client queue does the waiting instead.
    sendTimeout: 0,
    sendHighWaterMark: tuning.sendHighWaterMark,
    receiveHighWaterMark: tuning.receiveHighWaterMark,
    // Heartbeat frames are 4 bytes; anything bigger than the decoder accepts is cut off by libzmq.
    maxMessageSize: channel === 'heartbeat' ? MAX_HEARTBEAT_FRAME_BYTES : tuning.maxFrameBytes,
    // Shutdown does not wait for unsent messages, as the reference (LINGER 0); clients notice a
    // server that went away through the heartbeat.
    linger: 0,
    // A second connection presenting an identity already connected is refused (libzmq default,
    // as the reference). Handing over would let anyone who learned an identity take a session over.
    handover: false,
    ipv6: tuning.ipv6,
    ...(channel === 'heartbeat' ? {} : KEEPALIVE),
    ...(channel === 'data' ? { sendBufferSize: DATA_SEND_BUFFER_BYTES } : {}),
  });
  const routingId = SERVER_ROUTING_IDS[channel];
  if (routingId !== null) router.routingId = routingId;
  return router;
}

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
