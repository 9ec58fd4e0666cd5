/**
 * The small logger every module below `cli/` receives (STYLE.md §10). `cli/` implements it (lines
 * like the reference's `HH:MM:SS SERVER LEVEL message`); nothing below `cli/` calls `console`.
 * Defined here because `net/` is the first module that logs; `store/` and `admin/` can use a
 * structurally identical interface (or this one once it moves to a shared place).
 */
import type { LogLevel } from '../session/events.js';

export type { LogLevel };

export interface Logger {
  log(level: LogLevel, message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Whether lines of `level` are written at all (to skip building expensive debug text). */
  enabled(level: LogLevel): boolean;
  /** A logger for one subsystem (`net`, `session`, ...); same sink, same level. */
  child(bindings: { subsystem: string }): Logger;
}

/** Severity order, lowest first. */
export const LOG_LEVEL_ORDER: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Whether a line of `level` passes a threshold of `min`. */
export function levelPasses(level: LogLevel, min: LogLevel): boolean {
  return LOG_LEVEL_ORDER.indexOf(level) >= LOG_LEVEL_ORDER.indexOf(min);
}

/** A logger that writes each line to `sink` (tests collect lines with it). */
export function createFuncLogger(
  sink: (level: LogLevel, message: string, subsystem: string | undefined) => void,
  minLevel: LogLevel = 'debug',
  subsystem?: string,
): Logger {
  const log = (level: LogLevel, message: string): void => {
    if (levelPasses(level, minLevel)) sink(level, message, subsystem);
  };
  return {
    log,
    debug: (m) => log('debug', m),
    info: (m) => log('info', m),
    warn: (m) => log('warn', m),
    error: (m) => log('error', m),
    enabled: (level) => levelPasses(level, minLevel),
    child: (b) => createFuncLogger(sink, minLevel, b.subsystem),
  };
}

/** A logger that drops everything. */
export const NULL_LOGGER: Logger = createFuncLogger(() => undefined, 'error');
