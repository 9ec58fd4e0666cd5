/**
 * The compiled CLI (`node --max-semi-space-size=2 --initial-old-space-size=64 --expose-gc dist/src/cli/main.js`, as `npm start` runs it)
 * as the server under test, on a real data directory, for the persistence benchmark: spawned
 * with stdin on /dev/null on 127.0.0.1, its output (stdout + stderr) collected and searched with deadlines, the time of every awaited line
 * measured from the spawn, its CPU time read from /proc (all threads: libzmq's and libuv's too),
 * stopped with SIGTERM (shutdown save) or SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { pickBasePort } from '../../test/helpers/ports.js';
import { REPO_ROOT } from './harness.js';
import { SERVER_ENV, SERVER_NODE_FLAGS } from './server-launch.js';

export const CLI_MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
/**
 * Node flags of the server, as deployed: the CLI's shebang and `npm start` cap V8's young
 * generation (main.ts). `PERSIST_CLI_NODE_ARGS` replaces them (e.g. to add `--cpu-prof`).
 */
export const CLI_NODE_ARGS: readonly string[] =
  process.env.PERSIST_CLI_NODE_ARGS === undefined
    ? SERVER_NODE_FLAGS
    : process.env.PERSIST_CLI_NODE_ARGS.split(' ').filter((a) => a !== '');
export const CLI_ADMIN_PASSWORD = 'bench-admin';

export interface CliProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** `performance.now()` just before the spawn. */
  readonly spawnedAt: number;
  output(): string;
  /**
   * Resolves with the ms from spawn to the arrival of the output chunk that completed the first
   * match of `text` (at or after `from`); rejects at the deadline or when the process exits first.
   */
  waitFor(text: string | RegExp, ms?: number, from?: number): Promise<number>;
  /** Like `waitFor` for output already received: ms from spawn, or null when not (yet) printed. */
  seenAt(text: string | RegExp, from?: number): number | null;
  /** Output length now (for `waitFor(…, from)`). */
  mark(): number;
  /** CPU time (µs) of the process so far, from /proc/<pid>/stat; undefined off Linux. */
  cpuMicros(): number | undefined;
  readonly exited: Promise<number | null>;
  /** SIGTERM and wait (the server saves on the way out); SIGKILL after `ms`. */
  stop(ms?: number): Promise<number | null>;
  /** SIGKILL, resolves once it is gone. */
  kill(): Promise<void>;
}

export interface CliStartOptions {
  dataDir: string;
  /** Extra flags (e.g. `--journal-fsync always`). */
  args?: readonly string[];
  /** `--log-level` (default INFO, the CLI's own default; `Listening on P.` is an INFO line). */
  logLevel?: string;
  /** Resolve `startCli` once this is printed (default `Listening on P.`); null: right after spawn. */
  readyText?: string | null;
  readyTimeoutMs?: number;
}

const CLK_TCK = 100;

/** Every CLI child still running, so that a benchmark stopped by a signal leaves none behind. */
const live = new Set<ChildProcess>();

/** SIGKILLs every CLI this process started that is still running (signal handlers, `exit`). */
export function killAllClis(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

function procCpuMicros(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1e6) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Spawns the CLI on a free base port (retried when a port was taken meanwhile). */
export async function startCli(opts: CliStartOptions): Promise<CliProcess> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await pickBasePort();
    const cli = spawnCli(port, opts);
    if (opts.readyText === null) return cli;
    try {
      await cli.waitFor(opts.readyText ?? `Listening on ${port}.`, opts.readyTimeoutMs ?? 60_000);
      return cli;
    } catch (err) {
      lastError = err;
      if (cli.child.exitCode === null) await cli.kill();
      if (!cli.output().includes('already in use')) throw err;
    }
  }
  throw lastError;
}

function spawnCli(port: number, opts: CliStartOptions): CliProcess {
  const argv = [
    ...CLI_NODE_ARGS,
    CLI_MAIN,
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '-apwd',
    CLI_ADMIN_PASSWORD,
    '--data-dir',
    opts.dataDir,
    '--log-level',
    opts.logLevel ?? 'INFO',
    ...(opts.args ?? []),
  ];
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, argv, {
    cwd: opts.dataDir,
    env: { PATH: process.env.PATH ?? '', ...SERVER_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let text = '';
  // Arrival time of each chunk, by the output length after it (to time a line, not its discovery).
  const arrivals: { end: number; at: number }[] = [];
  const listeners = new Set<() => void>();
  const onData = (d: Buffer): void => {
    text += d.toString();
    arrivals.push({ end: text.length, at: performance.now() - spawnedAt });
    for (const l of [...listeners]) l();
  };
  const seenAt = (pattern: string | RegExp, from = 0): number | null => {
    const rest = text.slice(from);
    let end: number;
    if (typeof pattern === 'string') {
      const i = rest.indexOf(pattern);
      if (i < 0) return null;
      end = from + i + pattern.length;
    } else {
      const m = pattern.exec(rest);
      if (m === null) return null;
      end = from + m.index + m[0].length;
    }
    return arrivals.find((a) => a.end >= end)?.at ?? null;
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      live.delete(child);
      resolve(code);
    }),
  );
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const l of [...listeners]) l();
  });
  const waitFor = (pattern: string | RegExp, ms = 30_000, from = 0): Promise<number> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const at = seenAt(pattern, from);
        if (at !== null) finish(at);
        else if (gone) finish(new Error(`CLI exited before printing ${String(pattern)}:\n${text.slice(-4000)}`));
      };
      const timer = setTimeout(
        () => finish(new Error(`${String(pattern)} not printed within ${ms} ms:\n${text.slice(-4000)}`)),
        ms,
      );
      const finish = (r: number | Error): void => {
        clearTimeout(timer);
        listeners.delete(check);
        if (typeof r === 'number') resolve(r);
        else reject(r);
      };
      listeners.add(check);
      check();
    });
  return {
    child,
    port,
    spawnedAt,
    output: () => text,
    waitFor,
    seenAt,
    mark: () => text.length,
    cpuMicros: () => (child.pid === undefined ? undefined : procCpuMicros(child.pid)),
    exited,
    async stop(ms = 120_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
