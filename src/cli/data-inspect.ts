/**
 * What the next start would load, found WITHOUT changing anything: the decisions of
 * store/recovery.ts (`loadNewestValid`) made read-only — nothing is moved to corrupt/, no torn
 * tail is cut, no obsolete segment is deleted. The tools report what recovery *will* do instead.
 *
 * Files, in recovery's order: session_snapshot.pkl, then backups/ newest first. A missing file is
 * skipped; a damaged one (STORE_CORRUPT) or one refused as input (STORE_REFUSED) is passed over; any other error (a newer format, an I/O
 * error, a limit) is where recovery stops and the server refuses to start (`fatal`).
 * The journal: planJournalChain for the loaded snapshot's id, then recovery's reader on each
 * chain segment (`salvage`, never `repair`), with the same gap check between segments.
 * data-inspect.test.ts checks the result against what `loadNewestValid` really loads.
 */
import { join } from 'node:path';

import {
  listBackups,
  describeCause,
  isUnloadable,
  StoreError,
  BACKUPS_DIR,
  JOURNAL_DIR,
  JOURNAL_SEGMENT_RE,
  METADATA_FILE,
  SNAPSHOT_FILE,
  NODE_STORE_FS,
  readdirOrEmpty,
  statOrNull,
  planJournalChain,
  type SegmentEntry,
  type SegmentHeader,
  readJournalSegment,
  readSegmentHeader,
  type SegmentRead,
  readMetadataFile,
  findMissingJournalSegment,
  readSnapshotFile,
  type DecodedSnapshot,
  type ImageCheck,
  type SnapshotMeta,
} from '../store/index.js';
import { Progress, progressFs, type ProgressOptions } from './data-progress.js';

/** What a snapshot or backup file holds (kept after its decoded image is dropped). */
export interface SnapshotSummary {
  nodes: number;
  users: number;
  chat: number;
  tasks: number;
  initialized: boolean;
  snapshotId: string;
  /** Null for a file saved by the add-on. */
  meta: SnapshotMeta | null;
  /** The snapshot's own save time, or the file's mtime for an add-on file (as recovery logs it). */
  savedAtMs: number;
}

export interface FileCheck {
  /** Relative to DATA_DIR: `session_snapshot.pkl` or `backups/snapshot_….pkl`. */
  file: string;
  kind: 'snapshot' | 'backup';
  path: string;
  bytes: number;
  mtimeMs: number;
  /** Null when it does not decode. */
  summary: SnapshotSummary | null;
  /** STORE_CORRUPT (damaged), STORE_REFUSED (refused as input), or what stops recovery: STORE_FORMAT, STORE_READ_FAILED, STORE_LIMIT. */
  error: StoreError | null;
}

export type Verdict = 'ok' | 'warn' | 'fail';

export interface SegmentCheck {
  /** `journal/<name>`. */
  file: string;
  /** replay: recovery replays it; obsolete: older than the snapshot, deleted at start; foreign: moved aside, not replayed. */
  role: 'replay' | 'obsolete' | 'foreign' | 'missing';
  verdict: Verdict;
  records: number;
  detail: string;
}

export interface JournalCheck {
  segments: SegmentCheck[];
  /** The payloads recovery would replay, in order. */
  records: Uint8Array[];
  /** No segment failed: everything recovery replays is intact and nothing it drops was meant for this snapshot. */
  consistent: boolean;
}

export interface LoadPlan {
  /** Every file checked, in recovery's order. */
  files: FileCheck[];
  /** The file recovery loads (null: nothing on disk, every file damaged, or `fatal`). */
  loaded: { check: FileCheck; decoded: DecodedSnapshot } | null;
  /** The file at which recovery would stop with an error (the server refuses to start). */
  fatal: FileCheck | null;
  journal: JournalCheck;
}

export interface InspectOptions {
  /** The validation the server applies to every file it loads (`imageCheckOf`). */
  check: ImageCheck;
  /** Decode every file (`backups`, `verify`), not only up to the one recovery loads. */
  checkAll: boolean;
  /** Leave the journal unread (`backups` lists snapshot files only). */
  skipJournal?: boolean;
  /** Progress lines go here. */
  stderr: NodeJS.WritableStream;
  progress?: ProgressOptions;
}

/** Snapshot files in recovery's order: the snapshot, then backups newest first. */
async function candidates(dataDir: string): Promise<{ kind: 'snapshot' | 'backup'; file: string }[]> {
  const out: { kind: 'snapshot' | 'backup'; file: string }[] = [{ kind: 'snapshot', file: SNAPSHOT_FILE }];
  for (const b of (await listBackups(dataDir)).reverse())
    out.push({ kind: 'backup', file: `${BACKUPS_DIR}/${b.name}` });
  return out;
}

/** Decodes one file fully (with byte progress). Null when it does not exist. */
export async function checkSnapshotFile(
  path: string,
  file: string,
  kind: 'snapshot' | 'backup',
  imageCheck: ImageCheck,
  stderr: NodeJS.WritableStream,
  progressOptions?: ProgressOptions,
): Promise<{ check: FileCheck; decoded: DecodedSnapshot | null } | null> {
  const st = await statOrNull(NODE_STORE_FS, path);
  if (st === null) return null;
  const check: FileCheck = { file, kind, path, bytes: st.size, mtimeMs: st.mtimeMs, summary: null, error: null };
  const progress = new Progress(stderr, `Reading ${file}`, 'bytes', st.size, progressOptions);
  try {
    const decoded = await readSnapshotFile(path, { fs: progressFs(NODE_STORE_FS, progress), check: imageCheck });
    progress.finish();
    check.summary = summaryOf(decoded, st.mtimeMs);
    return { check, decoded };
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    if (err.code === 'STORE_NOT_FOUND') return null;
    check.error = err;
    return { check, decoded: null };
  }
}

export function summaryOf(decoded: DecodedSnapshot, mtimeMs: number): SnapshotSummary {
  const { image } = decoded;
  return {
    nodes: image.nodes.length,
    users: image.users.size,
    chat: image.chat.length,
    tasks: image.tasks.size,
    initialized: image.initialized,
    snapshotId: decoded.snapshotId,
    meta: decoded.meta,
    savedAtMs: decoded.meta?.savedAtMs ?? mtimeMs,
  };
}

/** Finds what the next start loads (see the file comment). Changes nothing on disk. */
export async function inspectDataDir(dataDir: string, options: InspectOptions): Promise<LoadPlan> {
  const files: FileCheck[] = [];
  let loaded: LoadPlan['loaded'] = null;
  let fatal: FileCheck | null = null;
  for (const c of await candidates(dataDir)) {
    if (!options.checkAll && (loaded !== null || fatal !== null)) break;
    const r = await checkSnapshotFile(
      join(dataDir, c.file),
      c.file,
      c.kind,
      options.check,
      options.stderr,
      options.progress,
    );
    if (r === null) continue;
    files.push(r.check);
    if (loaded !== null || fatal !== null) continue; // checked for the report only; drop the image
    if (r.decoded !== null) loaded = { check: r.check, decoded: r.decoded };
    else if (!isUnloadable(r.check.error)) fatal = r.check;
  }
  const loadedId = loaded?.decoded.snapshotId ?? null;
  const journal =
    options.skipJournal === true
      ? { segments: [], records: [], consistent: true }
      : await inspectJournal(dataDir, loadedId, options);
  return { files, loaded, fatal, journal };
}

/** Mirrors recovery's `recoverJournal` read-only. */
export async function inspectJournal(
  dataDir: string,
  loadedId: string | null,
  options: Pick<InspectOptions, 'stderr' | 'progress'>,
): Promise<JournalCheck> {
  const dir = join(dataDir, JOURNAL_DIR);
  const segments: SegmentCheck[] = [];
  const entries: SegmentEntry[] = [];
  const headerProblems = new Map<string, string>();
  const metadata = await readMetadataFile(dataDir, NODE_STORE_FS);
  const missing = await findMissingJournalSegment(NODE_STORE_FS, dataDir, metadata, loadedId);
  if (missing !== null) {
    segments.push({
      file: missing,
      role: 'missing',
      verdict: 'fail',
      records: 0,
      detail:
        'MISSING: session_metadata.json says it continues the loaded snapshot; the changes made after that save are lost',
    });
  }
  for (const name of (await readdirOrEmpty(NODE_STORE_FS, dir)).sort()) {
    if (!JOURNAL_SEGMENT_RE.test(name)) continue;
    let header: SegmentHeader | null = null;
    try {
      header = (await readSegmentHeader(join(dir, name))).header;
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      if (err.code !== 'STORE_CORRUPT') {
        // Recovery stops here: the server would refuse to start.
        segments.push({
          file: `${JOURNAL_DIR}/${name}`,
          role: 'foreign',
          verdict: 'fail',
          records: 0,
          detail: err.message,
        });
        continue;
      }
      headerProblems.set(name, err.message);
    }
    entries.push({ name, header });
  }
  const plan = planJournalChain(entries, loadedId);
  const records: Uint8Array[] = [];

  for (const e of plan.obsolete) {
    segments.push({
      file: `${JOURNAL_DIR}/${e.name}`,
      role: 'obsolete',
      verdict: 'ok',
      records: 0,
      detail: 'older than the snapshot it leads to; deleted at the next start',
    });
  }
  for (const e of plan.foreign) {
    const h = e.header;
    if (h === null) {
      segments.push({
        file: `${JOURNAL_DIR}/${e.name}`,
        role: 'foreign',
        verdict: 'fail',
        records: 0,
        detail: `header damaged (${headerProblems.get(e.name) ?? 'unreadable'}); its records cannot be replayed; moved to corrupt/ at the next start`,
      });
      continue;
    }
    const why =
      h.follows.kind === 'snapshot'
        ? `it follows snapshot ${h.follows.snapshotId}`
        : h.follows.kind === 'empty'
          ? 'it follows an empty session'
          : `it follows journal ${h.follows.segmentId}`;
    const read = await readQuietly(join(dir, e.name));
    const n = typeof read === 'string' ? 0 : read.records.length;
    segments.push({
      file: `${JOURNAL_DIR}/${e.name}`,
      role: 'foreign',
      verdict: 'warn',
      records: n,
      detail:
        `not for the snapshot that loads (${why}; loads: ${loadedId ?? 'none'}): ${n} record(s) NOT replayed; ` +
        'moved to corrupt/ at the next start (expected after a backup was copied over the snapshot by hand)',
    });
  }

  let tail: { id: string; bytes: number } | null = null;
  for (let i = 0; i < plan.chain.length; i++) {
    const e = plan.chain[i];
    const header = e.header as SegmentHeader;
    const file = `${JOURNAL_DIR}/${e.name}`;
    if (tail !== null && header.follows.kind === 'segment' && header.follows.bytes !== tail.bytes) {
      const expected = header.follows.bytes;
      const found = tail.bytes;
      for (const rest of plan.chain.slice(i)) {
        segments.push({
          file: `${JOURNAL_DIR}/${rest.name}`,
          role: 'foreign',
          verdict: 'fail',
          records: 0,
          detail: `gap: it follows ${expected} bytes of its predecessor but only ${found} are valid; NOT replayed`,
        });
      }
      break;
    }
    const size = (await statOrNull(NODE_STORE_FS, join(dir, e.name)))?.size ?? 0;
    const progress = new Progress(options.stderr, `Reading ${file}`, 'bytes', size, options.progress);
    const read = await readJournalSegment(join(dir, e.name), {
      fs: progressFs(NODE_STORE_FS, progress),
      salvage: true,
    });
    progress.finish();
    for (const r of read.records) records.push(r);
    segments.push(chainVerdict(file, read));
    tail = { id: header.segmentId, bytes: read.validBytes };
  }
  const consistent = segments.every((s) => s.verdict !== 'fail');
  return { segments, records, consistent };
}

function chainVerdict(file: string, read: SegmentRead): SegmentCheck {
  const base = { file, role: 'replay' as const, records: read.records.length };
  if (read.corruption !== null) {
    const c = read.corruption;
    return {
      ...base,
      verdict: 'fail',
      detail:
        `CORRUPT at byte ${c.offset} (${c.reason}) with a valid record at byte ${c.validRecordAt}: ` +
        `${read.records.length} record(s) before it replay, the rest is dropped`,
    };
  }
  if (read.tornTail !== null) {
    const t = read.tornTail;
    return {
      ...base,
      verdict: 'warn',
      detail:
        `${read.records.length} record(s) to replay; torn last record at byte ${t.offset} (${t.droppedBytes} bytes, ` +
        `${t.reason}) is dropped at the next start: the normal end of a log cut by a crash`,
    };
  }
  return { ...base, verdict: 'ok', detail: `${read.records.length} record(s) to replay` };
}

async function readQuietly(path: string): Promise<SegmentRead | string> {
  try {
    return await readJournalSegment(path, { salvage: true });
  } catch (err) {
    return describeCause(err);
  }
}

/** How many times a read that a save interrupted is started again before giving up. */
export const MAX_INSPECT_ATTEMPTS = 3;

/**
 * What identifies one saved state of the directory: the snapshot and metadata files (replaced by
 * rename at each save, so a new save changes their size or mtime) and the names in backups/ and
 * journal/ (a save rotates the journal, adds a backup and deletes covered segments and old
 * backups). Appends to the current journal segment do not change it: a reader sees a prefix of
 * an append-only file, which is a consistent state (at worst a torn last record).
 */
async function directoryGeneration(dataDir: string): Promise<string> {
  const parts: string[] = [];
  for (const file of [SNAPSHOT_FILE, METADATA_FILE]) {
    const st = await statOrNull(NODE_STORE_FS, join(dataDir, file));
    parts.push(st === null ? `${file}:-` : `${file}:${st.size}:${st.mtimeMs}`);
  }
  for (const dir of [BACKUPS_DIR, JOURNAL_DIR]) {
    parts.push(`${dir}:${(await readdirOrEmpty(NODE_STORE_FS, join(dataDir, dir))).sort().join(',')}`);
  }
  return parts.join('|');
}

export interface StablePlan {
  plan: LoadPlan;
  /** Reads made (1 when nothing changed during the first). */
  attempts: number;
  /** False when a save changed the directory during every attempt: the plan may mix two saves. */
  stable: boolean;
}

/**
 * `inspectDataDir` on a directory a live server may save into while it is read: each file is
 * opened once and read fully (a file renamed over or deleted after it was opened keeps its
 * content for the reader), and when the directory's generation differs before and after the read
 * (a save happened in between, so the snapshot read and the journal listed may belong to
 * different saves) the whole read starts again, up to MAX_INSPECT_ATTEMPTS times.
 */
export async function inspectDataDirStable(
  dataDir: string,
  options: InspectOptions,
  inspect: (dataDir: string, options: InspectOptions) => Promise<LoadPlan> = inspectDataDir,
): Promise<StablePlan> {
  for (let attempt = 1; ; attempt++) {
    const before = await directoryGeneration(dataDir);
    const plan = await inspect(dataDir, options);
    const after = await directoryGeneration(dataDir);
    if (before === after) return { plan, attempts: attempt, stable: true };
    if (attempt >= MAX_INSPECT_ATTEMPTS) return { plan, attempts: attempt, stable: false };
    options.stderr.write(`The data directory changed while it was read (a save); reading it again\n`);
  }
}
