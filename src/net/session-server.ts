/**
 * The session server's socket side (DESIGN §3): three ROUTER sockets on P, P+1, P+2, one receive
 * loop each turning messages into `SessionEvent`s, a tick timer, and the execution of the
 * session's `Effect`s in order. The only owner of sockets and timers; the session stays pure.
 */
import type { Router } from 'zeromq';

import { decodeTypeFrame } from '../protocol/frame-decoder.js';
import { DEFAULT_PROTOCOL_LIMITS } from '../protocol/limits.js';
import { MessageType } from '../protocol/message-types.js';
import type { Channel, ClientId, Effect, LogLevel, SessionEvent } from '../session/events.js';
import {
  ChannelSender,
  DEFAULT_SEND_QUEUE_LIMITS,
  messageParts,
  type ChannelSenderStats,
  type OverflowInfo,
  type SendQueueLimits,
} from './channel-sender.js';
import {
  ALL_INTERFACES,
  CHANNEL_PORT_OFFSET,
  CHANNELS,
  channelEndpoints,
  isIpv6Literal,
  MAX_BASE_PORT,
} from './endpoint.js';
import { EffectRunner, type EffectRunnerStats, type PersistHook } from './effect-runner.js';
import { errnoCode, netError } from './errors.js';
import { LogLimiter, type LogLimiterOptions } from './log-limiter.js';
import { NULL_LOGGER, type Logger } from './logger.js';
import { createRouter, type RouterTuning } from './socket-options.js';

/** What the server needs of a session: the pure `handle` (and, for log lines, who is who). */
export interface SessionLike {
  handle(event: SessionEvent): readonly Effect[];
  listUsers?(): ReadonlyArray<{ readonly name: string; readonly clientId: ClientId }>;
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
  /** Socket tuning; see socket-options.ts for the reasons behind the defaults. */
  tuning?: Partial<RouterTuning>;
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
   * The `now` passed to the session, in ms. Default: a wall-clock origin plus a monotonic
   * offset, so a clock step cannot time every client out at once.
   */
  clock?: () => number;
}

/** Default period of the tick event: 10 per heartbeat period (PING about every 1000 ms, §4.13). */
export const DEFAULT_TICK_INTERVAL_MS = 100;

const DEFAULT_TUNING: Readonly<Omit<RouterTuning, 'ipv6'>> = Object.freeze({
  sendHighWaterMark: 1000,
  receiveHighWaterMark: 1000,
  maxFrameBytes: DEFAULT_PROTOCOL_LIMITS.maxPayloadFrameBytes,
});

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
}

export class SessionServer {
  /** Base port P. */
  readonly port: number;
  readonly host: string;
  /** The bound endpoints, e.g. `tcp://127.0.0.1:5555`. */
  readonly endpoints: Readonly<Record<Channel, string>>;

  private readonly routers: Record<Channel, Router>;
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
  private sessionErrors = 0;
  private tickTimer: NodeJS.Timeout | undefined;
  private readonly loops: Promise<void>[] = [];
  private readonly runner: EffectRunner;
  private readonly saveHook: ((reason: string) => void) | undefined;
  private refusing: string | null = null;
  private refused = 0;

  private constructor(opts: SessionServerOptions, host: string, routers: Record<Channel, Router>) {
    this.port = opts.port;
    this.host = host;
    this.endpoints = channelEndpoints(host, opts.port);
    this.routers = routers;
    this.session = opts.session;
    this.logger = opts.logger ?? NULL_LOGGER;
    this.limiter = new LogLimiter(opts.logLimits);
    this.clock = opts.clock ?? monotonicWallClock;
    const limits = { ...DEFAULT_SEND_QUEUE_LIMITS, ...opts.sendQueue };
    const make = (channel: Channel): ChannelSender =>
      new ChannelSender({
        channel,
        send: (parts) => routers[channel].send(parts),
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
    const tuning: RouterTuning = { ...DEFAULT_TUNING, ipv6: isIpv6Literal(host), ...opts.tuning };
    const endpoints = channelEndpoints(host, opts.port);
    const routers = {} as Record<Channel, Router>;
    try {
      for (const channel of CHANNELS) {
        routers[channel] = createRouter(channel, tuning);
        await bindOne(routers[channel], endpoints[channel], channel, opts.port + CHANNEL_PORT_OFFSET[channel]);
      }
    } catch (err) {
      for (const r of Object.values(routers)) r.close();
      throw err;
    }
    const server = new SessionServer(opts, host, routers);
    server.startLoops(opts.tickIntervalMs ?? DEFAULT_TICK_INTERVAL_MS);
    return server;
  }

  /** Operator kick by username (shell `kick NAME`). */
  adminKick(username: string): void {
    this.dispatch({ type: 'admin-kick', username, now: this.clock() });
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
    };
  }

  /** Stops the timer, the queues and the sockets; resolves when every receive loop has ended. Idempotent. */
  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      if (this.tickTimer !== undefined) clearInterval(this.tickTimer);
      this.runner.close();
      for (const channel of CHANNELS) {
        this.senders[channel].close();
        this.routers[channel].close();
      }
      this.identities.clear();
      this.pending.length = 0;
    }
    await Promise.all(this.loops);
  }

  private startLoops(tickIntervalMs: number): void {
    for (const channel of CHANNELS) {
      this.loops.push(this.receiveLoop(channel));
      this.loops.push(this.observeLoop(channel));
    }
    this.tickTimer = setInterval(() => this.dispatch({ type: 'tick', now: this.clock() }), tickIntervalMs);
  }

  private async receiveLoop(channel: Channel): Promise<void> {
    const router = this.routers[channel];
    while (!this.closing) {
      try {
        for await (const [identity, ...frames] of router) {
          this.received[channel]++;
          // `dispatch` catches everything the session throws: one bad message never ends this loop.
          this.dispatch({ type: 'message', channel, from: identity.toString('hex'), frames, now: this.clock() });
        }
        return; // the iterator ends when the socket is closed
      } catch (err) {
        if (this.closing) return;
        this.logger.error(`Receive on the ${channel} socket failed (${describe(err)}); receiving again`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Connection events, for operators: who connects, and handshakes that fail (port scanners, bad peers). */
  private async observeLoop(channel: Channel): Promise<void> {
    try {
      for await (const event of this.routers[channel].events) {
        if (event.type === 'accept' || event.type === 'disconnect') {
          if (this.logger.enabled('debug')) this.logger.debug(`${channel} socket: ${event.type} ${event.address}`);
        } else if (
          event.type === 'handshake:error:protocol' ||
          event.type === 'handshake:error:auth' ||
          event.type === 'handshake:error:other'
        ) {
          const detail = describe(event.error);
          this.writeLog(
            'warn',
            `${channel} socket: handshake failed from ${event.address} (${detail})`,
            'net:handshake',
          );
        }
      }
    } catch (err) {
      if (!this.closing) this.logger.debug(`${channel} socket: event observer ended (${describe(err)})`);
    }
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
        for (const client of effect.to) sender.submit(client, this.identityOf(client), parts, bytes);
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

  private forgetClient(client: ClientId): void {
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

  private dropClient(client: ClientId, reason: string): void {
    for (const channel of CHANNELS) this.senders[channel].drop(client);
    this.writeLog('warn', `Dropping ${this.labelOf(client)}: ${reason}`, 'net:drop');
    this.dispatch({ type: 'dropped', client, reason, now: this.clock() });
  }
}

async function bindOne(router: Router, endpoint: string, channel: Channel, port: number): Promise<void> {
  try {
    await router.bind(endpoint);
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
