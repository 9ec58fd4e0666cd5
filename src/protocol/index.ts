/** The replication 0.9.10 frame codec: replication objects ⇄ ZeroMQ multipart frames. */
export * from './constants.js';
export { ProtocolError, type ProtocolErrorCode } from './errors.js';
export { decodeMessage, decodeTypeFrame, framesNeeded, sharedEmptyListPickle } from './frame-decoder.js';
export { asBuffer, encodeCommand, encodeMessage, messageFrames } from './frame-encoder.js';
export { decodeHeartbeat, encodeHeartbeat, MAX_HEARTBEAT_FRAME_BYTES, type HeartbeatKind } from './heartbeat.js';
export { DEFAULT_PROTOCOL_LIMITS, resolveProtocolLimits, type ProtocolLimits } from './limits.js';
export {
  CANONICAL_TYPE_FRAME_BYTES,
  canonicalTypeOf,
  isCommandType,
  isMessageType,
  MessageType,
  messageTypeName,
  typeFrame,
  type CommandTypeNumber,
  type MessageTypeName,
  type MessageTypeNumber,
} from './message-types.js';
export type {
  AnyCommand,
  Auth,
  Command,
  CommandOf,
  Commit,
  Config,
  Delete,
  Deps,
  Disconnect,
  Framed,
  Kick,
  Node,
  ReplicationMessage,
  RequestServerInfo,
  Right,
  ServerSnapshot,
  Snapshot,
  UpdateClientsState,
  UpdateUserMetadata,
} from './messages.js';
export {
  isNodeRemovedMarker,
  NODE_REMOVED_MARKER,
  nodeFromChunks,
  nodesFromChunkLists,
  nodesToChunkLists,
  nodeToChunks,
} from './node-chunks.js';
export { decodePlainPickle, findNonPlain } from './plain-pickle.js';
export {
  encodeAuthReply,
  encodeDelete,
  encodeDisconnect,
  encodeRight,
  encodeServerInfoReply,
  encodeServerSnapshotReply,
  encodeSnapshotInit,
  encodeSnapshotRemoved,
  encodeSnapshotSet,
  encodeUnlockRight,
  encodeUpdateClientsState,
  strDict,
  userRecordValue,
  type ServerSnapshotReplyState,
  type UserRecord,
} from './replies.js';
export { decodeTextFrame, encodeTextFrame } from './text-frames.js';
export { protocolError } from './errors.js';
