/**
 * The contract between the session and `store/`: everything a snapshot must hold to bring a
 * session back, as plain values (no files, no encoding). `store/` turns it into the add-on's
 * session-file layout (REPLICATION-PROTOCOL.md §6: `'nodes'` = chunk lists, `'users'` = records)
 * plus our own keys, and back. Produced by `Session.exportImage()`, consumed by
 * `Session.fromImage()` / `importImage()`.
 */
import type { PyDict, PyValue } from '../pickle/index.js';

/** One node as stored: its current owner and raw pickles (the Node frames 3 and 4). */
export interface SessionImageNode {
  uuid: string;
  /** `'COMMON'` or a username. */
  owner: string;
  /** Pickled dependency list (Node frame 3). */
  depsBytes: Uint8Array;
  /** Pickled node data dict (Node frame 4), after every Commit applied so far. */
  dataBytes: Uint8Array;
}

/**
 * Ownership: the store encodes `users`, `chat`, `tasks` and `extra` synchronously inside
 * `SnapshotWriter`'s capture step, so the session may mutate those objects afterwards; the node
 * byte arrays, however, are written while the save streams (seconds for a big scene) and must
 * not be written into after capture (replace them, as the session does when a node changes).
 */
export interface SessionImage {
  /** Every node, in store order (the Snapshot catalog order, §4.4). */
  nodes: SessionImageNode[];
  /**
   * `{name: {'id', 'admin', 'latency', 'status', 'metadata'}}` like the add-on's session file.
   * A record, not a presence: `latency` is 999 (not measured) and `status` 0 (not connected).
   */
  users: PyDict;
  /** The server state is ACTIVE (an init completed, or the session was restored with nodes). */
  initialized: boolean;
  /** Archived chat messages (dicts as the add-on writes them, §7.2), oldest first. */
  chat: PyValue[];
  /** Archived tasks by id (§7.3), in board order. */
  tasks: PyDict;
  /**
   * Our own keys. The session writes `'archive_deleted_tasks'`: ids of tasks deleted from the
   * board (bounded, oldest first), so copies still held by other clients are not re-added.
   */
  extra?: PyDict;
}
