/** The server's logic as a pure state machine: `new Session(options)`, `session.handle(event)` → effects. */
export type { Channel, ClientId, Effect, EffectType, EventType, LogLevel, SessionEvent } from './events.js';
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
export { ARCHIVE_USERNAME } from './leave.js';
export { EMPTY_STORE_PLACEHOLDER_ID } from './snapshot.js';
export * from './log-messages.js';
