/**
 * A ZMTP 3.x ROUTER, server side, over node:net: the greeting and NULL handshake, routing by the
 * peer's identity, and the libzmq 4.3 ROUTER behaviours the session relies on, each established
 * by an interop test against libzmq (test/net/zmtp-interop.test.ts):
 * - a peer without an `Identity` gets a generated one: 5 bytes, 0x00 then a big-endian uint32
 *   counter that starts at a random value;
 * - a second connection presenting an identity that is already connected is ignored for good
 *   (libzmq's default, handover off): nothing it sends is delivered, nothing is routed to it, even
 *   after the first connection left. We also close it at the pre-login timeout, since it can never
 *   become useful;
 * - a send to an identity with no connection reports `unreachable` (ROUTER_MANDATORY's
 *   EHOSTUNREACH); a connection whose kernel and Node buffers hold more than the high-water mark
 *   reports `full` (EAGAIN), and the caller's per-client queue takes over until `whenWritable`
 *   says the connection has room again (no polling).
 * Unlike libzmq, it bounds what a peer may send while reading (see frames.ts), knows each peer's
 * address, and can close one peer's connection.
 */
import { createServer, type Server, type Socket } from 'node:net';

import {
  encodeErrorBody,
  encodePongBody,
  encodeReadyBody,
  ERROR,
  isCommandError,
  MAX_IDENTITY_BYTES,
  parseCommand,
  parsePing,
  parseProperties,
  PING,
  PONG,
  READY,
  ROUTER_PEER_TYPES,
} from './commands.js';
import { encodeCommandFrame, encodeMessage, FrameReader, type FrameBudget, type FrameError } from './frames.js';
import type { ConnectionGate } from './gate.js';
import { checkGreetingHead, encodeGreeting, GREETING_BYTES, isGreetingError, parseGreeting } from './greeting.js';

export type SendOutcome = 'sent' | 'full' | 'unreachable';
export type RouterLogLevel = 'debug' | 'info' | 'warn';

export interface RouterTimeouts {
  /** Greeting and READY must be complete this long after the TCP connection opened. */
  handshakeTimeoutMs: number;
  /** A connection whose identity is not logged in this long after its handshake is closed. */
  preLoginTimeoutMs: number;
}

export interface ZmtpRouterOptions extends RouterTimeouts {
  /** For log lines: which port this is. */
  name: string;
  /** Our identity in READY (libzmq's ROUTER announces its routing id, possibly empty). */
  routingId: Buffer;
  gate: ConnectionGate;
  /** Largest command a peer may send (READY with its properties, PING). */
  maxCommandBytes: number;
  /** Messages written and not yet flushed to the kernel at which a send reports `full`. */
  sendHighWaterMark: number;
  /** Bytes waiting in a connection's write buffer at which a send reports `full`. */
  sendHighWaterBytes: number;
  /** TCP keepalive initial delay (ms); 0 = off. */
  keepAliveMs: number;
  /** The budget of a message from this identity, asked at each message's first frame header. */
  budget(clientId: string): FrameBudget;
  isLoggedIn(clientId: string): boolean;
  /** A complete message from a routable connection. */
  onMessage(clientId: string, frames: Buffer[]): void;
  /** A log line about a connection; `key` groups lines for rate limiting (peer-triggered lines have one). */
  log(level: RouterLogLevel, message: string, key?: string): void;
  /** How an identity is named in log lines (user name when known). */
  label(clientId: string): string;
  /**
   * A connection became routable under `clientId` (`routed` true), or stopped being so: it closed,
   * broke the protocol or was closed by us (`peer` is its address). Duplicates are never routable.
   */
  onRoute?(clientId: string, routed: boolean, peer: string): void;
}

const enum Phase {
  Greeting,
  Ready,
  Open,
  Closed,
}

/** A budget that admits no data frame: data before the handshake is complete is a protocol error. */
const HANDSHAKE_BUDGET: FrameBudget = Object.freeze({ maxFrames: 0, maxFrameBytes: 0, maxMessageBytes: 0 });

/** How long a closed connection may take to flush what was written before it is cut. */
const CLOSE_FLUSH_MS = 5000;

const PONG_EMPTY = Buffer.alloc(0);

class Connection {
  phase = Phase.Greeting;
  readonly greeting = Buffer.alloc(GREETING_BYTES);
  greetingHave = 0;
  clientId = '';
  /** Routable: registered under its identity (not a duplicate). */
  routed = false;
  /** A second connection with an identity already connected: inert, as libzmq's ROUTER keeps it. */
  duplicate = false;
  /**
   * We sent our FIN (closeGracefully): messages the peer had already sent are still read and
   * delivered, under the same budgets, until it closes too or the flush timer cuts it.
   */
  closing = false;
  timer: NodeJS.Timeout | undefined;
  readonly reader: FrameReader;
  /**
   * Messages sent and not yet flushed to the kernel: those waiting in `batch` and those handed to
   * the socket whose last byte has not reached the kernel yet.
   */
  unflushed = 0;
  /**
   * What was sent since the last flush: the encoded chunks of whole messages, shared with every
   * other recipient of the same message. Written with one writev at the end of the event-loop
   * turn, so a burst of messages costs one system call per connection, not one per message.
   */
  batch: Buffer[] = [];
  batchMessages = 0;
  batchBytes = 0;
  /** Called once when a `full` connection takes sends again or is unrouted (`ZmtpRouter.whenWritable`). */
  private wakers: (() => void)[] = [];
  private flushed(messages: number): void {
    this.unflushed -= messages;
    if (this.wakers.length > 0) this.wakeIfWritable();
  }

  constructor(
    readonly socket: Socket,
    readonly peer: string,
    readonly address: string,
    router: ZmtpRouter,
    maxCommandBytes: number,
    /** Below these (half the high-water marks) a `full` connection counts as writable again. */
    private readonly lowMessages: number,
    private readonly lowBytes: number,
  ) {
    this.reader = new FrameReader(
      {
        budget: () => router.budgetOf(this),
        message: (frames) => router.messageFrom(this, frames),
        command: (body) => router.commandFrom(this, body),
      },
      maxCommandBytes,
    );
  }

  addWaker(wake: () => void): void {
    this.wakers.push(wake);
  }

  /**
   * Wakes the waiters once the write buffer is down to the low marks: checked as each message's
   * write completes (and on 'drain'), so a full connection costs nothing until its peer reads,
   * and the waiters then find room for a batch rather than for one message.
   */
  wakeIfWritable(): void {
    if (this.unflushed <= this.lowMessages && this.socket.writableLength + this.batchBytes <= this.lowBytes)
      this.wake();
  }

  /**
   * Hands the batch to the socket in one corked burst (Node writes it with a single writev). One
   * callback per batch counts its messages as flushed.
   */
  flush(): void {
    const chunks = this.batch;
    const messages = this.batchMessages;
    if (messages === 0) return;
    this.batch = [];
    this.batchMessages = 0;
    this.batchBytes = 0;
    const s = this.socket;
    if (!s.writable) {
      this.unflushed -= messages;
      return;
    }
    const done = (): void => this.flushed(messages);
    const last = chunks.length - 1;
    if (last < 0) {
      done(); // only messages without frames: nothing to write
      return;
    }
    if (last === 0) {
      s.write(chunks[0], done);
      return;
    }
    s.cork();
    for (let i = 0; i < last; i++) s.write(chunks[i]);
    s.write(chunks[last], done);
    s.uncork();
  }

  /** Drops the batch unwritten (the connection is cut). */
  discardBatch(): void {
    this.unflushed -= this.batchMessages;
    this.batch = [];
    this.batchMessages = 0;
    this.batchBytes = 0;
  }

  /** Wakes every waiter now (the connection took sends again, or it is gone). */
  wake(): void {
    if (this.wakers.length === 0) return;
    const wakers = this.wakers;
    this.wakers = [];
    for (const w of wakers) w();
  }
}

export class ZmtpRouter {
  private readonly server: Server;
  private readonly byId = new Map<string, Connection>();
  private readonly all = new Set<Connection>();
  private readonly greeting = encodeGreeting(1);
  private readonly ready: Buffer;
  private nextGenerated = (Math.random() * 2 ** 32) >>> 0;
  private readonly encoded = new WeakMap<readonly Uint8Array[], Buffer[]>();
  private closed = false;
  /** Connections with a batch to flush at the end of this event-loop turn. */
  private dirty: Connection[] = [];
  private readonly flushAll = (): void => {
    const dirty = this.dirty;
    this.dirty = [];
    for (const conn of dirty) conn.flush();
  };

  constructor(private readonly opts: ZmtpRouterOptions) {
    this.ready = encodeCommandFrame(encodeReadyBody('ROUTER', opts.routingId));
    this.server = createServer({ noDelay: true, allowHalfOpen: false }, (socket) => this.accept(socket));
  }

  /** Binds; rejects with the listen error (its `code`, e.g. EADDRINUSE). */
  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port, exclusive: true, backlog: 1024 }, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.opts.log('warn', `${this.opts.name}: listener error: ${err.message}`));
        resolve();
      });
    });
  }

  /** The bound port (after `listen`). */
  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  /** Routable connections. */
  get size(): number {
    return this.byId.size;
  }

  /** Every open TCP connection, routable or not. */
  get connections(): number {
    return this.all.size;
  }

  /** Open connections whose identity has not logged in (handshaking, or strangers). Walks them: for scrapes, not hot paths. */
  get strangers(): number {
    let n = 0;
    for (const c of this.all) if (!(c.routed && this.opts.isLoggedIn(c.clientId))) n++;
    return n;
  }

  /** Connections accepted, and refused by the gate, since the start (metrics). */
  accepted = 0;
  refusedConnections = 0;

  /** `IP:port` of the identity's connection, if it has one. */
  peerOf(clientId: string): string | undefined {
    return this.byId.get(clientId)?.peer;
  }

  /**
   * Sends one message (`parts[0]` is the identity, the rest are the frames) to the identity's
   * connection. The frames are encoded once per `parts` array, so a fan-out that passes the same
   * array to every recipient writes the same buffers to each. The message joins the connection's
   * batch, written in one go at the end of this event-loop turn (after the I/O callbacks that
   * are ready now, so everything they sent shares the system call); messages stay in order.
   */
  send(parts: readonly Uint8Array[], clientId?: string): SendOutcome {
    const id = clientId ?? Buffer.from(parts[0].buffer, parts[0].byteOffset, parts[0].byteLength).toString('hex');
    const conn = this.byId.get(id);
    if (conn === undefined || conn.phase !== Phase.Open || !conn.socket.writable) return 'unreachable';
    if (
      conn.unflushed >= this.opts.sendHighWaterMark ||
      conn.socket.writableLength + conn.batchBytes >= this.opts.sendHighWaterBytes
    ) {
      return 'full';
    }
    let chunks = this.encoded.get(parts);
    if (chunks === undefined) {
      chunks = encodeMessage(parts.slice(1));
      this.encoded.set(parts, chunks);
    }
    if (conn.batchMessages === 0) {
      if (this.dirty.length === 0) setImmediate(this.flushAll);
      this.dirty.push(conn);
    }
    conn.unflushed++;
    conn.batchMessages++;
    for (let i = 0; i < chunks.length; i++) {
      conn.batch.push(chunks[i]);
      conn.batchBytes += chunks[i].length;
    }
    return 'sent';
  }

  /**
   * After a send answered `full`: calls `wake` once, when the identity's connection has flushed
   * down to half its high-water marks, or when it is closed or unrouted. The caller waits on this
   * instead of retrying on a timer, so connections that do not read cost no CPU however many they
   * are. False (and `wake` is never called) when the identity has no open connection. `wake` may be
   * called from inside a socket's write callback: it must not send synchronously.
   */
  whenWritable(clientId: string, wake: () => void): boolean {
    const conn = this.byId.get(clientId);
    if (conn === undefined || conn.phase !== Phase.Open) return false;
    conn.addWaker(wake);
    return true;
  }

  /**
   * Closes the identity's connection after what was written to it has been flushed (cut after
   * a few seconds if the peer does not read), or at once when `cut`. The identity is unroutable at
   * once. True when there was a connection.
   */
  disconnect(clientId: string, cut = false): boolean {
    const conn = this.byId.get(clientId);
    if (conn === undefined) return false;
    this.opts.log(
      'debug',
      `${this.opts.name}: closing the connection of ${this.opts.label(clientId)} from ${conn.peer}`,
    );
    if (cut) this.destroy(conn);
    else this.closeGracefully(conn);
    return true;
  }

  /** Stops listening and cuts every connection. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const conn of this.all) this.destroy(conn);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  budgetOf(conn: Connection): FrameBudget {
    if (conn.phase !== Phase.Open && !conn.closing) return HANDSHAKE_BUDGET;
    return this.opts.budget(conn.clientId);
  }

  messageFrom(conn: Connection, frames: Buffer[]): void {
    // A duplicate identity's messages are dropped, as libzmq's ROUTER does.
    if (conn.duplicate || (conn.phase !== Phase.Open && !conn.closing)) return;
    this.opts.onMessage(conn.clientId, frames);
  }

  commandFrom(conn: Connection, body: Buffer): void {
    if (conn.closing) return; // our FIN is sent: nothing more is written
    const cmd = parseCommand(body);
    if (isCommandError(cmd)) {
      this.refuse(conn, cmd.reason, conn.phase === Phase.Ready);
      return;
    }
    if (conn.phase === Phase.Ready) {
      if (cmd.name === READY) this.onReady(conn, cmd.data);
      else if (cmd.name === ERROR) this.refuse(conn, `peer sent ERROR ${errorReason(cmd.data)}`, false);
      else this.refuse(conn, `${JSON.stringify(cmd.name)} command before READY`, true);
      return;
    }
    switch (cmd.name) {
      case PING: {
        const ping = parsePing(cmd.data);
        if (isCommandError(ping)) {
          this.refuse(conn, ping.reason, false);
          return;
        }
        if (conn.socket.writable) conn.socket.write(encodeCommandFrame(encodePongBody(ping.context ?? PONG_EMPTY)));
        return;
      }
      case PONG:
        return;
      case ERROR:
        this.refuse(conn, `peer sent ERROR ${errorReason(cmd.data)}`, false);
        return;
      default:
        this.refuse(conn, `unexpected ${JSON.stringify(cmd.name)} command`, false);
    }
  }

  private accept(socket: Socket): void {
    const address = socket.remoteAddress ?? '?';
    const peer = formatPeer(address, socket.remotePort);
    if (this.closed) {
      socket.destroy();
      return;
    }
    const refusal = this.opts.gate.admit(address);
    if (refusal !== null) {
      this.refusedConnections++;
      socket.destroy();
      this.opts.log('warn', `${this.opts.name}: refused a connection from ${peer}: ${refusal}`, 'net:admit');
      return;
    }
    const conn = new Connection(
      socket,
      peer,
      address,
      this,
      this.opts.maxCommandBytes,
      Math.floor(this.opts.sendHighWaterMark / 2),
      Math.floor(this.opts.sendHighWaterBytes / 2),
    );
    this.all.add(conn);
    this.accepted++;
    if (this.opts.keepAliveMs > 0) socket.setKeepAlive(true, this.opts.keepAliveMs);
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('error', (err) => this.opts.log('debug', `${this.opts.name}: ${peer}: ${err.message}`));
    socket.on('close', () => this.onClose(conn));
    socket.on('drain', () => conn.wakeIfWritable());
    conn.timer = setTimeout(
      () => this.refuse(conn, 'handshake not finished in time', false),
      this.opts.handshakeTimeoutMs,
    );
    socket.write(this.greeting);
    this.opts.log('debug', `${this.opts.name}: connection from ${peer}`);
  }

  private onData(conn: Connection, chunk: Buffer): void {
    if (conn.phase === Phase.Closed && !conn.closing) return;
    let rest = chunk;
    if (conn.phase === Phase.Greeting) {
      const take = Math.min(GREETING_BYTES - conn.greetingHave, chunk.length);
      chunk.copy(conn.greeting, conn.greetingHave, 0, take);
      conn.greetingHave += take;
      rest = chunk.subarray(take);
      if (conn.greetingHave < GREETING_BYTES) {
        const early = checkGreetingHead(conn.greeting.subarray(0, conn.greetingHave));
        if (early !== null) this.refuse(conn, early.reason, false);
        return;
      }
      const g = parseGreeting(conn.greeting);
      if (isGreetingError(g)) {
        this.refuse(conn, g.reason, false);
        return;
      }
      conn.phase = Phase.Ready;
      conn.socket.write(this.ready);
    }
    if (rest.length === 0) return;
    const err = conn.reader.push(rest);
    // The reader's callbacks may have closed the connection meanwhile.
    if (err !== null && ((conn.phase as Phase) !== Phase.Closed || conn.closing)) this.onViolation(conn, err);
  }

  private onReady(conn: Connection, data: Buffer): void {
    const props = parseProperties(data);
    if (isCommandError(props)) {
      this.refuse(conn, props.reason, true);
      return;
    }
    const type = props.get('socket-type')?.toString('latin1');
    if (type === undefined) {
      this.refuse(conn, 'READY without Socket-Type', true);
      return;
    }
    if (!ROUTER_PEER_TYPES.has(type)) {
      this.refuse(conn, `a ${type} socket cannot talk to a ROUTER`, true);
      return;
    }
    const identity = props.get('identity');
    if (identity !== undefined && identity.length > MAX_IDENTITY_BYTES) {
      this.refuse(conn, `identity of ${identity.length} bytes (max ${MAX_IDENTITY_BYTES})`, true);
      return;
    }
    clearTimeout(conn.timer);
    conn.phase = Phase.Open;
    conn.clientId = identity !== undefined && identity.length > 0 ? identity.toString('hex') : this.generateId();
    if (this.byId.has(conn.clientId)) {
      conn.duplicate = true;
      this.opts.log(
        'warn',
        `${this.opts.name}: a second connection for ${this.opts.label(conn.clientId)} from ${conn.peer} is ignored ` +
          `(the first is from ${this.byId.get(conn.clientId)?.peer})`,
        'net:duplicate',
      );
    } else {
      this.byId.set(conn.clientId, conn);
      conn.routed = true;
      this.opts.onRoute?.(conn.clientId, true, conn.peer);
    }
    conn.timer = setTimeout(() => this.checkLoggedIn(conn), this.opts.preLoginTimeoutMs);
  }

  private checkLoggedIn(conn: Connection): void {
    conn.timer = undefined;
    if (conn.phase !== Phase.Open) return;
    if (conn.routed && this.opts.isLoggedIn(conn.clientId)) return;
    this.opts.log(
      'info',
      `${this.opts.name}: closed the connection from ${conn.peer} (identity ${conn.clientId}): ` +
        `not logged in ${this.opts.preLoginTimeoutMs} ms after connecting`,
      'net:prelogin-timeout',
    );
    this.destroy(conn);
  }

  private generateId(): string {
    for (;;) {
      const b = Buffer.alloc(5);
      b.writeUInt32BE(this.nextGenerated, 1);
      this.nextGenerated = (this.nextGenerated + 1) >>> 0;
      const id = b.toString('hex');
      if (!this.byId.has(id)) return id;
    }
  }

  private onViolation(conn: Connection, err: FrameError): void {
    if (conn.phase !== Phase.Open && !conn.closing) {
      const reason = err.code.startsWith('BUDGET_') ? 'data frame before the handshake finished' : err.reason;
      this.refuse(conn, reason, conn.phase === Phase.Ready);
      return;
    }
    const who = conn.duplicate ? `duplicate identity ${conn.clientId}` : this.opts.label(conn.clientId);
    const limit =
      err.limit === undefined ? '' : ` (limit ${err.limit}${limitName(err, this.opts.isLoggedIn(conn.clientId))})`;
    this.opts.log(
      'warn',
      `${this.opts.name}: closed the connection from ${conn.peer}, ${who}, mid-message: ${err.reason}${limit}`,
      'net:budget',
    );
    this.destroy(conn);
  }

  /** Ends a connection that broke the protocol; ERROR first when the handshake is at READY. */
  private refuse(conn: Connection, reason: string, sendError: boolean): void {
    if (conn.phase === Phase.Closed) return;
    this.opts.log('warn', `${this.opts.name}: connection from ${conn.peer} closed: ${reason}`, 'net:handshake');
    if (sendError && conn.socket.writable) {
      conn.socket.write(encodeCommandFrame(encodeErrorBody(reason)));
      this.closeGracefully(conn);
      return;
    }
    this.destroy(conn);
  }

  private unroute(conn: Connection): void {
    const wasRouted = conn.routed && this.byId.get(conn.clientId) === conn;
    if (wasRouted) this.byId.delete(conn.clientId);
    conn.routed = false;
    if (wasRouted) this.opts.onRoute?.(conn.clientId, false, conn.peer);
    // Whoever waits for room on it finds out at once that it is gone (their next send: unreachable).
    conn.wake();
  }

  private closeGracefully(conn: Connection): void {
    if (conn.phase === Phase.Closed) return;
    conn.closing = conn.phase === Phase.Open;
    conn.phase = Phase.Closed;
    if (!conn.closing) conn.reader.stop();
    this.unroute(conn);
    clearTimeout(conn.timer);
    conn.flush();
    conn.socket.end();
    conn.timer = setTimeout(() => conn.socket.destroy(), CLOSE_FLUSH_MS);
    conn.timer.unref();
  }

  private destroy(conn: Connection): void {
    conn.phase = Phase.Closed;
    conn.closing = false;
    conn.discardBatch();
    conn.reader.stop();
    this.unroute(conn);
    clearTimeout(conn.timer);
    conn.socket.destroy();
  }

  private onClose(conn: Connection): void {
    if (!this.all.delete(conn)) return;
    const midMessage = (conn.phase === Phase.Open || conn.closing) && conn.reader.midMessage;
    conn.phase = Phase.Closed;
    conn.closing = false;
    conn.reader.stop();
    this.unroute(conn);
    clearTimeout(conn.timer);
    this.opts.gate.release(conn.address);
    if (midMessage) this.opts.log('debug', `${this.opts.name}: ${conn.peer} closed in the middle of a message`);
    this.opts.log('debug', `${this.opts.name}: ${conn.peer} disconnected`);
  }
}

function limitName(err: FrameError, loggedIn: boolean): string {
  switch (err.code) {
    case 'BUDGET_FRAMES':
      return loggedIn ? ', MAX_FRAMES_PER_MESSAGE' : ', PRE_LOGIN_MAX_FRAMES';
    case 'BUDGET_FRAME_BYTES':
      return loggedIn ? ', MAX_FRAME_BYTES' : ', PRE_LOGIN_MAX_MESSAGE_BYTES';
    case 'BUDGET_MESSAGE_BYTES':
      return loggedIn ? '' : ', PRE_LOGIN_MAX_MESSAGE_BYTES';
    default:
      return '';
  }
}

function errorReason(data: Buffer): string {
  if (data.length < 1) return '(no reason)';
  return JSON.stringify(data.toString('latin1', 1, 1 + Math.min(data[0], data.length - 1)));
}

/** `IP:port`, with brackets around an IPv6 address (and `::ffff:` mapped IPv4 shown plainly). */
export function formatPeer(address: string, port: number | undefined): string {
  const ip = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  return ip.includes(':') ? `[${ip}]:${port ?? '?'}` : `${ip}:${port ?? '?'}`;
}
