/**
 * `multiuser-server health [HOST:PORT]`: the container and service-manager health check. One
 * RequestServerInfo on the command port — what the add-on's "refresh server status" sends — and a
 * valid reply within the deadline means the server can serve; anything else exits non-zero. It
 * never logs in, so it never shows up in the user list or in the server's log above DEBUG, and it
 * writes nothing (the data directory and its lock are not touched).
 */
import { requestServerInfo } from '../client/index.js';
import { ConfigError, resolveConfig } from './config.js';
import { readDotenv } from './dotenv-file.js';
import { parseTarget, type ProbeTarget } from './target.js';

/** The check's deadline by default: a healthy server answers in milliseconds. */
export const HEALTH_TIMEOUT_MS = 2000;

export const HEALTH_USAGE = `usage: multiuser-server health [HOST:PORT] [--timeout MS]

Sends RequestServerInfo to the command port and waits for a valid reply. Exit code 0 when it
came within the deadline (default ${HEALTH_TIMEOUT_MS} ms), 1 otherwise, 2 for bad arguments.
Without HOST:PORT it checks the server this configuration starts: PORT and HOST from the
environment or .env (HOST * or an any-address means 127.0.0.1). It does not log in.
`;

export interface HealthOptions extends ProbeTarget {
  timeoutMs: number;
}

export interface HealthIo {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

const ANY_ADDRESS = new Set(['*', '0.0.0.0', '::', '[::]']);

/** Parses the check's arguments; returns the usage error as a string. */
export function parseHealthArgs(args: readonly string[], io: HealthIo): HealthOptions | string {
  let target: ProbeTarget | undefined;
  let timeoutMs = HEALTH_TIMEOUT_MS;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--timeout' || arg === '-t') {
      const v = Number(args[++i]);
      if (!Number.isInteger(v) || v < 100) return `${arg} needs a number of milliseconds (at least 100)`;
      timeoutMs = v;
    } else if (target === undefined && !arg.startsWith('-')) {
      target = parseTarget(arg);
      if (target === undefined) return `cannot read '${arg}' as HOST:PORT`;
    } else {
      return `unexpected argument '${arg}'`;
    }
  }
  if (target === undefined) {
    try {
      const { config } = resolveConfig({ argv: [], env: io.env, dotenvText: readDotenv(io.cwd) });
      target = { host: ANY_ADDRESS.has(config.host) ? '127.0.0.1' : config.host, port: config.port };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.message;
    }
  }
  return { ...target, timeoutMs };
}

/** Runs the check; one line on `out`; resolves with the exit code (0 healthy, 1 not). */
export async function runHealth(opts: HealthOptions, out: NodeJS.WritableStream): Promise<number> {
  const where = `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`;
  const started = performance.now();
  try {
    const info = await requestServerInfo({ host: opts.host, port: opts.port, timeoutMs: opts.timeoutMs });
    const ms = Math.round(performance.now() - started);
    out.write(`healthy: ${where} answered server info in ${ms} ms (replication ${info.version})\n`);
    return 0;
  } catch (err) {
    out.write(`unhealthy: ${where}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/** `multiuser-server health ARGS`: parses, checks, and resolves with the exit code (2 for bad arguments). */
export async function healthMain(args: readonly string[]): Promise<number> {
  const opts = parseHealthArgs(args, { env: process.env, cwd: process.cwd() });
  if (typeof opts === 'string') {
    process.stderr.write(`multiuser-server health: ${opts}\n${HEALTH_USAGE}`);
    return 2;
  }
  return runHealth(opts, process.stdout);
}
