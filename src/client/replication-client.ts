/**
 * Our own client of the replication 0.9.10 protocol, doing what the add-on does (§4): three
 * DEALERs with one random 16-byte identity, Auth, a heartbeat that answers every PING, the user
 * list, echoes and relays applied to a local store. The init and join flows are in flows.ts.
 * Every received message becomes a `ClientEvent` in the mailbox, so callers await what they expect.
 */
import { randomBytes } from 'node:crypto';

import { DealerConnection, channelEndpoints, netError, type Channel } from '../net/index.js';
import { PyDict, type PyValue } from '../pickle/index.js';
import {
  AUTH_REPLY_LOBBY,
  DISCONNECT_KEY_REASON,
  HEARTBEAT_INIT,
  OWNER_COMMON,
  ProtocolError,
  decodeMessage,
  decodeHeartbeat,
  encodeHeartbeat,
  MessageType,
  type CommandTypeNumber,
  type AnyCommand,
  type CommandOf,
  type Commit,
  type Deps,
  type Node,
} from '../protocol/index.js';
import type { ClientEvent, ClientState, UserView } from './events.js';
import { initSession, joinSession, type JoinOptions, type JoinResult, type NodeInput } from './flows.js';
import { LocalStore, usersFromState } from './local-store.js';
import { Mailbox } from './mailbox.js';
import {
  encodeAuthRequest,
  encodeCommitPush,
  encodeDeleteRequest,
  encodeKickRequest,
  encodeMetadataUpdate,
  encodeNodePush,
  encodeRightRequest,
} from './requests.js';

export interface ClientOptions {
  host: string;
  /** Base port P of the server (command P, data P+1, heartbeat P+2). */
  port: number;
  username: string;
  /** Given → logs in as ADMIN; otherwise as CLIENT with `A_PWD` None (§4.2). */
  adminPassword?: string | null;
  /** Default `''`, what the add-on sends without a server password. */
  serverPassword?: string | null;
  /** The add-on's connection timeout: the Auth reply deadline; the server is lost after this + 1000 ms of heartbeat silence. */
  connectionTimeoutMs?: number;
  /** Deadline of each wait inside the init and join flows and of `waitFor` without a timeout. */
  stepTimeoutMs?: number;
  /** The routing identity (default: 16 random bytes, like `uuid4().bytes`). */
  identity?: Uint8Array;
  /** Events kept for `waitFor` (oldest discarded beyond). 0 = only already-waiting callers see events. */
  mailboxCapacity?: number;
  /** Start the heartbeat right after sending Auth (default true), as the add-on does. */
  heartbeat?: boolean;
  /** Never read the data socket (a deliberately slow consumer, for tests). */
  readData?: boolean;
  /** ZMQ_RCVHWM of the data socket (tests make a client slow with a low value). */
  dataReceiveHighWaterMark?: number;
}

const DEFAULT_CONNECTION_TIMEOUT_MS = 5000;
const DEFAULT_STEP_TIMEOUT_MS = 10_000;
/** The add-on's heartbeat process gives up after its timeout plus one ping period (§4.13). */
const HEARTBEAT_GRACE_MS = 1000;

export class ReplicationClient {
  readonly identity: Buffer;
  readonly username: string;
  readonly store = new LocalStore();
  readonly mailbox: Mailbox<ClientEvent>;
  /** The latest user list (UpdateClientsState). */
  users: UserView[] = [];
  state: ClientState = 'idle';
  /** Why the client closed, once it has. */
  closeReason: string | undefined;
  /** Data updates received while syncing, applied after the last SET (§4.4 "late updates"). */
  readonly lateUpdates: (Node | Commit)[] = [];
  /**
   * Sees each message received on the data socket, as its raw frames, before anything else does;
   * returning true consumes it: not decoded, not applied to the local store, no mailbox event. For
   * load generators, which recognise their own messages by their bytes: decoding and applying
   * every relayed message once per reader made the generator, not the server, the bottleneck.
   */
  dataTap: ((frames: readonly Buffer[]) => boolean) | undefined;

  readonly options: Readonly<ClientOptions>;
  readonly stepTimeoutMs: number;
  private sockets: Record<Channel, DealerConnection> | undefined;
  private answerPings = true;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly loops: Promise<void>[] = [];

  constructor(options: ClientOptions) {
    this.options = options;
    this.identity = Buffer.from(options.identity ?? randomBytes(16));
    this.username = options.username;
    this.stepTimeoutMs = options.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
    this.mailbox = new Mailbox(options.mailboxCapacity ?? 10_000);
  }

  /** The identity as the server's `ClientId` (lowercase hex). */
  get clientId(): string {
    return this.identity.toString('hex');
  }

  /** Opens the three DEALERs (connecting continues in the background). Idempotent. */
  connect(): void {
    if (this.sockets !== undefined) return;
    if (this.state === 'closed') throw netError('NET_CLOSED', 'client is closed');
    const endpoints = channelEndpoints(this.options.host, this.options.port);
    const open = (channel: Channel, extra: object = {}): DealerConnection =>
      new DealerConnection({ channel, endpoint: endpoints[channel], routingId: this.identity, ...extra });
    this.sockets = {
      command: open('command'),
      data: open('data', { receiveHighWaterMark: this.options.dataReceiveHighWaterMark }),
      heartbeat: open('heartbeat'),
    };
    this.loops.push(this.receiveLoop('command'));
    if (this.options.readData !== false) this.loops.push(this.receiveLoop('data'));
    this.loops.push(this.receiveLoop('heartbeat'));
  }

  /**
   * Sends Auth, starts the heartbeat (INIT) right after as the add-on does, and resolves with the
   * reply string: `LOBBY`, `RUNNING` or `FAILED: …`. On a FAILED reply the client closes with that
   * reason. With no reply within the connection timeout the client closes and this rejects
   * (`NET_TIMEOUT`), as the add-on's "Connection failed, server not found".
   */
  async login(): Promise<string> {
    this.connect();
    this.state = 'auth';
    const reply = this.waitForCommand(MessageType.Auth, undefined, this.connectionTimeoutMs, 'Auth reply');
    reply.catch(() => undefined); // awaited below; handled here in case a send throws first
    await this.send(
      'command',
      encodeAuthRequest({
        username: this.username,
        adminPassword: this.options.adminPassword,
        serverPassword: this.options.serverPassword,
      }),
    );
    if (this.options.heartbeat !== false) await this.startHeartbeat();
    let text: string;
    try {
      const msg = await reply;
      text = typeof msg.data === 'string' ? msg.data : String(msg.data);
    } catch (err) {
      await this.close('Connection failed, server not found');
      throw err;
    }
    if (text.includes('FAILED')) {
      await this.close(text);
    } else {
      this.state = 'lobby'; // RUNNING too: the client is in LOBBY until it has pulled the snapshot (§4.2)
    }
    return text;
  }

  /** Whether the last login put us in the lobby of a server that waits for an init. */
  static isLobby(reply: string): boolean {
    return reply.includes(AUTH_REPLY_LOBBY);
  }

  /** Sends INIT on the heartbeat socket and arms the "server lost" watchdog. */
  async startHeartbeat(): Promise<void> {
    this.connect();
    await this.send('heartbeat', encodeHeartbeat(HEARTBEAT_INIT));
    this.armWatchdog();
  }

  /** Stops (false) or resumes (true) answering PINGs: a client that went silent, for timeout tests. */
  setAnswerPings(answer: boolean): void {
    this.answerPings = answer;
  }

  get connectionTimeoutMs(): number {
    return this.options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS;
  }

  /** Sends raw frames on a channel (tests: malformed messages). */
  async send(channel: Channel, frames: readonly Uint8Array[]): Promise<void> {
    if (this.sockets === undefined) throw netError('NET_CLOSED', 'client is not connected');
    await this.sockets[channel].send(frames);
  }

  /** Sends several messages on a channel, in order, in one system call (the benchmark writer's bursts). */
  async sendBatch(channel: Channel, messages: readonly (readonly Uint8Array[])[]): Promise<void> {
    if (this.sockets === undefined) throw netError('NET_CLOSED', 'client is not connected');
    await this.sockets[channel].sendBatch(messages);
  }

  /** Initialises an empty session with `nodes` (ServerSnapshot, §4.3); see `initSession`. */
  init(nodes: readonly NodeInput[]): Promise<'ACCEPTED' | 'REJECTED'> {
    return initSession(this, nodes);
  }

  /** Pulls the running session's snapshot (Snapshot, §4.4); see `joinSession`. */
  join(options?: JoinOptions): Promise<JoinResult> {
    return joinSession(this, options);
  }

  /** Pushes a whole node on the data socket and keeps it locally. */
  async pushNode(node: { uuid: string; owner?: string; deps?: Deps; dataBytes: Uint8Array }): Promise<void> {
    const full = {
      uuid: node.uuid,
      owner: node.owner ?? OWNER_COMMON,
      deps: node.deps ?? [],
      dataBytes: node.dataBytes,
    };
    this.store.applyNode({ type: MessageType.Node, ...full });
    await this.send('data', encodeNodePush(full));
  }

  /** Pushes a pre-built delta (`Delta.dumps()` bytes) for a node. */
  async pushCommit(commit: { nodeId: string; deps?: Deps; deltaBytes: Uint8Array }): Promise<void> {
    await this.send(
      'data',
      encodeCommitPush({ nodeId: commit.nodeId, deps: commit.deps ?? [], deltaBytes: commit.deltaBytes }),
    );
  }

  /** Right with ourselves as new owner. The server echoes it to everyone (§4.7). */
  lock(nodeIds: readonly string[]): Promise<void> {
    return this.send('command', encodeRightRequest(this.username, nodeIds, this.username));
  }

  /** Right back to COMMON. */
  unlock(nodeIds: readonly string[]): Promise<void> {
    return this.send('command', encodeRightRequest(this.username, nodeIds, OWNER_COMMON));
  }

  /** Any Right (e.g. handing a node to someone else). */
  setOwner(nodeIds: readonly string[], newOwner: string): Promise<void> {
    return this.send('command', encodeRightRequest(this.username, nodeIds, newOwner));
  }

  /** Delete; the client deletes locally only when the echo arrives, as the library (§4.6). */
  deleteNode(nodeId: string): Promise<void> {
    return this.send('command', encodeDeleteRequest(nodeId));
  }

  updateMetadata(metadata: PyDict | ReadonlyArray<readonly [string, PyValue]>): Promise<void> {
    return this.send('command', encodeMetadataUpdate(this.username, metadata));
  }

  kick(username: string): Promise<void> {
    return this.send('command', encodeKickRequest(this.username, username));
  }

  /** The oldest unconsumed event matching `predicate`, or the next to arrive; rejects at the deadline. */
  waitFor<E extends ClientEvent = ClientEvent>(
    predicate: (e: ClientEvent) => boolean,
    timeoutMs: number = this.stepTimeoutMs,
    what = 'matching event',
  ): Promise<E> {
    return this.mailbox.take<E>(predicate, timeoutMs, `${what} for ${this.username}`);
  }

  /** A command of `type` (and matching `predicate`). */
  async waitForCommand<T extends CommandTypeNumber>(
    type: T,
    predicate?: (m: CommandOf<T>) => boolean,
    timeoutMs: number = this.stepTimeoutMs,
    what?: string,
  ): Promise<CommandOf<T>> {
    const e = await this.waitFor<ClientEvent & { type: 'command' }>(
      (ev) =>
        ev.type === 'command' &&
        ev.message.type === type &&
        (predicate === undefined || predicate(ev.message as CommandOf<T>)),
      timeoutMs,
      what ?? `command type ${type}`,
    );
    return e.message as CommandOf<T>;
  }

  /** A relayed Node or Commit matching `predicate`. */
  async waitForData(
    predicate: (m: Node | Commit) => boolean,
    timeoutMs: number = this.stepTimeoutMs,
  ): Promise<Node | Commit> {
    const e = await this.waitFor<ClientEvent & { type: 'data' }>(
      (ev) => ev.type === 'data' && predicate(ev.message),
      timeoutMs,
      'data message',
    );
    return e.message;
  }

  /** An UpdateClientsState whose user list satisfies `predicate`; resolves with that list. */
  async waitForUsers(
    predicate: (users: UserView[]) => boolean,
    timeoutMs: number = this.stepTimeoutMs,
  ): Promise<UserView[]> {
    const msg = await this.waitForCommand(
      MessageType.UpdateClientsState,
      (m) => predicate(usersFromState(m.data)),
      timeoutMs,
      'user list',
    );
    return usersFromState(msg.data);
  }

  /** Resolves with the reason once the client has closed (for any reason). */
  async waitForClosed(timeoutMs: number = this.stepTimeoutMs): Promise<string> {
    const e = await this.waitFor<ClientEvent & { type: 'closed' }>((ev) => ev.type === 'closed', timeoutMs, 'close');
    return e.reason;
  }

  /**
   * Closes the three sockets, as the add-on's Disconnect does (it tells the server nothing; the
   * server notices through the heartbeat, §4.8). Idempotent; resolves when the loops have ended.
   */
  async close(reason = 'closed by the user'): Promise<void> {
    if (this.state !== 'closed') {
      this.state = 'closed';
      this.closeReason = reason;
      if (this.watchdog !== undefined) clearTimeout(this.watchdog);
      if (this.sockets !== undefined) for (const s of Object.values(this.sockets)) s.close();
      this.mailbox.push({ type: 'closed', reason });
      this.mailbox.close(reason);
    }
    await Promise.all(this.loops);
  }

  private armWatchdog(): void {
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    if (this.state === 'closed') return;
    this.watchdog = setTimeout(() => void this.close('Server lost'), this.connectionTimeoutMs + HEARTBEAT_GRACE_MS);
    this.watchdog.unref();
  }

  private async receiveLoop(channel: Channel): Promise<void> {
    const socket = (this.sockets as Record<Channel, DealerConnection>)[channel];
    try {
      for await (const batch of socket.batches()) {
        for (const frames of batch) {
          if (this.state === 'closed') return;
          try {
            this.onMessage(channel, frames);
          } catch (err) {
            if (!(err instanceof ProtocolError)) throw err;
            this.mailbox.push({ type: 'malformed', channel, error: err });
          }
        }
      }
    } catch (err) {
      if (this.state !== 'closed') await this.close(`${channel} socket failed: ${String(err)}`);
    }
  }

  private onMessage(channel: Channel, frames: Buffer[]): void {
    if (channel === 'heartbeat') {
      this.armWatchdog();
      if (decodeHeartbeat(frames) !== 'PING') return;
      this.mailbox.push({ type: 'ping' });
      if (this.answerPings) void this.send('heartbeat', encodeHeartbeat('PONG')).catch(() => undefined);
      return;
    }
    if (channel === 'data' && this.dataTap?.(frames) === true) return;
    const message = decodeMessage(frames);
    if (channel === 'data') {
      if (message.type !== MessageType.Node && message.type !== MessageType.Commit) return;
      // The library queues updates while syncing and drops them in the lobby (§4.4).
      if (this.state === 'syncing') this.lateUpdates.push(message);
      else if (this.state === 'active') this.store.applyData(message);
      this.mailbox.push({ type: 'data', message });
      return;
    }
    if (message.type === MessageType.Node || message.type === MessageType.Commit) return;
    this.applyCommand(message);
    this.mailbox.push({ type: 'command', message });
    if (message.type === MessageType.Disconnect) {
      const reason = message.data instanceof PyDict ? message.data.get(DISCONNECT_KEY_REASON) : undefined;
      void this.close(typeof reason === 'string' ? reason : 'disconnected by the server');
    }
  }

  private applyCommand(message: AnyCommand): void {
    switch (message.type) {
      case MessageType.UpdateClientsState:
        this.users = usersFromState(message.data);
        break;
      case MessageType.Right:
        this.store.applyRight(message.data);
        break;
      case MessageType.Delete:
        this.store.applyDelete(message.data);
        break;
      case MessageType.UpdateUserMetadata: {
        const user = this.users.find((u) => u.name === message.owner);
        if (user !== undefined && message.data instanceof PyDict) {
          for (const [k, v] of message.data.entries()) user.metadata.set(k, v);
        }
        break;
      }
    }
  }
}
