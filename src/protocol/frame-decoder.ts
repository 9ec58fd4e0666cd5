/**
 * Multipart frames → replication object (REPLICATION-PROTOCOL.md §2). Never executes a pickle,
 * checks every bound before decoding, and throws only `ProtocolError` (STYLE.md §5–6).
 */
import type { PyValue } from '../pickle/index.js';
import { protocolError } from './errors.js';
import { resolveProtocolLimits, type ProtocolLimits } from './limits.js';
import {
  canonicalTypeOf,
  isMessageType,
  MessageType,
  messageTypeName,
  type MessageTypeNumber,
} from './message-types.js';
import type { AnyCommand, Deps, ReplicationMessage } from './messages.js';
import { decodePlainPickle } from './plain-pickle.js';
import { fastServerSnapshotSet } from './snapshot-set-fast.js';
import { decodeTextFrame } from './text-frames.js';

/** Frames each type needs (§2.2); extra frames are ignored, as the reference does. */
export function framesNeeded(type: MessageTypeNumber): number {
  if (type === MessageType.Commit) return 4;
  if (type === MessageType.Node) return 5;
  return 3;
}

function checkSize(frame: Uint8Array, max: number, frameIndex: number, role: string): void {
  if (frame.length > max) {
    throw protocolError('PROTOCOL_FRAME_SIZE', `${role} frame of ${frame.length} bytes exceeds ${max}`, frameIndex);
  }
}

/**
 * The type number in frame 0. The canonical 5 bytes take a fast path; any other pickle of an int
 * is accepted too (§2.1), decoded with no global allowed. Anything else — not a pickle, not an
 * int (a bool is refused although Python's dict lookup would take `True` for 1), out of range,
 * or a pickle that names a global (cap: 10_untrusted_pickle) — is `PROTOCOL_TYPE`.
 */
export function decodeTypeFrame(frame: Uint8Array, limits: ProtocolLimits): MessageTypeNumber {
  const fast = canonicalTypeOf(frame);
  if (fast !== undefined) return fast;
  checkSize(frame, limits.maxTypeFrameBytes, 0, 'type');
  const value = decodePlainPickle(frame, 0, limits.pickle, 'PROTOCOL_TYPE');
  if (typeof value !== 'bigint') throw protocolError('PROTOCOL_TYPE', 'frame 0 is not a pickled int', 0);
  const n = Number(value);
  if (!isMessageType(n) || BigInt(n) !== value) {
    throw protocolError('PROTOCOL_TYPE', `unknown type number ${value}`, 0);
  }
  return n;
}

/**
 * `pickle.dumps([])` at protocols 4 and 5, byte for byte: what the add-on (Python 3.8 and later)
 * and our encoder write for a node without dependencies — most nodes of a scene. Shared: never
 * write into them.
 */
const EMPTY_LIST_PICKLES: readonly Uint8Array[] = [
  Buffer.from([0x80, 0x04, 0x5d, 0x94, 0x2e]),
  Buffer.from([0x80, 0x05, 0x5d, 0x94, 0x2e]),
];

/**
 * The shared copy of `frame` when it is one of the empty-list pickles above, else undefined.
 * Such a frame needs neither the scanner nor the decoder (they could only confirm it is `[]`), and
 * a store can keep the shared copy instead of one of its own per node.
 */
export function sharedEmptyListPickle(frame: Uint8Array): Uint8Array | undefined {
  if (frame.length !== 5 || frame[0] !== 0x80 || frame[2] !== 0x5d || frame[3] !== 0x94 || frame[4] !== 0x2e) {
    return undefined;
  }
  return frame[1] === 0x04 ? EMPTY_LIST_PICKLES[0] : frame[1] === 0x05 ? EMPTY_LIST_PICKLES[1] : undefined;
}

/** A dependency list: a list of str, or None (§2.2). */
function decodeDeps(frame: Uint8Array, frameIndex: number, limits: ProtocolLimits): Deps {
  checkSize(frame, limits.maxDepsFrameBytes, frameIndex, 'dependency');
  if (sharedEmptyListPickle(frame) !== undefined) return [];
  const value = decodePlainPickle(frame, frameIndex, limits.pickle);
  if (value === null) return null;
  if (!Array.isArray(value) || !value.every((id): id is string => typeof id === 'string')) {
    throw protocolError('PROTOCOL_SHAPE', 'dependencies are not a list of str', frameIndex);
  }
  return value;
}

function decodeText(frame: Uint8Array, frameIndex: number, limits: ProtocolLimits, role: string): string {
  checkSize(frame, limits.maxTextFrameBytes, frameIndex, role);
  return decodeTextFrame(frame, frameIndex);
}

function decodeCommandData(type: MessageTypeNumber, frame: Uint8Array, limits: ProtocolLimits): PyValue {
  checkSize(frame, limits.maxPayloadFrameBytes, 2, 'data');
  if (type === MessageType.ServerSnapshot) {
    const set = fastServerSnapshotSet(frame, limits.pickle);
    if (set !== undefined) return set;
  }
  return decodePlainPickle(frame, 2, limits.pickle);
}

/**
 * Decodes one multipart message (without the routing identity). `raw` of the result holds the
 * frames the message consists of — extra trailing frames dropped, so a verbatim relay never
 * forwards what was not validated. The frames are kept by reference: the caller must not reuse them.
 *
 * Throws `ProtocolError`: `PROTOCOL_FRAME_COUNT` (no frame, fewer frames than the type needs, more
 * than `maxFrames`), `PROTOCOL_FRAME_SIZE`, `PROTOCOL_TYPE`, `PROTOCOL_UTF8`, `PROTOCOL_PICKLE`
 * (deps or command data undecodable or not plain), `PROTOCOL_SHAPE` (deps not a list of str).
 * Node data and Commit deltas are not decoded here (only their size is checked).
 */
export function decodeMessage(frames: readonly Uint8Array[], limits?: Partial<ProtocolLimits>): ReplicationMessage {
  const lim = resolveProtocolLimits(limits);
  if (frames.length === 0) throw protocolError('PROTOCOL_FRAME_COUNT', 'empty message');
  if (frames.length > lim.maxFrames) {
    throw protocolError('PROTOCOL_FRAME_COUNT', `${frames.length} frames exceed the limit of ${lim.maxFrames}`);
  }
  const type = decodeTypeFrame(frames[0], lim);
  const needed = framesNeeded(type);
  if (frames.length < needed) {
    throw protocolError(
      'PROTOCOL_FRAME_COUNT',
      `${messageTypeName(type)} needs ${needed} frames, got ${frames.length}`,
    );
  }
  const raw = frames.length === needed ? frames : frames.slice(0, needed);

  if (type === MessageType.Commit) {
    const nodeId = decodeText(frames[1], 1, lim, 'node id');
    const deps = decodeDeps(frames[2], 2, lim);
    checkSize(frames[3], lim.maxPayloadFrameBytes, 3, 'delta');
    return { type, nodeId, deps, deltaBytes: frames[3], raw };
  }
  if (type === MessageType.Node) {
    const uuid = decodeText(frames[1], 1, lim, 'uuid');
    const owner = decodeText(frames[2], 2, lim, 'owner');
    const deps = decodeDeps(frames[3], 3, lim);
    checkSize(frames[4], lim.maxPayloadFrameBytes, 4, 'node data');
    return { type, uuid, owner, deps, dataBytes: frames[4], raw };
  }
  const owner = decodeText(frames[1], 1, lim, 'owner');
  const data = decodeCommandData(type, frames[2], lim);
  // The cast pairs the runtime `type` with its union member; every command has the same fields.
  return { type, owner, data, raw } as AnyCommand;
}
