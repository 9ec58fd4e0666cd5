/**
 * Server memory: the RSS of our server process (server-process.ts; a child, so the figure is the
 * server's alone) empty, then holding N small nodes (~180 B of node data each) after a real init,
 * and a soak of steady traffic on the largest session: a writer sends Commits at a fixed rate to a
 * few joined readers while the server's RSS is sampled, to check that it does not grow.
 *
 * RSS is reported as it is (`rss_mb`, what an operator sees) and right after a full GC
 * (`rss_gc_mb`, what the server holds on to). The soak reports samples at its start, middle and
 * end and the least-squares slope over the samples after its first 10 % (the heap settles first).
 * Targets (docs/benchmarks.md): RSS with 50,000 small nodes ≤ 110 MB; no growth over a
 * bounded 10-minute soak (SOAK_SECONDS=600).
 *
 * Env: MEMORY_N (5000,50000), SOAK_SECONDS (60; 0 skips the soak), SOAK_RATE (500 Commits/s),
 * SOAK_READERS (3), SOAK_SAMPLE_MS (1000).
 */
import { ReplicationClient } from '../src/client/index.js';
import { report } from './lib/harness.js';
import { LoadGenerator } from './lib/load.js';
import { benchUuid, commitPayload, initialNodeBytes } from './lib/payloads.js';
import { BENCH_ADMIN_PASSWORD } from './lib/rig.js';
import { mb, startServerProcess, type ServerProcess } from './lib/server-control.js';

const sizes = (process.env.MEMORY_N ?? '5000,50000').split(',').map(Number);
const soakSeconds = Number(process.env.SOAK_SECONDS ?? 60);
const soakRate = Number(process.env.SOAK_RATE ?? 500);
const soakReaders = Number(process.env.SOAK_READERS ?? 3);
const sampleMs = Number(process.env.SOAK_SAMPLE_MS ?? 1000);

async function rss(
  server: ServerProcess,
): Promise<{ rss_mb: number; rss_gc_mb: number; heap_used_gc_mb: number; gc_pause_ms: number }> {
  const plain = await server.memory(false);
  const gc = await server.memory(true);
  // gc_pause_ms: the longest pause of the two full collections the server runs once a burst of
  // short-lived connections is over (src/net/churn-tidy.ts), at this session size.
  return {
    rss_mb: mb(plain.rss),
    rss_gc_mb: mb(gc.rss),
    heap_used_gc_mb: mb(gc.heapUsed),
    gc_pause_ms: Math.round((gc.gcPauseMs ?? 0) * 10) / 10,
  };
}

function client(port: number, username: string, admin = false): ReplicationClient {
  return new ReplicationClient({
    host: '127.0.0.1',
    port,
    username,
    adminPassword: admin ? BENCH_ADMIN_PASSWORD : undefined,
    stepTimeoutMs: 120_000,
    connectionTimeoutMs: 30_000,
  });
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

async function soak(
  server: ServerProcess,
  n: number,
  writer: ReplicationClient,
  readers: ReplicationClient[],
): Promise<void> {
  const uuid = benchUuid(1);
  const traffic = { payload: commitPayload('commit200', 200), as: 'commit' as const, uuid };
  const load = new LoadGenerator(writer, readers);
  await load.sync(traffic);
  const samples: { t: number; rss: number; heap: number }[] = [];
  const t0 = performance.now();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const m = await server.memory(false);
      samples.push({ t: (performance.now() - t0) / 1000, rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20 });
      await new Promise((resolve) => setTimeout(resolve, sampleMs));
    }
  })();
  const result = await load.paced(traffic, { rate: soakRate, warmupMs: 1000, measureMs: soakSeconds * 1000 - 1000 });
  sampling = false;
  await sampler;
  const steady = samples.slice(Math.floor(samples.length / 10));
  const minutes = steady.map((s) => s.t / 60);
  const rssSlope = slope(
    minutes,
    steady.map((s) => s.rss),
  );
  const heapSlope = slope(
    minutes,
    steady.map((s) => s.heap),
  );
  const pick = (s: { t: number; rss: number } | undefined) =>
    s && { t_s: Math.round(s.t), rss_mb: Math.round(s.rss * 10) / 10 };
  const spanMin = minutes.length > 1 ? minutes[minutes.length - 1] - minutes[0] : 0;
  report({
    bench: 'memory',
    mode: 'soak',
    nodes: n,
    seconds: soakSeconds,
    rate: soakRate,
    readers: readers.length,
    commits_sent: result.sent,
    missing: result.missing,
    out_of_order: result.outOfOrder,
    p50_ms: result.p50Ms,
    p99_ms: result.p99Ms,
    samples: samples.length,
    start: pick(steady[0]),
    middle: pick(steady[Math.floor(steady.length / 2)]),
    end: pick(steady[steady.length - 1]),
    max_rss_mb: Math.round(Math.max(...samples.map((s) => s.rss)) * 10) / 10,
    rss_slope_mb_per_min: Math.round(rssSlope * 1000) / 1000,
    heap_used_slope_mb_per_min: Math.round(heapSlope * 1000) / 1000,
    fitted_rss_growth_mb: Math.round(rssSlope * spanMin * 10) / 10,
    after: await rss(server),
  });
}

for (const [i, n] of sizes.entries()) {
  const server = await startServerProcess({ kind: 'ours', adminPassword: BENCH_ADMIN_PASSWORD });
  const clients: ReplicationClient[] = [];
  try {
    const empty = await rss(server);
    const writer = client(server.port, 'writer', true);
    clients.push(writer);
    if ((await writer.login()) !== 'LOBBY') throw new Error('expected LOBBY');
    const nodes = Array.from({ length: n }, (_, j) => {
      const uuid = benchUuid(j + 1);
      return { uuid, dataBytes: initialNodeBytes(uuid) };
    });
    if ((await writer.init(nodes)) !== 'ACCEPTED') throw new Error('init refused');
    report({ bench: 'memory', mode: 'nodes', nodes: n, empty, loaded: await rss(server) });
    if (i !== sizes.length - 1 || soakSeconds <= 0) continue;
    const readers: ReplicationClient[] = [];
    for (let r = 0; r < soakReaders; r++) {
      const reader = client(server.port, `reader${r + 1}`);
      clients.push(reader);
      readers.push(reader);
      if ((await reader.login()) !== 'RUNNING') throw new Error('expected RUNNING');
      await reader.join({ pipeline: 64 });
    }
    report({ bench: 'memory', mode: 'joined', nodes: n, readers: soakReaders, ...(await rss(server)) });
    await soak(server, n, writer, readers);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.stop();
  }
}
