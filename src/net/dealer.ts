/**
 * A client-side DEALER over node:net, the way the add-on connects (§1.2): one connection per
 * channel, the same routing identity on each. It speaks ZMTP 3.1 with the NULL mechanism through
 * the codec the server uses (zmtp/), and behaves as the libzmq 4.3 DEALER the add-on uses where our
 * client relies on it:
 * - messages sent before the TCP connection and handshake are up are queued and leave, in order,
 *   once they are (ZMQ_IMMEDIATE off), so Auth can be sent at once;
 * - a refused or lost connection is retried every 100 ms (libzmq's reconnect interval), with the
 *   same identity; what was written to a connection that died is lost, as with libzmq;
 * - at most `receiveHighWaterMark` received messages wait for the reader (ZMQ_RCVHWM, default
 *   1000); past that the socket is not read, so the kernel buffers fill and the server sees a
 *   slow reader;
 * - PING is answered with PONG; an ERROR command or a peer that is no ROUTER/DEALER ends the
 *   connection (then it is retried, as libzmq does).
 * No native addon: `probe` and our test clients run with production dependencies only.
 */
import { createConnection, type Socket } from 'node:net';

import type { Channel } from '../session/index.js';
import { netError } from './errors.js';
import {
  encodePongBody,
  encodeReadyBody,
  ERROR,
  isCommandError,
  parseCommand,
  parsePing,
  parseProperties,
  PING,
  READY,
} from './zmtp/commands.js';
import { encodeCommandFrame, encodeMessage, FrameReader, type FrameBudget } from './zmtp/frames.js';
import { encodeGreeting, GREETING_BYTES, isGreetingError, parseGreeting } from './zmtp/greeting.js';

/** Options of a client DEALER. */
export interface DealerTuning {
  /** Received messages held for the reader before the socket stops being read (ZMQ_RCVHWM). */
  receiveHighWaterMark?: number;
}

export interface DealerConnectionOptions extends DealerTuning {
  channel: Channel;
  /** `tcp://host:port` of that channel (an IPv6 host in brackets). */
  endpoint: string;
  /** The routing identity (16 random bytes for the add-on; any bytes, at most 255). */
  routingId: Uint8Array;
}

/** libzmq's defaults: ZMQ_RECONNECT_IVL 100 ms, ZMQ_RCVHWM and ZMQ_SNDHWM 1000 messages. */
const RECONNECT_MS = 100;
const DEFAULT_RECEIVE_HWM = 1000;
/** Bytes waiting in Node's write buffer past which `send` resolves only on 'drain'. */
const SEND_BUFFER_BYTES = 4 * 1024 * 1024;
/** Messages queued while not connected past which `send` waits until they leave. */
const SEND_QUEUE_MESSAGES = 1000;
/** TCP keepalive as the reference sets on command and data: 300 s idle (§1.4). */
const KEEPALIVE_MS = 300_000;
/** What a server may send us: the protocol's messages have a handful of frames, one datablock each. */
const INCOMING_BUDGET: FrameBudget = Object.freeze({
  maxFrames: 1024,
  maxFrameBytes: 2 ** 32,
  maxMessageBytes: Number.MAX_SAFE_INTEGER,
});
const MAX_COMMAND_BYTES = 4096;
/** Peers a DEALER talks to (RFC 28). */
const DEALER_PEER_TYPES: ReadonlySet<string> = new Set(['ROUTER', 'DEALER']);

const enum Phase {
  Connecting,
  Greeting,
  Ready,
  Open,
}

export class DealerConnection {
  readonly channel: Channel;
  readonly endpoint: string;
  private readonly host: string;
  private readonly port: number;
  private readonly greeting = encodeGreeting(1);
  private readonly ready: Buffer;
  private readonly receiveHwm: number;
  private socket: Socket | undefined;
  private phase = Phase.Connecting;
  private peerGreeting = Buffer.alloc(GREETING_BYTES);
  private greetingHave = 0;
  private reader: FrameReader | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Encoded messages waiting for a handshaken connection. */
  private outbox: Buffer[][] = [];
  /** Sends waiting for room (the outbox or the write buffer is past its mark). */
  private sendWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private readonly inbox: Buffer[][] = [];
  private inboxWaiter: (() => void) | undefined;
  private closedFlag = false;

  /** Starts connecting at once (and reconnecting whenever the connection is lost), like libzmq. */
  constructor(opts: DealerConnectionOptions) {
    this.channel = opts.channel;
    this.endpoint = opts.endpoint;
    const m = /^tcp:\/\/(\[[^\]]+\]|[^:]+):(\d+)$/.exec(opts.endpoint);
    if (m === null) throw netError('NET_ENDPOINT', `not a tcp://host:port endpoint: ${opts.endpoint}`);
    this.host = m[1].replace(/^\[|\]$/g, '');
    this.port = Number(m[2]);
    if (opts.routingId.length > 255) throw netError('NET_ENDPOINT', 'a routing identity has at most 255 bytes');
    this.ready = encodeCommandFrame(encodeReadyBody('DEALER', Buffer.from(opts.routingId)));
    this.receiveHwm = Math.max(1, opts.receiveHighWaterMark ?? DEFAULT_RECEIVE_HWM);
    this.open();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /**
   * Sends one multipart message; messages leave in call order. Before the connection is up the
   * message is queued (ZMQ_IMMEDIATE off). Resolves at once while there is room, else when there
   * is (the write buffer drained, or queued messages left). Rejects with `NetError` `NET_CLOSED`
   * after `close`.
   */
  send(frames: readonly Uint8Array[]): Promise<void> {
    if (this.closedFlag) return Promise.reject(netError('NET_CLOSED', `${this.channel} connection is closed`));
    const chunks = encodeMessage(frames);
    const s = this.socket;
    if (this.phase === Phase.Open && this.outbox.length === 0 && s !== undefined && s.writable) {
      this.write(s, chunks);
      if (s.writableLength < SEND_BUFFER_BYTES) return Promise.resolve();
    } else {
      this.outbox.push(chunks);
      if (this.outbox.length <= SEND_QUEUE_MESSAGES) return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.sendWaiters.push({ resolve, reject }));
  }

  /**
   * Sends several messages, in order, with one system call for all of them once connected (`send`
   * makes one per message): for a client sending bursts, such as the benchmark's writer, a write
   * per message was most of its CPU. Queues and resolves as `send` does for the last message.
   */
  sendBatch(messages: readonly (readonly Uint8Array[])[]): Promise<void> {
    if (this.closedFlag) return Promise.reject(netError('NET_CLOSED', `${this.channel} connection is closed`));
    const s = this.socket;
    const cork = this.phase === Phase.Open && s !== undefined && s.writable;
    if (cork) s.cork();
    let last: Promise<void> = Promise.resolve();
    try {
      for (const frames of messages) {
        // Earlier ones settle with the last (they wait in the same list); only the last is returned.
        last.catch(() => undefined);
        last = this.send(frames);
      }
    } finally {
      if (cork) s.uncork();
    }
    return last;
  }

  /**
   * Every received message, in batches: all that arrived since the last batch, in order, until
   * the connection is closed. One wake-up per batch instead of one per message: a reader that
   * handles each message synchronously (our client) pays the async iteration once per socket read.
   */
  async *batches(): AsyncGenerator<Buffer[][]> {
    for (;;) {
      if (this.inbox.length > 0) {
        const wasFull = this.inbox.length >= this.receiveHwm;
        const batch = this.inbox.splice(0);
        // The socket was paused at the mark: read it again.
        if (wasFull) this.socket?.resume();
        yield batch;
        continue;
      }
      if (this.closedFlag) return;
      await new Promise<void>((resolve) => (this.inboxWaiter = resolve));
    }
  }

  /** Every received message, until the connection is closed (then the iteration just ends). */
  async *messages(): AsyncGenerator<Buffer[]> {
    for (;;) {
      const msg = this.inbox.shift();
      if (msg !== undefined) {
        // Below the mark again: read the socket again (it was paused at the mark).
        if (this.inbox.length === this.receiveHwm - 1) this.socket?.resume();
        yield msg;
        continue;
      }
      if (this.closedFlag) return;
      await new Promise<void>((resolve) => (this.inboxWaiter = resolve));
    }
  }

  /** Closes at once (LINGER 0: unsent messages are dropped, as the add-on does). Idempotent. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    clearTimeout(this.reconnectTimer);
    this.socket?.destroy();
    this.socket = undefined;
    this.outbox = [];
    this.inbox.length = 0;
    const waiters = this.sendWaiters;
    this.sendWaiters = [];
    for (const w of waiters) w.reject(netError('NET_CLOSED', `${this.channel} connection is closed`));
    this.wakeReader();
  }

  private open(): void {
    if (this.closedFlag) return;
    const socket = createConnection({ host: this.host, port: this.port, noDelay: true });
    this.socket = socket;
    this.phase = Phase.Connecting;
    this.greetingHave = 0;
    this.peerGreeting = Buffer.alloc(GREETING_BYTES);
    const reader = new FrameReader(
      {
        budget: () => INCOMING_BUDGET,
        message: (frames) => this.onMessage(socket, frames),
        command: (body) => this.onCommand(socket, body),
      },
      MAX_COMMAND_BYTES,
    );
    this.reader = reader;
    // Messages the reader has not taken yet still count against the mark on the new connection.
    if (this.inbox.length >= this.receiveHwm) socket.pause();
    socket.on('connect', () => {
      if (this.channel !== 'heartbeat') socket.setKeepAlive(true, KEEPALIVE_MS);
      this.phase = Phase.Greeting;
      socket.write(this.greeting);
    });
    socket.on('data', (chunk: Buffer) => this.onData(socket, reader, chunk));
    socket.on('drain', () => this.releaseSenders());
    // The server ended the connection (a stranger answered, a kick): what is sent from now on
    // waits for the next connection instead of being written after our end (lost).
    socket.on('end', () => {
      if (socket === this.socket) this.phase = Phase.Connecting;
    });
    // 'close' follows every error; the reconnect happens there.
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClose(socket));
  }

  private onData(socket: Socket, reader: FrameReader, chunk: Buffer): void {
    if (socket !== this.socket) return;
    let rest = chunk;
    if (this.phase === Phase.Greeting) {
      const take = Math.min(GREETING_BYTES - this.greetingHave, chunk.length);
      chunk.copy(this.peerGreeting, this.greetingHave, 0, take);
      this.greetingHave += take;
      rest = chunk.subarray(take);
      if (this.greetingHave < GREETING_BYTES) return;
      if (isGreetingError(parseGreeting(this.peerGreeting))) {
        this.drop(socket);
        return;
      }
      this.phase = Phase.Ready;
      socket.write(this.ready);
    }
    if (rest.length > 0 && reader.push(rest) !== null) this.drop(socket);
  }

  private onCommand(socket: Socket, body: Buffer): void {
    const cmd = parseCommand(body);
    if (isCommandError(cmd)) {
      this.drop(socket);
      return;
    }
    if (this.phase === Phase.Ready) {
      const props = cmd.name === READY ? parseProperties(cmd.data) : null;
      const type = props === null || isCommandError(props) ? undefined : props.get('socket-type')?.toString('latin1');
      if (type === undefined || !DEALER_PEER_TYPES.has(type)) {
        this.drop(socket);
        return;
      }
      this.phase = Phase.Open;
      this.flushOutbox(socket);
      return;
    }
    if (cmd.name === PING) {
      const ping = parsePing(cmd.data);
      if (isCommandError(ping)) this.drop(socket);
      else socket.write(encodeCommandFrame(encodePongBody(ping.context)));
    } else if (cmd.name === ERROR) {
      this.drop(socket);
    }
  }

  private onMessage(socket: Socket, frames: Buffer[]): void {
    if (this.phase !== Phase.Open) {
      this.drop(socket); // a message before the handshake finished
      return;
    }
    this.inbox.push(frames);
    if (this.inbox.length >= this.receiveHwm) socket.pause();
    this.wakeReader();
  }

  private write(socket: Socket, chunks: Buffer[]): void {
    if (chunks.length === 1) {
      socket.write(chunks[0]);
      return;
    }
    socket.cork();
    for (const c of chunks) socket.write(c);
    socket.uncork();
  }

  private flushOutbox(socket: Socket): void {
    const queued = this.outbox;
    this.outbox = [];
    if (queued.length > 0) {
      socket.cork();
      for (const chunks of queued) for (const c of chunks) socket.write(c);
      socket.uncork();
    }
    if (socket.writableLength < SEND_BUFFER_BYTES) this.releaseSenders();
  }

  private releaseSenders(): void {
    const waiters = this.sendWaiters;
    this.sendWaiters = [];
    for (const w of waiters) w.resolve();
  }

  private wakeReader(): void {
    const w = this.inboxWaiter;
    this.inboxWaiter = undefined;
    w?.();
  }

  /** Ends a connection that broke the protocol; it is retried like a lost one. */
  private drop(socket: Socket): void {
    this.reader?.stop();
    socket.destroy();
  }

  private onClose(socket: Socket): void {
    if (socket !== this.socket) return;
    this.reader?.stop();
    this.socket = undefined;
    this.phase = Phase.Connecting;
    if (this.closedFlag) return;
    this.reconnectTimer = setTimeout(() => this.open(), RECONNECT_MS);
    // Like libzmq's background reconnects, retrying alone does not keep a process alive.
    this.reconnectTimer.unref();
  }
}
