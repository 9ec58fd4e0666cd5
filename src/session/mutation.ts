/**
 * Accepted state changes, in one type so that the journal records each of them and replays it
 * through the same code: every change to what a snapshot holds is one
 * `Mutation`. The live handlers validate a message, then call `acceptMutation`, which emits a
 * `persist` effect — before the effects that relay the change, so `net/` journals it before any
 * client can see it (redis `beforeSleep`) — and applies it through `applyMutation`. Journal replay
 * calls `applyMutation` with the decoded record: one function per state change for both paths
 * (STYLE.md §2), and no second validation (the record was validated when it was accepted).
 *
 * Mutations hold views of received frames (node data, deltas): never write into them.
 */
import type { PyDict } from '../pickle/index.js';
import type { Deps } from '../protocol/index.js';
import { applyCommit, applyReplayedCommit } from './commit-apply.js';
import type { SessionContext } from './context.js';
import { UserEntry } from './users.js';

export type Mutation =
  /** Node on the data socket or in an init SET: a new node gets `owner`, an existing one keeps its own (§4.5). */
  | {
      type: 'node';
      uuid: string;
      owner: string;
      deps: Deps;
      /** Node frame 3 (pickled `deps`). */
      depsBytes: Uint8Array;
      /** Node frame 4 (pickled data dict). */
      dataBytes: Uint8Array;
    }
  /** Commit: the delta applied to the node's data, the dependency list replaced (§4.5). */
  | { type: 'commit'; uuid: string; deps: Deps; depsBytes: Uint8Array; deltaBytes: Uint8Array }
  /** Delete (§4.6), or the nodes of an aborted init; ids are also removed from every dependency list. */
  | { type: 'delete'; uuids: readonly string[] }
  /** Right (§4.7), or the locks of a leaving user going back to COMMON (§4.12). */
  | { type: 'owner'; uuids: readonly string[]; owner: string }
  /** A login: a fresh user record (empty metadata) for that name. */
  | { type: 'user-join'; name: string; admin: boolean }
  /** The user left (timeout, kick, dropped): its record goes. */
  | { type: 'user-leave'; name: string }
  /** UpdateUserMetadata merged into the user's record (§4.9). */
  | { type: 'metadata'; name: string; data: PyDict }
  /** The session became ACTIVE (init completed, §4.3). */
  | { type: 'init-done' }
  /** Chat messages added to the archive (archive.ts); known ids are skipped when applied. */
  | { type: 'chat'; messages: readonly PyDict[] }
  /** Tasks put on the board (id → task) and task ids deleted from it (archive.ts). */
  | { type: 'tasks'; put: PyDict; remove: readonly string[] };

export type MutationType = Mutation['type'];

/** Results the live path computed while validating, so a change is not computed twice. */
export interface Prepared {
  /** A Commit's new data bytes (commit-apply.ts). */
  commitResult?: Uint8Array;
  /** The pickled sizes of a metadata update's values, in order. */
  metadataSizes?: readonly number[];
  /** A late-journaled login's record, already held by its client (`acceptJoin`). */
  joinEntry?: UserEntry;
}

/**
 * Applies one mutation to the session state and counts it (`changeCounter`). Returns a problem
 * description when it could not be applied (only a Commit can fail: its node is gone or its
 * delta does not apply, which live validation rules out); never throws for that.
 */
export function applyMutation(ctx: SessionContext, m: Mutation, prepared: Prepared = {}): string | undefined {
  switch (m.type) {
    case 'node':
      ctx.store.put(m.uuid, m.owner, m.deps, m.depsBytes, m.dataBytes);
      break;
    case 'commit': {
      const node = ctx.store.get(m.uuid);
      if (node === undefined) return `commit for unknown node ${m.uuid}`;
      if (ctx.decodedNodes !== null && prepared.commitResult === undefined) {
        // A replay: the node stays decoded until the replay settles it (decoded-nodes.ts).
        const refused = applyReplayedCommit(ctx, node, m, ctx.decodedNodes);
        if (refused !== undefined) return `commit for ${m.uuid}: ${refused}`;
        break;
      }
      const result = prepared.commitResult ?? applyCommit(ctx, node, m.deltaBytes, false);
      if (typeof result === 'string') return `commit for ${m.uuid}: ${result}`;
      // The Commit's dependency list replaces the stored one whole; the owner is kept (§4.5).
      node.dataBytes = result;
      node.deps = m.deps;
      node.depsBytes = m.depsBytes;
      break;
    }
    case 'delete':
      for (const id of m.uuids) ctx.store.delete(id);
      break;
    case 'owner':
      ctx.store.setOwner(m.uuids, m.owner);
      break;
    case 'user-join':
      if (prepared.joinEntry !== undefined) ctx.users.adopt(prepared.joinEntry);
      else ctx.users.join(m.name, m.admin);
      break;
    case 'user-leave':
      ctx.users.leave(m.name);
      break;
    case 'metadata':
      // A journal that starts after the login (it follows a snapshot holding the record) still merges.
      (ctx.users.get(m.name) ?? ctx.users.join(m.name, false)).merge(m.data, prepared.metadataSizes);
      break;
    case 'init-done':
      ctx.phase = 'ACTIVE';
      break;
    case 'chat':
      ctx.archive.addChat(m.messages);
      break;
    case 'tasks':
      ctx.archive.updateTasks(m.put, m.remove);
      break;
    default:
      return `unknown mutation ${JSON.stringify((m as { type?: unknown }).type)}`;
  }
  ctx.changeCounter += 1;
  return undefined;
}

/**
 * The live path's only way to change state: journal first (a `persist` effect, placed before
 * whatever the caller relays next), then apply. A failure to apply is a bug: logged at `error`.
 */
export function acceptMutation(ctx: SessionContext, m: Mutation, prepared?: Prepared): void {
  if (ctx.pendingJoins.length > 0) journalPendingJoins(ctx);
  ctx.out.persist(m);
  const problem = applyMutation(ctx, m, prepared);
  if (problem !== undefined) ctx.out.log('error', `Accepted change not applied: ${problem}`, 'internal');
}

/**
 * A login (Auth accepted): returns the user record the client works on.
 *
 * A look-only visit — a `probe`, or anyone who logs in, looks at the user list and leaves — must
 * leave the data directory untouched, so a login is journaled only once something else is: its
 * record stays out of the book (and out of snapshots) until the next journaled change of any
 * user, which journals the waiting logins first, in login order, and puts their records in the
 * book. A leave before that journals nothing. So the book always equals what the snapshot and
 * journal replay to, in the same order, and the add-on's own client, which sends its metadata
 * right after login, is journaled as before. A login that replaces a record restored from disk
 * changes the book at once, so it is journaled at once.
 */
export function acceptJoin(ctx: SessionContext, name: string, admin: boolean): UserEntry {
  if (ctx.users.get(name) !== undefined) {
    acceptMutation(ctx, { type: 'user-join', name, admin });
    return ctx.users.get(name) as UserEntry;
  }
  const entry = new UserEntry(name, admin);
  ctx.pendingJoins.push({ name, admin, entry });
  return entry;
}

/** A logged-in user leaves: its record goes, journaled unless its login never was (`acceptJoin`). */
export function acceptLeave(ctx: SessionContext, name: string): void {
  const pending = ctx.pendingJoins.findIndex((p) => p.name === name);
  if (pending >= 0) ctx.pendingJoins.splice(pending, 1);
  else acceptMutation(ctx, { type: 'user-leave', name });
}

function journalPendingJoins(ctx: SessionContext): void {
  for (const p of ctx.pendingJoins.splice(0)) {
    const m: Mutation = { type: 'user-join', name: p.name, admin: p.admin };
    // Unattributed, as a login journaled at once is (its sender was not logged in yet).
    ctx.out.persist(m, false);
    applyMutation(ctx, m, { joinEntry: p.entry });
  }
}
