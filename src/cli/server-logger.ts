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

export interface ServerLoggerOptions {
  level: LogLevelName;
  /** Path of the log file (appended to), or null. */
  file: string | null;
  /** Where lines go besides the file (default process.stderr). */
  stream?: { write(text: string): unknown };
  /** Clock for the time stamp (tests). */
  now?: () => Date;
}

export interface ServerLogger extends Logger {
  /** Flushes and closes the log file. */
  close(): Promise<void>;
}

/**
 * Creates the logger. The file is opened for appending at once; a file that cannot be opened is
 * reported on stderr once and the logger goes on with stderr only (the server must still start).
 */
export function createServerLogger(opts: ServerLoggerOptions): ServerLogger {
  const min = FROM_PY[opts.level];
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? (() => new Date());
  let file: WriteStream | null = null;
  if (opts.file !== null) {
    file = createWriteStream(opts.file, { flags: 'a' });
    file.on('error', (err) => {
      stream.write(formatLogLine('error', `Cannot write the log file ${opts.file}: ${err.message}`, now()) + '\n');
      file = null;
    });
  }
  const make = (): ServerLogger => {
    const log = (level: LogLevel, message: string): void => {
      if (!levelPasses(level, min)) return;
      // One line per entry: a message carrying a newline (e.g. a username) cannot forge log lines.
      const line = formatLogLine(level, message.replace(/[\r\n]+/g, ' '), now()) + '\n';
      stream.write(line);
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
      close: () =>
        new Promise<void>((resolve) => {
          const f = file;
          file = null;
          if (f === null) resolve();
          else f.end(() => resolve());
        }),
    };
  };
  const logger = make();
  return logger;
}
