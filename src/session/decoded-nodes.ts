/**
 * Nodes a replay (recovery at start, history's rebuild of a moment) keeps decoded between their
 * Commits. Applying a Commit live decodes the whole node, applies the delta and encodes the whole
 * node again; a replay of 100,000 Commits did that 100,000 times (a 200 KB mesh: 400 KB of
 * decoding and encoding for a 300 B delta). Here a node is decoded at its first replayed Commit,
 * every later delta is applied to the same value (checked as live: strict delta, plain result),
 * and the node is encoded once, when the replay settles it (commit-apply.ts `settleNode`).
 *
 * The value stands for the bytes it would have been encoded to at every step: the encoder is
 * deterministic and keeps shared references (pickle memo by identity), so a delta applied to it
 * does what it does to those bytes decoded; the replay tests compare the bytes either way.
 *
 * An entry is used only while its node still holds the very bytes it was decoded from (identity),
 * so a Node that replaces the data, or a Delete, needs no bookkeeping here: a stale entry is
 * dropped when found. Only replays use this; live Commits keep nothing decoded.
 */
import type { PyDict } from '../pickle/index.js';
import type { Deps } from '../protocol/index.js';

/** A replayed Commit applied to a kept value but not yet to the node's bytes. */
export interface PendingCommit {
  deltaBytes: Uint8Array;
  deps: Deps;
  depsBytes: Uint8Array | undefined;
}

export interface KeptNode {
  uuid: string;
  /** The node's bytes the value was decoded from; the node holds them until it is settled. */
  base: Uint8Array;
  /** The node's dependency list with `base` (what a refused Commit leaves in place). */
  baseDeps: Deps;
  baseDepsBytes: Uint8Array | undefined;
  /** `base` decoded, with every pending Commit applied. */
  value: PyDict;
  /** Commits applied to `value` since `base`, oldest first (to redo them one by one if need be). */
  pending: PendingCommit[];
}

/**
 * Bounds on what one replay keeps decoded. A decoded node takes several times its pickled size
 * (objects, not bytes, for lists and dicts), so the bound is on nodes as well as bytes; the least
 * recently changed are settled first, which only costs a decode if they are changed again. A
 * long run of Commits on one node is settled every MAX_PENDING, so what is kept to redo them
 * stays small.
 */
const MAX_NODES = 4096;
const MAX_PICKLED_BYTES = 256 * 1024 * 1024;
export const MAX_PENDING = 4096;

export class DecodedNodes {
  private readonly entries = new Map<string, KeptNode>();
  private pickledBytes = 0;

  /** `settle` encodes a kept node into its store entry (called on eviction and by `settleAll`). */
  constructor(private readonly settle: (kept: KeptNode) => void) {}

  /** The node's kept value if it was decoded from exactly `bytes` (a stale entry is dropped). */
  get(uuid: string, bytes: Uint8Array): KeptNode | undefined {
    const e = this.entries.get(uuid);
    if (e === undefined) return undefined;
    this.entries.delete(uuid);
    if (e.base !== bytes) {
      this.pickledBytes -= e.base.byteLength;
      return undefined;
    }
    // Most recently changed last: eviction takes the first.
    this.entries.set(uuid, e);
    return e;
  }

  /** Starts keeping a node decoded; may settle the least recently changed ones to stay in bounds. */
  add(kept: KeptNode): void {
    this.entries.set(kept.uuid, kept);
    this.pickledBytes += kept.base.byteLength;
    while (this.entries.size > 1 && (this.entries.size > MAX_NODES || this.pickledBytes > MAX_PICKLED_BYTES)) {
      const oldest = this.entries.values().next().value as KeptNode;
      this.drop(oldest);
      this.settle(oldest);
    }
  }

  /** Forgets a kept node without settling it (its caller settles it, or it was refused). */
  drop(kept: KeptNode): void {
    if (this.entries.get(kept.uuid) !== kept) return;
    this.entries.delete(kept.uuid);
    this.pickledBytes -= kept.base.byteLength;
  }

  /** Settles every kept node, oldest first, and forgets them. */
  settleAll(): void {
    const all = [...this.entries.values()];
    this.entries.clear();
    this.pickledBytes = 0;
    for (const kept of all) this.settle(kept);
  }

  get size(): number {
    return this.entries.size;
  }
}
