/**
 * A server under test in its own process, so that it has a core and a heap of its own: the load
 * generator (writer and readers) runs in the benchmark's main process, and `process.memoryUsage()`
 * here is the server's alone. Started by `startServerProcess` (server-control.ts) with one JSON
 * argument; talks over the IPC channel:
 * - sends `{type: 'ready', port}` once bound on 127.0.0.1 (P, P+1, P+2);
 * - answers `{type: 'mem', gc?}` with `{type: 'mem', ...process.memoryUsage(), spaces}` (V8 heap
 *   space sizes; after a full GC when asked and `--expose-gc` is on), `{type: 'cpu'}` with the CPU time the process used so far
 *   (all its threads, libzmq's I/O thread included) and `{type: 'stats'}` with the server's counters;
 * - exits on `{type: 'stop'}` or when the parent goes away.
 */
import { getHeapSpaceStatistics } from 'node:v8';

import { createFuncLogger, Session } from '../../src/session/index.js';
import { SessionServer } from '../../src/net/index.js';
import { pickBasePort, withFreeBasePort } from '../../test/helpers/ports.js';
import { startBareServer, type BareServer } from './bare-server.js';
import { benchUuid, initialNodeBytes } from './payloads.js';

export interface ServerProcessConfig {
  /** `ours`: the real Session behind a SessionServer; `bare`: bare-server.ts. */
  kind: 'ours' | 'bare';
  /** Admin password of our server. */
  adminPassword: string;
  /** Bare server only: how many pre-encoded nodes (`benchUuid(1..n)`, `initialNodeBytes`) it serves. */
  bareNodes?: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as ServerProcessConfig;
const send = (msg: unknown): void => {
  process.send?.(msg);
};

async function startOurs(): Promise<{ port: number; close: () => Promise<void>; stats: () => unknown }> {
  // Warnings and errors only: a drop or a refused Commit in a benchmark must be visible.
  const logger = createFuncLogger((level, message) => process.stderr.write(`[server ${level}] ${message}\n`), 'warn');
  const session = new Session({ adminPassword: config.adminPassword });
  const server = await withFreeBasePort((port) => SessionServer.start({ port, host: '127.0.0.1', session, logger }));
  return { port: server.port, close: () => server.close(), stats: () => server.stats() };
}

async function startBare(): Promise<{ port: number; close: () => Promise<void>; stats: () => unknown }> {
  const nodes = [];
  for (let i = 1; i <= (config.bareNodes ?? 0); i++) {
    const uuid = benchUuid(i);
    nodes.push({ uuid, dataBytes: initialNodeBytes(uuid) });
  }
  let last: unknown;
  for (let attempt = 0; attempt < 10; attempt++) {
    const port = await pickBasePort();
    let bare: BareServer;
    try {
      bare = await startBareServer(port, nodes);
    } catch (err) {
      last = err;
      continue;
    }
    return { port, close: async () => bare.close(), stats: () => ({}) };
  }
  throw last;
}

const running = await (config.kind === 'ours' ? startOurs() : startBare());
process.on('message', (msg: { type: string; gc?: boolean }) => {
  if (msg.type === 'mem') {
    // Two collections, timed one by one: what the server's churn tidy does after a connection flood.
    let gcPauseMs = 0;
    if (msg.gc === true && typeof globalThis.gc === 'function') {
      for (let i = 0; i < 2; i++) {
        const t0 = performance.now();
        globalThis.gc();
        gcPauseMs = Math.max(gcPauseMs, performance.now() - t0);
      }
    }
    const spaces: Record<string, number> = {};
    for (const sp of getHeapSpaceStatistics()) spaces[sp.space_name] = sp.space_size;
    send({ type: 'mem', ...process.memoryUsage(), spaces, gcPauseMs });
  } else if (msg.type === 'cpu') {
    const { user, system } = process.cpuUsage();
    send({ type: 'cpu', micros: user + system });
  } else if (msg.type === 'stats') {
    send({ type: 'stats', stats: running.stats() });
  } else if (msg.type === 'stop') {
    void running.close().then(() => process.exit(0));
  }
});
process.on('disconnect', () => {
  void running.close().then(() => process.exit(0));
});
send({ type: 'ready', port: running.port });
