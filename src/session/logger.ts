/**
 * The one logger interface every module below `cli/` receives (STYLE.md §10): nothing below `cli/`
 * calls `console`, and `cli/server-logger.ts` is the one implementation that writes lines (text
 * like the reference's, or JSON). It lives in `session/` because that is the lowest folder that
 * every logging folder may import (`net/`, `store/` and `admin/` all depend on `session/`; the
 * session itself logs through effects whose level is this `LogLevel`). It is types and pure
 * functions only: no clock, no stream.
 */
import type { LogLevel } from './events.js';

export type { LogLevel };

/** A structured field value: what a JSON log line can carry without a custom encoder. */
export type LogFieldValue = string | number | boolean | null;

/**
 * Structured fields of one line (`{ reason: 'auto-save', nodes: 12 }`). The message text stays
 * complete on its own (operators grep it, DESIGN §4); fields repeat its parts for log collectors.
 */
export type LogFields = Readonly<Record<string, LogFieldValue>>;

export interface Logger {
  log(level: LogLevel, message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** Whether lines of `level` are written at all (to skip building expensive debug text). */
  enabled(level: LogLevel): boolean;
  /**
   * A logger for one subsystem (`net`, `store`, ...): same sink, same level, every line tagged
   * with the subsystem. A child of a child joins the names with a dot (`store.journal`).
   */
  child(bindings: { subsystem: string }): Logger;
}

/** Severity order, lowest first. */
export const LOG_LEVEL_ORDER: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Whether a line of `level` passes a threshold of `min`. */
export function levelPasses(level: LogLevel, min: LogLevel): boolean {
  return LOG_LEVEL_ORDER.indexOf(level) >= LOG_LEVEL_ORDER.indexOf(min);
}

/** The subsystem of a child of a logger tagged `parent` (undefined = the root logger). */
export function childSubsystem(parent: string | undefined, name: string): string {
  return parent === undefined ? name : `${parent}.${name}`;
}

/** One line as a sink receives it. */
export interface LogRecord {
  readonly level: LogLevel;
  readonly message: string;
  /** Undefined for the root logger. */
  readonly subsystem: string | undefined;
  readonly fields: LogFields;
}

const NO_FIELDS: LogFields = Object.freeze({});

/**
 * A logger that hands each line that passes `minLevel` to `sink` (the server's writer; tests
 * collect lines with it).
 */
export function createFuncLogger(
  sink: (level: LogLevel, message: string, subsystem: string | undefined, fields: LogFields) => void,
  minLevel: LogLevel = 'debug',
  subsystem?: string,
): Logger {
  const log = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (levelPasses(level, minLevel)) sink(level, message, subsystem, fields ?? NO_FIELDS);
  };
  return {
    log,
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    enabled: (level) => levelPasses(level, minLevel),
    child: (b) => createFuncLogger(sink, minLevel, childSubsystem(subsystem, b.subsystem)),
  };
}

/** A logger that drops everything. */
export const NULL_LOGGER: Logger = createFuncLogger(() => undefined, 'error');
