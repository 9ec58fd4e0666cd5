/**
 * A journal record's payload: one `Mutation` as a protocol-4 pickle of a plain dict
 *
 * ```
 * {'v': 1, 't': 'node', 'uuid': str, 'owner': str, 'deps': bytes, 'data': bytes}
 * {'v': 1, 't': 'commit', 'uuid': str, 'deps': bytes, 'delta': bytes}
 * {'v': 1, 't': 'delete', 'uuids': [str]}            {'v': 1, 't': 'owner', 'uuids': [str], 'owner': str}
 * {'v': 1, 't': 'user-join', 'name': str, 'admin': bool}   {'v': 1, 't': 'user-leave', 'name': str}
 * {'v': 1, 't': 'metadata', 'name': str, 'data': dict}     {'v': 1, 't': 'init-done'}
 * {'v': 1, 't': 'chat', 'messages': [dict]}          {'v': 1, 't': 'tasks', 'put': dict, 'remove': [str]}
 * ```
 *
 * A pickle because metadata and archive values are Python values (tuples, sets, int vs float)
 * that the pickle codec already carries exactly, and because its hardened decoder bounds hostile
 * input; `deps`, `data` and `delta` are the received frames, kept as bytes (never re-encoded).
 * Readable with CPython's restricted unpickler (no global is ever written).
 *
 * Decoding checks the whole shape (and the node frames as the protocol codec would), so a record
 * that decodes can be applied without further checks; anything else is a `SessionError`
 * `SESSION_MUTATION_CORRUPT`, never another exception.
 */
import { encodePickle, encodePickleParts, PyDict, type PyValue } from '../pickle/index.js';
import {
  decodeMessage,
  MessageType,
  typeFrame,
  type Commit,
  type Node,
  decodePlainPickle,
  encodeTextFrame,
  type ProtocolLimits,
} from '../protocol/index.js';
import { sessionError } from './errors.js';
import { protocolLimitsOf, resolveSessionLimits, type SessionLimits } from './limits.js';
import type { Mutation } from './mutation.js';
import { pyJsonDumps } from './py-json.js';

/** Format version of a record (`'v'`); a reader refuses versions it does not know. */
export const MUTATION_FORMAT_VERSION = 1n;

/**
 * When and by whom a change was accepted: history's `'at'` (ms since the epoch, a float) and `'by'`
 * (str, the user whose message it was) keys. Optional: readers that predate history ignore them,
 * and a record without them (older journals, server-made changes) lists without a user.
 */
export interface RecordStamp {
  atMs: number;
  by?: string | undefined;
}

function recordOf(m: Mutation, stamp?: RecordStamp): PyDict {
  const d = new PyDict();
  d.setStr('v', MUTATION_FORMAT_VERSION);
  d.setStr('t', m.type);
  switch (m.type) {
    case 'node':
      d.setStr('uuid', m.uuid);
      d.setStr('owner', m.owner);
      d.setStr('deps', m.depsBytes);
      d.setStr('data', m.dataBytes);
      break;
    case 'commit':
      d.setStr('uuid', m.uuid);
      d.setStr('deps', m.depsBytes);
      d.setStr('delta', m.deltaBytes);
      break;
    case 'delete':
      d.setStr('uuids', [...m.uuids]);
      break;
    case 'owner':
      d.setStr('uuids', [...m.uuids]);
      d.setStr('owner', m.owner);
      break;
    case 'user-join':
      d.setStr('name', m.name);
      d.setStr('admin', m.admin);
      break;
    case 'user-leave':
      d.setStr('name', m.name);
      break;
    case 'metadata':
      d.setStr('name', m.name);
      d.setStr('data', m.data);
      break;
    case 'init-done':
      break;
    case 'chat':
      d.setStr('messages', [...m.messages]);
      break;
    case 'tasks':
      d.setStr('put', m.put);
      d.setStr('remove', [...m.remove]);
      break;
  }
  if (stamp !== undefined) {
    // A float of whole milliseconds (exact below 2^53): encoding it is a fixed 9 bytes, where an
    // int this size takes the pickler's slower long path on every journaled change.
    d.setStr('at', Math.trunc(stamp.atMs));
    if (stamp.by !== undefined) d.setStr('by', stamp.by);
  }
  return d;
}

/** The record bytes of a mutation (one copy of node data / delta bytes). */
export function encodeMutation(m: Mutation, stamp?: RecordStamp): Buffer {
  return encodePickle(recordOf(m, stamp));
}

/** The record bytes as parts whose large bytes values are the mutation's own buffers (zero copy). */
export function encodeMutationParts(m: Mutation, stamp?: RecordStamp): Buffer[] {
  return encodePickleParts(recordOf(m, stamp));
}

const corrupt = (why: string, cause?: unknown): Error =>
  sessionError('SESSION_MUTATION_CORRUPT', `journal record refused: ${why}`, cause);

function field(d: PyDict, key: string): PyValue {
  const v = d.get(key);
  if (v === undefined) throw corrupt(`no '${key}'`);
  return v;
}

function str(d: PyDict, key: string): string {
  const v = field(d, key);
  if (typeof v !== 'string') throw corrupt(`'${key}' is not a str`);
  return v;
}

function bytes(d: PyDict, key: string): Uint8Array {
  const v = field(d, key);
  if (!(v instanceof Uint8Array)) throw corrupt(`'${key}' is not bytes`);
  return v;
}

function strList(d: PyDict, key: string): string[] {
  const v = field(d, key);
  if (!Array.isArray(v) || !v.every((s): s is string => typeof s === 'string')) throw corrupt(`'${key}' is not [str]`);
  return v;
}

function dict(d: PyDict, key: string): PyDict {
  const v = field(d, key);
  if (!(v instanceof PyDict)) throw corrupt(`'${key}' is not a dict`);
  return v;
}

/** Archived values end up in the archive entry's JSON: refuse what json.dumps could not write. */
function checkDumpable(v: PyValue, what: string): void {
  try {
    pyJsonDumps(v);
  } catch {
    throw corrupt(`${what} is not JSON data`);
  }
}

/** What archive.ts relies on in a message: a JSON-able dict with a str `id` and a numeric `timestamp`. */
function chatMessages(d: PyDict): PyDict[] {
  const v = field(d, 'messages');
  if (!Array.isArray(v)) throw corrupt("'messages' is not a list");
  for (const m of v) {
    const ts = m instanceof PyDict ? m.get('timestamp') : undefined;
    const ok =
      m instanceof PyDict &&
      typeof m.get('id') === 'string' &&
      (typeof ts === 'bigint' || (typeof ts === 'number' && Number.isFinite(ts)));
    if (!ok) throw corrupt('a chat message lacks a str id or a numeric timestamp');
    checkDumpable(m, 'a chat message');
  }
  return v as PyDict[];
}

function taskPuts(d: PyDict): PyDict {
  const put = dict(d, 'put');
  for (const [id, task] of put.entries()) {
    if (typeof id !== 'string' || !(task instanceof PyDict)) throw corrupt("'put' is not {str: dict}");
    checkDumpable(task, 'a task');
  }
  return put;
}

interface RecordLimits {
  session: SessionLimits;
  /** The frame codec's bounds for a record's node frames. */
  frames: ProtocolLimits;
}

const DEFAULT_RECORD_LIMITS = recordLimitsOf(undefined);
const recordLimitsCache = new WeakMap<Partial<SessionLimits>, RecordLimits>();

function recordLimitsOf(limits: Partial<SessionLimits> | undefined): RecordLimits {
  const session = resolveSessionLimits(limits);
  return { session, frames: protocolLimitsOf(session, session.maxPayloadFrameBytes) };
}

/**
 * The resolved bounds for a caller's overrides, merged once per overrides object: a replay decodes
 * every record with the same one, and fresh objects per record also defeat the pickle codecs'
 * own per-object caches (merging and collecting them was a tenth of a replay's time).
 */
function recordLimits(limits: Partial<SessionLimits> | undefined): RecordLimits {
  if (limits === undefined) return DEFAULT_RECORD_LIMITS;
  let r = recordLimitsCache.get(limits);
  if (r === undefined) recordLimitsCache.set(limits, (r = recordLimitsOf(limits)));
  return r;
}

function decodeFields(d: PyDict, limits: RecordLimits): Mutation {
  const type = str(d, 't');
  const frameLimits = limits.frames;
  switch (type) {
    case 'node': {
      const uuid = str(d, 'uuid');
      const owner = str(d, 'owner');
      const frames = [typeFrame(MessageType.Node), encodeTextFrame(uuid, 1), encodeTextFrame(owner, 2)];
      const node = decodeMessage([...frames, bytes(d, 'deps'), bytes(d, 'data')], frameLimits) as Node;
      return { type, uuid, owner, deps: node.deps, depsBytes: bytes(d, 'deps'), dataBytes: node.dataBytes };
    }
    case 'commit': {
      const uuid = str(d, 'uuid');
      const frames = [typeFrame(MessageType.Commit), encodeTextFrame(uuid, 1), bytes(d, 'deps'), bytes(d, 'delta')];
      const commit = decodeMessage(frames, frameLimits) as Commit;
      return { type, uuid, deps: commit.deps, depsBytes: bytes(d, 'deps'), deltaBytes: commit.deltaBytes };
    }
    case 'delete':
      return { type, uuids: strList(d, 'uuids') };
    case 'owner':
      return { type, uuids: strList(d, 'uuids'), owner: str(d, 'owner') };
    case 'user-join': {
      const admin = field(d, 'admin');
      if (typeof admin !== 'boolean') throw corrupt("'admin' is not a bool");
      return { type, name: str(d, 'name'), admin };
    }
    case 'user-leave':
      return { type, name: str(d, 'name') };
    case 'metadata':
      return { type, name: str(d, 'name'), data: dict(d, 'data') };
    case 'init-done':
      return { type };
    case 'chat':
      return { type, messages: chatMessages(d) };
    case 'tasks':
      return { type, put: taskPuts(d), remove: strList(d, 'remove') };
  }
  throw corrupt(`unknown type ${JSON.stringify(type.slice(0, 32))}`);
}

/**
 * Decodes a record written by `encodeMutation`. `limits` bound the pickle and the node frames
 * (defaults: `DEFAULT_SESSION_LIMITS`). Throws `SessionError` `SESSION_MUTATION_CORRUPT` for
 * anything else — truncated or flipped bytes, a global, a wrong shape, an unknown version.
 * Bytes values are views of `buf`: keep `buf` unmodified while the mutation lives.
 */
export function decodeMutation(buf: Uint8Array, limits?: Partial<SessionLimits>): Mutation {
  return decodeJournalRecord(buf, limits).mutation;
}

/**
 * Only the record's `'at'` stamp (null when it has none or does not decode): the pickle is read
 * but the mutation's fields are not checked, so skipping records by time costs a fraction of a
 * full decode. Never throws.
 */
export function peekRecordTime(buf: Uint8Array, limits?: Partial<SessionLimits>): number | null {
  try {
    const value = decodePlainPickle(buf, 0, recordLimits(limits).session.pickle);
    const at = value instanceof PyDict ? value.get('at') : undefined;
    return typeof at === 'number' && Number.isFinite(at) ? at : typeof at === 'bigint' ? Number(at) : null;
  } catch {
    return null;
  }
}

/** A decoded record with its stamp (null fields when the record carries none). */
export interface JournalRecord {
  mutation: Mutation;
  atMs: number | null;
  by: string | null;
}

/** `decodeMutation` plus the record's stamp (`'at'`, `'by'`); same errors. */
export function decodeJournalRecord(buf: Uint8Array, limits?: Partial<SessionLimits>): JournalRecord {
  const resolved = recordLimits(limits);
  let value: PyValue;
  try {
    value = decodePlainPickle(buf, 0, resolved.session.pickle);
  } catch (err) {
    throw corrupt('not a plain pickle', err);
  }
  if (!(value instanceof PyDict)) throw corrupt('not a dict');
  if (value.get('v') !== MUTATION_FORMAT_VERSION) throw corrupt("unknown format version 'v'");
  const at = value.get('at');
  const by = value.get('by');
  try {
    return {
      mutation: decodeFields(value, resolved),
      atMs: typeof at === 'number' && Number.isFinite(at) ? at : typeof at === 'bigint' ? Number(at) : null,
      by: typeof by === 'string' ? by : null,
    };
  } catch (err) {
    if ((err as { code?: unknown }).code === 'SESSION_MUTATION_CORRUPT') throw err;
    throw corrupt(`a field does not decode (${String((err as { code?: unknown }).code)})`, err);
  }
}
