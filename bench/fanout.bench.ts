/**
 * Fan-out: one writer, K readers (real logged-in clients joined to the session), for Commit deltas
 * of ~200 B and whole Node updates of ~200 B and ~20 KB, against our server and against a bare
 * zeromq ROUTER relay that forwards the frames undecoded (bench/lib/bare-server.ts), same load
 * generator, same run.
 *
 * Process layout (2 cores): the server under test runs in a child process (server-process.ts) and
 * the whole load generator — writer and readers — in this one, so the server gets a core of its
 * own, the generator the other, and writer and readers share one clock for latencies. Both servers
 * are measured in exactly this layout. The readers read their messages' stamps from the raw frames
 * (load.ts), so the generator needs ~1.5 µs of CPU per delivered message, less than either server:
 * the saturated phase measures the server (`generator_cpu_us_per_msg` says what it cost).
 *
 * Per K and payload: `saturate` (closed loop, at most FANOUT_WINDOW in flight; delivered msgs/s per
 * reader) and, for K in FANOUT_RATE_K, `paced` at FANOUT_RATE msgs/s (p50/p99 latency). Loss =
 * sequence numbers a reader never saw or saw out of order. Targets (docs/benchmarks.md):
 * Commit 200 B at K = 8 ≥ 75 % of bare; at 2,000 msgs/s zero loss and p99 ≤ 10 ms (K = 8),
 * ≤ 20 ms (K = 16).
 *
 * Also reported: `busy_core_share`, the share of a core a busy loop in this process got just before
 * the saturated phase — on a shared machine the most one server thread can use, to read
 * `server_cpu_load` against (a server below it is waiting for the generator, not for the CPU).
 *
 * Env: FANOUT_K (1,4,8,16), FANOUT_PAYLOADS (commit200,node200,node20k), FANOUT_RATE (2000),
 * FANOUT_RATE_K (8,16), FANOUT_WARMUP_MS (500), FANOUT_MEASURE_MS (2000), FANOUT_RATE_MS (3000),
 * FANOUT_WINDOW (500), FANOUT_SERVERS (ours,bare), FANOUT_ROUNDS (1; each round starts fresh servers,
 * medians and paired ratios are reported).
 */
import { LoadGenerator, type PhaseResult, type Traffic } from './lib/load.js';
import { busyCoreShare, median, report } from './lib/harness.js';
import { benchUuid, commitPayload, initialNodeBytes, nodePayload } from './lib/payloads.js';
import { startRig, type ServerKind } from './lib/rig.js';
import { mb } from './lib/server-control.js';

const list = (name: string, dflt: string): string[] =>
  (process.env[name] ?? dflt)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
const num = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);

const ks = list('FANOUT_K', '1,4,8,16').map(Number);
const rateKs = new Set(list('FANOUT_RATE_K', '8,16').map(Number));
const payloadNames = list('FANOUT_PAYLOADS', 'commit200,node200,node20k');
const servers = list('FANOUT_SERVERS', 'ours,bare') as ServerKind[];
const rate = num('FANOUT_RATE', 2000);
const warmupMs = num('FANOUT_WARMUP_MS', 500);
const measureMs = num('FANOUT_MEASURE_MS', 2000);
const rateMs = num('FANOUT_RATE_MS', 3000);
const window = num('FANOUT_WINDOW', 500);
const rounds = num('FANOUT_ROUNDS', 1);

const commitNode = benchUuid(1);
const smallNode = benchUuid(2);
const bigNode = benchUuid(3);
const traffics: Record<string, Traffic> = {
  commit200: { payload: commitPayload('commit200', 200), as: 'commit', uuid: commitNode },
  node200: { payload: nodePayload('node200', smallNode, 200), as: 'node', uuid: smallNode },
  node20k: { payload: nodePayload('node20k', bigNode, 20_000), as: 'node', uuid: bigNode },
};
const nodes = [commitNode, smallNode, bigNode].map((uuid) => ({ uuid, dataBytes: initialNodeBytes(uuid) }));

type Results = Record<string, { saturate?: PhaseResult; paced?: PhaseResult; serverRssMb?: number }>;

async function runOne(kind: ServerKind, k: number): Promise<Results> {
  const rig = await startRig({ kind, readers: k, nodes });
  const results: Results = {};
  try {
    const load = new LoadGenerator(rig.writer, rig.readers);
    for (const name of payloadNames) {
      const t = traffics[name];
      if (t === undefined) throw new Error(`unknown payload ${name}`);
      await load.sync(t);
      const serverCpu = () => rig.server.cpuMicros();
      const coreShare = busyCoreShare();
      const saturate = { ...(await load.saturate(t, { warmupMs, measureMs, window, serverCpu })), coreShare };
      const paced = rateKs.has(k) ? await load.paced(t, { rate, warmupMs, measureMs: rateMs, serverCpu }) : undefined;
      results[name] = { saturate, paced, serverRssMb: mb((await rig.server.memory()).rss) };
    }
  } finally {
    await rig.close();
  }
  return results;
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

/** Medians of the rounds' figures; loss is summed over the rounds. */
function summarize(rs: PhaseResult[]): Record<string, number | null> | null {
  if (rs.length === 0) return null;
  const med = (f: (r: PhaseResult) => number | null | undefined): number | null => {
    const xs = rs.map(f).filter((v): v is number => typeof v === 'number');
    return xs.length === 0 ? null : round2(median(xs));
  };
  const summary: Record<string, number | null> = {
    per_reader_msgs_s: med((r) => r.deliveredPerReaderPerS),
    slowest_reader_msgs_s: med((r) => r.slowestReaderPerS),
    offered_msgs_s: med((r) => r.offeredPerS),
    p50_ms: med((r) => r.p50Ms),
    p99_ms: med((r) => r.p99Ms),
    max_ms: med((r) => r.maxMs),
    missing: rs.reduce((n, r) => n + r.missing, 0),
    out_of_order: rs.reduce((n, r) => n + r.outOfOrder, 0),
    server_cpu_us_per_msg: med((r) => r.serverCpuUsPerMsg),
    server_cpu_load: med((r) => r.serverCpuLoad),
    generator_cpu_us_per_msg: med((r) => r.generatorCpuUsPerMsg),
    busy_core_share: med((r) => r.coreShare),
  };
  return Object.fromEntries(Object.entries(summary).filter(([, v]) => v !== null));
}

/** Median over rounds of ours/bare, each round's pair measured back to back. */
function pairedRatio(
  ours: PhaseResult[],
  bare: PhaseResult[],
  f: (r: PhaseResult) => number | undefined,
): number | null {
  const xs: number[] = [];
  for (let i = 0; i < Math.min(ours.length, bare.length); i++) {
    const a = f(ours[i]);
    const b = f(bare[i]);
    if (a !== undefined && b !== undefined && b > 0) xs.push(a / b);
  }
  return xs.length === 0 ? null : round2(median(xs));
}

let runs = 0;
for (const k of ks) {
  const saturated: Record<string, Record<string, PhaseResult[]>> = {};
  const pacedRuns: Record<string, Record<string, PhaseResult[]>> = {};
  let serverRssMb: number | null = null;
  for (let round = 0; round < rounds; round++) {
    // Alternate which server goes first, so that the generator's own warm-up favours neither.
    const order = runs++ % 2 === 0 ? servers : [...servers].reverse();
    for (const kind of order) {
      const results = await runOne(kind, k);
      for (const [name, r] of Object.entries(results)) {
        if (r.saturate) ((saturated[name] ??= {})[kind] ??= []).push(r.saturate);
        if (r.paced) ((pacedRuns[name] ??= {})[kind] ??= []).push(r.paced);
        if (kind === 'ours' && r.serverRssMb !== undefined) serverRssMb = Math.max(serverRssMb ?? 0, r.serverRssMb);
      }
    }
  }
  for (const name of payloadNames) {
    const ours = saturated[name]?.ours ?? [];
    const bare = saturated[name]?.bare ?? [];
    report({
      bench: 'fanout',
      mode: 'saturate',
      payload: name,
      payload_bytes: traffics[name].payload.bytes,
      k,
      window,
      rounds,
      ours: summarize(ours),
      bare: summarize(bare),
      ratio_ours_bare: pairedRatio(ours, bare, (r) => r.deliveredPerReaderPerS),
      ours_rounds: ours.map((r) => r.deliveredPerReaderPerS),
      bare_rounds: bare.map((r) => r.deliveredPerReaderPerS),
      cpu_ratio_ours_bare: pairedRatio(ours, bare, (r) => r.serverCpuUsPerMsg),
      server_rss_mb: serverRssMb,
    });
    if (!rateKs.has(k)) continue;
    report({
      bench: 'fanout',
      mode: 'paced',
      payload: name,
      payload_bytes: traffics[name].payload.bytes,
      k,
      rate,
      rounds,
      ours: summarize(pacedRuns[name]?.ours ?? []),
      bare: summarize(pacedRuns[name]?.bare ?? []),
      ours_p99_rounds: (pacedRuns[name]?.ours ?? []).map((r) => r.p99Ms),
      bare_p99_rounds: (pacedRuns[name]?.bare ?? []).map((r) => r.p99Ms),
    });
  }
}
