/**
 * The state every handler works on, and the effect collector it writes to. Handlers are plain
 * functions of (context, message, now): they mutate the context and append effects, in the order
 * `net/` must carry them out (STYLE.md §2).
 */
import { type ProtocolLimits, canonicalTypeOf, typeFrame, type ReplicationMessage } from '../protocol/index.js';
import type { Archive } from './archive.js';
import type { DecodedNodes } from './decoded-nodes.js';
import type { ClientRegistry } from './clients.js';
import type { Channel, ClientId, Effect, LogLevel } from './events.js';
import type { HeartbeatTable } from './heartbeat-table.js';
import type { SessionLimits } from './limits.js';
import type { Mutation } from './mutation.js';
import type { NodeStore } from './node-store.js';
import type { UserBook, UserEntry } from './users.js';

/** The server's life cycle (§3.2). There is a way back from SRV_SYNC to WAITING here (§9 item 12). */
export type ServerPhase = 'WAITING' | 'SRV_SYNC' | 'ACTIVE';

/** An initialisation in progress (ServerSnapshot INIT accepted, §4.3). */
export interface InitProgress {
  readonly initiator: ClientId;
  readonly username: string;
  /** Listed ids not received yet; the init completes when it is empty. */
  readonly remaining: Set<string>;
  readonly expected: number;
  /** Ids stored by this init, discarded if it is aborted. */
  readonly stored: Set<string>;
}

/**
 * A login not journaled yet (mutation.ts `deferJoin`): its user record lives only in its
 * `ClientRecord` until the next journaled change of anyone puts both in the journal and the book.
 */
export interface PendingJoin {
  readonly name: string;
  readonly admin: boolean;
  readonly entry: UserEntry;
}

/** Options after defaults were applied. */
export interface ResolvedSessionOptions {
  readonly adminPassword: string;
  readonly serverPassword: string;
  /** SHA-256 of the passwords, compared in constant time (auth.ts). */
  readonly adminPasswordDigest: Buffer;
  readonly serverPasswordDigest: Buffer;
  readonly timeoutMs: number;
  readonly heartbeatGraceMs: number;
  readonly preAuthHeartbeatMs: number;
}

export interface SessionContext {
  readonly options: ResolvedSessionOptions;
  readonly limits: SessionLimits;
  /** Codec limits for node payloads (data socket, ServerSnapshot) and for the other commands. */
  readonly payloadLimits: ProtocolLimits;
  readonly commandLimits: ProtocolLimits;
  /** Codec limits for UpdateUserMetadata: its data frame is bounded by `maxMetadataUpdateBytes`. */
  readonly metadataLimits: ProtocolLimits;
  readonly store: NodeStore;
  readonly clients: ClientRegistry;
  /** User records by name (snapshot `'users'`): the logged-in users, plus restored records. */
  readonly users: UserBook;
  /** The chat log and task board (archive.ts). */
  readonly archive: Archive;
  readonly heartbeat: HeartbeatTable;
  /** Accepted mutations applied so far (live or replayed): `store/` skips an auto-save when unchanged. */
  changeCounter: number;
  /** Rejected operations by kind since the start (metrics; a handful of fixed kinds). */
  readonly rejects: Map<string, number>;
  phase: ServerPhase;
  init: InitProgress | null;
  /** The client whose ServerSnapshot END is still expected (the last initialiser), §4.3 step 6. */
  pendingEnd: ClientId | null;
  /** Logins not journaled yet, in login order (mutation.ts `deferJoin`). */
  readonly pendingJoins: PendingJoin[];
  /** The effects of the event being handled (a fresh collector per event). */
  out: Effects;
  /** Node data kept decoded between replayed Commits (decoded-nodes.ts); null outside a replay. */
  decodedNodes: DecodedNodes | null;
}

const CONTROL_CHARS = /\p{Cc}/gu;

function escapeControl(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\t') return '\\t';
  return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/** Collects the effects of one event. */
export class Effects {
  readonly list: Effect[] = [];
  /** The logged-in user whose message is being handled: journaled with each change for history. */
  actor: string | undefined;

  /** Sends the same frames to every listed client; nothing when the list is empty. */
  send(channel: Channel, to: readonly ClientId[], frames: readonly Uint8Array[]): void {
    if (to.length > 0) this.list.push({ type: 'send', channel, to, frames });
  }

  /**
   * A log line; `key` groups per-client warnings for rate limiting in `net/`. Control characters
   * are escaped: messages quote client-chosen text (node ids, names), which must not be able to
   * forge log lines.
   */
  log(level: LogLevel, message: string, key?: string): void {
    const text = message.replace(CONTROL_CHARS, escapeControl);
    this.list.push(
      key === undefined ? { type: 'log', level, message: text } : { type: 'log', level, message: text, key },
    );
  }

  forget(client: ClientId): void {
    this.list.push({ type: 'forget', client });
  }

  /** Journal an accepted change (mutation.ts `acceptMutation` is the only caller). */
  persist(mutation: Mutation, attributed = true): void {
    this.list.push(
      !attributed || this.actor === undefined
        ? { type: 'persist', mutation }
        : { type: 'persist', mutation, by: this.actor },
    );
  }

  save(reason: string): void {
    this.list.push({ type: 'save', reason });
  }
}

/**
 * A rejected operation: a log line whose rate-limit key names the kind and the client, so one
 * misbehaving client cannot flood the log (STYLE.md §10). Identities that are not logged in share
 * one key per kind: they cost nothing to make, so per-identity keys would not limit anything.
 */
export function reject(
  ctx: SessionContext,
  kind: string,
  from: ClientId,
  message: string,
  level: LogLevel = 'warn',
): void {
  const who = ctx.clients.get(from) !== undefined ? from : 'stranger';
  ctx.rejects.set(kind, (ctx.rejects.get(kind) ?? 0) + 1);
  ctx.out.log(level, message, `${kind}:${who}`);
}

/**
 * The frames to relay for a received message: the frames as received (validated, extra frames
 * already dropped by the codec), except that a non-canonical frame 0 (any other pickle of the
 * type number, §2.1) is replaced by the canonical 5 bytes, so clients never unpickle a frame 0
 * we did not write ourselves.
 */
export function relayFrames(msg: ReplicationMessage): readonly Uint8Array[] {
  const raw = msg.raw as readonly Uint8Array[];
  return canonicalTypeOf(raw[0]) === msg.type ? raw : [typeFrame(msg.type), ...raw.slice(1)];
}
