/**
 * rig.ts for the real CLI: the compiled server on a fresh temp data directory (journal, snapshots,
 * everything the product does), a writer logged in as admin that initialises the session and K
 * readers logged in and joined — so the fan-out load generator (load.ts) runs unchanged against
 * the server as deployed, with a given `JOURNAL_FSYNC`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ReplicationClient } from '../../src/client/index.js';
import { CLI_ADMIN_PASSWORD, startCli, type CliProcess } from './cli-process.js';
import type { RigNode } from './rig.js';

export interface CliRig {
  readonly cli: CliProcess;
  readonly dataDir: string;
  readonly writer: ReplicationClient;
  readonly readers: ReplicationClient[];
  /** Closes the clients, stops the server (SIGTERM: it saves) and removes the data directory. */
  close(): Promise<void>;
}

export interface CliRigOptions {
  readers: number;
  nodes: readonly RigNode[];
  /** `--journal-fsync` value: `always`, `off` or an interval in ms. */
  journalFsync: string;
  logLevel?: string;
  /** Where the temp data directory goes (default the OS temp dir). */
  tmpRoot?: string;
}

export async function startCliRig(opts: CliRigOptions): Promise<CliRig> {
  const dataDir = mkdtempSync(join(opts.tmpRoot ?? tmpdir(), 'mus-bench-rig-'));
  const clients: ReplicationClient[] = [];
  let cli: CliProcess | undefined;
  const cleanup = async (): Promise<void> => {
    await Promise.all(clients.map((c) => c.close()));
    if (cli !== undefined) await cli.stop(30_000);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    cli = await startCli({
      dataDir,
      args: ['--journal-fsync', opts.journalFsync],
      logLevel: opts.logLevel ?? 'INFO',
    });
    const port = cli.port;
    const make = (username: string, admin = false): ReplicationClient => {
      const c = new ReplicationClient({
        host: '127.0.0.1',
        port,
        username,
        adminPassword: admin ? CLI_ADMIN_PASSWORD : undefined,
        stepTimeoutMs: 120_000,
        connectionTimeoutMs: 30_000,
      });
      clients.push(c);
      return c;
    };
    const writer = make('writer', true);
    if ((await writer.login()) !== 'LOBBY') throw new Error('writer: expected LOBBY');
    if ((await writer.init(opts.nodes)) !== 'ACCEPTED') throw new Error('init refused');
    const readers: ReplicationClient[] = [];
    for (let i = 0; i < opts.readers; i++) readers.push(make(`reader${i + 1}`));
    await Promise.all(
      readers.map(async (r) => {
        const reply = await r.login();
        if (reply !== 'RUNNING') throw new Error(`${r.username}: expected RUNNING, got ${reply}`);
        await r.join();
      }),
    );
    const started = cli;
    return { cli: started, dataDir, writer, readers, close: cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
