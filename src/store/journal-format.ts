/**
 * The journal's on-disk format (STYLE.md §9: a length, a checksum, then the payload).
 *
 * A segment file (`journal/<segment id>.jnl`):
 * ```
 * magic     8 bytes  "MUSJRNL1"
 * header    record   UTF-8 JSON: {"format":1,"segment_id":…,"follows":…,"created_at":…,"server_version":…}
 * record*   u32 LE payload length · u32 LE CRC-32 of (the 4 length bytes ‖ payload) · payload
 * ```
 * The CRC covers the length too, so a damaged length is caught, and a run of zero bytes (a file
 * extended but never written, after power loss) never reads as a valid empty record.
 *
 * `follows` binds the segment to what its records apply to:
 * - `{"kind":"snapshot","snapshot_id":X}` — the snapshot with id X (then segment_id = X);
 * - `{"kind":"empty"}` — the empty session (a server that never saved yet);
 * - `{"kind":"segment","segment_id":P,"bytes":N}` — the state after the first N bytes of segment P.
 *   A rotation at snapshot capture starts such a segment whose id is the new snapshot's id.
 * Payloads are opaque to the store (the session's encoded mutations).
 */
import { crc32 } from './crc32.js';

export const JOURNAL_MAGIC = Buffer.from('MUSJRNL1', 'latin1');
export const JOURNAL_FORMAT_VERSION = 1;
export const RECORD_HEADER_BYTES = 8;
/** Default bound on one record's payload; a length beyond it is damage. */
export const DEFAULT_MAX_RECORD_BYTES = 2 * 1024 * 1024 * 1024;
/** Bound on the header record (a few hundred bytes of JSON in practice). */
export const MAX_HEADER_BYTES = 64 * 1024;

export type JournalFollows =
  { kind: 'snapshot'; snapshotId: string } | { kind: 'empty' } | { kind: 'segment'; segmentId: string; bytes: number };

export interface SegmentHeader {
  formatVersion: number;
  segmentId: string;
  follows: JournalFollows;
  createdAtMs: number;
  serverVersion: string;
}

/** The 8-byte record header for `parts` (their concatenation is the payload). */
export function recordHeader(parts: readonly Uint8Array[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  const h = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
  h.writeUInt32LE(len, 0);
  let crc = crc32(h.subarray(0, 4));
  for (const p of parts) crc = crc32(p, crc);
  h.writeUInt32LE(crc, 4);
  return h;
}

/** Whether `payload` matches the CRC of a record header. */
export function recordCrcMatches(header: Uint8Array, payload: Uint8Array): boolean {
  const dv = new DataView(header.buffer, header.byteOffset, RECORD_HEADER_BYTES);
  return crc32(payload, crc32(header.subarray(0, 4))) === dv.getUint32(4, true);
}

/** The bytes a segment starts with: magic and header record. */
export function encodeSegmentStart(h: SegmentHeader): Buffer {
  const follows =
    h.follows.kind === 'snapshot'
      ? { kind: 'snapshot', snapshot_id: h.follows.snapshotId }
      : h.follows.kind === 'empty'
        ? { kind: 'empty' }
        : { kind: 'segment', segment_id: h.follows.segmentId, bytes: h.follows.bytes };
  const json = Buffer.from(
    JSON.stringify({
      format: h.formatVersion,
      segment_id: h.segmentId,
      follows,
      created_at: h.createdAtMs / 1000,
      server_version: h.serverVersion,
    }),
    'utf8',
  );
  return Buffer.concat([JOURNAL_MAGIC, recordHeader([json]), json]);
}

/** Parses a header record's payload; null when it is not a header we understand. */
export function parseSegmentHeader(payload: Uint8Array): SegmentHeader | null {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8'));
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const f = o.follows as Record<string, unknown> | null | undefined;
  if (typeof o.format !== 'number' || typeof o.segment_id !== 'string' || typeof f !== 'object' || f === null) {
    return null;
  }
  let follows: JournalFollows;
  if (f.kind === 'snapshot' && typeof f.snapshot_id === 'string')
    follows = { kind: 'snapshot', snapshotId: f.snapshot_id };
  else if (f.kind === 'empty') follows = { kind: 'empty' };
  else if (f.kind === 'segment' && typeof f.segment_id === 'string' && Number.isSafeInteger(f.bytes)) {
    follows = { kind: 'segment', segmentId: f.segment_id, bytes: f.bytes as number };
  } else return null;
  return {
    formatVersion: o.format,
    segmentId: o.segment_id,
    follows,
    createdAtMs: typeof o.created_at === 'number' ? o.created_at * 1000 : 0,
    serverVersion: typeof o.server_version === 'string' ? o.server_version : '',
  };
}

/** `always` | an interval in ms | `off`, as redis `appendfsync` (STYLE.md §8). */
export type JournalFsyncPolicy = 'always' | 'off' | number;

/**
 * Default: fsync every 100 ms. A process crash loses nothing (each record is written to the
 * page cache before it is relayed); power loss loses at most the last ~100 ms (the default JOURNAL_FSYNC, documented in README).
 */
export const DEFAULT_JOURNAL_FSYNC: JournalFsyncPolicy = 100;

/** Parses `JOURNAL_FSYNC` text: `always`, `off`, or a positive integer of milliseconds; null if invalid. */
export function parseJournalFsync(text: string): JournalFsyncPolicy | null {
  const t = text.trim().toLowerCase();
  if (t === 'always' || t === 'off') return t;
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return n >= 1 && n <= 60_000 ? n : null;
}
