/**
 * The data contract between the session and the store (what a snapshot holds, in memory) is
 * defined by the session, which produces and consumes it; the store never looks inside `users`,
 * `chat`, `tasks` or `extra` beyond their Python types, and never decodes node data.
 */
export type { SessionImage, SessionImageNode } from '../session/index.js';
