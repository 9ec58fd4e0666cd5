/**
 * Reading session history (docs/history.md): each change listed with time, user, kind, node,
 * type and name; a moment (a time, or "just before change X") resolved to a place in the
 * timeline; and the session at that moment rebuilt from the nearest checkpoint before it plus a
 * replay through the session's own code (`applyMutation`, as recovery does), so the nodes come
 * out as the very bytes clients were sent.
 *
 * Read-only: works while the server runs (history/ files never change once written; the active
 * journal segment is only appended to).
 */
import { PyDict } from '../pickle/index.js';
import { OWNER_COMMON, decodePlainPickle } from '../protocol/index.js';
import {
  SessionError,
  decodeJournalRecord,
  peekRecordTime,
  type Mutation,
  type SessionImage,
  Session,
  type SessionOptions,
} from '../session/index.js';
import {
  listHistory,
  type HistoryCheckpoint,
  type HistoryListing,
  type HistorySegment,
  HistoryGapError,
  planReplay,
  readSegmentRecords,
  segmentKey,
  type SegmentBreak,
  readSnapshotFile,
} from '../store/index.js';
import { formatMoment } from './history-time.js';

export { HistoryGapError } from '../store/index.js';

export type ChangeKind =
  | 'node created'
  | 'node updated'
  | 'node deleted'
  | 'lock'
  | 'unlock'
  | 'metadata'
  | 'chat'
  | 'task'
  | 'join'
  | 'leave'
  | 'init';

export interface HistoryEntry {
  /** `<segment>:<n>`: what `restore --before` takes. */
  change: string;
  /** When the server accepted it; null for a record written before history was kept. */
  atMs: number | null;
  /** Whose message it was (or whom it concerns, for joins, leaves and metadata); null when unknown. */
  by: string | null;
  kind: ChangeKind;
  uuids: string[];
  /** The node's `type_id` and `name` where known (from the node's data seen in this scan). */
  type: string | null;
  name: string | null;
}

/** A place in history: after the first `records` records of `segment`. */
export interface Moment {
  segment: HistorySegment;
  records: number;
  /** The last change included, or null when the moment is the segment's start. */
  lastChange: string | null;
  lastAtMs: number | null;
}

export interface Reconstructed {
  image: SessionImage;
  checkpoint: HistoryCheckpoint | null;
  /** Records replayed on top of it. */
  replayed: number;
  problems: string[];
  /** Milliseconds spent loading the checkpoint (read, checked, imported) and replaying. */
  loadMs: number;
  replayMs: number;
}

/** Node data bigger than this is not decoded for its type and name (listing stays fast). */
const NAME_DECODE_MAX_BYTES = 1024 * 1024;

/** Type and name of node data (the add-on's `type_id` and `name`), or nulls. */
export function nodeTypeAndName(
  dataBytes: Uint8Array,
  options: SessionOptions,
): { type: string | null; name: string | null } {
  if (dataBytes.length > NAME_DECODE_MAX_BYTES) return { type: null, name: null };
  try {
    const v = decodePlainPickle(dataBytes, 4, options.limits?.pickle);
    if (!(v instanceof PyDict)) return { type: null, name: null };
    const type = v.get('type_id');
    const name = v.get('name');
    return { type: typeof type === 'string' ? type : null, name: typeof name === 'string' ? name : null };
  } catch {
    return { type: null, name: null };
  }
}

export class HistoryReader {
  /** Where a read stopped at damage (filled as segments are read). */
  readonly breaks: SegmentBreak[] = [];
  private readonly known = new Map<string, { type: string | null; name: string | null }>();

  private constructor(
    readonly dataDir: string,
    readonly listing: HistoryListing,
    readonly sessionOptions: SessionOptions,
  ) {}

  static async open(dataDir: string, options: SessionOptions): Promise<HistoryReader> {
    return new HistoryReader(dataDir, await listHistory(dataDir, { includeJournal: true }), options);
  }

  get segments(): readonly HistorySegment[] {
    return this.listing.segments;
  }

  /** The oldest moment history can name (its first segment's start), or null when history is empty. */
  get startMs(): number | null {
    return this.listing.segments[0]?.createdAtMs ?? null;
  }

  /**
   * Every change from `sinceMs` (segments wholly before it are skipped by their start times,
   * without reading them) until `untilMs`, oldest first. Damage ends a segment's records (see
   * `breaks`); the next segment goes on.
   */
  async *entries(sinceMs: number | null = null, untilMs: number | null = null): AsyncGenerator<HistoryEntry> {
    const segs = this.listing.segments;
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i];
      const next = segs[i + 1];
      if (sinceMs !== null && next !== undefined && next.createdAtMs < sinceMs) continue;
      if (untilMs !== null && s.createdAtMs > untilMs) return;
      if (s.header === null) {
        this.noteBreak({ file: s.file, offset: 0, records: 0, reason: s.error ?? 'unreadable header', atEnd: false });
        continue;
      }
      const key = segmentKey(s);
      const skipping = sinceMs !== null && s.createdAtMs < sinceMs;
      for await (const rec of readSegmentRecords(s, { onBreak: (b) => this.noteBreak(b) })) {
        if (skipping) {
          const at = peekRecordTime(rec.payload, this.sessionOptions.limits);
          if (at !== null && at < sinceMs) continue;
        }
        const entry = this.entryOf(`${key}:${rec.index}`, rec.payload);
        if (entry === null) continue;
        if (entry.atMs !== null && sinceMs !== null && entry.atMs < sinceMs) continue;
        if (entry.atMs !== null && untilMs !== null && entry.atMs > untilMs) return;
        yield entry;
      }
    }
  }

  /** The moment at `ms`: every change accepted at or before it. Throws HistoryGapError when it cannot be named. */
  async momentAt(ms: number): Promise<Moment> {
    const segs = this.listing.segments;
    let idx = -1;
    for (let i = 0; i < segs.length; i++) if (segs[i].createdAtMs <= ms) idx = i;
    if (idx < 0) {
      throw new HistoryGapError(
        segs.length === 0
          ? 'there is no history in this data directory yet'
          : `${formatMoment(ms)} is before the oldest moment in history (${formatMoment(segs[0].createdAtMs)})`,
      );
    }
    const s = segs[idx];
    let records = 0;
    let lastAtMs: number | null = null;
    let broke: SegmentBreak | null = null;
    for await (const rec of readSegmentRecords(s, { onBreak: (b) => (broke = b) })) {
      const stamp = this.stampOf(rec.payload);
      if (stamp !== null && stamp > ms) return this.moment(s, records, lastAtMs);
      records = rec.index;
      lastAtMs = stamp ?? lastAtMs;
    }
    const b = broke as SegmentBreak | null;
    if (b !== null && !(b.atEnd && idx === segs.length - 1)) {
      this.noteBreak(b);
      throw new HistoryGapError(
        `${describeBreak(b)}; the last moment before it is ` +
          `${lastAtMs === null ? 'the start of that segment' : formatMoment(lastAtMs)}` +
          `${records > 0 ? ` (change ${segmentKey(s)}:${records})` : ''}`,
      );
    }
    return this.moment(s, records, lastAtMs);
  }

  /** The moment just before `change` (`<segment>:<n>`). Throws HistoryGapError for an unknown change. */
  async momentBefore(change: string): Promise<Moment> {
    const m = /^(.+):([1-9]\d*)$/.exec(change.trim());
    if (m === null) throw new HistoryGapError(`'${change}' is not a change id (as listed by \`history\`: SEGMENT:N)`);
    const s = this.listing.segments.find((x) => segmentKey(x) === m[1]);
    if (s === undefined) throw new HistoryGapError(`no journal segment ${m[1]} in history/ or journal/`);
    const n = Number(m[2]);
    let count = 0;
    let lastAtMs: number | null = null;
    let broke: SegmentBreak | null = null;
    for await (const rec of readSegmentRecords(s, { onBreak: (b) => (broke = b) })) {
      if (rec.index >= n) return this.moment(s, n - 1, lastAtMs);
      count = rec.index;
      lastAtMs = this.stampOf(rec.payload) ?? lastAtMs;
    }
    // The moment before the first damaged record is still a moment of history.
    if (broke !== null && n === count + 1) return this.moment(s, count, lastAtMs);
    const b = broke as SegmentBreak | null;
    if (b !== null) {
      this.noteBreak(b);
      throw new HistoryGapError(
        `${describeBreak(b)}: change ${change} is past it; the last moment before the damage is ` +
          `--before ${segmentKey(s)}:${count + 1}`,
      );
    }
    throw new HistoryGapError(`no change ${change}: ${s.file} holds ${count} readable change(s)`);
  }

  /** The session at `moment`: the nearest checkpoint before it plus a replay. Throws HistoryGapError. */
  async reconstruct(moment: Moment): Promise<Reconstructed> {
    const plan = planReplay(this.listing, moment.segment, moment.records);
    const problems: string[] = [];
    const collect = (effects: readonly { type: string; level?: string; message?: string }[]): void => {
      for (const e of effects) {
        if (e.type === 'log' && (e.level === 'warn' || e.level === 'error')) problems.push(e.message ?? '');
      }
    };
    const started = performance.now();
    let session: Session;
    if (plan.checkpoint === null) session = new Session(this.sessionOptions);
    else {
      const check = (image: SessionImage): string | null => Session.checkImage(image, this.sessionOptions);
      const decoded = await readSnapshotFile(plan.checkpoint.path, { check });
      const made = Session.fromImage(decoded.image, this.sessionOptions);
      session = made.session;
      collect(made.effects);
      // Loading a file releases every lock (a restart has nobody connected); the moment had them.
      const owners = new Map<string, string[]>();
      for (const n of decoded.image.nodes) {
        if (n.owner === OWNER_COMMON) continue;
        owners.set(n.owner, [...(owners.get(n.owner) ?? []), n.uuid]);
      }
      for (const [owner, uuids] of owners) collect(session.applyMutation({ type: 'owner', uuids, owner }));
    }
    const loaded = performance.now();
    let replayed = 0;
    for (const step of plan.steps) {
      let broke: SegmentBreak | null = null;
      let done = 0;
      let end = 0;
      const key = segmentKey(step.segment);
      for await (const rec of readSegmentRecords(step.segment, { onBreak: (b) => (broke = b) })) {
        if (step.records !== null && rec.index > step.records) break;
        if (step.bytes !== null && rec.end > step.bytes) break;
        let m: Mutation;
        try {
          m = decodeJournalRecord(rec.payload, this.sessionOptions.limits).mutation;
        } catch (e) {
          if (!(e instanceof SessionError)) throw e;
          problems.push(`change ${key}:${rec.index} not applied: ${e.message}`);
          done = rec.index;
          end = rec.end;
          continue;
        }
        const why = session.checkMutation(m);
        if (why === null) collect(session.applyMutation(m));
        else problems.push(`change ${key}:${rec.index} refused: ${why}`);
        done = rec.index;
        end = rec.end;
        replayed++;
      }
      const b = broke as SegmentBreak | null;
      const short = step.records !== null ? done < step.records : step.bytes !== null && end < step.bytes;
      if (b !== null && short) {
        this.noteBreak(b);
        throw new HistoryGapError(describeBreak(b));
      }
    }
    // No finishRecovery: the image is the session as it was at that moment, locks included (a
    // server that loads it releases the locks of users who are gone, as at every start).
    collect(session.settleReplay());
    const image = session.exportImage();
    const loadMs = loaded - started;
    return { image, checkpoint: plan.checkpoint, replayed, problems, loadMs, replayMs: performance.now() - loaded };
  }

  private moment(segment: HistorySegment, records: number, lastAtMs: number | null): Moment {
    return { segment, records, lastChange: records > 0 ? `${segmentKey(segment)}:${records}` : null, lastAtMs };
  }

  private noteBreak(b: SegmentBreak): void {
    if (!this.breaks.some((x) => x.file === b.file && x.offset === b.offset)) this.breaks.push(b);
  }

  private stampOf(payload: Uint8Array): number | null {
    return peekRecordTime(payload, this.sessionOptions.limits);
  }

  private entryOf(change: string, payload: Uint8Array): HistoryEntry | null {
    let rec;
    try {
      rec = decodeJournalRecord(payload, this.sessionOptions.limits);
    } catch {
      return null;
    }
    const m = rec.mutation;
    const base = { change, atMs: rec.atMs, by: rec.by };
    const nodeInfo = (uuid: string): { type: string | null; name: string | null } =>
      this.known.get(uuid) ?? { type: null, name: null };
    switch (m.type) {
      case 'node': {
        const existed = this.known.has(m.uuid);
        const info = nodeTypeAndName(m.dataBytes, this.sessionOptions);
        this.known.set(m.uuid, info);
        return { ...base, kind: existed ? 'node updated' : 'node created', uuids: [m.uuid], ...info };
      }
      case 'commit':
        return { ...base, kind: 'node updated', uuids: [m.uuid], ...nodeInfo(m.uuid) };
      case 'delete': {
        const info = m.uuids.length === 1 ? nodeInfo(m.uuids[0]) : { type: null, name: null };
        for (const u of m.uuids) this.known.delete(u);
        return { ...base, kind: 'node deleted', uuids: [...m.uuids], ...info };
      }
      case 'owner': {
        const info = m.uuids.length === 1 ? nodeInfo(m.uuids[0]) : { type: null, name: null };
        const kind = m.owner === 'COMMON' ? 'unlock' : 'lock';
        return { ...base, by: rec.by ?? (kind === 'lock' ? m.owner : null), kind, uuids: [...m.uuids], ...info };
      }
      case 'user-join':
        return { ...base, by: m.name, kind: 'join', uuids: [], type: null, name: null };
      case 'user-leave':
        return { ...base, by: m.name, kind: 'leave', uuids: [], type: null, name: null };
      case 'metadata':
        return { ...base, by: m.name, kind: 'metadata', uuids: [], type: null, name: null };
      case 'init-done':
        return { ...base, kind: 'init', uuids: [], type: null, name: null };
      case 'chat':
        return { ...base, kind: 'chat', uuids: [], type: null, name: null };
      case 'tasks':
        return { ...base, kind: 'task', uuids: [], type: null, name: null };
    }
    return null;
  }
}

/** `history breaks at history/X.jnl byte 1234 (checksum mismatch) after 17 readable change(s)`. */
export function describeBreak(b: SegmentBreak): string {
  return `history breaks at ${b.file} byte ${b.offset} (${b.reason}) after ${b.records} readable change(s)`;
}
