/**
 * The session server's socket side (DESIGN §3): three ZMTP ROUTERs on P, P+1, P+2 (zmtp/router.ts)
 * turning messages into `SessionEvent`s, a tick timer, and the execution of the session's
 * `Effect`s in order. The only owner of sockets and timers; the session stays pure.
 *
 * What a connection may send is bounded while it is read: until its identity is logged in, by the
 * pre-login budget (a few small frames, enough for Auth, RequestServerInfo and the heartbeat
 * INIT); after, by MAX_FRAMES_PER_MESSAGE and MAX_FRAME_BYTES. When the session lets a client go
 * (kick, heartbeat timeout, drop for slowness, logout) its connections on all three ports are
 * closed; a stranger whose command got its reply is closed too, after the reply is flushed. The
 * other way round, a logged-in client whose connections have all closed, and not come back within
 * DISCONNECT_GRACE, leaves the session as at a heartbeat timeout (disconnect-watch.ts).
 */
import {
  decodeTypeFrame,
  MAX_HEARTBEAT_FRAME_BYTES,
  DEFAULT_PROTOCOL_LIMITS,
  canonicalTypeOf,
  MessageType,
} from '../protocol/index.js';
import {
  type Channel,
  type ClientId,
  type Effect,
  type LogLevel,
  type SessionEvent,
  NULL_LOGGER,
  type Logger,
  LEAVE_REASON_CONNECTION_CLOSED,
} from '../session/index.js';
import {
  ChannelSender,
  DEFAULT_SEND_QUEUE_LIMITS,
  messageParts,
  type ChannelSenderStats,
  type OverflowInfo,
  type SendQueueLimits,
} from './channel-sender.js';
import { ALL_INTERFACES, CHANNEL_PORT_OFFSET, CHANNELS, channelEndpoints, MAX_BASE_PORT } from './endpoint.js';
import { EffectRunner, type EffectRunnerStats, type PersistHook } from './effect-runner.js';
import { errnoCode, netError } from './errors.js';
import { LogLimiter, type LogLimiterOptions } from './log-limiter.js';
import {
  DEFAULT_TRANSPORT_LIMITS,
  ROUTER_IDENTITIES,
  type RouterTuning,
  type TransportLimits,
} from './transport-limits.js';
import type { FrameBudget } from './zmtp/frames.js';
import { ChurnTidy, DEFAULT_CHURN_TIDY, runtimeCollector } from './churn-tidy.js';
import { DisconnectWatch } from './disconnect-watch.js';
import { ConnectionGate } from './zmtp/gate.js';
import { ZmtpRouter } from './zmtp/router.js';

/** What the server needs of a session: the pure `handle` (and, for log lines, who is who). */
export interface SessionLike {
  handle(event: SessionEvent): readonly Effect[];
  listUsers?(): ReadonlyArray<{ readonly name: string; readonly clientId: ClientId }>;
  /**
   * Whether the identity is logged in: decides its budget while its messages are read and whether
   * replies to it are queued (logged in) or best effort. Absent: every identity counts as logged in.
   */
  isLoggedIn?(client: ClientId): boolean;
}

export interface SessionServerOptions {
  /** Base port P (`--port`, PORT); the server binds P, P+1, P+2. */
  port: number;
  /** Bind address (`--host`, HOST); default all interfaces, as the reference. */
  host?: string;
  session: SessionLike;
  logger?: Logger;
  /** Period of the `tick` event (heartbeat pings, timeouts, user-list broadcasts). */
  tickIntervalMs?: number;
  /** Bounds of each client's send queue on each socket. */
  sendQueue?: Partial<SendQueueLimits>;
  /** Socket tuning; see transport-limits.ts for the reasons behind the defaults. */
  tuning?: Partial<RouterTuning>;
  /** Pre-login budgets, timeouts and connection limits; see transport-limits.ts. */
  transport?: Partial<TransportLimits>;
  /** Rate limits of log effects that carry a `key`. */
  logLimits?: Partial<LogLimiterOptions>;
  /**
   * The journal (`cli/` wires it to `store/`): called for each `persist` effect, in order, before
   * any effect after it is carried out (effect-runner.ts). Absent: nothing is journaled.
   */
  persist?: PersistHook;
  /** Called for each `save` effect, in order (a snapshot request; `store/` coalesces them). Absent: ignored. */
  save?: (reason: string) => void;
  /**
   * Starts a garbage collection once a burst of short-lived connections is over (churn-tidy.ts).
   * Default: the runtime's collector when node runs with --expose-gc; `null` turns it off.
   */
  collectGarbage?: (() => void) | null;
  /**
   * The `now` passed to the session, in ms. Default: a wall-clock origin plus a monotonic
   * offset, so a clock step cannot time every client out at once.
   */
  clock?: () => number;
}

/** Default period of the tick event: 10 per heartbeat period (PING about every 1000 ms, §4.13). */
export const DEFAULT_TICK_INTERVAL_MS = 100;

const DEFAULT_TUNING: Readonly<RouterTuning> = Object.freeze({
  sendHighWaterMark: 1000,
  sendHighWaterBytes: 8 * 1024 * 1024,
  maxFrameBytes: DEFAULT_PROTOCOL_LIMITS.maxPayloadFrameBytes,
  maxFramesPerMessage: DEFAULT_PROTOCOL_LIMITS.maxFrames,
});

/** The router routes by client id; the identity slot of a best-effort message stays empty. */
const STRANGER_IDENTITY = Buffer.alloc(0);

/** TCP keepalive as the reference sets on command and data: 300 s idle (§1.4). */
const KEEPALIVE_MS = 300_000;

const monotonicWallClock = (): number => performance.timeOrigin + performance.now();

/** Counters for metrics and tests. */
export interface SessionServerStats {
  readonly received: Readonly<Record<Channel, number>>;
  readonly send: Readonly<Record<Channel, ChannelSenderStats>>;
  /** Events the session threw on (a bug in the session: logged, the loop goes on). */
  readonly sessionErrors: number;
  /** Effects held for the journal, and relays withheld because it failed. */
  readonly effects: EffectRunnerStats;
  /** Command and data messages dropped after `stopAccepting`. */
  readonly refused: number;
  /** Messages received per socket, by type number (index 0: heartbeats and non-canonical type frames). */
  readonly receivedByType: Readonly<Record<Channel, readonly number[]>>;
  /** Deliveries (message × recipient) per socket, by type number, index 0 as above. */
  readonly sentByType: Readonly<Record<Channel, readonly number[]>>;
  /** Time from a data message's arrival to its relays entering the send queues. */
  readonly relayLatency: LatencyCounts;
  /** Open connections whose identity has not logged in. Walks every connection. */
  readonly strangers: number;
  /** TCP connections accepted and refused (MAX_CONNECTIONS* limits) since the start, all ports. */
  readonly connectionsAccepted: number;
  readonly connectionsRefused: number;
}

/** A histogram kept as plain counts (metrics read it at scrape time; the hot path only adds). */
export interface LatencyCounts {
  /** Upper bounds in seconds, ascending; `counts` has one more slot for +Inf. */
  readonly boundsS: readonly number[];
  /** Per bucket, not cumulative. */
  readonly counts: readonly number[];
  readonly sumS: number;
  readonly count: number;
}

/** Relay latency buckets (s): a relay is a few µs to a few ms; beyond 100 ms the loop is stalled. */
export const RELAY_LATENCY_BOUNDS_S: readonly number[] = Object.freeze([
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
]);

/** Slots of the per-type counters: type numbers 1..14 and 0 for anything else. */
const TYPE_SLOTS = MessageType.RequestServerInfo + 1;

function typeCounters(): Record<Channel, number[]> {
  const make = (): number[] => new Array<number>(TYPE_SLOTS).fill(0);
  return { command: make(), data: make(), heartbeat: make() };
}

function typeSlotOf(channel: Channel, frames: readonly Uint8Array[]): number {
  if (channel === 'heartbeat' || frames.length === 0) return 0;
  return canonicalTypeOf(frames[0]) ?? 0;
}

export class SessionServer {
  /** Base port P. */
  readonly port: number;
  readonly host: string;
  /** The bound endpoints, e.g. `tcp://127.0.0.1:5555`. */
  readonly endpoints: Readonly<Record<Channel, string>>;

  private readonly routers: Record<Channel, ZmtpRouter>;
  private readonly senders: Record<Channel, ChannelSender>;
  private readonly session: SessionLike;
  private readonly logger: Logger;
  private readonly limiter: LogLimiter;
  private readonly clock: () => number;
  private readonly identities = new Map<ClientId, Buffer>();
  private readonly pending: SessionEvent[] = [];
  private dispatching = false;
  private closing = false;
  private readonly received: Record<Channel, number> = { command: 0, data: 0, heartbeat: 0 };
  // Plain integers on the hot path: metrics copy them at scrape time instead of being called per message.
  private readonly receivedByType = typeCounters();
  private readonly sentByType = typeCounters();
  private readonly relayCounts: number[] = new Array<number>(RELAY_LATENCY_BOUNDS_S.length + 1).fill(0);
  private relaySumS = 0;
  private sessionErrors = 0;
  private tickTimer: NodeJS.Timeout | undefined;
  private readonly closed: Promise<void>[] = [];
  /** Strangers sent a command reply during the current dispatch (see `onMessage`). */
  private readonly answered = new Set<ClientId>();
  private readonly runner: EffectRunner;
  private readonly saveHook: ((reason: string) => void) | undefined;
  private refusing: string | null = null;
  private refused = 0;
  private readonly isLoggedIn: (client: ClientId) => boolean;
  private readonly budgets: Record<Channel, FrameBudget>;
  private readonly preLoginBudgets: Record<Channel, FrameBudget>;
  readonly gate: ConnectionGate;
  private readonly tidy: ChurnTidy;
  private readonly watch: DisconnectWatch;

  private constructor(opts: SessionServerOptions, host: string) {
    this.port = opts.port;
    this.host = host;
    this.endpoints = channelEndpoints(host, opts.port);
    this.session = opts.session;
    this.logger = opts.logger ?? NULL_LOGGER;
    this.limiter = new LogLimiter(opts.logLimits);
    this.clock = opts.clock ?? monotonicWallClock;
    const session = opts.session;
    this.isLoggedIn = session.isLoggedIn === undefined ? () => true : (client) => session.isLoggedIn?.(client) === true;
    const tuning: RouterTuning = { ...DEFAULT_TUNING, ...opts.tuning };
    const transport: TransportLimits = { ...DEFAULT_TRANSPORT_LIMITS, ...opts.transport };
    const budget = (maxFrameBytes: number): FrameBudget => ({
      maxFrames: tuning.maxFramesPerMessage,
      maxFrameBytes,
      maxMessageBytes: Number.MAX_SAFE_INTEGER,
    });
    this.budgets = {
      command: budget(tuning.maxFrameBytes),
      data: budget(tuning.maxFrameBytes),
      heartbeat: budget(MAX_HEARTBEAT_FRAME_BYTES),
    };
    // Never more before login than after it (a heartbeat frame is tiny either way).
    const preLogin = (channel: Channel): FrameBudget => ({
      maxFrames: Math.min(transport.preLoginMaxFrames, tuning.maxFramesPerMessage),
      maxFrameBytes: Math.min(transport.preLoginMaxMessageBytes, this.budgets[channel].maxFrameBytes),
      maxMessageBytes: transport.preLoginMaxMessageBytes,
    });
    this.preLoginBudgets = { command: preLogin('command'), data: preLogin('data'), heartbeat: preLogin('heartbeat') };
    const monotonic = (): number => performance.now();
    this.gate = new ConnectionGate(transport, monotonic);
    this.watch = new DisconnectWatch({
      graceMs: transport.disconnectGraceMs,
      isLoggedIn: this.isLoggedIn,
      isConnected: (client) => CHANNELS.some((ch) => this.routers[ch].peerOf(client) !== undefined),
      onGone: (client, peer) => this.onConnectionsClosed(client, peer, transport.disconnectGraceMs),
    });
    this.tidy = new ChurnTidy({
      ...DEFAULT_CHURN_TIDY,
      collect: opts.collectGarbage === undefined ? runtimeCollector() : opts.collectGarbage,
    });
    const makeRouter = (channel: Channel): ZmtpRouter =>
      new ZmtpRouter({
        name: `${channel} port ${opts.port + CHANNEL_PORT_OFFSET[channel]}`,
        routingId: ROUTER_IDENTITIES[channel],
        gate: this.gate,
        maxCommandBytes: transport.maxZmtpCommandBytes,
        sendHighWaterMark: tuning.sendHighWaterMark,
        sendHighWaterBytes: tuning.sendHighWaterBytes,
        keepAliveMs: channel === 'heartbeat' ? 0 : KEEPALIVE_MS,
        handshakeTimeoutMs: transport.handshakeTimeoutMs,
        preLoginTimeoutMs: transport.preLoginTimeoutMs,
        budget: (client) => (this.isLoggedIn(client) ? this.budgets[channel] : this.preLoginBudgets[channel]),
        isLoggedIn: this.isLoggedIn,
        onMessage: (client, frames) => this.onMessage(channel, client, frames),
        log: (level, message, key) => this.writeLog(level, message, key),
        label: (client) => this.labelOf(client),
        onRoute: (client, routed, peer) => {
          if (routed) this.watch.opened(client);
          else if (!this.closing) this.watch.closed(client, peer);
        },
      });
    this.routers = { command: makeRouter('command'), data: makeRouter('data'), heartbeat: makeRouter('heartbeat') };
    const routers = this.routers;
    const limits = { ...DEFAULT_SEND_QUEUE_LIMITS, ...opts.sendQueue };
    const make = (channel: Channel): ChannelSender =>
      new ChannelSender({
        channel,
        send: (parts, client) => routers[channel].send(parts, client),
        disconnect: (client, cut) => routers[channel].disconnect(client, cut),
        whenWritable: (client, wake) => routers[channel].whenWritable(client, wake),
        limits,
        now: this.clock,
        onOverflow: (info) => this.onOverflow(info),
        onSendError: (client, ch, err) => this.onSendError(client, ch, err),
      });
    this.senders = { command: make('command'), data: make('data'), heartbeat: make('heartbeat') };
    this.saveHook = opts.save;
    this.runner = new EffectRunner({
      execute: (effect) => this.execute(effect),
      persist: opts.persist,
      onPersistError: (err) =>
        this.writeLog('error', `A change could not be journaled and is not relayed: ${describe(err)}`, 'net:persist'),
      onExecuteError: (err) => this.writeLog('error', `Carrying out an effect failed: ${describe(err)}`, 'net:effect'),
    });
  }

  /**
   * Binds the three sockets and starts the receive loops and the tick timer. Throws `NetError`
   * `NET_ADDRESS_IN_USE` when one of P, P+1, P+2 is taken, `NET_BIND` for any other bind failure
   * (bad host, port out of range); nothing stays bound after a failure.
   */
  static async start(opts: SessionServerOptions): Promise<SessionServer> {
    const host = opts.host ?? ALL_INTERFACES;
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > MAX_BASE_PORT) {
      throw netError('NET_BIND', `port ${opts.port} is not between 1 and ${MAX_BASE_PORT} (P+2 must be a port too)`);
    }
    const server = new SessionServer(opts, host);
    try {
      for (const channel of CHANNELS) {
        await bindOne(
          server.routers[channel],
          host,
          server.endpoints[channel],
          channel,
          opts.port + CHANNEL_PORT_OFFSET[channel],
        );
      }
    } catch (err) {
      await server.close();
      throw err;
    }
    server.startTimer(opts.tickIntervalMs ?? DEFAULT_TICK_INTERVAL_MS);
    return server;
  }

  /** Operator kick by username (shell `kick NAME`). */
  adminKick(username: string): void {
    this.dispatch({ type: 'admin-kick', username, now: this.clock() });
  }

  /** Disconnects every logged-in client with `reason` (the add-on shows it); see `drained`. */
  disconnectAll(reason: string): void {
    this.dispatch({ type: 'admin-disconnect-all', reason, now: this.clock() });
  }

  /**
   * Resolves once no connection is open (the server closes a disconnected client's connections
   * after flushing what was written to them), or after `timeoutMs`; true when none is left.
   */
  async drained(timeoutMs: number): Promise<boolean> {
    let cancel: () => void = () => undefined;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      cancel = this.gate.whenEmpty(resolve);
    });
    clearTimeout(timer);
    cancel();
    return this.gate.connections === 0;
  }

  /**
   * Stops handing messages that change the session to it (dropped, counted, logged rate-limited)
   * until `resumeAccepting`; logins, joins, heartbeats and ticks go on, so clients stay connected
   * and can still join. For a journal failure under JOURNAL_FSYNC=always: nothing is accepted that
   * cannot be made durable (STYLE.md §8).
   */
  stopAccepting(reason: string): void {
    if (this.refusing !== null) return;
    this.refusing = reason;
    this.logger.error(`No longer accepting changes: ${reason}. Logins, joins and heartbeats go on.`);
  }

  /** Accepts changes again after `stopAccepting` (the journal works again). */
  resumeAccepting(): void {
    if (this.refusing === null) return;
    this.refusing = null;
    this.logger.info('Accepting changes again: the journal can be written');
  }

  /** Why changes are refused (`stopAccepting`), or null. */
  get refusingReason(): string | null {
    return this.refusing;
  }

  /** `IP:port` of the client's connection on each port (undefined where it has none). */
  peersOf(client: ClientId): Record<Channel, string | undefined> {
    return {
      command: this.routers.command.peerOf(client),
      data: this.routers.data.peerOf(client),
      heartbeat: this.routers.heartbeat.peerOf(client),
    };
  }

  /** Open TCP connections on the three ports (handshaking, logged in or not). */
  get connectionCount(): number {
    return this.gate.connections;
  }

  /** What waits for a client on each socket (0 when it keeps up). */
  queuedFor(client: ClientId): Record<Channel, { messages: number; bytes: number }> {
    return {
      command: this.senders.command.queued(client),
      data: this.senders.data.queued(client),
      heartbeat: this.senders.heartbeat.queued(client),
    };
  }

  stats(): SessionServerStats {
    return {
      received: { ...this.received },
      send: {
        command: this.senders.command.stats(),
        data: this.senders.data.stats(),
        heartbeat: this.senders.heartbeat.stats(),
      },
      sessionErrors: this.sessionErrors,
      effects: this.runner.stats(),
      refused: this.refused,
      receivedByType: {
        command: [...this.receivedByType.command],
        data: [...this.receivedByType.data],
        heartbeat: [...this.receivedByType.heartbeat],
      },
      sentByType: {
        command: [...this.sentByType.command],
        data: [...this.sentByType.data],
        heartbeat: [...this.sentByType.heartbeat],
      },
      relayLatency: {
        boundsS: RELAY_LATENCY_BOUNDS_S,
        counts: [...this.relayCounts],
        sumS: this.relaySumS,
        count: this.relayCounts.reduce((a, b) => a + b, 0),
      },
      strangers: CHANNELS.reduce((n, ch) => n + this.routers[ch].strangers, 0),
      connectionsAccepted: CHANNELS.reduce((n, ch) => n + this.routers[ch].accepted, 0),
      connectionsRefused: CHANNELS.reduce((n, ch) => n + this.routers[ch].refusedConnections, 0),
    };
  }

  /** Stops the timer, the queues and the sockets; resolves when every listener is closed. Idempotent. */
  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      if (this.tickTimer !== undefined) clearInterval(this.tickTimer);
      this.runner.close();
      this.watch.close();
      for (const channel of CHANNELS) {
        this.senders[channel].close();
        this.closed.push(this.routers[channel].close());
      }
      this.identities.clear();
      this.pending.length = 0;
    }
    await Promise.all(this.closed);
  }

  private startTimer(tickIntervalMs: number): void {
    this.tickTimer = setInterval(() => {
      this.dispatch({ type: 'tick', now: this.clock() });
      if (this.tidy.observe(this.gate.released, performance.now())) {
        this.writeLog('debug', `A burst of short-lived connections is over: collecting the memory they left`);
      }
    }, tickIntervalMs);
  }

  private onMessage(channel: Channel, from: ClientId, frames: Buffer[]): void {
    this.received[channel]++;
    this.receivedByType[channel][typeSlotOf(channel, frames)]++;
    const stranger = channel === 'command' && !this.isLoggedIn(from);
    this.answered.clear();
    const started = channel === 'data' ? performance.now() : 0;
    // `dispatch` catches everything the session throws: one bad message never ends a connection.
    this.dispatch({ type: 'message', channel, from, frames, now: this.clock() });
    if (channel === 'data') this.countRelay((performance.now() - started) / 1000);
    // A stranger got its one answer (server info, or a failed Auth; the add-on asks for server
    // info on a throw-away socket and disconnects on a failed Auth): its connections on the three
    // ports are closed once the reply is flushed, so strangers who leave, or do not, hold nothing.
    if (stranger && this.answered.has(from) && !this.isLoggedIn(from)) {
      for (const ch of CHANNELS) this.senders[ch].closeAfter(from);
    }
    this.answered.clear();
  }

  /**
   * Hands an event to the session and carries out its effects. Re-entrant calls (an overflow
   * found while effects run) are queued and handled after the current event, in order.
   */
  private dispatch(event: SessionEvent): void {
    if (this.closing) return;
    this.pending.push(event);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let e = this.pending.shift(); e !== undefined; e = this.pending.shift()) {
        if (this.refusing !== null && e.type === 'message' && isChangeMessage(e.channel, e.frames)) {
          this.refused++;
          this.writeLog('error', `Dropped a ${e.channel} message: ${this.refusing}`, 'net:refusing');
          continue;
        }
        let effects: readonly Effect[];
        try {
          effects = this.session.handle(e);
        } catch (err) {
          this.sessionErrors++;
          this.writeLog('error', `Session failed on a ${e.type} event: ${describe(err)}`, `session-error:${e.type}`);
          continue;
        }
        // Once the session has handled a drop it sends nothing more to that client's old login, so
        // the net-side "ignore" mark ends here (ordered behind what was already queued, also behind
        // effects held for the journal), whether or not the session also forgot it: a later login
        // with that identity must be served again.
        this.runner.run(e.type === 'dropped' ? [...effects, { type: 'forget', client: e.client }] : effects);
      }
    } finally {
      this.dispatching = false;
    }
  }

  /** One effect other than `persist` (the runner handles those). */
  private execute(effect: Effect): void {
    switch (effect.type) {
      case 'send': {
        let bytes = 0;
        for (const f of effect.frames) bytes += f.byteLength;
        const sender = this.senders[effect.channel];
        const parts = messageParts(effect.frames);
        this.sentByType[effect.channel][typeSlotOf(effect.channel, effect.frames)] += effect.to.length;
        for (const client of effect.to) {
          const loggedIn = this.isLoggedIn(client);
          if (!loggedIn && effect.channel === 'command') this.answered.add(client);
          // A stranger's identity is not cached: nothing about it outlives the attempt.
          sender.submit(client, loggedIn ? this.identityOf(client) : STRANGER_IDENTITY, parts, bytes, !loggedIn);
        }
        break;
      }
      case 'log':
        this.writeLog(effect.level, effect.message, effect.key);
        break;
      case 'forget':
        this.forgetClient(effect.client);
        break;
      case 'save':
        this.saveHook?.(effect.reason);
        break;
    }
  }

  private countRelay(seconds: number): void {
    const bounds = RELAY_LATENCY_BOUNDS_S;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]) i++;
    this.relayCounts[i]++;
    this.relaySumS += seconds;
  }

  private forgetClient(client: ClientId): void {
    this.watch.cancel(client);
    for (const channel of CHANNELS) this.senders[channel].forget(client);
    this.identities.delete(client);
  }

  private identityOf(client: ClientId): Buffer {
    let id = this.identities.get(client);
    if (id === undefined) {
      // Bounded: entries leave on `forget`; a session that never forgets cannot grow this forever.
      if (this.identities.size >= 65_536) this.identities.clear();
      id = Buffer.from(client, 'hex');
      this.identities.set(client, id);
    }
    return id;
  }

  private writeLog(level: LogLevel, message: string, key?: string): void {
    if (!this.logger.enabled(level)) return;
    if (key === undefined) {
      this.logger.log(level, message);
      return;
    }
    const decision = this.limiter.check(key, this.clock());
    if (decision.suppressedBefore > 0) {
      this.logger.log(level, `(${decision.suppressedBefore} similar lines suppressed in the last window)`);
    }
    if (decision.allow) this.logger.log(level, message);
  }

  private labelOf(client: ClientId): string {
    const user = this.session.listUsers?.().find((u) => u.clientId === client);
    return user === undefined ? `client ${client}` : `${user.name} (client ${client})`;
  }

  private onOverflow(info: OverflowInfo): void {
    const why = info.reason === 'full' ? 'not reading fast enough' : 'not connected';
    const reason =
      `send queue on the ${info.channel} socket is full ` +
      `(${info.messages} messages, ${info.bytes} bytes waiting; ${why} for ${info.blockedMs} ms)`;
    this.dropClient(info.client, reason);
  }

  private onSendError(client: ClientId, channel: Channel, err: unknown): void {
    this.dropClient(client, `send on the ${channel} socket failed (${describe(err)})`);
  }

  /** Every connection of a logged-in client closed and none came back (disconnect-watch.ts). */
  private onConnectionsClosed(client: ClientId, peer: string, graceMs: number): void {
    this.writeLog(
      'info',
      `Dropping ${this.labelOf(client)}: ${LEAVE_REASON_CONNECTION_CLOSED} (its connections on the three ports ` +
        `closed, the last from ${peer}, and none came back within ${graceMs} ms)`,
      `net:closed:${client}`,
    );
    this.dispatch({ type: 'dropped', client, reason: LEAVE_REASON_CONNECTION_CLOSED, now: this.clock() });
  }

  private dropClient(client: ClientId, reason: string): void {
    for (const channel of CHANNELS) this.senders[channel].drop(client);
    this.writeLog('warn', `Dropping ${this.labelOf(client)}: ${reason}`, 'net:drop');
    this.dispatch({ type: 'dropped', client, reason, now: this.clock() });
  }
}

async function bindOne(
  router: ZmtpRouter,
  host: string,
  endpoint: string,
  channel: Channel,
  port: number,
): Promise<void> {
  // `*` binds every IPv4 interface, as libzmq's `tcp://*:P` without ZMQ_IPV6.
  const address = host === ALL_INTERFACES ? '0.0.0.0' : host.replace(/^\[|\]$/g, '');
  try {
    await router.listen(address, port);
  } catch (err) {
    if (errnoCode(err) === 'EADDRINUSE') {
      throw netError('NET_ADDRESS_IN_USE', `port ${port} (${channel}) is already in use: cannot bind ${endpoint}`, err);
    }
    throw netError('NET_BIND', `cannot bind the ${channel} socket to ${endpoint}: ${describe(err)}`, err);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = errnoCode(err);
    return code === undefined ? err.message : `${code}: ${err.message}`;
  }
  return String(err);
}

/** Command types that change the session: init, delete, lock changes, metadata (chat, tasks). */
const CHANGE_COMMANDS: ReadonlySet<number> = new Set([
  MessageType.ServerSnapshot,
  MessageType.Delete,
  MessageType.Right,
  MessageType.UpdateUserMetadata,
]);

/** Whether a message would change the session (every data message; the command types above). */
function isChangeMessage(channel: Channel, frames: readonly Uint8Array[]): boolean {
  if (channel === 'data') return true;
  if (channel !== 'command' || frames.length === 0) return false;
  try {
    return CHANGE_COMMANDS.has(decodeTypeFrame(frames[0], DEFAULT_PROTOCOL_LIMITS));
  } catch {
    return false; // the session refuses it anyway
  }
}
