/**
 * Which journal segments apply to the snapshot that was loaded (pure: headers in, plan out).
 *
 * The chain starts at the segment that follows the loaded snapshot — the one whose id is the
 * snapshot's id — or, when nothing was loaded, at the segment that follows the empty session;
 * then each segment whose `follows` names the previous one. Segments that the chain's start
 * follows (transitively) are obsolete: older than the loaded snapshot, safe to delete. Every
 * other segment is foreign: written after another snapshot (a backup copied over
 * session_snapshot.pkl by hand, seed/000 "Manually Restore from Backup") or damaged. Foreign
 * segments are never replayed; recovery moves them to corrupt/.
 */
import type { SegmentHeader } from './journal-format.js';

export interface SegmentEntry {
  /** File name in journal/. */
  name: string;
  /** Null when the header could not be read (damaged). */
  header: SegmentHeader | null;
}

export interface JournalChainPlan {
  /** Segments to replay, in order. */
  chain: SegmentEntry[];
  /** Older than the loaded snapshot: delete. */
  obsolete: SegmentEntry[];
  /** Not for this snapshot (or unreadable): move aside, never replay. */
  foreign: SegmentEntry[];
}

/** `loadedSnapshotId` null = nothing was loaded (the session starts empty). */
export function planJournalChain(segments: readonly SegmentEntry[], loadedSnapshotId: string | null): JournalChainPlan {
  const readable = segments.filter((s) => s.header !== null);
  const byId = new Map<string, SegmentEntry>();
  const duplicate = new Set<string>();
  for (const s of readable) {
    const id = (s.header as SegmentHeader).segmentId;
    if (byId.has(id)) duplicate.add(id);
    byId.set(id, s);
  }
  const candidates =
    loadedSnapshotId === null
      ? readable.filter((s) => s.header?.follows.kind === 'empty')
      : readable.filter((s) => s.header?.segmentId === loadedSnapshotId);
  const chain: SegmentEntry[] = [];
  const obsolete: SegmentEntry[] = [];
  if (candidates.length === 1 && !duplicate.has((candidates[0].header as SegmentHeader).segmentId)) {
    let cur = candidates[0];
    chain.push(cur);
    for (;;) {
      const curId = (cur.header as SegmentHeader).segmentId;
      const next = readable.filter((s) => {
        const f = s.header?.follows;
        return f?.kind === 'segment' && f.segmentId === curId;
      });
      // Two segments following the same one cannot come from one writer: trust neither.
      if (next.length !== 1 || chain.includes(next[0])) break;
      cur = next[0];
      chain.push(cur);
    }
    let back = (chain[0].header as SegmentHeader).follows;
    while (back.kind === 'segment') {
      const prev = byId.get(back.segmentId);
      if (prev === undefined || chain.includes(prev) || obsolete.includes(prev)) break;
      obsolete.push(prev);
      back = (prev.header as SegmentHeader).follows;
    }
  }
  const foreign = segments.filter((s) => !chain.includes(s) && !obsolete.includes(s));
  return { chain, obsolete, foreign };
}
