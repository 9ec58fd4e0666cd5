/**
 * What one UpdateUserMetadata changes in the chat and task archive (archive.ts). The values are
 * JSON strings written by the add-on (§7.2, §7.3) — or by anyone: bad JSON, wrong types and huge
 * values are skipped with a rate-limited warning, and the metadata itself is still merged and
 * relayed as the reference would.
 *
 * Chat: every valid message whose id the log does not have is added (the add-on never edits or
 * deletes a message; its 10-message window repeats old ones, deduplicated by id).
 *
 * Tasks — the rule, per task id T on the board and user U sending their whole board:
 * - **added** when T is not on the board (and was never deleted from it), whoever sends it;
 * - **replaced** when U's version of T differs from the version U sent before in this login —
 *   U edited it. A version U merely holds (received from someone else, or sent unchanged) never
 *   overwrites the board, so stale copies in other users' boards cannot undo an edit (the add-on
 *   does not propagate edits between users, §7.3);
 * - **deleted** when T was in U's previous board of this login and is not in the new one, and U is
 *   T's author: the board version's `created_by`, or anyone who had it when that is not a
 *   non-empty str. Deleted ids are remembered (bounded) so copies others still hold are not
 *   re-added. Only the author deletes: a collaborator pruning their own board loses nothing for
 *   the others, and a user whose first board of a login is empty (a fresh Blender) deletes nothing.
 */
import { PyDict, type PyValue } from '../pickle/index.js';
import { CHAT_KEY, chatKeyOf, TASKS_KEY } from './archive.js';
import type { ClientRecord } from './clients.js';
import { reject, type SessionContext } from './context.js';
import type { SessionLimits } from './limits.js';
import type { Mutation } from './mutation.js';
import { pyJsonDumps, pyJsonLoads } from './py-json.js';

/** Longest chat message / task id kept (the add-on's are `str(time.time())`, about 18 characters). */
const MAX_ARCHIVE_ID_CHARS = 256;

type Complain = (message: string) => void;

/** A chat message the archive can keep (a dict with a str `id` and a numeric `timestamp`), or why not. */
export function checkChatMessage(limits: SessionLimits, v: PyValue): PyDict | string {
  if (!(v instanceof PyDict)) return 'a message is not a dict';
  const id = v.get('id');
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ARCHIVE_ID_CHARS)
    return 'a message has no usable id';
  const ts = v.get('timestamp');
  const n = typeof ts === 'bigint' ? Number(ts) : ts;
  if (typeof n !== 'number' || !Number.isFinite(n)) return `message ${id} has no numeric timestamp`;
  const size = jsonSize(v);
  if (size === undefined) return `message ${id} is not JSON data`;
  if (size > limits.maxChatMessageBytes) return `message ${id} exceeds ${limits.maxChatMessageBytes} bytes`;
  return v;
}

/** A task the board can keep (a dict under a usable str id), as its canonical JSON text, or why not. */
export function checkTask(limits: SessionLimits, id: PyValue, task: PyValue): string | { text: string } {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ARCHIVE_ID_CHARS) return 'a task id is not usable';
  if (!(task instanceof PyDict)) return `task ${id} is not a dict`;
  let text: string;
  try {
    text = pyJsonDumps(task);
  } catch {
    return `task ${id} is not JSON data`;
  }
  if (text.length > limits.maxTaskBytes) return `task ${id} exceeds ${limits.maxTaskBytes} bytes`;
  return { text };
}

/** `json.dumps` length (ASCII, so bytes), or `undefined` when Python could not dump it. */
function jsonSize(v: PyValue): number | undefined {
  try {
    return pyJsonDumps(v).length;
  } catch {
    return undefined;
  }
}

/** Parses a `chat_messages` / `tasks` value, or complains and returns `undefined`. */
function parseJsonValue(limits: SessionLimits, key: string, value: PyValue, complain: Complain): PyValue | undefined {
  if (typeof value !== 'string') {
    complain(`'${key}' is not a str`);
    return undefined;
  }
  if (value.length > limits.maxArchiveJsonChars) {
    complain(`'${key}' exceeds ${limits.maxArchiveJsonChars} characters`);
    return undefined;
  }
  try {
    return pyJsonLoads(value);
  } catch (err) {
    complain(`'${key}' is not valid JSON (${(err as { code?: string }).code ?? 'error'})`);
    return undefined;
  }
}

/** The valid messages of a `chat_messages` value that the log would keep, in the sender's order. */
function chatAdditions(ctx: SessionContext, value: PyValue, complain: Complain): PyDict[] {
  const parsed = parseJsonValue(ctx.limits, CHAT_KEY, value, complain);
  if (parsed === undefined) return [];
  if (!Array.isArray(parsed)) {
    complain(`'${CHAT_KEY}' is not a JSON list`);
    return [];
  }
  const out: PyDict[] = [];
  const ids = new Set<string>();
  let invalid: string | undefined;
  // The value's length (maxArchiveJsonChars) bounds the work; the log keeps the newest messages.
  for (const item of parsed) {
    const checked = checkChatMessage(ctx.limits, item);
    if (typeof checked === 'string') {
      invalid ??= checked;
      continue;
    }
    const key = chatKeyOf(checked);
    if (ids.has(key.id) || !ctx.archive.wouldKeep(key)) continue;
    ids.add(key.id);
    out.push(checked);
  }
  if (invalid !== undefined) complain(`chat messages skipped: ${invalid}`);
  return out;
}

/** A `tasks` value as id → {task, canonical text | null when invalid}, or `undefined` when unusable. */
function parseTasks(
  ctx: SessionContext,
  value: PyValue,
  complain: Complain,
): Map<string, { task: PyDict; text: string } | null> | undefined {
  const parsed = parseJsonValue(ctx.limits, TASKS_KEY, value, complain);
  if (parsed === undefined) return undefined;
  if (!(parsed instanceof PyDict)) {
    complain(`'${TASKS_KEY}' is not a JSON object`);
    return undefined;
  }
  // Checked before anything is read: a partial board would look like deletions.
  if (parsed.size > ctx.limits.maxArchivedTasks) {
    complain(`'${TASKS_KEY}' holds more than ${ctx.limits.maxArchivedTasks} tasks`);
    return undefined;
  }
  const tasks = new Map<string, { task: PyDict; text: string } | null>();
  let invalid: string | undefined;
  for (const [id, task] of parsed.entries()) {
    const checked = checkTask(ctx.limits, id, task);
    if (typeof checked === 'string') {
      invalid ??= checked;
      if (typeof id === 'string') tasks.set(id, null);
    } else tasks.set(id as string, { task: task as PyDict, text: checked.text });
  }
  if (invalid !== undefined) complain(`tasks skipped: ${invalid}`);
  return tasks;
}

/** Whether `username` may delete a board task (see the rule above). */
function isAuthor(username: string, task: PyValue | undefined): boolean {
  const by = task instanceof PyDict ? task.get('created_by') : undefined;
  return typeof by !== 'string' || by === '' || by === username;
}

/** The board changes of a `tasks` value from `record`; updates what the record has seen. */
function taskChanges(ctx: SessionContext, record: ClientRecord, value: PyValue, complain: Complain): Mutation | null {
  const current = parseTasks(ctx, value, complain);
  if (current === undefined) return null;
  const board = ctx.archive.tasks;
  const before = record.tasksSeen;
  const put = new PyDict();
  const remove: string[] = [];
  let room = ctx.limits.maxArchivedTasks - board.size;
  for (const [id, entry] of current) {
    if (entry === null || ctx.archive.isDeletedTask(id)) continue;
    const onBoard = board.get(id);
    if (onBoard === undefined) {
      if (room > 0) {
        put.set(id, entry.task);
        room -= 1;
      } else complain(`task ${id} not archived: the board holds ${ctx.limits.maxArchivedTasks} tasks`);
      continue;
    }
    const previous = before?.get(id);
    // Not in this user's previous board: received from someone else, not edited here.
    if (previous === undefined || previous === entry.text) continue;
    if (pyJsonDumps(onBoard) !== entry.text) put.set(id, entry.task);
  }
  if (before !== undefined) {
    for (const id of before.keys()) {
      if (!current.has(id) && board.has(id) && isAuthor(record.id, board.get(id))) remove.push(id);
    }
  }
  record.tasksSeen = new Map([...current].map(([id, entry]) => [id, entry === null ? null : entry.text]));
  return put.size > 0 || remove.length > 0 ? { type: 'tasks', put, remove } : null;
}

/**
 * The archive mutations of one accepted metadata update from `record`, computed before it is
 * merged (a value equal to the one already merged is not parsed again). Never throws.
 */
export function archiveUpdatesOf(ctx: SessionContext, record: ClientRecord, update: PyDict): Mutation[] {
  const complain: Complain = (message) =>
    reject(ctx, 'archive', record.clientId, `Chat/task archive: metadata from ${record.id}: ${message}`);
  const out: Mutation[] = [];
  const chat = update.get(CHAT_KEY);
  if (chat !== undefined && chat !== record.metadata.get(CHAT_KEY)) {
    const messages = chatAdditions(ctx, chat, complain);
    if (messages.length > 0) out.push({ type: 'chat', messages });
  }
  const tasks = update.get(TASKS_KEY);
  if (tasks !== undefined && (record.tasksSeen === undefined || tasks !== record.metadata.get(TASKS_KEY))) {
    const change = taskChanges(ctx, record, tasks, complain);
    if (change !== null) out.push(change);
  }
  return out;
}

/**
 * The archive additions carried by a stored user record's metadata (a restored session or an
 * imported `.db` file, whose users are not logged in): its messages and the tasks the board does
 * not have, as a first board of a login would add them. Never throws.
 */
export function archiveAdditionsOf(ctx: SessionContext, metadata: PyDict, complain: Complain): Mutation[] {
  const out: Mutation[] = [];
  const chat = metadata.get(CHAT_KEY);
  if (chat !== undefined) {
    const messages = chatAdditions(ctx, chat, complain);
    if (messages.length > 0) out.push({ type: 'chat', messages });
  }
  const value = metadata.get(TASKS_KEY);
  const tasks = value === undefined ? undefined : parseTasks(ctx, value, complain);
  if (tasks !== undefined) {
    const put = new PyDict();
    let room = ctx.limits.maxArchivedTasks - ctx.archive.tasks.size;
    for (const [id, entry] of tasks) {
      if (entry === null || room <= 0 || ctx.archive.tasks.has(id) || ctx.archive.isDeletedTask(id)) continue;
      put.set(id, entry.task);
      room -= 1;
    }
    if (put.size > 0) out.push({ type: 'tasks', put, remove: [] });
  }
  return out;
}
