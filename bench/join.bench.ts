/**
 * Join: a session initialised with N small nodes (~180 B of node data each, the Commit target shape
 * of payloads.ts), and a fresh client pulling the snapshot — REQUEST_INIT, the catalog, one GET per
 * node, DONE — timed from the request to DONE. Measured one GET at a time (what the add-on does, so
 * a round trip per node) and pipelined (JOIN_PIPELINE GETs in flight), against our server and
 * against a bare ROUTER that answers each GET with a pre-encoded SET from a Map (bare-server.ts).
 * Same process layout as fanout.bench.ts: the server in a child process, the joining client here.
 *
 * Targets (docs/benchmarks.md): N = 5,000 one at a time ≥ 90 % of bare; pipelined ≥ 15,000 nodes/s.
 *
 * Env: JOIN_N (5000,50000), JOIN_ROUNDS (5; joins per server and mode, medians reported),
 * JOIN_ROUNDS_LARGE (1; rounds when N > 10,000), JOIN_PIPELINE (64), JOIN_SERVERS (ours,bare).
 */
import type { ReplicationClient } from '../src/client/index.js';
import { median, report } from './lib/harness.js';
import { benchUuid, initialNodeBytes } from './lib/payloads.js';
import { startRig, type Rig, type ServerKind } from './lib/rig.js';
import { mb } from './lib/server-control.js';

const sizes = (process.env.JOIN_N ?? '5000,50000').split(',').map(Number);
const rounds = Number(process.env.JOIN_ROUNDS ?? 5);
const roundsLarge = Number(process.env.JOIN_ROUNDS_LARGE ?? 1);
const pipeline = Number(process.env.JOIN_PIPELINE ?? 64);
const servers = (process.env.JOIN_SERVERS ?? 'ours,bare').split(',') as ServerKind[];

let joiners = 0;

/** Nodes per second of one join; throws when the snapshot is not complete. */
async function timeJoin(rig: Rig, n: number, depth: number): Promise<number> {
  const client: ReplicationClient = await rig.client(`joiner${++joiners}`);
  try {
    const t0 = performance.now();
    const result = await client.join({ pipeline: depth });
    const seconds = (performance.now() - t0) / 1000;
    if (result.received !== n) throw new Error(`${rig.kind}: joined ${result.received} of ${n} nodes`);
    return n / seconds;
  } finally {
    await client.close();
  }
}

for (const n of sizes) {
  const nodes = Array.from({ length: n }, (_, i) => {
    const uuid = benchUuid(i + 1);
    return { uuid, dataBytes: initialNodeBytes(uuid) };
  });
  const rigs: Partial<Record<ServerKind, Rig>> = {};
  const rates: Record<string, number[]> = {};
  let serverRssMb: number | null = null;
  try {
    for (const kind of servers) {
      const t0 = performance.now();
      rigs[kind] = await startRig({ kind, readers: 0, nodes: kind === 'ours' ? nodes : [], bareNodes: n });
      if (kind === 'ours') {
        process.stderr.write(`# join: ours initialised with ${n} nodes in ${Math.round(performance.now() - t0)} ms\n`);
      }
    }
    // One pipelined join per server first, unrecorded: it warms up this process's JIT and the server's.
    for (const kind of servers) await timeJoin(rigs[kind] as Rig, n, pipeline);
    const r = n > 10_000 ? roundsLarge : rounds;
    for (let round = 0; round < r; round++) {
      // Alternate the order so that neither server always runs first.
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const depth of [1, pipeline]) {
        for (const kind of order) {
          const key = `${kind}:${depth}`;
          (rates[key] ??= []).push(await timeJoin(rigs[kind] as Rig, n, depth));
        }
      }
    }
    if (rigs.ours !== undefined) serverRssMb = mb((await rigs.ours.server.memory()).rss);
  } finally {
    for (const rig of Object.values(rigs)) await rig?.close();
  }
  const med = (key: string): number | null => (rates[key] ? Math.round(median(rates[key])) : null);
  for (const depth of [1, pipeline]) {
    const ours = med(`ours:${depth}`);
    const bare = med(`bare:${depth}`);
    report({
      bench: 'join',
      nodes: n,
      pipeline: depth,
      rounds: rates[`ours:${depth}`]?.length ?? rates[`bare:${depth}`]?.length ?? 0,
      ours_nodes_s: ours,
      bare_nodes_s: bare,
      ratio_ours_bare: ours !== null && bare ? Math.round((ours / bare) * 100) / 100 : null,
      ours_all: rates[`ours:${depth}`]?.map(Math.round) ?? null,
      bare_all: rates[`bare:${depth}`]?.map(Math.round) ?? null,
      server_rss_mb: serverRssMb,
    });
  }
}
