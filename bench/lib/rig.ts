/**
 * A server process with logged-in clients: our server initialised with the given nodes and every
 * reader joined to the session (REQUEST_INIT, GETs, DONE) — or the bare relay, where the clients
 * only send Auth (its reply is a canned RUNNING) and run without a heartbeat (it sends no PINGs).
 */
import { ReplicationClient } from '../../src/client/index.js';
import { startServerProcess, type ServerProcess } from './server-control.js';

export type ServerKind = 'ours' | 'bare';

export const BENCH_ADMIN_PASSWORD = 'bench-admin';

export interface RigNode {
  uuid: string;
  dataBytes: Uint8Array;
}

export interface Rig {
  readonly kind: ServerKind;
  readonly server: ServerProcess;
  readonly writer: ReplicationClient;
  readonly readers: ReplicationClient[];
  /** Another logged-in client (not joined); closed with the rig. */
  client(username: string): Promise<ReplicationClient>;
  close(): Promise<void>;
}

export interface RigOptions {
  kind: ServerKind;
  readers: number;
  nodes: readonly RigNode[];
  /** Bare server: how many pre-encoded nodes it serves (join benchmark). */
  bareNodes?: number;
  /** Readers pull the snapshot this many GETs at a time (our server only). */
  joinPipeline?: number;
}

export async function startRig(opts: RigOptions): Promise<Rig> {
  const server = await startServerProcess({
    kind: opts.kind,
    adminPassword: BENCH_ADMIN_PASSWORD,
    bareNodes: opts.bareNodes,
  });
  const clients: ReplicationClient[] = [];
  const make = (username: string, admin = false): ReplicationClient => {
    const c = new ReplicationClient({
      host: '127.0.0.1',
      port: server.port,
      username,
      adminPassword: admin ? BENCH_ADMIN_PASSWORD : undefined,
      heartbeat: opts.kind === 'ours',
      stepTimeoutMs: 120_000,
      connectionTimeoutMs: 30_000,
    });
    clients.push(c);
    return c;
  };
  const login = async (c: ReplicationClient, expected: string): Promise<void> => {
    const reply = await c.login();
    if (reply !== expected) throw new Error(`${c.username}: expected ${expected}, got ${reply}`);
  };
  try {
    const writer = make('writer', true);
    if (opts.kind === 'ours') {
      await login(writer, 'LOBBY');
      if ((await writer.init(opts.nodes)) !== 'ACCEPTED') throw new Error('init refused');
    } else {
      await login(writer, 'RUNNING');
      writer.state = 'active';
    }
    const readers: ReplicationClient[] = [];
    for (let i = 0; i < opts.readers; i++) readers.push(make(`reader${i + 1}`));
    await Promise.all(
      readers.map(async (r) => {
        await login(r, 'RUNNING');
        if (opts.kind === 'ours') await r.join({ pipeline: opts.joinPipeline ?? 1 });
        else r.state = 'active';
      }),
    );
    return {
      kind: opts.kind,
      server,
      writer,
      readers,
      async client(username) {
        const c = make(username);
        await login(c, 'RUNNING');
        return c;
      },
      async close() {
        await Promise.all(clients.map((c) => c.close()));
        await server.stop();
      },
    };
  } catch (err) {
    await Promise.all(clients.map((c) => c.close()));
    await server.stop();
    throw err;
  }
}
