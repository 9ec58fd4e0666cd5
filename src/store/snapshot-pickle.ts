/**
 * The snapshot pickle, produced as a stream of parts so that a 1 GB session is never copied
 * into one buffer nor encoded in one event-loop turn (DESIGN §4 "stream": a save must not stall the event loop).
 *
 * Layout (REPLICATION-PROTOCOL §6 plus our key):
 * ```
 * {'nodes': [[b'\x80\x04K\x02.', uuid, owner, deps pickle, data pickle], ...],   # the add-on's chunk lists
 *  'users': {...},
 *  'multiuser_server': {'format_version': 1, 'server_version', 'snapshot_id', 'saved_at',
 *                       'reason', 'initialized', 'chat', 'tasks'[, 'extra']}}
 * ```
 * The head — the dict with an empty `'nodes'` list, users and our key — is written when the stream
 * is created (so the session may change its objects afterwards); the node chunk lists are then
 * appended to that list, in batches of 1000, as the parts are pulled. All of it goes through the
 * pickle package's streaming encoder (its framing: node payloads of 64 KiB or more are handed out
 * as views of the node's own bytes). The opcodes — NONE and POP after the head, then the list
 * fetched back, MARK … APPENDS — keep the bytes those earlier versions of this server wrote.
 */
import { PickleStream, PyDict, pyInt, type PyValue } from '../pickle/index.js';
import { encodeTextFrame, MessageType, typeFrame } from '../protocol/index.js';
import type { SessionImage, SessionImageNode } from './session-image.js';

/** Top-level keys. `'nodes'` and `'users'` are the add-on's (§6); the add-on ignores other keys. */
export const KEY_NODES = 'nodes';
export const KEY_USERS = 'users';
/** Our own top-level key: everything the add-on's file does not have. */
export const KEY_SERVER = 'multiuser_server';

/** Keys inside `'multiuser_server'`. */
export const META_KEYS = {
  formatVersion: 'format_version',
  serverVersion: 'server_version',
  snapshotId: 'snapshot_id',
  savedAt: 'saved_at',
  reason: 'reason',
  initialized: 'initialized',
  chat: 'chat',
  tasks: 'tasks',
  extra: 'extra',
} as const;

/** Bumped when a reader of the previous version would misread the file. */
export const SNAPSHOT_FORMAT_VERSION = 1;

/** What a snapshot says about itself. */
export interface SnapshotMeta {
  formatVersion: number;
  serverVersion: string;
  snapshotId: string;
  /** Milliseconds since the epoch (stored as float seconds, like the metadata file's `timestamp`). */
  savedAtMs: number;
  reason: string;
}

/** CPython's BATCHSIZE: list items per APPENDS. */
const BATCH = 1000;

/** The Python value of `'multiuser_server'`. */
export function metaValue(image: SessionImage, meta: SnapshotMeta): PyDict {
  const d = new PyDict();
  d.setStr(META_KEYS.formatVersion, pyInt(meta.formatVersion));
  d.setStr(META_KEYS.serverVersion, meta.serverVersion);
  d.setStr(META_KEYS.snapshotId, meta.snapshotId);
  d.setStr(META_KEYS.savedAt, meta.savedAtMs / 1000);
  d.setStr(META_KEYS.reason, meta.reason);
  d.setStr(META_KEYS.initialized, image.initialized);
  d.setStr(META_KEYS.chat, image.chat);
  d.setStr(META_KEYS.tasks, image.tasks);
  if (image.extra !== undefined) d.setStr(META_KEYS.extra, image.extra);
  return d;
}

/**
 * The snapshot pickle as parts, in order. The head is encoded before this returns (throws
 * PickleError for an unencodable users/chat/tasks value); node chunks are produced as the
 * iterator is pulled (throws ProtocolError `PROTOCOL_UTF8` for a uuid/owner with a lone
 * surrogate). Node byte arrays are referenced, not copied, when they are 64 KiB or more.
 */
export function snapshotPickleParts(image: SessionImage, meta: SnapshotMeta): Iterable<Buffer> {
  const nodesList: PyValue[] = [];
  const top = new PyDict();
  top.setStr(KEY_NODES, nodesList);
  top.setStr(KEY_USERS, image.users);
  top.setStr(KEY_SERVER, metaValue(image, meta));
  const out = new PickleStream();
  out.value(top);
  // The first format ended the head with NONE (its STOP overwritten) and the frame there.
  out.none();
  out.endFrame();
  const head = out.take();
  return generateParts(out, head, nodesList, image.nodes.slice());
}

function* generateParts(
  out: PickleStream,
  head: Buffer[],
  nodesList: PyValue[],
  nodes: SessionImageNode[],
): Generator<Buffer> {
  yield* head;
  out.pop();
  out.get(nodesList);
  const nodeFrame = typeFrame(MessageType.Node);
  for (let i = 0; i < nodes.length; i += BATCH) {
    out.mark();
    const end = Math.min(i + BATCH, nodes.length);
    for (let j = i; j < end; j++) {
      const node = nodes[j];
      out.mark();
      out.bytes(nodeFrame);
      out.bytes(encodeTextFrame(node.uuid, 1));
      out.bytes(encodeTextFrame(node.owner, 2));
      out.bytes(node.depsBytes);
      out.bytes(node.dataBytes);
      out.list();
      out.boundary();
      yield* out.take();
    }
    out.appends();
  }
  out.pop();
  yield* out.end();
}
