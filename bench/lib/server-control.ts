/**
 * The benchmark's side of server-process.ts: fork it, wait until it is bound, ask it for its
 * memory and counters, stop it. Extra node flags for the server (e.g. `--cpu-prof` to profile it)
 * come from `BENCH_SERVER_NODE_ARGS`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import type { ServerProcessConfig } from './server-process.js';
import { SERVER_ENV, SERVER_NODE_FLAGS } from './server-launch.js';

export interface ServerMemory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Size of each V8 heap space (bytes), by name. */
  spaces: Record<string, number>;
  /** Longest of the two full collections run before measuring, when asked for (ms; 0 otherwise). */
  gcPauseMs?: number;
}

export interface ServerProcess {
  readonly port: number;
  readonly pid: number;
  /** The server process's `memoryUsage()`; after a full GC when `gc` is true. */
  memory(gc?: boolean): Promise<ServerMemory>;
  /** CPU time (µs, user + system, every thread) the server process used since it started. */
  cpuMicros(): Promise<number>;
  stats(): Promise<unknown>;
  /** Asks it to close its sockets and exit; kills it if it has not within 5 s. */
  stop(): Promise<void>;
}

/**
 * BENCH_SERVER_SCRIPT: another build's compiled server-process.js, to measure an older server
 * (e.g. the last zeromq-based commit, built elsewhere) with this load generator.
 */
const SCRIPT = process.env.BENCH_SERVER_SCRIPT ?? fileURLToPath(new URL('./server-process.js', import.meta.url));
const MB = 1024 * 1024;

export function mb(bytes: number): number {
  return Math.round((bytes / MB) * 10) / 10;
}

function nextMessage<T>(child: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`server process: no '${type}' within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (msg: { type: string }): void => {
      if (msg.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(msg as T);
    };
    child.on('message', onMessage);
  });
}

export async function startServerProcess(config: ServerProcessConfig): Promise<ServerProcess> {
  const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const child = fork(SCRIPT, [JSON.stringify(config)], {
    // The same environment and node flags as `npm start` and the CLI's shebang (src/cli/main.ts).
    execArgv: [...SERVER_NODE_FLAGS, ...extra],
    env: { ...process.env, ...SERVER_ENV },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await Promise.race([
    nextMessage<{ port: number }>(child, 'ready', 60_000),
    exited.then(() => {
      throw new Error('server process exited before it was ready');
    }),
  ]);
  // Replies are matched by type; callers ask one thing at a time.
  return {
    port: ready.port,
    pid: child.pid as number,
    async memory(gc = false) {
      const reply = nextMessage<ServerMemory>(child, 'mem', 10_000);
      child.send({ type: 'mem', gc });
      return reply;
    },
    async cpuMicros() {
      const reply = nextMessage<{ micros: number }>(child, 'cpu', 10_000);
      child.send({ type: 'cpu' });
      return (await reply).micros;
    },
    async stats() {
      const reply = nextMessage<{ stats: unknown }>(child, 'stats', 10_000);
      child.send({ type: 'stats' });
      return (await reply).stats;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
