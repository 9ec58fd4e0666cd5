/**
 * Typed builders for what the server sends on the command socket. Each returns the frames of one
 * message with exactly the Python types the reference sends (str vs bytes, list vs tuple, int vs
 * float, bool), checked against the captured server replies in test/protocol/replies.test.ts.
 * Owner frame: `'server'` for everything the server originates (§2.2).
 */
import { PyDict, pyInt, type PyValue } from '../pickle/index.js';
import type { SERVER_SNAPSHOT_ACCEPTED, SERVER_SNAPSHOT_DONE, SERVER_SNAPSHOT_REJECTED } from './constants.js';
import {
  DISCONNECT_KEY_REASON,
  DISCONNECT_REASON_KICKED,
  OWNER_COMMON,
  OWNER_SERVER,
  REPLICATION_VERSION,
  RIGHT_KEY_OWNER,
  RIGHT_KEY_UUID,
  SERVER_INFO_KEY_PRIVATE,
  SERVER_INFO_KEY_VERSION,
  SNAPSHOT_INIT,
  SNAPSHOT_KEY_CATALOG,
  SNAPSHOT_KEY_DATA,
  SNAPSHOT_KEY_STATE,
  SNAPSHOT_SET,
  USER_KEY_ADMIN,
  USER_KEY_ID,
  USER_KEY_LATENCY,
  USER_KEY_METADATA,
  USER_KEY_STATUS,
} from './constants.js';
import { protocolError } from './errors.js';
import { encodeCommand } from './frame-encoder.js';
import { MessageType } from './message-types.js';
import type { Node } from './messages.js';
import { NODE_REMOVED_MARKER, nodeToChunks } from './node-chunks.js';

/** A dict with str keys, in the given order (dict order is part of the wire format, §2.4). */
export function strDict(entries: ReadonlyArray<readonly [string, PyValue]>): PyDict {
  const d = new PyDict();
  for (const [k, v] of entries) d.setStr(k, v);
  return d;
}

/** An int in the pickle, never a float: Python compares types, not just values (§2.4). */
function intOf(n: number, what: string): bigint {
  if (!Number.isFinite(n)) throw protocolError('PROTOCOL_SHAPE', `${what} is not a finite number`);
  return pyInt(Math.round(n));
}

/**
 * The Auth reply: a pickled **str** (`LOBBY`, `RUNNING`, `FAILED: …`, see constants.ts), §4.2.
 */
export function encodeAuthReply(reply: string): Buffer[] {
  return encodeCommand(MessageType.Auth, OWNER_SERVER, reply);
}

/** One entry of UpdateClientsState (§3.3, §4.10). */
export interface UserRecord {
  /** The username (`AUTH_ID`); also the entry's key. */
  readonly id: string;
  readonly admin: boolean;
  /** Pickled as an int (ms); 999 until the first heartbeat tick measured it. */
  readonly latencyMs: number;
  /** `STATE_LOBBY` (10) until the client finished synchronising, then `STATE_ACTIVE` (2). */
  readonly status: number;
  /** Everything the client merged with UpdateUserMetadata, Python types kept (a tuple colour, a set selection). */
  readonly metadata: PyDict;
}

/** The user record dict `{'id', 'admin', 'latency', 'status', 'metadata'}`, in the reference's key order. */
export function userRecordValue(user: UserRecord): PyDict {
  return strDict([
    [USER_KEY_ID, user.id],
    [USER_KEY_ADMIN, user.admin],
    [USER_KEY_LATENCY, intOf(user.latencyMs, 'latency')],
    [USER_KEY_STATUS, intOf(user.status, 'status')],
    [USER_KEY_METADATA, user.metadata],
  ]);
}

/** UpdateClientsState: `{username: record}` in the given order (§4.10). */
export function encodeUpdateClientsState(users: Iterable<UserRecord>): Buffer[] {
  const d = new PyDict();
  for (const user of users) d.setStr(user.id, userRecordValue(user));
  return encodeCommand(MessageType.UpdateClientsState, OWNER_SERVER, d);
}

/** RequestServerInfo reply `{'private': bool, 'version': '0.9.10'}` (§4.1). */
export function encodeServerInfoReply(isPrivate: boolean): Buffer[] {
  return encodeCommand(
    MessageType.RequestServerInfo,
    OWNER_SERVER,
    strDict([
      [SERVER_INFO_KEY_PRIVATE, isPrivate],
      [SERVER_INFO_KEY_VERSION, REPLICATION_VERSION],
    ]),
  );
}

/**
 * Snapshot INIT `{'STATE': 'INIT', 'CATALOG': [ids]}` (§4.4), the catalog in store order.
 * Throws `ProtocolError` `PROTOCOL_SHAPE` for an empty catalog: the reference client pops it
 * unconditionally and crashes (crash: empty_catalog), so the caller must never send one.
 */
export function encodeSnapshotInit(catalog: readonly string[]): Buffer[] {
  if (catalog.length === 0) throw protocolError('PROTOCOL_SHAPE', 'an empty CATALOG crashes the client');
  return encodeCommand(
    MessageType.Snapshot,
    OWNER_SERVER,
    strDict([
      [SNAPSHOT_KEY_STATE, SNAPSHOT_INIT],
      [SNAPSHOT_KEY_CATALOG, [...catalog]],
    ]),
  );
}

/** Snapshot SET `{'STATE': 'SET', 'DATA': [5 node chunks as bytes]}` for the node asked for (§4.4). */
export function encodeSnapshotSet(node: Node): Buffer[] {
  return encodeCommand(
    MessageType.Snapshot,
    OWNER_SERVER,
    strDict([
      [SNAPSHOT_KEY_STATE, SNAPSHOT_SET],
      [SNAPSHOT_KEY_DATA, nodeToChunks(node)],
    ]),
  );
}

/** Snapshot SET `{'STATE': 'SET', 'DATA': b'removed'}` for an id the server does not have (§4.4). */
export function encodeSnapshotRemoved(): Buffer[] {
  return encodeCommand(
    MessageType.Snapshot,
    OWNER_SERVER,
    strDict([
      [SNAPSHOT_KEY_STATE, SNAPSHOT_SET],
      [SNAPSHOT_KEY_DATA, NODE_REMOVED_MARKER],
    ]),
  );
}

/** The STATE values the server answers a ServerSnapshot with (§4.3). */
export type ServerSnapshotReplyState =
  typeof SERVER_SNAPSHOT_ACCEPTED | typeof SERVER_SNAPSHOT_REJECTED | typeof SERVER_SNAPSHOT_DONE;

/** ServerSnapshot `{'STATE': 'ACCEPTED' | 'REJECTED' | 'DONE'}` (§4.3). */
export function encodeServerSnapshotReply(state: ServerSnapshotReplyState): Buffer[] {
  return encodeCommand(MessageType.ServerSnapshot, OWNER_SERVER, strDict([[SNAPSHOT_KEY_STATE, state]]));
}

/**
 * Right `{'uuid': [ids], 'owner': newOwner}` (§4.7). `ownerFrame` is the label: the sender's own
 * for an echo, `'server'` for the server's unlocks.
 */
export function encodeRight(ownerFrame: string, nodeIds: readonly string[], newOwner: string): Buffer[] {
  return encodeCommand(
    MessageType.Right,
    ownerFrame,
    strDict([
      [RIGHT_KEY_UUID, [...nodeIds]],
      [RIGHT_KEY_OWNER, newOwner],
    ]),
  );
}

/** The server's Right that frees a departed user's locks: owner frame `'server'`, new owner `'COMMON'` (§4.12). */
export function encodeUnlockRight(nodeIds: readonly string[]): Buffer[] {
  return encodeRight(OWNER_SERVER, nodeIds, OWNER_COMMON);
}

/** Delete of a node id (§4.6). The server normally echoes the received frames instead. */
export function encodeDelete(ownerFrame: string, nodeId: string): Buffer[] {
  return encodeCommand(MessageType.Delete, ownerFrame, nodeId);
}

/** Disconnect `{'reason': reason}` (§4.8); the reference only ever sends `'kicked by admin'`. */
export function encodeDisconnect(reason: string = DISCONNECT_REASON_KICKED): Buffer[] {
  return encodeCommand(MessageType.Disconnect, OWNER_SERVER, strDict([[DISCONNECT_KEY_REASON, reason]]));
}
