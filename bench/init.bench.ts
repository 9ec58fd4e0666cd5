/**
 * ServerSnapshot init (the admin uploading the scene): INIT → ACCEPTED → one SET per node → END,
 * DONE, timed from the INIT to DONE, for N small nodes (~180 B of node data each), against our
 * server and against the bare relay, which answers ACCEPTED, drops the SETs and answers DONE after
 * the last (bench/lib/bare-server.ts: the transport's share alone). Each round starts a fresh
 * server process (an init needs an empty session); same process layout as fanout.bench.ts.
 *
 * Env: INIT_N (5000,50000), INIT_ROUNDS (3), INIT_SERVERS (ours,bare). BENCH_SERVER_SCRIPT measures
 * another build's server (server-control.ts).
 */
import { ReplicationClient } from '../src/client/index.js';
import { median, report } from './lib/harness.js';
import { benchUuid, initialNodeBytes } from './lib/payloads.js';
import { BENCH_ADMIN_PASSWORD, type ServerKind } from './lib/rig.js';
import { mb, startServerProcess } from './lib/server-control.js';

const sizes = (process.env.INIT_N ?? '5000,50000').split(',').map(Number);
const rounds = Number(process.env.INIT_ROUNDS ?? 3);
const servers = (process.env.INIT_SERVERS ?? 'ours,bare').split(',') as ServerKind[];

/** Nodes per second of one init into a fresh server, and the server's RSS after it. */
async function timeInit(kind: ServerKind, n: number): Promise<{ rate: number; rssMb: number; cpuUs: number }> {
  const nodes = Array.from({ length: n }, (_, i) => {
    const uuid = benchUuid(i + 1);
    return { uuid, dataBytes: initialNodeBytes(uuid) };
  });
  const server = await startServerProcess({ kind, adminPassword: BENCH_ADMIN_PASSWORD });
  const client = new ReplicationClient({
    host: '127.0.0.1',
    port: server.port,
    username: 'admin',
    adminPassword: BENCH_ADMIN_PASSWORD,
    heartbeat: kind === 'ours',
    stepTimeoutMs: 120_000,
    connectionTimeoutMs: 30_000,
  });
  try {
    const login = await client.login();
    if (login !== (kind === 'ours' ? 'LOBBY' : 'RUNNING')) throw new Error(`${kind}: login answered ${login}`);
    const cpu0 = await server.cpuMicros();
    const t0 = performance.now();
    if ((await client.init(nodes)) !== 'ACCEPTED') throw new Error(`${kind}: init refused`);
    const seconds = (performance.now() - t0) / 1000;
    const cpuUs = (await server.cpuMicros()) - cpu0;
    return { rate: n / seconds, rssMb: mb((await server.memory(true)).rss), cpuUs: cpuUs / n };
  } finally {
    await client.close();
    await server.stop();
  }
}

for (const n of sizes) {
  const runs: Record<string, { rate: number; rssMb: number; cpuUs: number }[]> = {};
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const kind of order) (runs[kind] ??= []).push(await timeInit(kind, n));
  }
  const med = (kind: string, f: (r: { rate: number; rssMb: number; cpuUs: number }) => number): number | null =>
    runs[kind] === undefined ? null : Math.round(median(runs[kind].map(f)) * 10) / 10;
  const ours = med('ours', (r) => r.rate);
  const bare = med('bare', (r) => r.rate);
  report({
    bench: 'init',
    nodes: n,
    rounds,
    ours_nodes_s: ours,
    bare_nodes_s: bare,
    ratio_ours_bare: ours !== null && bare ? Math.round((ours / bare) * 100) / 100 : null,
    ours_all: runs.ours?.map((r) => Math.round(r.rate)) ?? null,
    bare_all: runs.bare?.map((r) => Math.round(r.rate)) ?? null,
    ours_server_cpu_us_per_node: med('ours', (r) => r.cpuUs),
    bare_server_cpu_us_per_node: med('bare', (r) => r.cpuUs),
    ours_rss_gc_mb: med('ours', (r) => r.rssMb),
  });
}
