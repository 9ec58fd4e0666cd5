/**
 * Reads a journal segment, telling a torn tail from corruption (STYLE.md §9; redis
 * `loadSingleAppendOnlyFile` `uxeof` vs `fmterr`, litestream `WALReader`):
 *
 * - a short, zero-filled or bad-CRC record with nothing valid after it is the normal end of a
 *   log whose writer stopped mid-record (crash, power loss): it is reported as `tornTail` and,
 *   with `repair`, cut off the file (if the search for a valid record after it was exhaustive);
 * - a bad record followed by a valid one is corruption: `STORE_CORRUPT`, or with `salvage` the
 *   valid records before it plus `corruption` (the caller keeps a copy and stops replay there).
 */
import { describeCause, storeError, type StoreError } from './errors.js';
import { NODE_STORE_FS, isErrno, type StoreFileHandle, type StoreFs } from './fs-port.js';
import {
  DEFAULT_MAX_RECORD_BYTES,
  JOURNAL_FORMAT_VERSION,
  JOURNAL_MAGIC,
  MAX_HEADER_BYTES,
  parseSegmentHeader,
  RECORD_HEADER_BYTES,
  recordCrcMatches,
  type SegmentHeader,
} from './journal-format.js';

export interface JournalReadOptions {
  fs?: StoreFs;
  /** Cut a torn tail off the file (and fsync it). Only while holding the data-dir lock. */
  repair?: boolean;
  /** Return the valid prefix of a corrupt segment (with `corruption` set) instead of throwing. */
  salvage?: boolean;
  maxRecordBytes?: number;
  /** Bytes of CRC work allowed when looking for a valid record after a bad one (default 64 MiB). */
  scanBudgetBytes?: number;
}

export type BadRecordReason = 'short-header' | 'short-payload' | 'bad-length' | 'bad-crc';

export interface TornTail {
  offset: number;
  reason: BadRecordReason;
  droppedBytes: number;
  /**
   * Whether the whole rest of the file was checked and holds no valid record. When the check ran
   * out of budget (a long torn payload full of plausible lengths) it is false: the rest reads as a
   * torn tail, but `repair` leaves the file alone so the caller can keep a copy first.
   */
  verified: boolean;
  /** Whether the file was truncated to `offset`. */
  truncated: boolean;
}

export interface JournalCorruption {
  offset: number;
  reason: BadRecordReason;
  /** Where the next valid record was found. */
  validRecordAt: number;
}

export interface SegmentRead {
  header: SegmentHeader;
  /** Payloads, in order. */
  records: Uint8Array[];
  /** Offset after the last valid record (= the file's length once repaired). */
  validBytes: number;
  fileBytes: number;
  tornTail: TornTail | null;
  corruption: JournalCorruption | null;
}

const WINDOW = 4 * 1024 * 1024;
const DEFAULT_SCAN_BUDGET = 64 * 1024 * 1024;

/**
 * Reads only the magic and header record. Throws StoreError: STORE_CORRUPT (bad magic, torn or
 * unparseable header), STORE_FORMAT (newer journal format), STORE_NOT_FOUND, STORE_READ_FAILED.
 */
export async function readSegmentHeader(
  path: string,
  options: { fs?: StoreFs } = {},
): Promise<{ header: SegmentHeader; headerBytes: number; fileBytes: number }> {
  const reader = await WindowReader.open(options.fs ?? NODE_STORE_FS, path, 'r');
  try {
    return await readHeader(reader, path);
  } finally {
    await reader.close();
  }
}

/** Reads a whole segment. Errors as `readSegmentHeader`, plus STORE_CORRUPT for corruption (unless `salvage`). */
export async function readJournalSegment(path: string, options: JournalReadOptions = {}): Promise<SegmentRead> {
  const fsys = options.fs ?? NODE_STORE_FS;
  const maxRecord = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const reader = await WindowReader.open(fsys, path, options.repair === true ? 'r+' : 'r');
  try {
    const { header, headerBytes, fileBytes } = await readHeader(reader, path);
    const records: Uint8Array[] = [];
    let pos = headerBytes;
    for (;;) {
      if (pos === fileBytes) {
        return { header, records, validBytes: pos, fileBytes, tornTail: null, corruption: null };
      }
      const rec = await reader.record(pos, maxRecord);
      if (rec.ok) {
        records.push(rec.payload);
        pos = rec.next;
        continue;
      }
      const validAt = await findValidRecord(reader, pos, rec.claimedLength, maxRecord, options.scanBudgetBytes);
      if (typeof validAt === 'number') {
        const corruption: JournalCorruption = { offset: pos, reason: rec.reason, validRecordAt: validAt };
        if (options.salvage !== true) {
          throw storeError(
            'STORE_CORRUPT',
            `${path}: journal record at byte ${pos} is damaged (${rec.reason}) but a valid record follows at byte ${validAt}`,
            { path, offset: pos },
          );
        }
        return { header, records, validBytes: pos, fileBytes, tornTail: null, corruption };
      }
      const verified = validAt === null;
      let truncated = false;
      if (options.repair === true && verified) {
        await reader.truncate(pos, path);
        truncated = true;
      }
      const tornTail: TornTail = {
        offset: pos,
        reason: rec.reason,
        droppedBytes: fileBytes - pos,
        verified,
        truncated,
      };
      return { header, records, validBytes: pos, fileBytes, tornTail, corruption: null };
    }
  } finally {
    await reader.close();
  }
}

async function readHeader(
  reader: WindowReader,
  path: string,
): Promise<{ header: SegmentHeader; headerBytes: number; fileBytes: number }> {
  const size = reader.size;
  const magic = await reader.bytes(0, Math.min(size, JOURNAL_MAGIC.length));
  if (magic.length < JOURNAL_MAGIC.length || !JOURNAL_MAGIC.equals(magic)) {
    throw corrupt(
      path,
      0,
      size < JOURNAL_MAGIC.length ? `only ${size} bytes, no journal header` : 'not a journal segment (bad magic)',
    );
  }
  const rec = await reader.record(JOURNAL_MAGIC.length, MAX_HEADER_BYTES);
  if (!rec.ok) throw corrupt(path, JOURNAL_MAGIC.length, `segment header is damaged (${rec.reason})`);
  const header = parseSegmentHeader(rec.payload);
  if (header === null) throw corrupt(path, JOURNAL_MAGIC.length, 'segment header is not valid');
  if (header.formatVersion !== JOURNAL_FORMAT_VERSION) {
    throw storeError('STORE_FORMAT', `${path}: journal format ${header.formatVersion} is not supported`, { path });
  }
  return { header, headerBytes: rec.next, fileBytes: size };
}

/**
 * The offset of a valid record after the bad one at `bad`; null when none exists; `'unknown'`
 * when the CRC budget ran out first. Cheap places first: where the bad record's length points
 * (a bit flip in a payload or CRC leaves the length intact) and where each single-bit change of
 * that length points (a bit flip in the length); then every byte, reading lengths synchronously
 * from 4 MiB windows and checking the CRC only of lengths that fit the file.
 */
async function findValidRecord(
  reader: WindowReader,
  bad: number,
  claimedLength: number | null,
  maxRecord: number,
  budgetBytes = DEFAULT_SCAN_BUDGET,
): Promise<number | null | 'unknown'> {
  const size = reader.size;
  if (claimedLength !== null) {
    for (let bit = -1; bit < 32; bit++) {
      const len = bit < 0 ? claimedLength : (claimedLength ^ (1 << bit)) >>> 0;
      const next = bad + RECORD_HEADER_BYTES + len;
      if (next + RECORD_HEADER_BYTES <= size && (await reader.record(next, maxRecord)).ok) return next;
    }
  }
  let budget = budgetBytes;
  for (let start = bad + 1; start + RECORD_HEADER_BYTES <= size;) {
    const win = await reader.bytes(start, Math.min(WINDOW, size - start));
    const last = start + win.length - RECORD_HEADER_BYTES;
    for (let q = start; q <= last; q++) {
      const len = win.readUInt32LE(q - start);
      if (len > maxRecord || q + RECORD_HEADER_BYTES + len > size) continue;
      budget -= RECORD_HEADER_BYTES + len;
      if (budget < 0) return 'unknown';
      if ((await reader.record(q, maxRecord)).ok) return q;
    }
    start = last + 1;
  }
  return null;
}

type RecordResult =
  | { ok: true; payload: Uint8Array; next: number }
  | { ok: false; reason: BadRecordReason; claimedLength: number | null };

/** Sequential reads through a 4 MiB window; record payloads are views of it (or own buffers when bigger). */
class WindowReader {
  private win: Buffer = Buffer.alloc(0);
  private winStart = 0;

  private constructor(
    private readonly handle: StoreFileHandle,
    readonly path: string,
    public size: number,
  ) {}

  static async open(fsys: StoreFs, path: string, flags: 'r' | 'r+'): Promise<WindowReader> {
    let handle: StoreFileHandle;
    try {
      handle = await fsys.open(path, flags);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) throw storeError('STORE_NOT_FOUND', `${path} does not exist`, { path }, e);
      throw storeError('STORE_READ_FAILED', `${path}: ${describeCause(e)}`, { path }, e);
    }
    try {
      return new WindowReader(handle, path, (await handle.stat()).size);
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw storeError('STORE_READ_FAILED', `${path}: ${describeCause(e)}`, { path }, e);
    }
  }

  async record(pos: number, maxLen: number): Promise<RecordResult> {
    if (pos + RECORD_HEADER_BYTES > this.size) return { ok: false, reason: 'short-header', claimedLength: null };
    const header = await this.bytes(pos, RECORD_HEADER_BYTES);
    const len = header.readUInt32LE(0);
    if (len > maxLen) return { ok: false, reason: 'bad-length', claimedLength: len };
    const next = pos + RECORD_HEADER_BYTES + len;
    if (next > this.size) return { ok: false, reason: 'short-payload', claimedLength: len };
    const headerCopy = Buffer.from(header);
    const payload = await this.bytes(pos + RECORD_HEADER_BYTES, len);
    if (!recordCrcMatches(headerCopy, payload)) return { ok: false, reason: 'bad-crc', claimedLength: len };
    return { ok: true, payload, next };
  }

  async u32(pos: number): Promise<number> {
    return (await this.bytes(pos, 4)).readUInt32LE(0);
  }

  /** `len` bytes at `pos` (the caller has checked they exist). */
  async bytes(pos: number, len: number): Promise<Buffer> {
    if (pos >= this.winStart && pos + len <= this.winStart + this.win.length) {
      return this.win.subarray(pos - this.winStart, pos - this.winStart + len);
    }
    if (len > WINDOW) {
      const own = Buffer.allocUnsafe(len);
      await this.fill(own, pos);
      return own;
    }
    const winLen = Math.min(Math.max(WINDOW, len), this.size - pos);
    // A new buffer each time: earlier records keep viewing the old one.
    this.win = Buffer.allocUnsafe(winLen);
    this.winStart = pos;
    await this.fill(this.win, pos);
    return this.win.subarray(0, len);
  }

  private async fill(buf: Buffer, pos: number): Promise<void> {
    let off = 0;
    while (off < buf.length) {
      let n: number;
      try {
        n = await this.handle.read(buf, off, buf.length - off, pos + off);
      } catch (e) {
        throw storeError('STORE_READ_FAILED', `${this.path}: ${describeCause(e)}`, { path: this.path }, e);
      }
      if (n === 0)
        throw storeError('STORE_READ_FAILED', `${this.path}: file shrank while being read`, { path: this.path });
      off += n;
    }
  }

  async truncate(length: number, path: string): Promise<void> {
    try {
      await this.handle.truncate(length);
      await this.handle.sync();
    } catch (e) {
      throw storeError(
        'STORE_WRITE_FAILED',
        `${path}: ${describeCause(e)} (step: truncate)`,
        { step: 'truncate', path },
        e,
      );
    }
    this.size = length;
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

function corrupt(path: string, offset: number, reason: string): StoreError {
  return storeError('STORE_CORRUPT', `${path}: ${reason}`, { path, offset });
}
