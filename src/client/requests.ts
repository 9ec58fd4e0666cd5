/**
 * The frames a client sends, with the Python types and owner labels the library uses (§2.2–§2.3,
 * §4): Auth with `A_PWD` None unless an admin password is given, ServerSnapshot with owner
 * `'server'`, Delete with owner `'client'`, RequestServerInfo with owner `'guest'`.
 */
import { PyDict, pyInt, type PyValue } from '../pickle/index.js';
import {
  AUTH_KEY_ADMIN_PASSWORD,
  AUTH_KEY_ID,
  AUTH_KEY_SERVER_PASSWORD,
  AUTH_KEY_TYPE,
  AUTH_KEY_VERSION,
  AUTH_TYPE_ADMIN,
  AUTH_TYPE_CLIENT,
  KICK_KEY_USER,
  OWNER_CLIENT,
  OWNER_GUEST,
  OWNER_SERVER,
  REPLICATION_VERSION,
  SERVER_INFO_REQUEST,
  SERVER_SNAPSHOT_END,
  SERVER_SNAPSHOT_INIT,
  SERVER_SNAPSHOT_SET,
  SNAPSHOT_DONE,
  SNAPSHOT_GET,
  SNAPSHOT_KEY_DATA,
  SNAPSHOT_KEY_ID,
  SNAPSHOT_KEY_NODES,
  SNAPSHOT_KEY_SIZE,
  SNAPSHOT_KEY_STATE,
  SNAPSHOT_REQUEST_INIT,
  encodeCommand,
  encodeMessage,
  MessageType,
  type Commit,
  type Deps,
  type Node,
  nodeToChunks,
  encodeRight,
  strDict,
} from '../protocol/index.js';

export interface AuthRequest {
  username: string;
  /** Given (non-empty) → `AUTH_TYPE` ADMIN, as the library decides; otherwise CLIENT with `A_PWD` None. */
  adminPassword?: string | null;
  /** The add-on sends `''` when no server password is set; the library `None`. */
  serverPassword?: string | null;
  /** Defaults to 0.9.10; tests send others to see the version check. */
  version?: string;
}

export function encodeAuthRequest(req: AuthRequest): Buffer[] {
  const admin = req.adminPassword !== undefined && req.adminPassword !== null && req.adminPassword !== '';
  return encodeCommand(
    MessageType.Auth,
    req.username,
    strDict([
      [AUTH_KEY_TYPE, admin ? AUTH_TYPE_ADMIN : AUTH_TYPE_CLIENT],
      [AUTH_KEY_ID, req.username],
      [AUTH_KEY_SERVER_PASSWORD, req.serverPassword === undefined ? '' : req.serverPassword],
      [AUTH_KEY_ADMIN_PASSWORD, admin ? (req.adminPassword as string) : null],
      [AUTH_KEY_VERSION, req.version ?? REPLICATION_VERSION],
    ]),
  );
}

export function encodeServerInfoRequest(): Buffer[] {
  return encodeCommand(MessageType.RequestServerInfo, OWNER_GUEST, SERVER_INFO_REQUEST);
}

/** ServerSnapshot INIT `{'STATE': 'INIT', 'SIZE': n, 'NODES': [ids]}` (§4.3). */
export function encodeServerSnapshotInit(nodeIds: readonly string[]): Buffer[] {
  return encodeCommand(
    MessageType.ServerSnapshot,
    OWNER_SERVER,
    strDict([
      [SNAPSHOT_KEY_STATE, SERVER_SNAPSHOT_INIT],
      [SNAPSHOT_KEY_SIZE, pyInt(nodeIds.length)],
      [SNAPSHOT_KEY_NODES, [...nodeIds]],
    ]),
  );
}

/** ServerSnapshot SET carrying one node as its 5 chunks (§2.3). */
export function encodeServerSnapshotSet(node: Node): Buffer[] {
  return encodeCommand(
    MessageType.ServerSnapshot,
    OWNER_SERVER,
    strDict([
      [SNAPSHOT_KEY_STATE, SERVER_SNAPSHOT_SET],
      [SNAPSHOT_KEY_DATA, nodeToChunks(node)],
    ]),
  );
}

export function encodeServerSnapshotEnd(): Buffer[] {
  return encodeCommand(MessageType.ServerSnapshot, OWNER_SERVER, strDict([[SNAPSHOT_KEY_STATE, SERVER_SNAPSHOT_END]]));
}

export function encodeSnapshotRequestInit(username: string): Buffer[] {
  return encodeCommand(MessageType.Snapshot, username, strDict([[SNAPSHOT_KEY_STATE, SNAPSHOT_REQUEST_INIT]]));
}

export function encodeSnapshotGet(username: string, nodeId: string): Buffer[] {
  return encodeCommand(
    MessageType.Snapshot,
    username,
    strDict([
      [SNAPSHOT_KEY_STATE, SNAPSHOT_GET],
      [SNAPSHOT_KEY_ID, nodeId],
    ]),
  );
}

export function encodeSnapshotDone(username: string): Buffer[] {
  return encodeCommand(MessageType.Snapshot, username, strDict([[SNAPSHOT_KEY_STATE, SNAPSHOT_DONE]]));
}

/** Right: lock (`newOwner` = own name) or unlock (`'COMMON'`), §4.7. */
export function encodeRightRequest(username: string, nodeIds: readonly string[], newOwner: string): Buffer[] {
  return encodeRight(username, nodeIds, newOwner);
}

/** Delete with the library's owner label `'client'` (§4.6). */
export function encodeDeleteRequest(nodeId: string): Buffer[] {
  return encodeCommand(MessageType.Delete, OWNER_CLIENT, nodeId);
}

export function encodeKickRequest(username: string, target: string): Buffer[] {
  return encodeCommand(MessageType.Kick, username, strDict([[KICK_KEY_USER, target]]));
}

/** UpdateUserMetadata: keys to merge into the sender's record (§4.9). */
export function encodeMetadataUpdate(
  username: string,
  metadata: PyDict | ReadonlyArray<readonly [string, PyValue]>,
): Buffer[] {
  const data = metadata instanceof PyDict ? metadata : strDict(metadata);
  return encodeCommand(MessageType.UpdateUserMetadata, username, data);
}

/** A Node push on the data socket: the data stays the caller's pickled bytes. */
export function encodeNodePush(node: { uuid: string; owner: string; deps: Deps; dataBytes: Uint8Array }): Buffer[] {
  const msg: Node = {
    type: MessageType.Node,
    uuid: node.uuid,
    owner: node.owner,
    deps: node.deps,
    dataBytes: node.dataBytes,
  };
  return encodeMessage(msg);
}

/** A Commit push: a pre-built `Delta.dumps()` (computing deltas is the add-on's business, not ours). */
export function encodeCommitPush(commit: { nodeId: string; deps: Deps; deltaBytes: Uint8Array }): Buffer[] {
  const msg: Commit = {
    type: MessageType.Commit,
    nodeId: commit.nodeId,
    deps: commit.deps,
    deltaBytes: commit.deltaBytes,
  };
  return encodeMessage(msg);
}
