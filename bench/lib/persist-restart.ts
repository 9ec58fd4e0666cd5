/**
 * Restart-to-serving: the compiled CLI spawned on a copy of a data directory
 * (snapshot + journal records after it, data-dir.ts), timed from the spawn to
 * - `restored`: the `Session restored from disk` log line (recovery read the snapshot),
 * - `listening`: `Listening on P.` (journal replayed, sockets bound),
 * - `running`: a client that logged in right after that line got `RUNNING`,
 * - `first node`: that client asked for the catalog (Snapshot REQUEST_INIT) and got the SET of
 *   one node for a GET — a join that has started to receive the scene.
 * The server is then SIGKILLed (a SIGTERM would make it save the replayed journal first: tens of
 * seconds at 1 GB, and not part of a restart). The snapshot was just written, so it is read from
 * the page cache: these are warm restarts (a crash, a container restart on the same host).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { ReplicationClient, encodeSnapshotGet, encodeSnapshotRequestInit } from '../../src/client/index.js';
import { PyDict } from '../../src/pickle/index.js';
import {
  SNAPSHOT_INIT,
  SNAPSHOT_KEY_CATALOG,
  SNAPSHOT_KEY_STATE,
  SNAPSHOT_SET,
  MessageType,
} from '../../src/protocol/index.js';
import { startCli } from './cli-process.js';
import { cloneDataDir } from './data-dir.js';

export interface RestartRun {
  restoredMs: number | null;
  listeningMs: number;
  runningMs: number;
  firstNodeMs: number;
  /** `Nodes: N` of the recovery log (null when nothing was restored). */
  loggedNodes: number | null;
  catalog: number;
}

const stateOf = (data: unknown): unknown => (data instanceof PyDict ? data.get(SNAPSHOT_KEY_STATE) : undefined);

/** One start of the CLI on a fresh copy of `base` (removed afterwards). */
export async function timeRestart(base: string, runDir: string, timeoutMs: number): Promise<RestartRun> {
  cloneDataDir(base, runDir);
  const cli = await startCli({ dataDir: runDir, readyText: null, logLevel: 'INFO' });
  const client = new ReplicationClient({
    host: '127.0.0.1',
    port: cli.port,
    username: 'bench-joiner',
    stepTimeoutMs: timeoutMs,
    connectionTimeoutMs: timeoutMs,
  });
  try {
    const listeningMs = await cli.waitFor(`Listening on ${cli.port}.`, timeoutMs);
    const reply = await client.login();
    const runningMs = performance.now() - cli.spawnedAt;
    if (reply !== 'RUNNING') throw new Error(`expected RUNNING after the restart, got ${reply}`);
    const init = client.waitForCommand(MessageType.Snapshot, (m) => stateOf(m.data) === SNAPSHOT_INIT);
    init.catch(() => undefined);
    await client.send('command', encodeSnapshotRequestInit(client.username));
    const data = (await init).data;
    const catalog = data instanceof PyDict ? data.get(SNAPSHOT_KEY_CATALOG) : undefined;
    if (!Array.isArray(catalog) || catalog.length === 0) throw new Error('no catalog after the restart');
    const set = client.waitForCommand(MessageType.Snapshot, (m) => stateOf(m.data) === SNAPSHOT_SET);
    set.catch(() => undefined);
    await client.send('command', encodeSnapshotGet(client.username, catalog[catalog.length - 1] as string));
    await set;
    const firstNodeMs = performance.now() - cli.spawnedAt;
    const out = cli.output();
    const restoredMs = cli.seenAt('Session restored from disk');
    const nodes = /Nodes: (\d+)/.exec(out);
    return {
      restoredMs: restoredMs === null ? null : Math.round(restoredMs),
      listeningMs: Math.round(listeningMs),
      runningMs: Math.round(runningMs),
      firstNodeMs: Math.round(firstNodeMs),
      loggedNodes: nodes === null ? null : Number(nodes[1]),
      catalog: catalog.length,
    };
  } finally {
    await client.close();
    await cli.kill();
    rmSync(runDir, { recursive: true, force: true });
  }
}

/** Spawn → `Listening on P.` only (an empty data dir: the client would get LOBBY, not RUNNING). */
export async function timeListening(base: string, runDir: string, timeoutMs: number): Promise<number> {
  cloneDataDir(base, runDir);
  const cli = await startCli({ dataDir: runDir, readyText: null, logLevel: 'INFO' });
  try {
    return Math.round(await cli.waitFor(`Listening on ${cli.port}.`, timeoutMs));
  } finally {
    await cli.kill();
    rmSync(runDir, { recursive: true, force: true });
  }
}

/** Where a data dir's run copies go. */
export const runDirOf = (root: string, label: string, round: number): string => join(root, `${label}-run${round}`);
