/**
 * SessionImage ⇄ snapshot file bytes: gzip of the protocol-4 pickle of snapshot-pickle.ts.
 *
 * Both directions stream: encoding pulls pickle parts through zlib's asynchronous gzip (which
 * compresses on the libuv threadpool), decoding reads the file in chunks through gunzip into one
 * buffer sized from the gzip trailer. Integrity comes from gzip's CRC-32, structure from the
 * checks below. A file saved by the add-on (no `'multiuser_server'` key) decodes too: that is the
 * import path (REPLICATION-PROTOCOL §6).
 *
 * A file is input, whatever it claims to be: the outer pickle must be plain (no global, object or
 * persistent id anywhere), and the caller's `check` (the session's network validation of every
 * node, dependency list and metadata) must pass, else STORE_REFUSED. The store itself never
 * decodes node data; `check` is how every load path gets the same rules as the network.
 */
import { constants as bufferConstants } from 'node:buffer';
import { Readable, pipeline } from 'node:stream';
import { constants as zlibConstants, createGunzip, createGzip } from 'node:zlib';

import { decodePickle, PickleError, type PickleLimits, PyDict, pyTypeName, type PyValue } from '../pickle/index.js';
import { findNonPlain, nodeFromChunks, ProtocolError } from '../protocol/index.js';
import { describeCause, storeError, StoreError } from './errors.js';
import { JOURNAL_SEGMENT_RE } from './file-names.js';
import { NODE_STORE_FS, isErrno, type StoreFileHandle, type StoreFs } from './fs-port.js';
import type { SessionImage, SessionImageNode } from './session-image.js';
import { importedSnapshotId } from './snapshot-id.js';
import {
  KEY_NODES,
  KEY_SERVER,
  KEY_USERS,
  META_KEYS,
  SNAPSHOT_FORMAT_VERSION,
  snapshotPickleParts,
  type SnapshotMeta,
} from './snapshot-pickle.js';

export interface EncodeSnapshotOptions {
  /** zlib level 0–9 (default: zlib's default, 6). */
  gzipLevel?: number;
}

/** Output chunks of zlib; bigger than its 16 KiB default to cut callbacks on the main thread. */
const ZLIB_CHUNK = 256 * 1024;
const READ_CHUNK = 1024 * 1024;
/** zlib's smallest accepted chunk size. */
const ZLIB_MIN_CHUNK = 64;
const MAX_LENGTH = bufferConstants.MAX_LENGTH;
/** Smallest gzip member: 10-byte header + empty deflate block + 8-byte trailer. */
const MIN_GZIP_BYTES = 18;
/** Deflate cannot expand more than ~1032:1; a trailer claiming more is damage, not data. */
const MAX_DEFLATE_RATIO = 1032;

/**
 * The snapshot file's bytes, as a stream to hand to `writeFileAtomic`. The users/chat/tasks
 * head is encoded before this returns (so it throws PickleError right away for an unencodable
 * value); node chunks are read from the image's byte arrays while the stream is consumed.
 * `destroy()` it if it will not be consumed.
 */
export function encodeSnapshot(image: SessionImage, meta: SnapshotMeta, options: EncodeSnapshotOptions = {}): Readable {
  const parts = snapshotPickleParts(image, meta);
  const gzip = createGzip({ level: options.gzipLevel ?? zlibConstants.Z_DEFAULT_COMPRESSION, chunkSize: ZLIB_CHUNK });
  // Errors of the source reach the consumer through gzip's iterator.
  pipeline(Readable.from(parts, { objectMode: false }), gzip, () => undefined);
  return gzip;
}

export interface SnapshotReadLimits {
  /** Bound on the uncompressed pickle (a gzip bomb, or a session bigger than memory allows). Default 4 GiB, Node's Buffer limit. */
  maxUncompressedBytes: number;
  /** Bounds for the pickle decoder; snapshots need far more items than one message. */
  pickle: Partial<PickleLimits>;
}

export const DEFAULT_SNAPSHOT_READ_LIMITS: Readonly<SnapshotReadLimits> = Object.freeze({
  maxUncompressedBytes: 4 * 1024 * 1024 * 1024 - 1,
  // A session near MAX_NODES holds a few containers per node (chunk lists, users, archive):
  // the per-message container budget would refuse a large but honest snapshot.
  pickle: Object.freeze({ maxItems: 200_000_000, maxMemo: 100_000_000, maxContainers: 100_000_000 }),
});

/**
 * Why a decoded image must not be loaded (naming the node or user), or null. Built by the caller
 * from the session's validation (`Session.checkImage`) with the limits it serves with.
 */
export type ImageCheck = (image: SessionImage) => string | null;

/** What a snapshot file decodes to. */
export interface DecodedSnapshot {
  image: SessionImage;
  /** Our key's contents; null for a file saved by the add-on (no `'multiuser_server'`). */
  meta: SnapshotMeta | null;
  /** `meta.snapshotId`, or for an add-on file an id derived from its gzip trailer (snapshot-id.ts). */
  snapshotId: string;
  compressedBytes: number;
  uncompressedBytes: number;
}

export interface ReadSnapshotOptions {
  fs?: StoreFs;
  limits?: Partial<SnapshotReadLimits>;
  /** Validation of the decoded image as network input; every load path passes one (tests may not). */
  check?: ImageCheck;
}

/**
 * Reads and decodes a snapshot (or add-on `.db`) file. Throws StoreError: STORE_NOT_FOUND,
 * STORE_READ_FAILED (I/O), STORE_CORRUPT (truncated, bit-flipped, bad pickle, bad structure;
 * `message` says which), STORE_REFUSED (a global in the pickle, or `check` refused it),
 * STORE_FORMAT (a newer format), STORE_LIMIT.
 */
export async function readSnapshotFile(path: string, options: ReadSnapshotOptions = {}): Promise<DecodedSnapshot> {
  const fsys = options.fs ?? NODE_STORE_FS;
  let handle: StoreFileHandle;
  try {
    handle = await fsys.open(path, 'r');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw storeError('STORE_NOT_FOUND', `${path} does not exist`, { path }, e);
    throw storeError('STORE_READ_FAILED', `${path}: ${describeCause(e)}`, { path }, e);
  }
  try {
    const size = (await handle.stat()).size;
    if (size < MIN_GZIP_BYTES) throw corrupt(`file is ${size} bytes, too short for gzip`, path);
    const trailer = Buffer.alloc(8);
    await readFully(handle, trailer, size - 8, path);
    const decoded = await decodeGzipStream(
      readChunks(handle, size, path),
      size,
      trailerOf(trailer),
      path,
      options.limits,
    );
    return checked(decoded, options.check, path);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Decodes snapshot file bytes held in memory (tests, `import` of an uploaded file). Errors as `readSnapshotFile`. */
export async function decodeSnapshotBytes(
  gz: Uint8Array,
  limits?: Partial<SnapshotReadLimits>,
  label = '<memory>',
  check?: ImageCheck,
): Promise<DecodedSnapshot> {
  if (gz.length < MIN_GZIP_BYTES) throw corrupt(`${gz.length} bytes, too short for gzip`, label);
  const chunks = function* (): Generator<Uint8Array> {
    for (let i = 0; i < gz.length; i += READ_CHUNK) yield gz.subarray(i, Math.min(gz.length, i + READ_CHUNK));
  };
  return checked(
    await decodeGzipStream(chunks(), gz.length, trailerOf(gz.subarray(gz.length - 8)), label, limits),
    check,
    label,
  );
}

function checked(decoded: DecodedSnapshot, check: ImageCheck | undefined, label: string): DecodedSnapshot {
  const problem = check?.(decoded.image) ?? null;
  if (problem !== null) throw storeError('STORE_REFUSED', `${label}: refused as input: ${problem}`, { path: label });
  return decoded;
}

interface GzipTrailer {
  crc32: number;
  /** Uncompressed size mod 2^32. */
  isize: number;
}

function trailerOf(last8: Uint8Array): GzipTrailer {
  const dv = new DataView(last8.buffer, last8.byteOffset, 8);
  return { crc32: dv.getUint32(0, true), isize: dv.getUint32(4, true) };
}

async function decodeGzipStream(
  source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  compressedBytes: number,
  trailer: GzipTrailer,
  label: string,
  limitOverrides?: Partial<SnapshotReadLimits>,
): Promise<DecodedSnapshot> {
  const limits = { ...DEFAULT_SNAPSHOT_READ_LIMITS, ...limitOverrides };
  const pickle = await gunzipInto(source, compressedBytes, trailer, label, limits.maxUncompressedBytes);
  return decodeSnapshotPickle(pickle, { compressedBytes, trailer, label, pickleLimits: limits.pickle });
}

/**
 * Gunzips into one buffer sized from the trailer. zlib is given that buffer as its output (a chunk
 * size one byte over the declared size), so it inflates straight into it on the threadpool and
 * every chunk it emits is the next slice of the same memory: no copy of a 1 GB pickle on the main
 * thread, and the first-touch page faults of that memory (seconds per GB on some VMs) are paid by
 * zlib's thread instead. Should a chunk ever not continue the previous one (zlib would start a new
 * buffer only after filling this one, which the size check stops first; this guards against a
 * different zlib binding), the chunks are copied into a buffer of the declared size as before.
 */
async function gunzipInto(
  source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  compressedBytes: number,
  trailer: GzipTrailer,
  label: string,
  maxBytes: number,
): Promise<Buffer> {
  const expected = trailer.isize;
  if (expected > maxBytes) {
    throw storeError('STORE_LIMIT', `${label}: uncompressed size ${expected} exceeds the limit of ${maxBytes}`, {
      path: label,
    });
  }
  if (expected > compressedBytes * MAX_DEFLATE_RATIO + 1024) {
    throw corrupt(`gzip trailer declares ${expected} bytes, impossible for ${compressedBytes} compressed bytes`, label);
  }
  let first: Buffer | undefined;
  let copy: Buffer | undefined;
  let pos = 0;
  const gunzip = createGunzip({ chunkSize: Math.min(Math.max(ZLIB_MIN_CHUNK, expected + 1), MAX_LENGTH) });
  pipeline(Readable.from(source, { objectMode: false }), gunzip, () => undefined);
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      if (pos + chunk.length > expected) {
        gunzip.destroy();
        throw corrupt(`more data than the gzip trailer declares (${expected} bytes)`, label);
      }
      if (first === undefined) first = chunk;
      if (copy === undefined && (chunk.buffer !== first.buffer || chunk.byteOffset !== first.byteOffset + pos)) {
        copy = Buffer.allocUnsafe(expected);
        Buffer.from(first.buffer, first.byteOffset, pos).copy(copy, 0);
      }
      if (copy !== undefined) chunk.copy(copy, pos);
      pos += chunk.length;
    }
  } catch (e) {
    if (e instanceof StoreError) throw e;
    if (isZlibError(e)) throw corrupt(`gzip: ${describeCause(e)}`, label, e);
    throw storeError('STORE_READ_FAILED', `${label}: ${describeCause(e)}`, { path: label }, e);
  }
  if (pos !== expected) throw corrupt(`gzip data is ${pos} bytes, its trailer says ${expected}`, label);
  if (copy !== undefined) return copy;
  if (first === undefined) return Buffer.alloc(0);
  return Buffer.from(first.buffer, first.byteOffset, expected);
}

function isZlibError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

interface PickleSource {
  compressedBytes: number;
  trailer: GzipTrailer;
  label: string;
  pickleLimits?: Partial<PickleLimits>;
}

/** Decodes and validates the uncompressed pickle. Throws STORE_CORRUPT / STORE_FORMAT. */
export function decodeSnapshotPickle(pickle: Uint8Array, src: PickleSource): DecodedSnapshot {
  const label = src.label;
  let top: PyValue;
  try {
    top = decodePickle(pickle, { limits: { maxBytes: Math.max(pickle.length, 1), ...src.pickleLimits } });
  } catch (e) {
    if (e instanceof PickleError) throw corrupt(`pickle: ${e.code}: ${e.message}`, label, e, e.offset);
    throw e;
  }
  if (!(top instanceof PyDict)) throw corrupt(`top level is a ${pyTypeName(top)}, not a dict`, label);
  // Neither the add-on nor this server writes anything but plain values: anything else is forged.
  const nonPlain = findNonPlain(top);
  if (nonPlain !== undefined) {
    throw storeError('STORE_REFUSED', `${label}: refused as input: the session pickle holds ${nonPlain}`, {
      path: label,
    });
  }
  const nodes = readNodes(top.get(KEY_NODES), label);
  const usersValue = top.get(KEY_USERS);
  // The add-on writes 'users' only when its client was connected (§6).
  const users = usersValue === undefined ? new PyDict() : readUsers(usersValue, label);
  const serverValue = top.get(KEY_SERVER);
  if (serverValue === undefined) {
    return {
      image: { nodes, users, initialized: nodes.length > 0, chat: [], tasks: new PyDict() },
      meta: null,
      snapshotId: importedSnapshotId(src.trailer.crc32, src.trailer.isize),
      compressedBytes: src.compressedBytes,
      uncompressedBytes: pickle.length,
    };
  }
  const { meta, initialized, chat, tasks, extra } = readServerKey(serverValue, label);
  const image: SessionImage = { nodes, users, initialized, chat, tasks };
  if (extra !== undefined) image.extra = extra;
  return {
    image,
    meta,
    snapshotId: meta.snapshotId,
    compressedBytes: src.compressedBytes,
    uncompressedBytes: pickle.length,
  };
}

function readNodes(value: PyValue | undefined, label: string): SessionImageNode[] {
  if (value === undefined) throw corrupt(`no '${KEY_NODES}' key`, label);
  if (!Array.isArray(value)) throw corrupt(`'${KEY_NODES}' is a ${pyTypeName(value)}, not a list`, label);
  const nodes: SessionImageNode[] = [];
  for (let i = 0; i < value.length; i++) {
    try {
      const node = nodeFromChunks(value[i]);
      const raw = node.raw as readonly Uint8Array[];
      nodes.push({ uuid: node.uuid, owner: node.owner, depsBytes: raw[3], dataBytes: raw[4] });
    } catch (e) {
      if (e instanceof ProtocolError) throw corrupt(`node #${i}: ${e.code}: ${e.message}`, label, e);
      throw e;
    }
  }
  return nodes;
}

function readUsers(value: PyValue, label: string): PyDict {
  if (!(value instanceof PyDict)) throw corrupt(`'${KEY_USERS}' is a ${pyTypeName(value)}, not a dict`, label);
  for (const [name, record] of value) {
    if (typeof name !== 'string') throw corrupt(`a '${KEY_USERS}' key is a ${pyTypeName(name)}, not a str`, label);
    if (!(record instanceof PyDict)) throw corrupt(`user ${JSON.stringify(name)} is not a dict`, label);
  }
  return value;
}

interface ServerKey {
  meta: SnapshotMeta;
  initialized: boolean;
  chat: PyValue[];
  tasks: PyDict;
  extra?: PyDict;
}

function readServerKey(value: PyValue, label: string): ServerKey {
  if (!(value instanceof PyDict)) throw corrupt(`'${KEY_SERVER}' is a ${pyTypeName(value)}, not a dict`, label);
  const field = <T>(key: string, check: (v: PyValue) => v is PyValue & T, want: string): T => {
    const v = value.get(key);
    if (v === undefined || !check(v)) {
      throw corrupt(
        `'${KEY_SERVER}'['${key}'] is ${v === undefined ? 'missing' : `a ${pyTypeName(v)}`}, not ${want}`,
        label,
      );
    }
    return v as T;
  };
  const version = field<bigint>(META_KEYS.formatVersion, (v) => typeof v === 'bigint', 'an int');
  if (version > BigInt(SNAPSHOT_FORMAT_VERSION) || version < 1n) {
    throw storeError(
      'STORE_FORMAT',
      `${label}: snapshot format ${version} is not supported by this server (knows ${SNAPSHOT_FORMAT_VERSION}); upgrade the server`,
      { path: label },
    );
  }
  const snapshotId = field<string>(META_KEYS.snapshotId, (v) => typeof v === 'string', 'a str');
  if (!JOURNAL_SEGMENT_RE.test(`${snapshotId}.jnl`))
    throw corrupt(`snapshot id ${JSON.stringify(snapshotId)} is malformed`, label);
  const savedAt = field<number | bigint>(
    META_KEYS.savedAt,
    (v) => typeof v === 'number' || typeof v === 'bigint',
    'a number',
  );
  const extraValue = value.get(META_KEYS.extra);
  if (extraValue !== undefined && !(extraValue instanceof PyDict)) {
    throw corrupt(`'${KEY_SERVER}'['${META_KEYS.extra}'] is a ${pyTypeName(extraValue)}, not a dict`, label);
  }
  const out: ServerKey = {
    meta: {
      formatVersion: Number(version),
      serverVersion: field<string>(META_KEYS.serverVersion, (v) => typeof v === 'string', 'a str'),
      snapshotId,
      savedAtMs: Number(savedAt) * 1000,
      reason: field<string>(META_KEYS.reason, (v) => typeof v === 'string', 'a str'),
    },
    initialized: field<boolean>(META_KEYS.initialized, (v) => typeof v === 'boolean', 'a bool'),
    chat: field<PyValue[]>(META_KEYS.chat, (v) => Array.isArray(v), 'a list'),
    tasks: field<PyDict>(META_KEYS.tasks, (v) => v instanceof PyDict, 'a dict'),
  };
  if (extraValue !== undefined) out.extra = extraValue;
  return out;
}

async function* readChunks(handle: StoreFileHandle, size: number, path: string): AsyncGenerator<Uint8Array> {
  for (let pos = 0; pos < size;) {
    const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, size - pos));
    const n = await readFully(handle, buf, pos, path, true);
    if (n === 0) return;
    pos += n;
    yield n === buf.length ? buf : buf.subarray(0, n);
  }
}

/** Fills `buf` from `position`; with `allowShort`, stops early at end of file (a file that shrank). */
async function readFully(
  handle: StoreFileHandle,
  buf: Uint8Array,
  position: number,
  path: string,
  allowShort = false,
): Promise<number> {
  let off = 0;
  while (off < buf.length) {
    let n: number;
    try {
      n = await handle.read(buf, off, buf.length - off, position + off);
    } catch (e) {
      throw storeError('STORE_READ_FAILED', `${path}: ${describeCause(e)}`, { path }, e);
    }
    if (n === 0) {
      if (allowShort) return off;
      throw corrupt(`file ended at byte ${position + off} while reading`, path);
    }
    off += n;
  }
  return off;
}

function corrupt(reason: string, path: string, cause?: unknown, offset?: number): StoreError {
  return storeError('STORE_CORRUPT', `${path}: ${reason}`, offset === undefined ? { path } : { path, offset }, cause);
}
