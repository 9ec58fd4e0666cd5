/**
 * The data contract between the session and the store: what a snapshot holds, in memory. The
 * session exports one (`capture`) and imports one after recovery; the store never looks inside
 * `users`, `chat`, `tasks` or `extra` beyond their Python types, and never decodes node data.
 */
import type { PyDict, PyValue } from '../pickle/value.js';

/** One node as the add-on's session file and the Node message carry it (REPLICATION-PROTOCOL §2.2, §6). */
export interface SessionImageNode {
  /** Node id (frame 1, utf-8). */
  uuid: string;
  /** `'COMMON'` or a username (frame 2, utf-8). */
  owner: string;
  /** The pickled dependency list, as Node frame 3. */
  depsBytes: Uint8Array;
  /** The pickled node data dict, as Node frame 4. */
  dataBytes: Uint8Array;
}

/**
 * Everything a snapshot holds, in memory.
 *
 * Ownership: the store encodes `users`, `chat`, `tasks` and `extra` synchronously inside
 * `SnapshotWriter`'s capture step, so the session may mutate those objects afterwards; the node
 * byte arrays, however, are written while the save streams (seconds for a big scene) and must
 * not be written into after capture (replace them, as the session does when a node changes).
 */
export interface SessionImage {
  /** In store order; depsBytes/dataBytes are the pickles as in Node frames 3 and 4. */
  nodes: SessionImageNode[];
  /** `{name: {'id','admin','latency','status','metadata'}}` as the add-on's file has it. */
  users: PyDict;
  /** Server state ACTIVE. */
  initialized: boolean;
  /** Archived chat messages (dicts), oldest first. */
  chat: PyValue[];
  /** Archived tasks by id. */
  tasks: PyDict;
  /** Anything else the session wants to keep. */
  extra?: PyDict;
}
