/**
 * The log lines operators grep for (one per login, logout, kick, lock release, init), in one file
 * so they are a contract: tests assert them verbatim. The wording
 * follows the reference server's own lines where it has one (captures/*.server.log:
 * `alice logged in.`, `bob disconnected from the server [kicked]`, `bob kicked from the session.`).
 * Passwords never appear here: no builder takes one.
 */

/** INFO, after a successful Auth. */
export function logLogin(username: string, admin: boolean): string {
  return admin ? `${username} logged in (admin).` : `${username} logged in.`;
}

/** Why a logged-in client left; the bracketed suffix of `logLogout`. */
export const LEAVE_REASON_KICKED = 'kicked';
/** The heartbeat latency exceeded the timeout (the reference's only reason besides kicks). */
export const LEAVE_REASON_TIMEOUT = 'connection closed';
/**
 * Every connection of the client closed and none came back within DISCONNECT_GRACE: the same words
 * as the timeout, since for the user (and the reference's log) it is the same departure, only sooner.
 */
export const LEAVE_REASON_CONNECTION_CLOSED = 'connection closed';
/**
 * Logged in but never started a heartbeat within the grace period (a deviation: such a login would
 * otherwise hold its slot and its locks forever).
 */
export const LEAVE_REASON_NO_HEARTBEAT = 'no heartbeat';

/** INFO, whenever a logged-in client is removed (timeout, kick, no heartbeat, dropped by `net/`). */
export function logLogout(username: string, reason: string): string {
  return `${username} disconnected from the server [${reason}]`;
}

/** WARN, after a kick; `by` is the admin's username or `operator` for the shell / admin API. */
export function logKick(username: string, by: string): string {
  return `${username} kicked from the session by ${by}.`;
}

/** INFO, when a leaving client's locks are released to COMMON (§4.12). */
export function logLockRelease(username: string, nodeIds: readonly string[]): string {
  return `Released ${nodeIds.length} lock(s) of ${username} to COMMON: ${nodeIds.join(', ')}`;
}

/** INFO, when a client's ServerSnapshot INIT is accepted. */
export function logInitStarted(username: string, nodeCount: number): string {
  return `${username} is initialising the session with ${nodeCount} node(s)`;
}

/** INFO, when the last listed node of an init arrived: the session is ACTIVE. */
export function logInitDone(username: string, nodeCount: number): string {
  return `Session initialised by ${username}: ${nodeCount} node(s); now running`;
}

/** WARN, when the initialiser left before sending every node: back to WAITING (fixes §9 item 12). */
export function logInitAborted(username: string, received: number, expected: number): string {
  return `Initialisation by ${username} aborted after ${received}/${expected} node(s): the client left; waiting for a new init`;
}

/** INFO, when a client starts pulling the snapshot (reference: `NAME - Snapshot : Pushing nodes catalog`). */
export function logSnapshotCatalog(username: string, nodeCount: number): string {
  return `${username} - Snapshot : pushing nodes catalog (${nodeCount} node(s))`;
}

/** INFO, when a client finished pulling the snapshot (reference: `NAME - Snapshot : done.`). */
export function logSnapshotDone(username: string): string {
  return `${username} - Snapshot : done.`;
}

/** The `save` effect's reason when a logged-in user leaves, for any cause (in `Session saved to disk (reason: …)`). */
export function saveReasonUserDisconnect(username: string): string {
  return `user_disconnect:${username}`;
}
