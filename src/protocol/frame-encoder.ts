/**
 * Replication object → multipart frames (REPLICATION-PROTOCOL.md §2). Pure: no socket, returns
 * an array of Buffers the way ws `Sender.frame` returns `[header, payload]`, so raw node data and
 * deltas go out without a copy.
 */
import { encodePickle, type PyValue } from '../pickle/index.js';
import { MessageType, typeFrame, type CommandTypeNumber } from './message-types.js';
import type { Deps, ReplicationMessage } from './messages.js';
import { encodeTextFrame } from './text-frames.js';

/** A Buffer over the same memory (no copy). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function encodeDeps(deps: Deps): Buffer {
  // A list of str pickles to EMPTY_LIST / MARK / SHORT_BINUNICODE... APPENDS, as CPython's does.
  return encodePickle(deps === null ? null : [...deps]);
}

/**
 * The three frames of a Command subclass: type, UTF-8 owner, pickled `data`.
 * Throws `ProtocolError` `PROTOCOL_UTF8` for an owner with a lone surrogate, and `PickleError`
 * `PICKLE_UNENCODABLE` for a value the pickle encoder cannot write (a bug in the caller).
 */
export function encodeCommand(type: CommandTypeNumber, owner: string, data: PyValue): Buffer[] {
  return [typeFrame(type), encodeTextFrame(owner, 1), encodePickle(data)];
}

/**
 * Encodes a message from its fields (ignoring `raw`): the canonical frame 0, UTF-8 text frames,
 * protocol-4 pickles; Node data and Commit deltas are passed through as they are.
 * Errors as `encodeCommand`.
 */
export function encodeMessage(msg: ReplicationMessage): Buffer[] {
  switch (msg.type) {
    case MessageType.Commit:
      return [typeFrame(msg.type), encodeTextFrame(msg.nodeId, 1), encodeDeps(msg.deps), asBuffer(msg.deltaBytes)];
    case MessageType.Node:
      return [
        typeFrame(msg.type),
        encodeTextFrame(msg.uuid, 1),
        encodeTextFrame(msg.owner, 2),
        encodeDeps(msg.deps),
        asBuffer(msg.dataBytes),
      ];
    default:
      return encodeCommand(msg.type, msg.owner, msg.data);
  }
}

/**
 * The frames to send for a message: the frames it was received as when it has them (a verbatim
 * relay, DESIGN §3 "Relaying"; the reference's re-encoded relays were byte-identical anyway,
 * §2.5), otherwise a fresh encoding.
 */
export function messageFrames(msg: ReplicationMessage): Buffer[] {
  return msg.raw !== undefined ? msg.raw.map(asBuffer) : encodeMessage(msg);
}
