/**
 * The operator-facing log: lines like the reference server's (`%(asctime)s SERVER
 * %(levelname)-8s %(message)s` with `%H:%M:%S` local time, captures/*.server.log), written to
 * stderr and, with `--log-file`, appended to that file. Operators grep these lines (DESIGN §4), so
 * the format is a contract. Nothing logs passwords: no code path passes one to the logger.
 */
import { createWriteStream, type WriteStream } from 'node:fs';

import { levelPasses, type Logger, type LogLevel } from '../net/logger.js';
import type { LogLevelName } from './config.js';

/** Python's level names, as the reference prints them. */
const PY_NAMES: Readonly<Record<LogLevel, string>> = { debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR' };

const FROM_PY: Readonly<Record<LogLevelName, LogLevel>> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warn',
  ERROR: 'error',
};

const two = (n: number): string => String(n).padStart(2, '0');

/** One log line, without the newline: `05:21:29 SERVER INFO     Listening on 5555.` */
export function formatLogLine(level: LogLevel, message: string, at: Date): string {
  const time = `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`;
  return `${time} SERVER ${PY_NAMES[level].padEnd(8)} ${message}`;
}

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

function endFile(f: WriteStream | null): Promise<void> {
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
  let file: WriteStream | null = null;
  const openFile = (path: string): void => {
    const f = createWriteStream(path, { flags: 'a' });
    f.on('error', (err) => {
      toStream(formatLogLine('error', `Cannot write the log file ${path}: ${err.message}`, now()) + '\n');
      if (file === f) file = null;
    });
    file = f;
  };
  if (opts.file !== null) openFile(opts.file);
  let observer: ((level: LogLevel, message: string) => void) | null = null;
  const make = (): ServerLogger => {
    const log = (level: LogLevel, message: string): void => {
      if (!levelPasses(level, min)) return;
      if (observer !== null && (level === 'warn' || level === 'error')) observer(level, message);
      // One line per entry: a message carrying a newline (e.g. a username) cannot forge log lines.
      const line = formatLogLine(level, message.replace(/[\r\n]+/g, ' '), now()) + '\n';
      toStream(line);
      file?.write(line);
    };
    return {
      log,
      debug: (m) => log('debug', m),
      info: (m) => log('info', m),
      warn: (m) => log('warn', m),
      error: (m) => log('error', m),
      enabled: (level) => levelPasses(level, min),
      // One format for every subsystem: the line stays the reference's, whoever wrote it.
      child: () => logger,
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
    };
  };
  const logger = make();
  return logger;
}
