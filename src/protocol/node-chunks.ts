/**
 * Nested node chunk lists: a Node carried inside a pickle as a Python **list of 5 `bytes`** — the
 * five Node frames (type, uuid, owner, deps pickle, data pickle). Used as `'DATA'` of Snapshot SET
 * and ServerSnapshot SET (§2.3) and as each entry of the add-on's session file `'nodes'` list (§6).
 * They must be `bytes`, not `str` (SHORT_BINBYTES/BINBYTES); a Snapshot SET for a missing node
 * carries the single bytes value `b'removed'` instead (§4.4, cap: 06_raw_protocol_paths).
 */
import type { PyValue } from '../pickle/index.js';
import { NODE_REMOVED_MARKER_TEXT } from './constants.js';
import { protocolError } from './errors.js';
import { decodeMessage, framesNeeded } from './frame-decoder.js';
import { encodeMessage } from './frame-encoder.js';
import type { ProtocolLimits } from './limits.js';
import { MessageType } from './message-types.js';
import type { Node } from './messages.js';

const NODE_FRAMES = framesNeeded(MessageType.Node);

const REMOVED = Buffer.from(NODE_REMOVED_MARKER_TEXT, 'latin1');

/** `b'removed'`. Shared: never write into it. */
export const NODE_REMOVED_MARKER: Uint8Array = REMOVED;

/** Whether a Snapshot SET `DATA` value is the `b'removed'` marker (bytes, not str). */
export function isNodeRemovedMarker(value: PyValue): boolean {
  return value instanceof Uint8Array && REMOVED.equals(value);
}

/**
 * The chunk list of a node: its received frames when it has them (no re-encoding of node data),
 * else a fresh encoding. As a `PyValue` it pickles to a list of 5 bytes.
 */
export function nodeToChunks(node: Node): Uint8Array[] {
  const frames = node.raw ?? encodeMessage(node);
  return frames.slice(0, NODE_FRAMES);
}

/**
 * Reads a chunk list back into a Node (decoded like received frames, `raw` = the chunks).
 * Throws `ProtocolError`: `PROTOCOL_SHAPE` when `value` is not a list of at least 5 `bytes`
 * (extra items are ignored, as extra frames are) or the chunks are not a Node; otherwise the
 * codes of `decodeMessage`, whose frame index is then the chunk index.
 */
export function nodeFromChunks(value: PyValue, limits?: Partial<ProtocolLimits>): Node {
  if (!Array.isArray(value)) throw protocolError('PROTOCOL_SHAPE', 'node chunks are not a list');
  if (value.length < NODE_FRAMES) {
    throw protocolError('PROTOCOL_SHAPE', `node chunk list has ${value.length} items, needs ${NODE_FRAMES}`);
  }
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < value.length; i++) {
    const chunk = value[i];
    if (!(chunk instanceof Uint8Array)) throw protocolError('PROTOCOL_SHAPE', 'node chunk is not bytes', i);
    chunks.push(chunk);
  }
  const msg = decodeMessage(chunks, limits);
  if (msg.type !== MessageType.Node) throw protocolError('PROTOCOL_SHAPE', 'node chunks are not a Node', 0);
  return msg;
}

/** A session file's `'nodes'` value (a list of chunk lists, §6) → Nodes in file order. Errors as `nodeFromChunks`. */
export function nodesFromChunkLists(value: PyValue, limits?: Partial<ProtocolLimits>): Node[] {
  if (!Array.isArray(value)) throw protocolError('PROTOCOL_SHAPE', "session 'nodes' is not a list");
  return value.map((chunks) => nodeFromChunks(chunks, limits));
}

/** Nodes → a session file's `'nodes'` value. */
export function nodesToChunkLists(nodes: Iterable<Node>): Uint8Array[][] {
  const out: Uint8Array[][] = [];
  for (const node of nodes) out.push(nodeToChunks(node));
  return out;
}
