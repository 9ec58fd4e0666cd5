/**
 * The session ⇄ `SessionImage` (session-image.ts): what a snapshot holds, and bringing a session
 * back from one at startup (DESIGN §4 "Recovery"). Import goes through the same `applyMutation` as
 * journal replay and live traffic (STYLE.md §2); only the checks differ, because an image may come
 * from a file (an add-on `.db` export) rather than from our own validated traffic.
 *
 * After a restore nobody is connected, so:
 * - every lock goes back to COMMON (§4.12: locks of users who are not connected are COMMON);
 * - the image's users become records only (users.ts), and their `chat_messages` / `tasks` are
 *   absorbed into the archive — including those of a `'~archive'` entry that a client's own
 *   *Save session data* copied from our user list;
 * - a session with nodes is ACTIVE: clients get RUNNING and the graph, no Init.
 */
import { PyDict } from '../pickle/index.js';
import {
  LATENCY_UNKNOWN_MS,
  OWNER_COMMON,
  STATE_INITIAL,
  decodeMessage,
  MessageType,
  typeFrame,
  type Node,
  strDict,
  encodeTextFrame,
} from '../protocol/index.js';
import { ARCHIVE_USERNAME, DELETED_TASKS_KEY } from './archive.js';
import { archiveAdditionsOf, checkChatMessage, checkTask } from './archive-updates.js';
import type { SessionContext } from './context.js';
import { sessionError } from './errors.js';
import { acceptMutation, applyMutation, type Mutation } from './mutation.js';
import { checkMetadataMerge } from './metadata.js';
import { validateNodeData } from './node-validation.js';
import type { SessionImage, SessionImageNode } from './session-image.js';
import { UserEntry } from './users.js';

/**
 * The current state as an image. Shares no mutable container with the session (metadata and the
 * task board are copied; node bytes and chat dicts are never modified in place), so `store/` may
 * encode it over several event-loop turns while the session goes on.
 */
export function exportImage(ctx: SessionContext): SessionImage {
  const nodes: SessionImageNode[] = [];
  for (const node of ctx.store.values()) {
    nodes.push({
      uuid: node.uuid,
      owner: node.owner,
      depsBytes: ctx.store.depsBytesOf(node),
      dataBytes: node.dataBytes,
    });
  }
  const users = new PyDict();
  for (const entry of ctx.users.values()) {
    // A record, not a presence: not measured, not connected (session-image.ts).
    users.setStr(
      entry.name,
      strDict([
        ['id', entry.name],
        ['admin', entry.admin],
        ['latency', BigInt(LATENCY_UNKNOWN_MS)],
        ['status', BigInt(STATE_INITIAL)],
        ['metadata', PyDict.from(entry.metadata.entries())],
      ]),
    );
  }
  return {
    nodes,
    users,
    initialized: ctx.phase === 'ACTIVE',
    chat: ctx.archive.chatMessages(),
    tasks: PyDict.from(ctx.archive.tasks.entries()),
    extra: strDict([[DELETED_TASKS_KEY, ctx.archive.deletedTaskIds()]]),
  };
}

/** The image node as a validated Node mutation owned by COMMON, or why it is refused. */
function nodeMutation(ctx: SessionContext, node: SessionImageNode): Mutation | string {
  let decoded: Node;
  try {
    const frames = [
      typeFrame(MessageType.Node),
      encodeTextFrame(node.uuid, 1),
      encodeTextFrame(node.owner, 2),
      node.depsBytes,
      node.dataBytes,
    ];
    decoded = decodeMessage(frames, ctx.payloadLimits) as Node;
  } catch (err) {
    return `not a valid node (${String((err as { code?: unknown }).code)})`;
  }
  const check = validateNodeData(ctx, decoded.dataBytes);
  if (!check.ok) return check.reason;
  return {
    type: 'node',
    uuid: decoded.uuid,
    owner: OWNER_COMMON,
    deps: decoded.deps,
    depsBytes: node.depsBytes,
    dataBytes: decoded.dataBytes,
  };
}

function importNodes(ctx: SessionContext, image: SessionImage): void {
  let skipped = 0;
  for (const node of image.nodes) {
    const m =
      ctx.store.size >= ctx.limits.maxNodes && !ctx.store.has(node.uuid)
        ? `the store holds the maximum of ${ctx.limits.maxNodes} nodes`
        : nodeMutation(ctx, node);
    if (typeof m === 'string') {
      skipped += 1;
      ctx.out.log('warn', `Restored node ${String(node.uuid).slice(0, 64)} skipped: ${m}`, 'import');
      continue;
    }
    applyMutation(ctx, m);
  }
  if (skipped > 0) ctx.out.log('error', `${skipped} node(s) of the restored session could not be loaded`);
}

function importArchive(ctx: SessionContext, image: SessionImage): void {
  const complain = (message: string): void => ctx.out.log('warn', `Restored chat/task archive: ${message}`, 'import');
  const deleted = image.extra?.get(DELETED_TASKS_KEY);
  if (Array.isArray(deleted)) {
    const ids = deleted.filter((id): id is string => typeof id === 'string');
    ctx.archive.restoreDeletedTaskIds(ids.slice(-ctx.limits.maxDeletedTaskIds));
  }
  const messages: PyDict[] = [];
  for (const item of Array.isArray(image.chat) ? image.chat : []) {
    const checked = checkChatMessage(ctx.limits, item);
    if (typeof checked === 'string') complain(checked);
    else messages.push(checked);
  }
  if (messages.length > 0) applyMutation(ctx, { type: 'chat', messages });
  const put = new PyDict();
  if (image.tasks instanceof PyDict) {
    for (const [id, task] of image.tasks.entries()) {
      const checked = checkTask(ctx.limits, id, task);
      if (typeof checked === 'string') complain(checked);
      else if (put.size < ctx.limits.maxArchivedTasks && !ctx.archive.isDeletedTask(id as string)) put.set(id, task);
    }
  }
  if (put.size > 0) applyMutation(ctx, { type: 'tasks', put, remove: [] });
}

function importUsers(ctx: SessionContext, image: SessionImage): void {
  if (!(image.users instanceof PyDict)) return;
  const complain = (message: string): void => ctx.out.log('warn', `Restored user records: ${message}`, 'import');
  for (const [name, record] of image.users.entries()) {
    const metadata = record instanceof PyDict ? record.get('metadata') : undefined;
    if (metadata instanceof PyDict) for (const m of archiveAdditionsOf(ctx, metadata, complain)) applyMutation(ctx, m);
    if (name === ARCHIVE_USERNAME) continue;
    if (typeof name !== 'string' || !(record instanceof PyDict)) {
      complain('a record is not {str: dict}');
      continue;
    }
    applyMutation(ctx, { type: 'user-join', name, admin: record.get('admin') === true });
    if (metadata instanceof PyDict && metadata.size > 0) applyMutation(ctx, { type: 'metadata', name, data: metadata });
  }
}

/**
 * Loads an image into a session that has nothing yet (no client, node, user or archive; else
 * `SessionError` `SESSION_NOT_EMPTY`). Every node is checked as network input, whatever the file
 * claims to be (`checkImage`; the store refuses a whole file that fails it before it gets here).
 * Items that do not pass the checks are skipped with a log;
 * everything else is applied. `changeCounter` is 0 afterwards: the session equals what is on disk.
 */
export function importImage(ctx: SessionContext, image: SessionImage): void {
  if (ctx.clients.size > 0 || ctx.store.size > 0 || ctx.users.size > 0 || !ctx.archive.isEmpty) {
    throw sessionError('SESSION_NOT_EMPTY', 'an image can only be imported into a fresh session');
  }
  importNodes(ctx, image);
  importArchive(ctx, image);
  importUsers(ctx, image);
  if (image.initialized === true || ctx.store.size > 0) applyMutation(ctx, { type: 'init-done' });
  ctx.changeCounter = 0;
}

/**
 * Ends a recovery (image + journal replay): the locks of users who are not connected go back to
 * COMMON and a session with nodes is ACTIVE, as `importImage` leaves an image. Both are accepted
 * mutations (journaled), since replayed records may hold locks of users who are gone. A session
 * mid-init (SRV_SYNC, only reachable live) is left alone.
 */
export function finishRecovery(ctx: SessionContext): void {
  const absent = new Map<string, string[]>();
  for (const node of ctx.store.values()) {
    if (node.owner === OWNER_COMMON || ctx.clients.byUsername(node.owner) !== undefined) continue;
    let ids = absent.get(node.owner);
    if (ids === undefined) absent.set(node.owner, (ids = []));
    ids.push(node.uuid);
  }
  for (const [owner, ids] of absent) {
    acceptMutation(ctx, { type: 'owner', uuids: ids, owner: OWNER_COMMON });
    ctx.out.log('info', `Released ${ids.length} lock(s) of ${owner} to COMMON: not connected after the restore`);
  }
  if (ctx.phase === 'WAITING' && ctx.store.size > 0) acceptMutation(ctx, { type: 'init-done' });
}

/** A node id as it appears in messages about a loaded file: quoted, bounded. */
function nodeLabel(uuid: unknown): string {
  return `node ${JSON.stringify(String(uuid).slice(0, 64))}`;
}

/**
 * Why `image` must not be loaded, naming the first offending item, or null. Every node, its
 * dependency list and every user record's metadata are checked exactly as if a client had sent
 * them (the frame codec, `validateNodeData`, `checkMetadataMerge`): a session file is input, and
 * clients unpickle what we serve from it. Whatever the file claims to be — our own snapshot or
 * an add-on export — since anyone who can write to the disk can forge our keys.
 */
export function checkImage(ctx: SessionContext, image: SessionImage): string | null {
  for (const node of image.nodes) {
    const m = nodeMutation(ctx, node);
    if (typeof m === 'string') return `${nodeLabel(node.uuid)}: ${m}`;
  }
  if (image.users instanceof PyDict) {
    for (const [name, record] of image.users.entries()) {
      const metadata = record instanceof PyDict ? record.get('metadata') : undefined;
      if (metadata === undefined) continue;
      const who = `user ${JSON.stringify(String(name).slice(0, 64))}`;
      if (!(metadata instanceof PyDict)) return `${who}: metadata is not a dict`;
      const merge = checkMetadataMerge(ctx, new UserEntry(String(name), false), metadata);
      if (typeof merge === 'string') return `${who}: ${merge}`;
    }
  }
  return null;
}

/**
 * Why a decoded journal record must not be replayed, or null: the checks its live handler made
 * before accepting it (node data, metadata bounds, archive items), made again, because a journal
 * file is input too. Dependency lists and node frames were decoded by the frame codec in
 * `decodeMutation`; a Commit's delta is validated when it is applied (commit-apply.ts).
 */
export function checkLoadedMutation(ctx: SessionContext, m: Mutation): string | null {
  switch (m.type) {
    case 'node': {
      const check = validateNodeData(ctx, m.dataBytes);
      return check.ok ? null : `${nodeLabel(m.uuid)}: ${check.reason}`;
    }
    case 'metadata': {
      const entry = ctx.users.get(m.name) ?? new UserEntry(m.name, false);
      const merge = checkMetadataMerge(ctx, entry, m.data);
      return typeof merge === 'string' ? `metadata of ${JSON.stringify(m.name.slice(0, 64))}: ${merge}` : null;
    }
    case 'chat':
      for (const item of m.messages) {
        const checked = checkChatMessage(ctx.limits, item);
        if (typeof checked === 'string') return `chat: ${checked}`;
      }
      return null;
    case 'tasks':
      for (const [id, task] of m.put.entries()) {
        const checked = checkTask(ctx.limits, id, task);
        if (typeof checked === 'string') return `tasks: ${checked}`;
      }
      return null;
    default:
      return null;
  }
}
