/**
 * The session-level chat log and task board, so that chat and tasks outlive the users who wrote
 * them (the reference loses them when their author leaves): what the add-on's users
 * wrote in their `chat_messages` / `tasks` metadata (§7.2, §7.3), kept after they leave, saved,
 * and handed back to the stock add-on as one more user-list entry (§7.4):
 *
 * ```
 * '~archive': {'id': '~archive', 'admin': False, 'latency': 0, 'status': 2,
 *              'metadata': {'chat_messages': json.dumps(<the last ≤ 50 messages>),
 *                           'tasks': json.dumps(<the whole board>)}}
 * ```
 *
 * sent only while the archive is non-empty, last in every UpdateClientsState. `~` sorts after
 * ASCII names, so the add-on's timeline sync (which follows the first name) never picks it. The
 * add-on's loaders walk every entry's metadata and add the messages and tasks whose ids they do
 * not have yet; `presence` keys (view_corners, color ...) are absent so nothing is drawn for it.
 *
 * This file holds the state and the two changes to it (`addChat`, `updateTasks`), called by
 * journal replay and by the live path alike; archive-updates.ts decides what a metadata update changes.
 */
import { PyDict, type PyValue } from '../pickle/index.js';
import { STATE_ACTIVE, type UserRecord } from '../protocol/index.js';
import { pyJsonDumps } from './py-json.js';

/** The archive entry's key and `id` in UpdateClientsState (§7.4). Auth refuses it, Kick ignores it. */
export const ARCHIVE_USERNAME = '~archive';
/** `metadata` keys the add-on's chat and task loaders read (§7.2, §7.3). */
export const CHAT_KEY = 'chat_messages';
export const TASKS_KEY = 'tasks';
/** `extra` key of the session image listing deleted task ids (session-image.ts). */
export const DELETED_TASKS_KEY = 'archive_deleted_tasks';

/** Bounds of the archive (part of `SessionLimits`). */
export interface ArchiveLimits {
  /** Messages kept in the chat log; the oldest (by timestamp, then id) go first. */
  maxArchivedChatMessages: number;
  /** The newest messages put in the archive entry: it is re-sent to every client about once a second. */
  archiveChatWindow: number;
  /** Tasks on the board; tasks beyond it are not archived (logged). */
  maxArchivedTasks: number;
  /** Deleted task ids remembered so other users' stale copies are not re-added. */
  maxDeletedTaskIds: number;
}

/** A chat message's place in the log: by timestamp, then id (UTF-16 code unit order). */
export interface ChatKey {
  readonly timestamp: number;
  readonly id: string;
}

function compareKeys(a: ChatKey, b: ChatKey): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The id and timestamp of a message dict that passed `checkChatMessage` (archive-updates.ts). */
export function chatKeyOf(message: PyDict): ChatKey {
  const ts = message.get('timestamp');
  return { id: message.get('id') as string, timestamp: typeof ts === 'bigint' ? Number(ts) : (ts as number) };
}

export class Archive {
  /** The chat log, oldest first. */
  private readonly chat: { key: ChatKey; message: PyDict }[] = [];
  private readonly chatIds = new Set<string>();
  /** Task id → task dict, in board order. */
  readonly tasks = new PyDict();
  /** Deleted task ids, oldest first (insertion ordered). */
  private readonly deleted = new Set<string>();
  /** The archive entry's metadata, rebuilt after a change. */
  private entryCache: PyDict | null = null;

  constructor(private readonly limits: ArchiveLimits) {}

  get isEmpty(): boolean {
    return this.chat.length === 0 && this.tasks.size === 0;
  }

  get chatCount(): number {
    return this.chat.length;
  }

  /** The chat log, oldest first (the dicts themselves: never modify them). */
  chatMessages(): PyDict[] {
    return this.chat.map((c) => c.message);
  }

  hasChat(id: string): boolean {
    return this.chatIds.has(id);
  }

  /** Whether a message with this key would stay in the log (not a duplicate, not older than a full log). */
  wouldKeep(key: ChatKey): boolean {
    if (this.chatIds.has(key.id)) return false;
    return this.chat.length < this.limits.maxArchivedChatMessages || compareKeys(key, this.chat[0].key) > 0;
  }

  isDeletedTask(id: string): boolean {
    return this.deleted.has(id);
  }

  /** Deleted task ids, oldest first. */
  deletedTaskIds(): string[] {
    return [...this.deleted];
  }

  /** Adds messages in order of (timestamp, id), skipping known ids, then trims the oldest beyond the bound. */
  addChat(messages: readonly PyDict[]): void {
    for (const message of messages) {
      const key = chatKeyOf(message);
      if (!this.wouldKeep(key)) continue;
      let lo = 0;
      let hi = this.chat.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (compareKeys(this.chat[mid].key, key) < 0) lo = mid + 1;
        else hi = mid;
      }
      this.chat.splice(lo, 0, { key, message });
      this.chatIds.add(key.id);
      while (this.chat.length > this.limits.maxArchivedChatMessages) {
        const dropped = this.chat.shift() as { key: ChatKey };
        this.chatIds.delete(dropped.key.id);
      }
    }
    this.entryCache = null;
  }

  /** Puts tasks (new ones at the end, updated ones in place) and deletes tasks, remembering their ids. */
  updateTasks(put: PyDict, remove: readonly string[]): void {
    for (const [id, task] of put.entries()) this.tasks.set(id, task);
    for (const id of remove) {
      this.tasks.delete(id);
      this.deleted.delete(id);
      this.deleted.add(id);
    }
    for (const id of this.deleted) {
      if (this.deleted.size <= this.limits.maxDeletedTaskIds) break;
      this.deleted.delete(id);
    }
    this.entryCache = null;
  }

  /** Restores remembered deletions (session image `extra`), oldest first. */
  restoreDeletedTaskIds(ids: readonly string[]): void {
    this.updateTasks(new PyDict(), ids);
  }

  /** The `'~archive'` user-list entry, or `undefined` while the archive is empty. */
  entry(): UserRecord | undefined {
    if (this.isEmpty) return undefined;
    if (this.entryCache === null) {
      const window = this.chat.slice(Math.max(0, this.chat.length - this.limits.archiveChatWindow));
      const metadata = new PyDict();
      metadata.setStr(CHAT_KEY, pyJsonDumps(window.map((c) => c.message as PyValue)));
      metadata.setStr(TASKS_KEY, pyJsonDumps(this.tasks));
      this.entryCache = metadata;
    }
    return { id: ARCHIVE_USERNAME, admin: false, latencyMs: 0, status: STATE_ACTIVE, metadata: this.entryCache };
  }
}
