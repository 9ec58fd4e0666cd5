/**
 * The operator-facing log, the one implementation of the `Logger` interface (session/logger.ts)
 * that writes lines: to stderr and, with `--log-file`, appended to that file. Two formats:
 *
 * - `text` (default): the reference server's `%(asctime)s %(name)s %(levelname)-8s %(message)s`
 *   (captures/*.server.log), with the date, milliseconds and UTC offset added to the time stamp
 *   (local time, so it reads like the host's clock and still orders across DST changes). The
 *   name is `SERVER`, and `SERVER.<subsystem>` for a child logger, as Python's getChild names it.
 *   Structured fields follow the message as `key=value`. Operators grep these lines (DESIGN §4), so
 *   the message texts are a contract; the level column is unchanged.
 * - `json`: one JSON object per line for log collectors: `time` (ISO 8601, UTC), `level` (the
 *   Python level name), `subsystem` (`server` for the root), `msg`, `fields`.
 *
 * Nothing logs passwords: no code path passes one to the logger.
 */
import { childSubsystem, createFuncLogger, type LogFields, type Logger, type LogLevel } from '../session/index.js';
import { openAppendStream, type AppendStream } from '../store/index.js';
import type { LogFormat, LogLevelName } from './config.js';

/** Python's level names, as the reference prints them. */
const PY_NAMES: Readonly<Record<LogLevel, string>> = { debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR' };

const FROM_PY: Readonly<Record<LogLevelName, LogLevel>> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warn',
  ERROR: 'error',
};

/** The logger name of the text format and the subsystem of root lines in JSON. */
const ROOT_NAME = 'SERVER';
const ROOT_SUBSYSTEM = 'server';

const pad = (n: number, width = 2): string => String(Math.abs(n)).padStart(width, '0');

/** `2025-01-12 05:21:09.000+01:00`: local time with its offset from UTC (RFC 3339 with a space). */
export function formatLocalTime(at: Date): string {
  const offsetMin = -at.getTimezoneOffset();
  const sign = offsetMin < 0 ? '-' : '+';
  const date = `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}.${pad(at.getMilliseconds(), 3)}`;
  return `${date} ${time}${sign}${pad(Math.trunc(offsetMin / 60))}:${pad(offsetMin % 60)}`;
}

/** A field value as `key=value` text: bare when it is one plain word, JSON-quoted otherwise. */
function fieldText(value: LogFields[string]): string {
  if (typeof value === 'string') return /^[\w.:/@+-]+$/.test(value) ? value : JSON.stringify(value);
  return String(value);
}

/** Newlines become spaces: a message carrying one (e.g. a username) cannot forge a log line. */
const oneLine = (text: string): string => text.replace(/[\r\n]+/g, ' ');

/**
 * One text line, without the newline:
 * `2025-01-12 05:21:29.000+01:00 SERVER INFO     Listening on 5555.`
 */
export function formatLogLine(
  level: LogLevel,
  message: string,
  at: Date,
  subsystem?: string,
  fields: LogFields = {},
): string {
  const name = subsystem === undefined ? ROOT_NAME : `${ROOT_NAME}.${subsystem}`;
  let line = `${formatLocalTime(at)} ${name} ${PY_NAMES[level].padEnd(8)} ${oneLine(message)}`;
  for (const [key, value] of Object.entries(fields)) line += ` ${oneLine(key)}=${oneLine(fieldText(value))}`;
  return line;
}

/** One JSON line, without the newline. JSON escapes newlines, so no line can be forged either. */
export function formatJsonLine(
  level: LogLevel,
  message: string,
  at: Date,
  subsystem?: string,
  fields: LogFields = {},
): string {
  return JSON.stringify({
    time: at.toISOString(),
    level: PY_NAMES[level],
    subsystem: subsystem ?? ROOT_SUBSYSTEM,
    msg: message,
    fields,
  });
}

const FORMATTERS: Readonly<Record<LogFormat, typeof formatLogLine>> = { text: formatLogLine, json: formatJsonLine };

/**
 * Where lines go besides the file. When it is an event emitter (process.stderr), its `error` event
 * (EPIPE once a `| tee` or log collector is gone) is taken as "nobody reads any more": the logger
 * stops writing to it instead of letting the unhandled error kill the server before its final save.
 */
export interface LogStream {
  write(text: string): unknown;
  on?(event: 'error', listener: (err: Error) => void): unknown;
}

export interface ServerLoggerOptions {
  level: LogLevelName;
  /** `text` (the reference's lines) or `json` (one object per line); default text. */
  format?: LogFormat;
  /** Path of the log file (appended to), or null. */
  file: string | null;
  /** Where lines go besides the file (default process.stderr). */
  stream?: LogStream;
  /** Clock for the time stamp (tests). */
  now?: () => Date;
}

export interface ServerLogger extends Logger {
  /**
   * Closes the log file and opens the same path again (for logrotate: the rotated file is
   * released, the next line goes to a new one). Resolves with false when there is no log file.
   */
  reopen(): Promise<boolean>;
  /** Flushes and closes the log file. */
  close(): Promise<void>;
  /** Sees every WARN and ERROR line written (the admin console's live feed); null stops. */
  observe(listener: ((level: LogLevel, message: string) => void) | null): void;
}

/**
 * Keeps a write error on stdout or stderr (EPIPE, a closed terminal) from killing the process:
 * Node turns it into an `error` event that, without a listener, is thrown. Output to a stream
 * nobody reads is lost anyway; the log file, the final save and the lock release must not be.
 */
export function tolerateClosedOutput(...streams: NodeJS.WritableStream[]): void {
  for (const s of streams) s.on('error', () => undefined);
}

function endFile(f: AppendStream | null): Promise<void> {
  return new Promise<void>((resolve) => {
    if (f === null) resolve();
    else f.end(() => resolve());
  });
}

/**
 * Creates the logger. The file is opened for appending at once; a file that cannot be opened is
 * reported on stderr once and the logger goes on with stderr only (the server must still start).
 */
export function createServerLogger(opts: ServerLoggerOptions): ServerLogger {
  const min = FROM_PY[opts.level];
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? (() => new Date());
  const format = FORMATTERS[opts.format ?? 'text'];
  let streamOpen = true;
  stream.on?.('error', () => {
    streamOpen = false;
  });
  const toStream = (line: string): void => {
    if (!streamOpen) return;
    try {
      stream.write(line);
    } catch {
      // A synchronous EPIPE on some stream kinds: same outcome as the error event.
      streamOpen = false;
    }
  };
  let file: AppendStream | null = null;
  const openFile = (path: string): void => {
    const f = openAppendStream(path);
    f.on('error', (err) => {
      toStream(format('error', `Cannot write the log file ${path}: ${err.message}`, now()) + '\n');
      if (file === f) file = null;
    });
    file = f;
  };
  if (opts.file !== null) openFile(opts.file);
  // Shared by every child logger: the console's live feed sees each subsystem's warnings.
  let observer: ((level: LogLevel, message: string) => void) | null = null;
  const write = (level: LogLevel, message: string, subsystem: string | undefined, fields: LogFields): void => {
    if (observer !== null && (level === 'warn' || level === 'error')) observer(level, message);
    const line = format(level, message, now(), subsystem, fields) + '\n';
    toStream(line);
    file?.write(line);
  };
  const make = (subsystem: string | undefined): ServerLogger => ({
    ...createFuncLogger(write, min, subsystem),
    child: (b) => make(childSubsystem(subsystem, b.subsystem)),
    observe: (listener) => {
      observer = listener;
    },
    reopen: async () => {
      if (opts.file === null) return false;
      // The new file first: no line falls between the two.
      const old = file;
      openFile(opts.file);
      await endFile(old);
      return true;
    },
    close: () => {
      const f = file;
      file = null;
      return endFile(f);
    },
  });
  return make(undefined);
}
