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
 * The head — the dict with an empty `'nodes'` list, users and our key — is one `encodePickleParts`
 * call, made synchronously when the stream is created (so the session may change its objects
 * afterwards). Its STOP is turned into NONE, and the stream goes on with POP, BINGET of the
 * memoized `'nodes'` list, the node chunk lists in APPENDS batches, POP and STOP. The node part
 * uses no memo, so it cannot clash with the head's. Framing follows CPython (FRAME per ~64 KiB,
 * payloads of 64 KiB or more outside frames, as views of the node's own bytes: zero copy).
 */
import {
  encodePickleParts,
  APPENDS,
  BINBYTES,
  BINBYTES8,
  BINGET,
  EMPTY_DICT,
  EMPTY_LIST,
  FRAME,
  LIST,
  MARK,
  MEMOIZE,
  NONE,
  POP,
  PROTO,
  SHORT_BINBYTES,
  SHORT_BINUNICODE,
  STOP,
  PyDict,
  pyInt,
  type PyValue,
} from '../pickle/index.js';
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

/** CPython's FRAME_SIZE_TARGET: frames are cut at this size and bigger payloads go outside frames. */
const FRAME_TARGET = 64 * 1024;
const FRAME_HEADER = 9;
/** CPython's BATCHSIZE: list items per APPENDS. */
const BATCH = 1000;
/** Memo slot of the empty `'nodes'` list in the head: dict = 0, `'nodes'` = 1, list = 2. */
const NODES_LIST_SLOT = 2;
const HEAD_PREFIX = Buffer.from([
  EMPTY_DICT,
  MEMOIZE,
  MARK,
  SHORT_BINUNICODE,
  5,
  ...Buffer.from('nodes'),
  MEMOIZE,
  EMPTY_LIST,
  MEMOIZE,
]);

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
  const top = new PyDict();
  top.setStr(KEY_NODES, [] as PyValue[]);
  top.setStr(KEY_USERS, image.users);
  top.setStr(KEY_SERVER, metaValue(image, meta));
  const head = encodePickleParts(top);
  checkHead(head);
  // STOP becomes NONE; the node part starts with POP. The last part is the encoder's own copy.
  const last = head[head.length - 1];
  last[last.length - 1] = NONE;
  const nodes = image.nodes.slice();
  return generateParts(head, nodes);
}

function* generateParts(head: Buffer[], nodes: SessionImageNode[]): Generator<Buffer> {
  yield* head;
  const out = new FrameWriter();
  out.byte(POP);
  out.byte(BINGET);
  out.byte(NODES_LIST_SLOT);
  const nodeFrame = typeFrame(MessageType.Node);
  for (let i = 0; i < nodes.length; i += BATCH) {
    out.byte(MARK);
    const end = Math.min(i + BATCH, nodes.length);
    for (let j = i; j < end; j++) {
      const node = nodes[j];
      out.byte(MARK);
      out.bytes(nodeFrame);
      out.bytes(encodeTextFrame(node.uuid, 1));
      out.bytes(encodeTextFrame(node.owner, 2));
      out.bytes(node.depsBytes);
      out.bytes(node.dataBytes);
      out.byte(LIST);
      yield* out.drain();
    }
    out.byte(APPENDS);
  }
  out.byte(POP);
  out.byte(STOP);
  out.commit();
  yield* out.drain();
}

/** Guards the memo slot the node part relies on; a change in the encoder fails here, loudly. */
function checkHead(head: Buffer[]): void {
  const first = head[0];
  const at = first[2] === FRAME ? 2 + FRAME_HEADER : 2;
  const last = head[head.length - 1];
  if (
    first[0] !== PROTO ||
    !first.subarray(at, at + HEAD_PREFIX.length).equals(HEAD_PREFIX) ||
    last[last.length - 1] !== STOP
  ) {
    throw new Error('snapshot head does not have the expected layout (pickle encoder changed?)');
  }
}

/** CPython-style framing for the node part: small opcodes collect in a frame, big payloads bypass it. */
class FrameWriter {
  private buf = Buffer.allocUnsafe(2 * FRAME_TARGET + FRAME_HEADER + 16);
  private pos = FRAME_HEADER;
  private ready: Buffer[] = [];

  byte(b: number): void {
    if (this.pos >= this.buf.length) this.commit();
    this.buf[this.pos++] = b;
  }

  bytes(v: Uint8Array): void {
    const n = v.length;
    if (n >= FRAME_TARGET) {
      // CPython `_Pickler_write_bytes`: commit the frame, then header and payload unframed.
      this.commit();
      const header = Buffer.allocUnsafe(9);
      let hl: number;
      if (n <= 0xffffffff) {
        header[0] = BINBYTES;
        header.writeUInt32LE(n, 1);
        hl = 5;
      } else {
        header[0] = BINBYTES8;
        header.writeBigUInt64LE(BigInt(n), 1);
        hl = 9;
      }
      this.ready.push(header.subarray(0, hl), Buffer.from(v.buffer, v.byteOffset, n));
      return;
    }
    if (this.pos - FRAME_HEADER >= FRAME_TARGET) this.commit();
    const b = this.buf;
    if (n < 256) {
      b[this.pos++] = SHORT_BINBYTES;
      b[this.pos++] = n;
    } else {
      b[this.pos++] = BINBYTES;
      b.writeUInt32LE(n, this.pos);
      this.pos += 4;
    }
    b.set(v, this.pos);
    this.pos += n;
  }

  /** Ends the current frame (no FRAME header under 4 bytes, as CPython) and starts a new one. */
  commit(): void {
    const len = this.pos - FRAME_HEADER;
    if (len >= 4) {
      this.buf[0] = FRAME;
      this.buf.writeBigUInt64LE(BigInt(len), 1);
      this.ready.push(this.buf.subarray(0, this.pos));
      this.buf = Buffer.allocUnsafe(this.buf.length);
    } else if (len > 0) {
      this.ready.push(Buffer.from(this.buf.subarray(FRAME_HEADER, this.pos)));
    }
    this.pos = FRAME_HEADER;
  }

  /** Parts completed so far; commits the frame first once it has reached the target size. */
  *drain(): Generator<Buffer> {
    if (this.pos - FRAME_HEADER >= FRAME_TARGET) this.commit();
    const ready = this.ready;
    if (ready.length === 0) return;
    this.ready = [];
    yield* ready;
  }
}
