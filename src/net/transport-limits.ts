/**
 * Tuning and limits of the server's ZMTP transport, each with its reason (STYLE.md §7). The CLI
 * maps its options onto these (src/cli/config.ts); docs/transport.md lists them for operators.
 */
import type { Channel } from '../session/index.js';
import type { GateLimits } from './zmtp/gate.js';

/** Tuning of the server's three ROUTERs. */
export interface RouterTuning {
  /**
   * Messages written to one connection and not yet taken by the kernel before a send reports
   * `full` and the client's own queue takes over (libzmq's ZMQ_SNDHWM, default 1000 as libzmq).
   */
  sendHighWaterMark: number;
  /** The same in bytes: a few large messages fill a connection as surely as many small ones. */
  sendHighWaterBytes: number;
  /** Largest frame from a logged-in client on the command and data ports (MAX_FRAME_BYTES). */
  maxFrameBytes: number;
  /** Frames in one message from a logged-in client (MAX_FRAMES_PER_MESSAGE). */
  maxFramesPerMessage: number;
}

/** What a connection may cost before its identity has logged in, and connection admission. */
export interface TransportLimits extends GateLimits {
  /**
   * Frames in one message before login. Auth and RequestServerInfo have 3, the heartbeat INIT 1;
   * 8 also lets a stranger's Node or Commit (4–5 frames) reach the session, which logs and drops it.
   */
  preLoginMaxFrames: number;
  /** Bytes in one message before login. The add-on's Auth is about 120 bytes plus the names and passwords. */
  preLoginMaxMessageBytes: number;
  /** Greeting and READY must be done this long after the TCP connection opened. */
  handshakeTimeoutMs: number;
  /** A connection whose identity has not logged in this long after its handshake is closed. */
  preLoginTimeoutMs: number;
  /** Largest ZMTP command (READY with its properties, PING): libzmq's READY is under 300 bytes. */
  maxZmtpCommandBytes: number;
  /**
   * A logged-in client whose connections on all three ports have closed, and none came back within
   * this long, leaves as at a heartbeat timeout (disconnect-watch.ts). 3000 ms: libzmq's DEALER
   * reconnects by itself every 100 ms (ZMQ_RECONNECT_IVL) with the same identity, so a reconnect
   * lands well within it; and it is well under the heartbeat TIMEOUT (10 s), so a client that
   * closed its sockets leaves the user list seconds after, not at the timeout.
   */
  disconnectGraceMs: number;
}

export const DEFAULT_TRANSPORT_LIMITS: Readonly<TransportLimits> = Object.freeze({
  preLoginMaxFrames: 8,
  preLoginMaxMessageBytes: 4096,
  handshakeTimeoutMs: 10_000,
  preLoginTimeoutMs: 30_000,
  maxZmtpCommandBytes: 4096,
  disconnectGraceMs: 3000,
  maxConnections: 4096,
  maxConnectionsPerAddress: 256,
  newConnectionsPerAddressPerSecond: 64,
});

/**
 * Our identities announced in READY (§1.2): the reference's ROUTERs set these; clients ignore
 * them, kept for fidelity.
 */
export const ROUTER_IDENTITIES: Readonly<Record<Channel, Buffer>> = Object.freeze({
  command: Buffer.from('SERVER_COMMAND'),
  data: Buffer.from('SERVER_PUSH'),
  heartbeat: Buffer.alloc(0),
});
