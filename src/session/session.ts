/**
 * The server's logic as a pure state machine (STYLE.md §2): `handle(event)` → effects. No socket,
 * file, timer or clock: `net/` passes the time in with every event and carries out the effects in
 * order. Handlers live in one file per concern; this file routes events to them and guarantees
 * that nothing thrown while handling one event escapes (§9 item 8: one malformed message stopped
 * the reference's command thread for good).
 *
 * Who is heard (a deviation, so that a peer must log in before it can change anything; the
 * reference accepts everything from anyone, capture 09):
 * identities that have not logged in are dropped on all three sockets, except RequestServerInfo
 * and Auth on the command socket (bounded by `maxPreAuthMessageBytes`, checked before decoding)
 * and heartbeat INIT (see heartbeat.ts for how long that is remembered).
 */
import {
  decodeMessage,
  decodeTypeFrame,
  type ProtocolLimits,
  MessageType,
  messageTypeName,
  type MessageTypeNumber,
  type ReplicationMessage,
} from '../protocol/index.js';
import type { PyDict } from '../pickle/index.js';
import { Archive } from './archive.js';
import { handleAuth, handleServerInfo, secretDigest } from './auth.js';
import { ClientRegistry, statusName } from './clients.js';
import { Effects, reject, type ServerPhase, type SessionContext } from './context.js';
import { settleNode } from './commit-apply.js';
import { handleCommit, handleNode } from './data.js';
import { DecodedNodes } from './decoded-nodes.js';
import type { Channel, ClientId, Effect, SessionEvent } from './events.js';
import { handleHeartbeat, tickHeartbeat } from './heartbeat.js';
import { HeartbeatTable } from './heartbeat-table.js';
import { checkImage, checkLoadedMutation, exportImage, finishRecovery, importImage } from './image.js';
import { handleServerSnapshot } from './init.js';
import { disconnectEveryone, handleAdminKick, handleKick, removeClient } from './leave.js';
import { protocolLimitsOf, resolveSessionLimits, type SessionLimits } from './limits.js';
import { handleMetadata } from './metadata.js';
import { applyMutation, type Mutation } from './mutation.js';
import { NodeStore } from './node-store.js';
import { lockedNodesOf, summarizeNodes, type LockedNode, type NodeSummary } from './node-summary.js';
import { handleDelete, handleRight } from './rights.js';
import type { SessionImage } from './session-image.js';
import { handleSnapshot } from './snapshot.js';
import { UserBook } from './users.js';

export interface SessionOptions {
  /** `-apwd` / `ADMIN_PASSWORD`. Empty disables admin logins. */
  adminPassword: string;
  /** `-spwd` / `SERVER_PASSWORD`. Empty (the default) = public: `''`, `None` and `'None'` are accepted. */
  serverPassword?: string;
  /**
   * `-t` / `TIMEOUT`: a client whose heartbeat latency exceeds this is dropped (§4.13). Default
   * 10,000 ms like our CLI (the reference's own default is 2,000 ms, `CONNECTION_TIMEOUT_MS`).
   */
  timeoutMs?: number;
  /** A logged-in client that sent no heartbeat INIT this long after its login is dropped. Default 30 s. */
  heartbeatGraceMs?: number;
  /** How long an INIT from an identity that has not logged in is remembered. Default 10 s. */
  preAuthHeartbeatMs?: number;
  /** Overrides of `DEFAULT_SESSION_LIMITS`. */
  limits?: Partial<SessionLimits>;
}

/** One line of the shell's `users` command. */
export interface UserSummary {
  readonly name: string;
  readonly admin: boolean;
  readonly latencyMs: number;
  readonly status: 'active' | 'lobby';
  readonly clientId: ClientId;
}

/** Default `timeoutMs`: the CLI's `TIMEOUT` default, the reference server's `-t` default. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Default `heartbeatGraceMs`. */
export const DEFAULT_HEARTBEAT_GRACE_MS = 30_000;
/** Default `preAuthHeartbeatMs`. */
export const DEFAULT_PRE_AUTH_HEARTBEAT_MS = 10_000;

/** Commands an identity that has not logged in may send. */
const PRE_AUTH_TYPES: ReadonlySet<number> = new Set([MessageType.Auth, MessageType.RequestServerInfo]);

export class Session {
  private readonly ctx: SessionContext;
  /** Mutations were replayed since the last `finishRecovery` (it then runs before the next event). */
  private recovering = false;

  constructor(options: SessionOptions) {
    const limits = resolveSessionLimits(options.limits);
    const serverPassword = options.serverPassword ?? '';
    this.ctx = {
      options: {
        adminPassword: options.adminPassword,
        serverPassword,
        adminPasswordDigest: secretDigest(options.adminPassword),
        serverPasswordDigest: secretDigest(serverPassword),
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        heartbeatGraceMs: options.heartbeatGraceMs ?? DEFAULT_HEARTBEAT_GRACE_MS,
        preAuthHeartbeatMs: options.preAuthHeartbeatMs ?? DEFAULT_PRE_AUTH_HEARTBEAT_MS,
      },
      limits,
      payloadLimits: protocolLimitsOf(limits, limits.maxPayloadFrameBytes),
      commandLimits: protocolLimitsOf(limits, limits.maxCommandFrameBytes),
      metadataLimits: protocolLimitsOf(limits, Math.min(limits.maxMetadataUpdateBytes, limits.maxCommandFrameBytes)),
      store: new NodeStore(),
      clients: new ClientRegistry(),
      users: new UserBook(),
      archive: new Archive(limits),
      heartbeat: new HeartbeatTable(),
      changeCounter: 0,
      rejects: new Map(),
      phase: 'WAITING',
      init: null,
      pendingEnd: null,
      pendingJoins: [],
      out: new Effects(),
      decodedNodes: null,
    };
  }

  /**
   * Handles one event and returns what to do, in order. Never throws: a malformed message is
   * logged (with a rate-limit key) and ignored or answered; an internal error is logged at
   * `error` and the effects produced before it are still returned, since the state they reflect
   * has already changed.
   */
  handle(event: SessionEvent): Effect[] {
    const out = new Effects();
    this.ctx.out = out;
    try {
      if (this.recovering) this.completeRecovery();
      switch (event.type) {
        case 'message':
          out.actor = this.ctx.clients.get(event.from)?.id;
          handleMessage(this.ctx, event.channel, event.from, event.frames, event.now);
          break;
        case 'tick':
          tickHeartbeat(this.ctx, event.now);
          break;
        case 'dropped':
          removeClient(this.ctx, event.client, event.reason);
          break;
        case 'admin-kick':
          handleAdminKick(this.ctx, event.username);
          break;
        case 'admin-disconnect-all':
          disconnectEveryone(this.ctx, event.reason);
          break;
        default:
          out.log('warn', `Unknown session event ${JSON.stringify((event as { type?: unknown }).type)} ignored`);
      }
    } catch (err) {
      const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
      out.log('error', `Internal error while handling a ${String(event.type)} event: ${detail}`, 'internal');
    }
    return out.list;
  }

  /** The logged-in users, in login order (shell `users`). */
  listUsers(): UserSummary[] {
    const users: UserSummary[] = [];
    for (const r of this.ctx.clients.records()) {
      users.push({
        name: r.id,
        admin: r.admin,
        latencyMs: r.latencyMs,
        status: statusName(r.status),
        clientId: r.clientId,
      });
    }
    return users;
  }

  /** Rejected operations by kind (`auth`, `commit`, `malformed`, …) since the start. */
  rejectCounts(): ReadonlyMap<string, number> {
    return this.ctx.rejects;
  }

  /**
   * Node count and pickled bytes by node type, and counts by owner, for the admin console. The
   * type is read from the dependency-free bytes only when cheap (see `typeOfNode`); walks every node.
   */
  nodeSummary(): NodeSummary {
    this.settle();
    return summarizeNodes(this.ctx.store);
  }

  /** Pickled bytes of every node's data (the session's size; walks the nodes without decoding). */
  get sessionBytes(): number {
    this.settle();
    let n = 0;
    for (const node of this.ctx.store.values()) n += node.dataBytes.byteLength;
    return n;
  }

  /** The chat log (oldest first) and the task board, as kept across logins. Read only. */
  archiveView(): { chat: readonly PyDict[]; tasks: PyDict } {
    return { chat: this.ctx.archive.chatMessages(), tasks: this.ctx.archive.tasks };
  }

  /** Nodes `username` locks, with what the console can show of each. */
  lockedNodes(username: string): LockedNode[] {
    this.settle();
    return lockedNodesOf(this.ctx.store, username);
  }

  /** Whether this identity is logged in (`net/` bounds what a connection may send until it is). */
  isLoggedIn(client: ClientId): boolean {
    return this.ctx.clients.get(client) !== undefined;
  }

  /** WAITING, SRV_SYNC or ACTIVE (§3.2). */
  get phase(): ServerPhase {
    return this.ctx.phase;
  }

  /** Nodes in the store. */
  get nodeCount(): number {
    return this.ctx.store.size;
  }

  /** User records (logged-in users and restored records): the image's `'users'` count. */
  get userRecordCount(): number {
    return this.ctx.users.size;
  }

  /**
   * Accepted mutations applied so far, live or replayed (0 right after `importImage`). `store/`
   * remembers the value at each save and skips an auto-save while it is unchanged.
   */
  get changeCounter(): number {
    return this.ctx.changeCounter;
  }

  /**
   * Replays one journal record (recovery): the same state change the live handler made when it
   * accepted it, without validating it again and without a `persist` effect. Returns log effects
   * only; a record that cannot be applied (a Commit whose node is missing) is logged at `error`
   * and skipped. Nodes changed by Commits stay decoded until the replay is settled (decoded-nodes.ts):
   * call `finishRecovery` after the last record (or the next `handle` does it), or `settleReplay`.
   */
  applyMutation(mutation: Mutation): Effect[] {
    return this.run(() => {
      this.recovering = true;
      this.ctx.decodedNodes ??= new DecodedNodes((kept) => settleNode(this.ctx, kept));
      const problem = applyMutation(this.ctx, mutation);
      if (problem !== undefined) this.ctx.out.log('error', `Journal record not applied: ${problem}`);
    });
  }

  /**
   * Ends a recovery: locks of users who are not connected go back to COMMON and a session with
   * nodes becomes ACTIVE, as accepted mutations (their `persist` effects are in the result).
   */
  finishRecovery(): Effect[] {
    return this.run(() => this.completeRecovery());
  }

  /** The state a snapshot must hold (session-image.ts), in store order. Pure; safe to encode later. */
  exportImage(): SessionImage {
    this.settle();
    return exportImage(this.ctx);
  }

  /**
   * Loads an image into this fresh session (see image.ts): nodes (locks COMMON), user records,
   * chat and tasks; ACTIVE when it has nodes. Returns log effects for what was skipped. Throws
   * `SessionError` `SESSION_NOT_EMPTY` when the session already has clients, nodes or users.
   */
  importImage(image: SessionImage): Effect[] {
    return this.run(() => importImage(this.ctx, image));
  }

  /**
   * Why `image` must not be loaded (node data, dependency lists and metadata checked as network
   * input, image.ts `checkImage`), or null. Every load path calls it, with the limits it serves with.
   */
  static checkImage(image: SessionImage, options: SessionOptions): string | null {
    return checkImage(new Session(options).ctx, image);
  }

  /**
   * Why a decoded journal record must not be replayed onto this session (image.ts
   * `checkLoadedMutation`), or null. Call it before `applyMutation` for every replayed record.
   */
  checkMutation(mutation: Mutation): string | null {
    return checkLoadedMutation(this.ctx, mutation);
  }

  /** A session restored from an image (startup): `new Session(options)` + `importImage`. */
  static fromImage(image: SessionImage, options: SessionOptions): { session: Session; effects: Effect[] } {
    const session = new Session(options);
    const effects = session.importImage(image);
    return { session, effects };
  }

  /**
   * Encodes the nodes a replay keeps decoded into the store (decoded-nodes.ts). Returns log
   * effects for replayed Commits that turn out not to apply. `finishRecovery` does it; call it
   * before `exportImage` after a replay that does not end with `finishRecovery`.
   */
  settleReplay(): Effect[] {
    return this.run(() => this.settle());
  }

  private settle(): void {
    this.ctx.decodedNodes?.settleAll();
  }

  private completeRecovery(): void {
    this.recovering = false;
    this.settle();
    this.ctx.decodedNodes = null;
    finishRecovery(this.ctx);
  }

  /** Runs `fn` with a fresh effect collector; its SessionErrors propagate, nothing else is caught. */
  private run(fn: () => void): Effect[] {
    const out = new Effects();
    this.ctx.out = out;
    fn();
    return out.list;
  }
}

function totalBytes(frames: readonly Uint8Array[]): number {
  let n = 0;
  for (const f of frames) n += f.length;
  return n;
}

function handleMessage(
  ctx: SessionContext,
  channel: Channel,
  from: ClientId,
  frames: readonly Uint8Array[],
  now: number,
): void {
  if (channel === 'heartbeat') {
    handleHeartbeat(ctx, from, frames, now);
    return;
  }
  const loggedIn = ctx.clients.get(from) !== undefined;
  if (!loggedIn && channel === 'data') {
    reject(ctx, 'unauthenticated', from, `Data message from identity ${from} dropped: not logged in`);
    return;
  }
  if (!loggedIn && totalBytes(frames) > ctx.limits.maxPreAuthMessageBytes) {
    reject(
      ctx,
      'unauthenticated',
      from,
      `Message of ${totalBytes(frames)} bytes from identity ${from} dropped: not logged in`,
    );
    return;
  }
  if (frames.length === 0) {
    reject(ctx, 'malformed', from, `Empty message from identity ${from} ignored`);
    return;
  }
  let type: MessageTypeNumber;
  let msg: ReplicationMessage;
  try {
    type = decodeTypeFrame(frames[0], ctx.commandLimits);
    if (!loggedIn && !PRE_AUTH_TYPES.has(type)) {
      reject(ctx, 'unauthenticated', from, `${messageTypeName(type)} from identity ${from} dropped: not logged in`);
      return;
    }
    msg = decodeMessage(frames, limitsFor(ctx, channel, type));
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    reject(
      ctx,
      'malformed',
      from,
      `Malformed ${channel} message from identity ${from} ignored: ${String(code)} ${(err as Error).message}`,
    );
    return;
  }
  if (channel === 'data') dispatchData(ctx, from, msg);
  else dispatchCommand(ctx, from, msg, now);
}

/** The codec bounds for a message: the data frame bound depends on what the type may carry. */
function limitsFor(ctx: SessionContext, channel: Channel, type: MessageTypeNumber): ProtocolLimits {
  if (channel === 'data' || type === MessageType.ServerSnapshot) return ctx.payloadLimits;
  if (type === MessageType.UpdateUserMetadata) return ctx.metadataLimits;
  return ctx.commandLimits;
}

function dispatchData(ctx: SessionContext, from: ClientId, msg: ReplicationMessage): void {
  if (msg.type === MessageType.Node) handleNode(ctx, from, msg);
  else if (msg.type === MessageType.Commit) handleCommit(ctx, from, msg);
  else reject(ctx, 'malformed', from, `${messageTypeName(msg.type)} on the data socket from identity ${from} ignored`);
}

function dispatchCommand(ctx: SessionContext, from: ClientId, msg: ReplicationMessage, now: number): void {
  switch (msg.type) {
    case MessageType.RequestServerInfo:
      return handleServerInfo(ctx, from);
    case MessageType.Auth:
      return handleAuth(ctx, from, msg, now);
    case MessageType.ServerSnapshot:
      return handleServerSnapshot(ctx, from, msg);
    case MessageType.Snapshot:
      return handleSnapshot(ctx, from, msg);
    case MessageType.Delete:
      return handleDelete(ctx, from, msg);
    case MessageType.Right:
      return handleRight(ctx, from, msg);
    case MessageType.UpdateUserMetadata:
      return handleMetadata(ctx, from, msg);
    case MessageType.Kick:
      return handleKick(ctx, from, msg);
    default:
      // Command (3) and Config (6) are decoded and ignored by the reference too (cap: 06); the
      // others only travel from the server to clients.
      reject(ctx, 'ignored', from, `${messageTypeName(msg.type)} from identity ${from} ignored`, 'debug');
  }
}
