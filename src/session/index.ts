/** The server's logic as a pure state machine: `new Session(options)`, `session.handle(event)` → effects. */
export type { Channel, ClientId, Effect, EffectType, EventType, LogLevel, SessionEvent } from './events.js';
export {
  childSubsystem,
  createFuncLogger,
  levelPasses,
  LOG_LEVEL_ORDER,
  NULL_LOGGER,
  type LogFields,
  type LogFieldValue,
  type Logger,
  type LogRecord,
} from './logger.js';
export { DEFAULT_SESSION_LIMITS, resolveSessionLimits, type SessionLimits } from './limits.js';
export {
  DEFAULT_HEARTBEAT_GRACE_MS,
  DEFAULT_PRE_AUTH_HEARTBEAT_MS,
  DEFAULT_TIMEOUT_MS,
  Session,
  type SessionOptions,
  type UserSummary,
} from './session.js';
export type { ServerPhase } from './context.js';
export { HEARTBEAT_TICK_MS, PING_INTERVAL_MS } from './heartbeat.js';
export { ARCHIVE_USERNAME } from './archive.js';
export { EMPTY_STORE_PLACEHOLDER_ID } from './snapshot.js';
export * from './log-messages.js';
export { CHAT_KEY, DELETED_TASKS_KEY, TASKS_KEY, type ArchiveLimits } from './archive.js';
export { SessionError, type SessionErrorCode } from './errors.js';
export type { Mutation, MutationType } from './mutation.js';
export { decodeMutation, encodeMutation, encodeMutationParts, MUTATION_FORMAT_VERSION } from './mutation-codec.js';
export { DEFAULT_PY_JSON_LIMITS, pyJsonDumps, pyJsonLoads, type PyJsonLimits } from './py-json.js';
export type { SessionImage, SessionImageNode } from './session-image.js';
export { decodeJournalRecord, peekRecordTime } from './mutation-codec.js';
