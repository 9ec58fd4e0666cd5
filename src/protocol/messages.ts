/**
 * Replication objects as typed values: a discriminated union on `type`, one member per Python
 * class (REPLICATION-PROTOCOL.md §2.2, §2.3). Frame layouts:
 *
 * | type        | frames                                                             |
 * |-------------|--------------------------------------------------------------------|
 * | Commit (1)  | type · utf-8 node id · pickled deps · pickled deepdiff delta       |
 * | Node (2)    | type · utf-8 uuid · utf-8 owner · pickled deps · pickled node data |
 * | commands    | type · utf-8 owner · pickled `data`                                |
 *
 * Node data and Commit deltas stay the raw pickled bytes they arrived as (DESIGN §3 "Node data"):
 * they are decoded only when a delta must be applied. Everything else is decoded eagerly.
 */
import type { PyValue } from '../pickle/index.js';
import type { CommandTypeNumber, MessageType } from './message-types.js';

/** What every decoded message carries besides its fields. */
export interface Framed {
  /**
   * The frames this message was decoded from (extra trailing frames dropped), so it can be
   * relayed verbatim without re-encoding (DESIGN §3 "Relaying"). Absent on messages built locally.
   * These are views of the received buffers: never write into them.
   */
  readonly raw?: readonly Uint8Array[];
}

/** A node's dependency list: node ids, or `None` (possible in principle for a Commit, §2.2). */
export type Deps = string[] | null;

/** Commit (1): a deepdiff delta against the node's current data, on the data socket (§4.5). */
export interface Commit extends Framed {
  readonly type: typeof MessageType.Commit;
  readonly nodeId: string;
  /** The node's whole new dependency list (replaces the stored one). */
  readonly deps: Deps;
  /** `Delta.dumps()` bytes (a pickle with allow-listed globals, §5.2); decoded by `delta/` when applied. */
  readonly deltaBytes: Uint8Array;
}

/** Node (2): a whole node, on the data socket or nested in a Snapshot / ServerSnapshot SET (§2.3). */
export interface Node extends Framed {
  readonly type: typeof MessageType.Node;
  readonly uuid: string;
  /** `'COMMON'` or a username. Ignored when the node already exists (§4.5). */
  readonly owner: string;
  readonly deps: Deps;
  /** The pickled node data dict, kept raw: it is the source of truth for snapshots and files. */
  readonly dataBytes: Uint8Array;
}

/** Any Command subclass (3–14): an owner label and a pickled plain value (§2.3). */
export interface CommandOf<T extends CommandTypeNumber> extends Framed {
  readonly type: T;
  /** Only a label: the reference never checks it against the sender (§2.2). */
  readonly owner: string;
  /** The unpickled `data`: a plain value (no globals, persistent ids or built objects). */
  readonly data: PyValue;
}

/** Base class; never sent by the library, decoded and ignored by the reference (cap: 06). */
export type Command = CommandOf<typeof MessageType.Command>;
/** data: the node id (str). Echoed to everyone including the sender (§4.6). */
export type Delete = CommandOf<typeof MessageType.Delete>;
/** data: `{'uuid': [ids], 'owner': str}` (§4.7). */
export type Right = CommandOf<typeof MessageType.Right>;
/** Unused by client and server; decoded and ignored (cap: 06). */
export type Config = CommandOf<typeof MessageType.Config>;
/** data: `{'STATE': ..., ...}` (§4.4). */
export type Snapshot = CommandOf<typeof MessageType.Snapshot>;
/** data: `{'STATE': ..., ...}` (§4.3). */
export type ServerSnapshot = CommandOf<typeof MessageType.ServerSnapshot>;
/** c2s: the request dict; s2c: the reply str (§4.2). */
export type Auth = CommandOf<typeof MessageType.Auth>;
/** s2c only: `{'reason': 'kicked by admin'}` (§4.8). */
export type Disconnect = CommandOf<typeof MessageType.Disconnect>;
/** c2s: `{'user': username}` (§4.8). */
export type Kick = CommandOf<typeof MessageType.Kick>;
/** s2c: `{username: user record}` (§4.10). */
export type UpdateClientsState = CommandOf<typeof MessageType.UpdateClientsState>;
/** c2s, relayed s2c: a dict of metadata keys to merge (§4.9). */
export type UpdateUserMetadata = CommandOf<typeof MessageType.UpdateUserMetadata>;
/** c2s: `'RQ_INFO'`; s2c: `{'private': bool, 'version': '0.9.10'}` (§4.1). */
export type RequestServerInfo = CommandOf<typeof MessageType.RequestServerInfo>;

/** Any of the twelve Command subclasses. */
export type AnyCommand =
  | Command
  | Delete
  | Right
  | Config
  | Snapshot
  | ServerSnapshot
  | Auth
  | Disconnect
  | Kick
  | UpdateClientsState
  | UpdateUserMetadata
  | RequestServerInfo;

/** Any replication object. */
export type ReplicationMessage = Commit | Node | AnyCommand;
