import type { PickleLimits } from '../pickle/index.js';

/**
 * Bounds on one received replication message, checked before anything is decoded (STYLE.md §6).
 * The reference sets no `MAXMSGSIZE` and no pickle limits at all (§1.4, §9 item 13); these defaults
 * are generous enough for a 1 GB session yet stop a single message from exhausting memory.
 */
export interface ProtocolLimits {
  /** Frames per message. The reference ignores extra frames; more than this many is hostile. */
  maxFrames: number;
  /** Frame 0 (the pickled type number): 5 bytes canonically; any pickle of an int is allowed, bounded here. */
  maxTypeFrameBytes: number;
  /** UTF-8 frames: node id, owner / username. UUIDs are 36 bytes, usernames short. */
  maxTextFrameBytes: number;
  /** The pickled dependency list of a Node or Commit (a scene with 100k children stays far below). */
  maxDepsFrameBytes: number;
  /**
   * Node data, Commit delta and command data (a Snapshot SET carries a whole node). Defends
   * against one message pinning more memory than a big real scene node ever needs.
   */
  maxPayloadFrameBytes: number;
  /** Bounds for the pickles the codec decodes itself (frame 0, deps, command data). */
  pickle?: Partial<PickleLimits>;
}

/** Defaults of `ProtocolLimits`. */
export const DEFAULT_PROTOCOL_LIMITS: Readonly<ProtocolLimits> = Object.freeze({
  maxFrames: 16,
  maxTypeFrameBytes: 64,
  maxTextFrameBytes: 4096,
  maxDepsFrameBytes: 64 * 1024 * 1024,
  maxPayloadFrameBytes: 1024 * 1024 * 1024,
});

/** Merges caller overrides onto the defaults. */
export function resolveProtocolLimits(limits?: Partial<ProtocolLimits>): ProtocolLimits {
  if (limits === undefined) return DEFAULT_PROTOCOL_LIMITS;
  // Merged once per limits object: the session passes the same one with every message.
  let lim = resolved.get(limits);
  if (lim === undefined) {
    lim = { ...DEFAULT_PROTOCOL_LIMITS, ...limits };
    resolved.set(limits, lim);
  }
  return lim;
}

const resolved = new WeakMap<Partial<ProtocolLimits>, ProtocolLimits>();
