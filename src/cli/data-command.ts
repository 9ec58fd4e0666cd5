/**
 * Shared plumbing of the data-dir tools `backups`, `restore`, `verify`, `export` and `import`
 * (docs/operations.md): argument parsing with DATA_DIR resolved exactly as the server resolves it
 * (`resolveConfig`: flag > environment > `.env` > `./data`), the data-dir lock (a tool that
 * writes never works on a directory a server holds: exit 3 naming the holder's pid; the read-only
 * `backups` and `verify` read without it), exit codes, and the session options a journal replay
 * needs (the same bounds the server applies).
 */
import { isAbsolute, resolve } from 'node:path';

import { SessionError, Session, type SessionOptions } from '../session/index.js';
import {
  acquireDataDirLock,
  readDataDirLock,
  type DataDirLock,
  StoreError,
  NODE_STORE_FS,
  statOrNull,
  type ImageCheck,
} from '../store/index.js';
import { ConfigError, resolveConfig, type Config } from './config.js';
import { readDotenv } from './dotenv-file.js';

export { sessionOptionsOf } from './session-options.js';

/** Exit codes of every data tool. */
export const EXIT_OK = 0;
/** The check failed, the input is damaged, or a write failed. */
export const EXIT_FAIL = 1;
/** Bad arguments or configuration. */
export const EXIT_USAGE = 2;
/** Another process (a running server, another tool) holds the data directory. */
export const EXIT_LOCKED = 3;

/** What a tool may touch besides the data directory: injected, so tests never depend on the real process. */
export interface DataIo {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Clock (ms since the epoch) for names, metadata and progress. */
  now?: () => number;
}

export interface DataArgs {
  config: Config;
  /** Absolute path of DATA_DIR (relative values are taken from the working directory, as the server does). */
  dataDir: string;
  /** The tool's own flags: value flags map to their value, boolean flags to `true`. */
  flags: Map<string, string | true>;
  positionals: string[];
}

/** A tool's own flags (besides `--data-dir`): `'value'` takes an argument, `'bool'` does not. */
export type FlagKinds = Readonly<Record<string, 'value' | 'bool'>>;

/**
 * Parses `[--data-dir DIR] [tool flags] [positionals]`. Returns the usage error as a string.
 * Only `--data-dir` goes to `resolveConfig`, so every other server option comes from the
 * environment and `.env` exactly as for `serve` (the replay uses the same limits).
 */
export function parseDataArgs(
  argv: readonly string[],
  io: DataIo,
  kinds: FlagKinds,
  positionals: { min: number; max: number },
): DataArgs | string {
  const configArgv: string[] = [];
  const flags = new Map<string, string | true>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    // `-15m` is a relative time (history tools), not an option.
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      rest.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const kind = name === '--data-dir' ? 'value' : kinds[name];
    if (kind === undefined) return `unknown option '${arg}'`;
    if (kind === 'bool') {
      if (eq >= 0) return `option ${name} takes no value`;
      flags.set(name, true);
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('-') && next !== '-' && !/^-\d/.test(next))) {
        return `option ${name} needs a value`;
      }
      value = next;
      i++;
    }
    if (value === '') return `option ${name} needs a value`;
    if (name === '--data-dir') configArgv.push('--data-dir', value);
    else flags.set(name, value);
  }
  if (rest.length < positionals.min) return 'missing argument';
  if (rest.length > positionals.max) return `unexpected argument '${rest[positionals.max]}'`;
  let config: Config;
  try {
    config = resolveConfig({ argv: configArgv, env: io.env, dotenvText: readDotenv(io.cwd) }).config;
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  const dataDir = isAbsolute(config.dataDir) ? config.dataDir : resolve(io.cwd, config.dataDir);
  return { config, dataDir, flags, positionals: rest };
}

/**
 * Runs `body` while holding DATA_DIR's lock, and turns the expected failures into exit codes:
 * the lock held by someone else → 3 (the store's message names purpose, pid, host and since
 * when); a missing directory (unless `create`) and store / session errors → 1 with their message.
 */
export async function withDataDirLock(
  tool: string,
  dataDir: string,
  io: DataIo,
  options: { create: boolean },
  body: () => Promise<number>,
): Promise<number> {
  const fail = (text: string, code = EXIT_FAIL): number => {
    io.stderr.write(`multiuser-server ${tool}: ${text}\n`);
    return code;
  };
  if (!options.create) {
    const st = await statOrNull(NODE_STORE_FS, dataDir);
    if (st === null) return fail(`data directory ${dataDir} does not exist (set --data-dir or DATA_DIR)`);
    if (!st.isDirectory()) return fail(`${dataDir} is not a directory`);
  }
  let lock: DataDirLock;
  try {
    lock = await acquireDataDirLock(dataDir, { purpose: tool, now: io.now });
  } catch (err) {
    if (err instanceof StoreError && err.code === 'STORE_LOCKED') return fail(err.message, EXIT_LOCKED);
    if (err instanceof StoreError) return fail(err.message);
    throw err;
  }
  try {
    return await body();
  } catch (err) {
    if (err instanceof StoreError || err instanceof SessionError) return fail(err.message);
    throw err;
  } finally {
    await lock.release();
  }
}

/**
 * Runs a tool that only reads (`backups`, `verify`) WITHOUT the data-dir lock, so it works while
 * a server runs on the directory and on a read-only mount (taking the lock writes a file). Reading
 * is safe because the server replaces every file by an atomic rename and only appends to the
 * journal; `inspectDataDirStable` retries when a save happens during the read. A holder is named
 * on stderr so the operator knows the result describes a live directory. Errors map as in
 * `withDataDirLock`.
 */
export async function withoutDataDirLock(
  tool: string,
  dataDir: string,
  io: DataIo,
  body: (live: boolean) => Promise<number>,
): Promise<number> {
  const fail = (text: string): number => {
    io.stderr.write(`multiuser-server ${tool}: ${text}\n`);
    return EXIT_FAIL;
  };
  try {
    const st = await statOrNull(NODE_STORE_FS, dataDir);
    if (st === null) return fail(`data directory ${dataDir} does not exist (set --data-dir or DATA_DIR)`);
    if (!st.isDirectory()) return fail(`${dataDir} is not a directory`);
    const held = await readDataDirLock(dataDir);
    if (held !== null) {
      const who =
        held.info === null ? 'another process' : `${held.info.purpose} (pid ${held.info.pid} on ${held.info.hostname})`;
      io.stderr.write(
        `multiuser-server ${tool}: note: ${dataDir} is in use by ${who}; reading it without the lock (files are replaced atomically)\n`,
      );
    }
    return await body(held !== null);
  } catch (err) {
    if (err instanceof StoreError || err instanceof SessionError) return fail(err.message);
    if (err instanceof Error && 'code' in err && typeof err.code === 'string' && 'syscall' in err) {
      return fail(`${dataDir}: ${err.message}`);
    }
    throw err;
  }
}

/**
 * The validation every load path applies to a decoded session file: the session's own checks of
 * network input, with the limits the server serves with (a file is input, whatever it claims).
 */
export function imageCheckOf(options: SessionOptions): ImageCheck {
  return (image) => Session.checkImage(image, options);
}

/** `12.3 MB` (1024-based, like `ls -lh`). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}
